"""Review of the stored strike standing (status.save_standings): edits by other programs that
must drop it, odd data another tool can leave that must not break a poll, and the weekly chart's
day bounds read exactly as each report's own Los Angeles day."""

from __future__ import annotations

import json
import sqlite3
from datetime import date

from strikewatch.pipeline import finish
from strikewatch.status import guild_status
from strikewatch.store import Store
from tests.season import replayed_in_full


def wga_report(conn: sqlite3.Connection, event: str) -> int:
    return conn.execute(
        "SELECT item_id FROM tags WHERE tag = ? AND item_id IN"
        " (SELECT item_id FROM tags WHERE tag = 'wga') ORDER BY published LIMIT 1",
        (event,),
    ).fetchone()[0]


def test_a_strike_report_rewritten_by_insert_or_replace_drops_the_standing(season_store):
    """`INSERT OR REPLACE` from the sqlite3 shell or Python's sqlite3 (no recursive triggers,
    no foreign keys) deletes the old row without its delete triggers: the new row's insert
    must drop the standing, or status keeps the old report's day after every poll."""
    path = season_store.conn.execute("PRAGMA database_list").fetchone()[2]
    before = guild_status(season_store.conn, "wga", date(2023, 12, 31), with_weeks=False)
    assert before["previous_strike"]["ended"] == "2023-09-27"
    ended = wga_report(season_store.conn, "strike-ended")
    other = sqlite3.connect(path)
    columns = [column[1] for column in other.execute("PRAGMA table_info(items)")]
    stored = other.execute("SELECT * FROM items WHERE id = ?", (ended,)).fetchone()
    row = dict(zip(columns, stored, strict=True))
    row.update(title="WGA strike ends as board votes", effective_day=None, effective_why=None)
    with other:
        other.execute(
            f"INSERT OR REPLACE INTO items ({', '.join(columns)})"
            f" VALUES ({', '.join('?' for _ in columns)})",
            [row[column] for column in columns],
        )
    assert other.execute("SELECT count(*) FROM strike_standing").fetchone()[0] == 0
    other.close()
    after = guild_status(season_store.conn, "wga", date(2023, 12, 31), with_weeks=False)
    assert after["previous_strike"]["ended"] == "2023-09-26"  # no longer "Wednesday"
    assert after == replayed_in_full(season_store.conn, "wga", date(2023, 12, 31))


def test_a_strike_day_another_tool_wrote_unreadably_is_worked_out_again(season_cli, db_path):
    """A hand edit in Datasette ("2023-5-2") left in items.effective_day: every poll, import
    and reclassify now saves the standing, so it must not fail on it (each did, with a
    traceback); status works the day out again from the text, as for a cleared one."""
    with sqlite3.connect(db_path) as conn:
        started = wga_report(conn, "strike-started")
        conn.execute("UPDATE items SET effective_day = '2023-5-2' WHERE id = ?", (started,))
    rerun = season_cli("reclassify")
    assert rerun.exit_code == 0, rerun.output
    status = season_cli("status", "--as-of", "2023-07-01", "--guild", "wga", "--json")
    assert status.exit_code == 0, status.output
    [wga] = json.loads(status.stdout)
    assert wga["on_strike"] and wga["strike_started"] == "2023-05-02"
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM strike_standing").fetchone()[0] == 5


def test_a_deal_dated_near_year_9999_by_another_tool_does_not_break_the_standing(season_store):
    """A "never" date another tool wrote on a deal report: status --as-of today never reads it,
    but saving the standing reads every report, and looking for the starts the deal calls off
    ran past year 9999 (OverflowError, a traceback from every poll)."""
    path = season_store.conn.execute("PRAGMA database_list").fetchone()[2]
    far = "9999-12-01T12:00:00+00:00"
    with sqlite3.connect(path) as other:
        other.execute(
            "INSERT INTO items (id, title, summary, published, first_seen, source, content_hash,"
            " guilds, events) VALUES (90001, 'WGA reaches a deal', '', ?, ?, 'other', 'x',"
            " '[\"wga\"]', '[\"deal\"]')",
            (far, far),
        )
        other.executemany(
            "INSERT INTO tags (item_id, kind, tag, published) VALUES (90001, ?, ?, ?)",
            [("guild", "wga", far), ("event", "deal", far)],
        )
    finish(season_store)
    rows = season_store.conn.execute("SELECT day FROM strike_standing").fetchall()
    assert [row[0] for row in rows] == ["9999-12-01"] * 5
    day = date(2023, 12, 31)
    status = guild_status(season_store.conn, "wga", day, with_weeks=False)
    assert status["previous_strike"]["ended"] == "2023-09-27"
    assert status == replayed_in_full(season_store.conn, "wga", day)


def test_a_strike_started_and_ended_on_year_1_by_another_tool_does_not_break_the_standing(
    season_store,
):
    """Hugo's "0001-01-01" for an undated page, on a start and an end another tool stored:
    closing that strike looked for the day before year 1 (OverflowError, in every poll now)."""
    path = season_store.conn.execute("PRAGMA database_list").fetchone()[2]
    first = "0001-01-01T00:00:00+00:00"
    with sqlite3.connect(path) as other:
        for number, (title, event) in enumerate(
            (("WGA strike begins", "strike-started"), ("WGA strike ends", "strike-ended")),
            start=90001,
        ):
            other.execute(
                "INSERT INTO items (id, title, summary, published, first_seen, source,"
                " content_hash, guilds, events) VALUES (?, ?, '', ?, ?, 'other', ?, ?, ?)",
                (number, title, first, first, str(number), '["wga"]', json.dumps([event])),
            )
            other.executemany(
                "INSERT INTO tags (item_id, kind, tag, published) VALUES (?, ?, ?, ?)",
                [(number, "guild", "wga", first), (number, "event", event, first)],
            )
    finish(season_store)
    day = date(2023, 12, 31)
    status = guild_status(season_store.conn, "wga", day, with_weeks=False)
    assert status["previous_strike"]["ended"] == "2023-09-27"
    assert status == replayed_in_full(season_store.conn, "wga", day)


def weekly_items(conn: sqlite3.Connection, as_of: date) -> dict[str, list[str]]:
    weeks = guild_status(conn, "wga", as_of)["weekly"]
    return {
        week["week"]: [entry["day"] for entry in week["dated"]] for week in weeks if week["items"]
    }


def test_the_weekly_chart_places_each_report_on_its_own_los_angeles_day(tmp_path):
    """The chart finds a report's day among its days' bounds rather than parsing each time; it
    must still pass over a time no calendar has, which another tool can write in the store's
    own shape ("T24:00:00", February 30), and place a report of the 1800s, when Los Angeles
    kept local mean time (7:52:58 behind UTC, neither PST nor PDT), on that time's day."""
    store = Store.open(tmp_path / "odd.db")
    with store.transaction() as conn:
        for number, published in enumerate(
            (
                "2023-05-02T24:00:00+00:00",
                "2023-02-30T10:00:00+00:00",
                "2023-05-03T18:00:00+00:00",
                "1850-05-06T03:00:00+00:00",  # Sunday May 5, 7:07 p.m. in Los Angeles
            ),
            start=1,
        ):
            conn.execute(
                "INSERT INTO items (id, title, summary, published, first_seen, source,"
                " content_hash, guilds, events) VALUES (?, ?, '', ?, ?, 'other', ?, ?, ?)",
                (
                    number,
                    f"WGA pickets ({number})",
                    published,
                    published,
                    str(number),
                    '["wga"]',
                    '["picket"]',
                ),
            )
            conn.execute(
                "INSERT INTO tags (item_id, kind, tag, published) VALUES (?, 'guild', 'wga', ?)",
                (number, published),
            )
    assert weekly_items(store.conn, date(2023, 5, 10)) == {"2023-05-01": ["2023-05-03"]}
    assert weekly_items(store.conn, date(2023, 3, 5)) == {}
    assert weekly_items(store.conn, date(1850, 5, 20)) == {"1850-04-29": ["1850-05-05"]}
    store.close()


def test_a_strike_report_dated_in_bytes_by_another_tool_is_left_out_as_before(season_store):
    """Python's sqlite3 stores bytes as a BLOB, which sorts after every text: status never read
    such a report (no day is "by" it), but the newest strike time taken for the standing was
    that BLOB, so every poll read the report and failed on its date (TypeError)."""
    path = season_store.conn.execute("PRAGMA database_list").fetchone()[2]
    raw = b"2023-12-01T00:00:00+00:00"
    with sqlite3.connect(path) as other:
        other.execute(
            "INSERT INTO items (id, title, summary, published, first_seen, source, content_hash,"
            " guilds, events) VALUES (90001, 'WGA strike begins', '', ?, 'x', 'other', 'x',"
            " '[\"wga\"]', '[\"strike-started\"]')",
            (raw,),
        )
        other.executemany(
            "INSERT INTO tags (item_id, kind, tag, published) VALUES (90001, ?, ?, ?)",
            [("guild", "wga", raw), ("event", "strike-started", raw)],
        )
    finish(season_store)
    day = date(2023, 12, 31)
    status = guild_status(season_store.conn, "wga", day, with_weeks=False)
    assert not status["on_strike"] and status["previous_strike"]["ended"] == "2023-09-27"
    assert status == replayed_in_full(season_store.conn, "wga", day)
