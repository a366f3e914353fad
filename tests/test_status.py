"""status: strike day numbers for the 2023 strikes, scheduled starts and ends, the CLI forms."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from strikewatch.cli import cli
from strikewatch.parse import Item, archive_record_to_item
from strikewatch.pipeline import reclassify
from strikewatch.status import effective_day, guild_status, pacific_time
from strikewatch.store import SCHEMA_VERSION, Store
from strikewatch.taxonomy import GUILDS
from tests.season import ArchiveClassifier, save, season_records, write_old_database


# The WGA struck from May 2 to 12:01 a.m. Sept 27, 2023 (board vote Sept 26); SAG-AFTRA's board
# called its strike on July 13, it began at 12:01 a.m. July 14 and ended at 12:01 a.m. Nov 9.
@pytest.mark.parametrize(
    ("guild", "as_of", "on_strike", "started", "day"),
    [
        ("wga", "2023-04-30", False, None, None),
        ("wga", "2023-05-01", False, None, None),
        ("wga", "2023-05-02", True, "2023-05-02", 1),
        ("wga", "2023-08-04", True, "2023-05-02", 95),
        ("wga", "2023-09-26", True, "2023-05-02", 148),
        ("wga", "2023-09-27", False, None, None),
        ("wga", "2024-01-15", False, None, None),
        ("sag-aftra", "2023-07-12", False, None, None),
        ("sag-aftra", "2023-07-13", False, None, None),
        ("sag-aftra", "2023-07-14", True, "2023-07-14", 1),
        ("sag-aftra", "2023-08-04", True, "2023-07-14", 22),
        ("sag-aftra", "2023-11-08", True, "2023-07-14", 118),
        ("sag-aftra", "2023-11-09", False, None, None),
        ("dga", "2023-06-04", False, None, None),
        ("amptp", "2023-08-04", False, None, None),
    ],
)
def test_strike_days_of_2023(season_store, guild, as_of, on_strike, started, day):
    status = guild_status(season_store.conn, guild, date.fromisoformat(as_of))
    assert (status["on_strike"], status["strike_started"], status["strike_day"]) == (
        on_strike,
        started,
        day,
    )


def test_scheduled_changes_are_pending_the_day_they_are_announced(season_store):
    called = guild_status(season_store.conn, "sag-aftra", date(2023, 7, 13))
    assert called["pending"]["event"] == "strike-started"
    assert called["pending"]["on"] == "2023-07-14"
    assert called["last_event"] == "strike-started"
    ending = guild_status(season_store.conn, "wga", date(2023, 9, 26))
    assert ending["pending"]["on"] == "2023-09-27"
    assert ending["last_title"] == "WGA board votes to end strike at 12:01 a.m. Wednesday"
    over = guild_status(season_store.conn, "wga", date(2023, 12, 31))
    assert over["previous_strike"] == {
        "contract": "tv-theatrical",
        "started": "2023-05-02",
        "ended": "2023-09-27",
        "last_day": "2023-09-26",
        "days": 148,
    }
    assert over["pending"] is None
    assert over["last_event"] == "ratified"
    assert (
        over["last_link"]
        == "https://backlot.example/2023/wga-members-ratify-contract-with-99-yes-vote"
    )


def test_last_event_is_the_first_report_of_the_latest_story(season_store):
    status = guild_status(season_store.conn, "sag-aftra", date(2023, 11, 9))
    assert status["last_event"] == "strike-ended"
    assert status["last_title"] == "Actors' strike ends after 118 days"
    assert status["last_event_at"] == "2023-11-09T17:00:00+00:00"


def pt(text: str) -> str:
    """A Pacific wall-clock time in 2023 as the stored UTC timestamp."""
    moment = datetime.fromisoformat(text)
    offset = "-07:00" if date(2023, 3, 12) <= moment.date() < date(2023, 11, 5) else "-08:00"
    return datetime.fromisoformat(text + offset).astimezone(UTC).isoformat(timespec="seconds")


@pytest.mark.parametrize(
    ("title", "summary", "published", "day"),
    [
        # the evening before, in Los Angeles: the day it names
        ("WGA calls strike effective 12:01 a.m. May 2", "", pt("2023-05-01T20:55"), "2023-05-02"),
        (
            "Writers Guild calls strike; walkout to begin at 12:01 a.m. Tuesday",
            "",
            pt("2023-05-01T14:00"),
            "2023-05-02",
        ),
        (
            "WGA board votes to end strike at 12:01 a.m. Wednesday",
            "",
            pt("2023-09-26T15:45"),
            "2023-09-27",
        ),
        (
            "Writers may return to work Wednesday",
            "The order is lifted as of 12:01 a.m. on September 27.",
            pt("2023-09-26T17:35"),
            "2023-09-27",
        ),
        (
            "SAG-AFTRA board votes to strike",
            "The strike begins at 12:01 a.m. on Friday, July 14.",
            pt("2023-07-13T17:15"),
            "2023-07-14",
        ),
        (
            "Tentative agreement reached; strike ends at 12:01 a.m. November 9",
            "",
            pt("2023-11-08T17:15"),
            "2023-11-09",
        ),
        # no day named: the day after the Pacific publication day, even when it is already
        # the next day in UTC
        (
            "SAG-AFTRA board calls strike, to begin at midnight",
            "",
            pt("2023-07-13T12:30"),
            "2023-07-14",
        ),
        (
            "Actors' union calls strike starting at midnight",
            "",
            pt("2023-07-13T18:30"),
            "2023-07-14",
        ),
        # not scheduled: the UTC day of publication
        (
            "Hollywood writers go on strike",
            "Picketing started this morning.",
            pt("2023-05-02T09:00"),
            "2023-05-02",
        ),
        (
            "Actors' strike is over as performers head back to sets",
            "",
            pt("2023-11-09T09:30"),
            "2023-11-09",
        ),
        ("Writers put down their pens at 12:01 a.m.", "", pt("2023-05-02T08:00"), "2023-05-02"),
        (
            "Writers go back to work as 148-day strike ends",
            "",
            pt("2023-09-27T07:00"),
            "2023-09-27",
        ),
        # a far-off date is not a schedule; the next sentence may be
        (
            "Writers strike ends",
            "Members will vote through Oct. 9. Rooms reopen Wednesday, the guild will say.",
            pt("2023-09-26T16:00"),
            "2023-09-27",
        ),
        (
            "Strike is over",
            "Members will vote through Oct. 9.",
            pt("2023-09-27T10:00"),
            "2023-09-27",
        ),
        # the schedule only in the summary, written with a.m.: still read
        (
            "Writers strike",
            "Talks failed Monday night. The walkout begins at 12:01 a.m. Tuesday.",
            pt("2023-05-01T22:00"),
            "2023-05-02",
        ),
    ],
)
def test_effective_day_rule(title, summary, published, day):
    assert effective_day(title, summary, published).day.isoformat() == day


def test_pacific_time_follows_daylight_saving():
    assert pacific_time(datetime(2023, 7, 14, 0, 15, tzinfo=UTC)) == datetime(2023, 7, 13, 17, 15)
    assert pacific_time(datetime(2023, 11, 9, 1, 15, tzinfo=UTC)) == datetime(2023, 11, 8, 17, 15)
    assert pacific_time(datetime(2023, 3, 12, 9, 59, tzinfo=UTC)).hour == 1  # still PST
    assert pacific_time(datetime(2023, 3, 12, 10, 0, tzinfo=UTC)).hour == 3  # PDT began


def test_a_second_strike_report_does_not_restart_the_count(tmp_path):
    store = Store.open(tmp_path / "s.db")
    classifier = ArchiveClassifier(
        {
            "Writers strike begins": (("wga",), ("strike-started",)),
            "Writers strike enters its second month": (("wga",), ("strike-started",)),
        }
    )
    save(
        store,
        [
            Item(
                "Writers strike begins",
                "https://a.example/1",
                published=datetime(2023, 5, 2, 15, tzinfo=UTC),
            ),
            Item(
                "Writers strike enters its second month",
                "https://a.example/2",
                published=datetime(2023, 6, 2, 15, tzinfo=UTC),
            ),
        ],
        source="a",
        classifier=classifier,
    )
    status = guild_status(store.conn, "wga", date(2023, 6, 10))
    assert status["strike_started"] == "2023-05-02" and status["strike_day"] == 40


def test_status_json_has_one_entry_per_guild(season_cli):
    result = season_cli("status", "--as-of", "2023-08-04", "--json")
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    assert [entry["guild"] for entry in entries] == [
        "wga",
        "sag-aftra",
        "amptp",
        "dga",
        "iatse",
        "teamsters",
    ]
    for entry in entries:
        assert set(entry) >= {
            "guild",
            "on_strike",
            "strike_started",
            "strike_day",
            "last_event",
            "last_event_at",
            "last_title",
            "last_link",
        }
    wga, sag = entries[0], entries[1]
    assert (wga["on_strike"], wga["strike_started"], wga["strike_day"]) == (True, "2023-05-02", 95)
    assert (sag["on_strike"], sag["strike_day"]) == (True, 22)
    assert wga["last_event"] == "talks-resumed" and wga["last_event_at"].startswith("2023-08-04")
    weeks = wga["weekly"]
    assert len(weeks) == 12 and weeks[-1]["week"] == "2023-07-31"
    assert weeks[-1]["events"] == ["talks-resumed"]


def test_status_plain_and_guild_option(season_cli):
    result = season_cli("status", "--as-of", "2023-07-13", "--guild", "sag")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "sag-aftra: not on strike; strike begins 2023-07-14"
    assert lines[1].startswith(
        "  last event: 2023-07-13 strike-started: SAG-AFTRA board calls strike"
    )
    assert "\x1b" not in result.stdout


def test_status_explain_lists_each_report_and_why(season_cli):
    result = season_cli("status", "--as-of", "2023-12-31", "--guild", "wga", "--explain", "--json")
    rows = json.loads(result.stdout)
    assert [(row["event"], row["effective"]) for row in rows] == [
        ("strike-started", "2023-05-02"),
        ("strike-started", "2023-05-02"),
        ("strike-started", "2023-05-02"),
        ("strike-started", "2023-07-14"),  # "Actors join writers on picket lines": a repeat
        ("strike-ended", "2023-09-27"),
        ("strike-ended", "2023-09-27"),
        ("strike-ended", "2023-09-27"),
    ]
    assert "Tuesday" in rows[0]["why"]


def test_status_bad_date_is_a_usage_error(season_cli):
    result = season_cli("status", "--as-of", "2023-02-30")
    assert result.exit_code == 2 and "no such day" in result.stderr


SAG_CALL = "SAG-AFTRA board calls strike, to begin at midnight"  # Jul 13, 12:30 p.m. Pacific


def stored_days(store: Store) -> dict[str, tuple[str | None, str | None]]:
    return {
        row["title"]: (row["effective_day"], row["effective_why"])
        for row in store.conn.execute("SELECT title, effective_day, effective_why FROM items")
    }


def test_the_store_keeps_each_strike_reports_day(season_store):
    """Saved with the report, so `status` need not work it out from the text on every call."""
    strike_reports = 0
    for row in season_store.conn.execute(
        "SELECT title, summary, published, events, effective_day, effective_why FROM items"
    ):
        if {"strike-started", "strike-ended"} & set(json.loads(row["events"])):
            strike_reports += 1
            expected = effective_day(row["title"], row["summary"], row["published"])
            assert (row["effective_day"], row["effective_why"]) == (
                expected.day.isoformat(),
                expected.reason,
            )
        else:
            assert row["effective_day"] is None and row["effective_why"] is None
    assert strike_reports == 12
    assert stored_days(season_store)[SAG_CALL] == (
        "2023-07-14",
        "'to begin' without a day: the day after 2023-07-13 (Pacific)",
    )


def test_a_day_gone_stale_is_worked_out_again(season_store):
    """Another tool edits a report's text: the stored day is cleared and status reads the text."""
    season_store.conn.execute(
        "UPDATE items SET title = 'SAG-AFTRA board calls strike',"
        " summary = 'The vote was unanimous.' WHERE title = ?",
        (SAG_CALL,),
    )
    assert stored_days(season_store)["SAG-AFTRA board calls strike"] == (None, None)
    status = guild_status(season_store.conn, "sag-aftra", date(2023, 7, 13))
    # No schedule any more: it takes effect the day it was published (19:30 UTC).
    assert (status["on_strike"], status["strike_started"], status["pending"]) == (
        True,
        "2023-07-13",
        None,
    )
    # Only the text and the date clear it: a tag or story change leaves it.
    season_store.conn.execute("UPDATE items SET story_id = id, rules_version = 'x'")
    kept = stored_days(season_store)["Writers strike begins as TV and film scribes put down pens"]
    assert kept == ("2023-05-02", "published that day (Los Angeles)")


def test_an_edited_report_gets_its_day_again(season_store):
    record = next(r for r in season_records() if r["title"] == SAG_CALL)
    edited = archive_record_to_item(
        dict(record, title="SAG-AFTRA board calls strike", summary="The vote was unanimous."),
        1,
        "x",
    )
    classifier = ArchiveClassifier(
        {"SAG-AFTRA board calls strike": (("sag-aftra",), ("strike-started",))}
    )
    result = save(season_store, [edited], source=record["source"], classifier=classifier)
    assert len(result.updated_ids) == 1
    assert stored_days(season_store)["SAG-AFTRA board calls strike"] == (
        "2023-07-13",
        "published that day (Los Angeles)",
    )
    assert guild_status(season_store.conn, "sag-aftra", date(2023, 7, 13))["on_strike"]


def test_a_report_retagged_as_a_strike_gets_its_day(season_store):
    title = "WGA pickets Paramount as writers strike enters fifth week"
    assert stored_days(season_store)[title] == (None, None)
    reclassify(season_store, ArchiveClassifier({title: (("wga",), ("strike-started",))}))
    # Published 5 p.m. Pacific on June 3 (June 4 in UTC): the evening, so the next day.
    assert stored_days(season_store)[title] == (
        "2023-06-04",
        "published in the evening of 2023-06-03 (Los Angeles): the next day",
    )


def test_an_older_database_gets_the_days_when_opened(tmp_path, season_store):
    path = write_old_database(tmp_path / "old.db", stop_before="m004_effective_days")
    with Store.open(path) as migrated:
        assert stored_days(migrated) == stored_days(season_store)
        for guild, as_of in [("wga", "2023-09-26"), ("sag-aftra", "2023-07-13")]:
            day = date.fromisoformat(as_of)
            # Its stories are still to be grouped (by the next poll or import): compare strikes.
            strike = ("on_strike", "strike_started", "strike_day", "previous_strike", "pending")
            now, before = (
                guild_status(store.conn, guild, day) for store in (migrated, season_store)
            )
            assert [now[key] for key in strike] == [before[key] for key in strike]


def write_as_another_tool(
    conn: sqlite3.Connection,
    item_id: int,
    title: str,
    summary: str,
    published: str,
    guilds: tuple[str, ...],
    events: tuple[str, ...],
) -> None:
    """A report inserted by hand or by another tool: the two effective-day columns left empty."""
    conn.execute(
        "INSERT INTO items (id, story_id, title, summary, published, first_seen, source,"
        " content_hash, guilds, events) VALUES (?, ?, ?, ?, ?, ?, 'tool', ?, ?, ?)",
        (
            item_id,
            item_id,
            title,
            summary,
            published,
            published,
            str(item_id),
            json.dumps(guilds),
            json.dumps(events),
        ),
    )
    conn.executemany(
        "INSERT INTO tags (item_id, kind, tag, published) VALUES (?, ?, ?, ?)",
        [(item_id, "guild", tag, published) for tag in guilds]
        + [(item_id, "event", tag, published) for tag in events],
    )


def test_status_reads_the_stored_day(season_store):
    """The stored day is what status uses (the text is not read again when there is one)."""
    season_store.conn.execute(
        "UPDATE items SET effective_day = '2023-07-13', effective_why = 'set by hand'"
        " WHERE title = ?",
        (SAG_CALL,),
    )
    # Its text gives July 14 (pending on the 13th); the stored day starts the strike on the 13th.
    status = guild_status(season_store.conn, "sag-aftra", date(2023, 7, 13))
    assert (status["on_strike"], status["strike_started"]) == (True, "2023-07-13")
    from strikewatch.status import explain_strikes

    reasons = {
        entry["why"] for entry in explain_strikes(season_store.conn, "sag-aftra", date(2023, 7, 31))
    }
    assert "set by hand" in reasons


def test_a_report_without_a_stored_day_is_read_from_its_summary(tmp_path):
    with Store.open(tmp_path / "s.db") as store:
        # Thursday evening in Los Angeles; the summary schedules the walkout for Saturday.
        write_as_another_tool(
            store.conn,
            1,
            "Directors call a strike",
            "Picket lines go up at 12:01 a.m. Saturday, the guild said.",
            pt("2023-06-01T20:00"),
            ("dga",),
            ("strike-started",),
        )
        friday = guild_status(store.conn, "dga", date(2023, 6, 2))
        assert (friday["on_strike"], friday["pending"]["on"]) == (False, "2023-06-03")
        saturday = guild_status(store.conn, "dga", date(2023, 6, 3))
        assert (saturday["strike_started"], saturday["strike_day"]) == ("2023-06-03", 1)


def test_changes_replay_in_the_order_they_take_effect(tmp_path):
    """A start announced on Monday for Wednesday comes after an end reported on Tuesday (of a
    strike under way: it closes that one, and calls nothing off)."""
    with Store.open(tmp_path / "s.db") as store:
        write_as_another_tool(
            store.conn,
            1,
            "Writers strike begins",
            "",
            pt("2023-04-03T10:00"),
            ("wga",),
            ("strike-started",),
        )
        write_as_another_tool(
            store.conn,
            2,
            "Writers strike to begin at 12:01 a.m. Wednesday",
            "",
            pt("2023-05-01T20:00"),
            ("wga",),
            ("strike-started",),
        )
        write_as_another_tool(
            store.conn,
            3,
            "Writers strike is over",
            "",
            pt("2023-05-02T10:00"),
            ("wga",),
            ("strike-ended",),
        )
        status = guild_status(store.conn, "wga", date(2023, 5, 4))
        assert (status["on_strike"], status["strike_started"], status["strike_day"]) == (
            True,
            "2023-05-03",
            2,
        )
        assert status["previous_strike"]["last_day"] == "2023-05-01"


# Sorting as text, these fall after every ISO time, before them, and among them (so the weekly
# chart's window picks the last one up).
@pytest.mark.parametrize(
    "published", ["Tue, 02 May 2023 07:00:00 GMT", "01/05/2023", "2023/05/02 07:00"]
)
def test_a_date_no_strikewatch_wrote_is_passed_over(tmp_path, published):
    """Another tool's unreadable time leaves no day: upgrade, re-tag and status go on."""
    path = write_old_database(tmp_path / "old.db", stop_before="m004_effective_days")
    with sqlite3.connect(path) as conn:
        write_as_another_tool(
            conn, 999, "Writers strike begins", "", published, ("wga",), ("strike-started",)
        )
    conn.close()
    with Store.open(path) as store:  # the upgrade works the days out
        assert stored_days(store)["Writers strike begins"] == (None, None)
        classifier = ArchiveClassifier({"Writers strike begins": (("wga",), ("strike-started",))})
        reclassify(store, classifier)
        assert stored_days(store)["Writers strike begins"] == (None, None)
        status = guild_status(store.conn, "wga", date(2023, 8, 4))
        assert (status["strike_started"], status["strike_day"]) == ("2023-05-02", 95)
        later = guild_status(store.conn, "wga", date(2024, 1, 7))
        assert later["previous_strike"] == {
            "contract": "tv-theatrical",
            "started": "2023-05-02",
            "ended": "2023-09-27",
            "last_day": "2023-09-26",
            "days": 148,
        }


def test_a_report_no_longer_about_a_strike_loses_its_day(season_store):
    title = "Writers strike begins as TV and film scribes put down pens"
    reclassify(season_store, ArchiveClassifier({title: (("wga",), ())}))
    assert stored_days(season_store)[title] == (None, None)


def test_a_read_only_database_that_needs_upgrading_says_so(tmp_path, monkeypatch, run):
    path = write_old_database(tmp_path / "old.db", stop_before="m004_effective_days")
    connect = sqlite3.connect

    def read_only(*args, **kwargs):
        conn = connect(*args, **kwargs)
        conn.execute("PRAGMA query_only = ON")  # as a file the user may not write
        return conn

    monkeypatch.setattr("strikewatch.store.sqlite3.connect", read_only)
    result = CliRunner().invoke(cli, ["--db", str(path), "status", "--json"])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == (
        f"Error: {path}: the database is read-only, and this version of strikewatch must first"
        f" upgrade it (to schema {SCHEMA_VERSION}): run any strikewatch command on it once with"
        " write access\n"
    )
    monkeypatch.undo()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3


def test_a_failed_upgrade_closes_the_database(tmp_path, monkeypatch):
    path = write_old_database(tmp_path / "old.db", stop_before="m004_effective_days")
    opened = []
    connect = sqlite3.connect

    def remember(*args, **kwargs):
        opened.append(connect(*args, **kwargs))
        return opened[-1]

    def interrupted(db, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("strikewatch.store.sqlite3.connect", remember)
    monkeypatch.setattr("strikewatch.migrations.migrations.apply", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Store.open(path)
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        opened[0].execute("SELECT 1")
    monkeypatch.undo()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3


def test_reclassify_tags_the_text_a_poll_has_just_saved(season_store, monkeypatch):
    """A poll that saves an edit while reclassify waits for the write lock: the edit is what
    gets re-tagged (reclassify reads each batch once it holds the lock)."""
    title = "Writers strike begins as TV and film scribes put down pens"
    edited = "Writers strike to end at 12:01 a.m. Wednesday"
    transaction = season_store.transaction
    polled = []

    @contextmanager
    def after_a_poll():
        if not polled:
            polled.append(True)
            with sqlite3.connect(season_store.path) as poll:
                poll.execute("UPDATE items SET title = ? WHERE title = ?", (edited, title))
        with transaction() as conn:
            yield conn

    monkeypatch.setattr(season_store, "transaction", after_a_poll)
    reclassify(season_store, ArchiveClassifier({edited: (("wga",), ("strike-ended",))}))
    row = season_store.conn.execute(
        "SELECT guilds, events, effective_day FROM items WHERE title = ?", (edited,)
    ).fetchone()
    # Published Tuesday May 2 (Pacific): "Wednesday" is May 3.
    assert tuple(row) == ('["wga"]', '["strike-ended"]', "2023-05-03")


# Work the rule's fingerprint out again after changing it on purpose, *and* add a migration that
# works out items.effective_day and effective_why again for every stored strike report: the
# store keeps the days the old rule gave, and status trusts them.
EFFECTIVE_RULE_FINGERPRINT = "8328a0e76ae9636e"  # m009_dates_ahead_and_item_ids_never_reused


def test_the_effective_day_rule_is_pinned():
    """Its code (comments and docstrings aside) and its words, tables and horizon."""
    import ast
    import hashlib
    import inspect
    import textwrap

    from strikewatch import status

    def code_of(thing: object) -> str:
        tree = ast.parse(textwrap.dedent(inspect.getsource(thing)))
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if (
                isinstance(node, ast.FunctionDef | ast.ClassDef)
                and body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
        return canonical(tree)

    def canonical(node: object) -> str:
        """The tree as text, the same on every supported Python: `ast.dump` is not (3.12
        gives functions and classes an empty `type_params`, and 3.13 leaves empty and None
        fields out), so empty fields are left out here whatever the version."""
        if isinstance(node, ast.AST):
            fields = ", ".join(
                f"{name}={canonical(value)}"
                for name, value in ast.iter_fields(node)
                if value is not None and value != []
            )
            return f"{type(node).__name__}({fields})"
        if isinstance(node, list):
            return "[" + ", ".join(canonical(value) for value in node) + "]"
        return repr(node)

    parts = [
        code_of(thing)
        for thing in (
            status.effective_day,
            status._named_days,
            status._tied_day,
            status._sentences,
            status.la_day,
            status._unscheduled,
            status.pacific_time,
            status._daylight_saving,
            status._Patterns,
        )
    ]
    parts += [
        status._SCHEDULE_CUE,
        status._NEXT_DAY_CUE,
        status._NAMED_DAY,
        status._CHANGE_WORD,
        repr(status._MONTHS),
        repr(status._WEEKDAYS),
        repr(status.SCHEDULE_HORIZON),
        repr(status.DATE_HORIZON),
        repr(status.EVENING_HOUR),
    ]
    fingerprint = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    assert fingerprint == EFFECTIVE_RULE_FINGERPRINT


@pytest.mark.parametrize(
    "reports",
    [
        [
            (
                1,
                "Writers strike begins and ends",
                "2023-05-02T10:00",
                ("strike-ended", "strike-started"),
            )
        ],
        # Stored first, published last.
        [
            (1, "Writers strike ends", "2023-05-02T14:00", ("strike-ended",)),
            (2, "Writers strike begins", "2023-05-02T08:00", ("strike-started",)),
        ],
    ],
    ids=["one report starts and ends it", "the end stored first, published last"],
)
def test_a_strike_started_and_ended_on_one_day_is_over(tmp_path, reports):
    """On one day, a report's start comes before its end, and reports go in publication order."""
    with Store.open(tmp_path / "s.db") as store:
        for item_id, title, published, events in reports:
            write_as_another_tool(store.conn, item_id, title, "", pt(published), ("wga",), events)
        status = guild_status(store.conn, "wga", date(2023, 5, 3))
        assert status["on_strike"] is False
        assert status["previous_strike"] == {
            "contract": "tv-theatrical",
            "started": "2023-05-02",
            "ended": "2023-05-02",
            "last_day": "2023-05-02",
            "days": 1,  # the start day is day 1
        }


def test_status_reads_strike_reports_through_indexes(season_store):
    from strikewatch.status import STRIKE_REPORTS_SQL

    plan = " | ".join(
        row[3]
        for row in season_store.conn.execute("EXPLAIN QUERY PLAN " + STRIKE_REPORTS_SQL, ("2024",))
    )
    assert "SCAN" not in plan, plan
    assert re.search(r"SEARCH (TABLE )?items USING INTEGER PRIMARY KEY", plan), plan
    assert "tags_tag_published" in plan, plan


# Issue 16: each point pinned on an archive of our own wording, imported with `strikewatch
# import` (the real rules tag it) and read back with `status --json` / `--as-of`.


def report(title: str, published: str, summary: str = "") -> dict[str, str]:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return {
        "title": title,
        "link": f"https://reel.example/{slug}",
        "published": published,
        "summary": summary,
        "source": "reel",
    }


def import_archive(run, tmp_path, *reports: dict[str, str]) -> None:
    path = tmp_path / f"archive-{len(list(tmp_path.glob('archive-*')))}.jsonl"
    path.write_text("".join(json.dumps(entry) + "\n" for entry in reports), encoding="utf-8")
    result = run("import", str(path))
    assert result.exit_code == 0, result.output


def standing(run_json, as_of: str | None = None) -> dict[str, dict]:
    args = ("status", "--as-of", as_of) if as_of else ("status",)
    return {entry["guild"]: entry for entry in run_json(*args)}


IATSE_DATE = report(
    "IATSE sets Monday strike date: crews will walk off at 12:01 a.m. unless a deal is reached",
    "2025-10-08T15:00:00-07:00",  # Wednesday
    "The union said its members would stop work on film and TV productions if no agreement"
    " is reached with the studios by then.",
)


@pytest.mark.parametrize(
    "averted",
    [
        report(
            "Strike averted: IATSE and the studios reach a tentative agreement",
            "2025-10-11T21:30:00-07:00",  # Saturday night (Sunday in UTC)
            "The deal came hours before the deadline; crews will report to work Monday.",
        ),
        report(
            "IATSE calls off strike after reaching deal with AMPTP",
            "2025-10-12T20:00:00-07:00",  # Sunday evening: already Monday in UTC
            "Crews will report to work Monday.",
        ),
    ],
    ids=["averted by a deal", "called off the evening before"],
)
def test_a_strike_averted_before_its_day_never_starts(run, run_json, tmp_path, averted):
    import_archive(run, tmp_path, IATSE_DATE, averted)
    announced = standing(run_json, "2025-10-10")["iatse"]
    assert announced["on_strike"] is False
    assert announced["pending"]["event"] == "strike-started"
    assert announced["pending"]["on"] == "2025-10-13"
    for as_of in ("2025-10-12", "2025-10-13", "2025-12-31"):
        iatse = standing(run_json, as_of)["iatse"]
        assert (iatse["on_strike"], iatse["strike_day"], iatse["previous_strike"]) == (
            False,
            None,
            None,
        ), as_of
        assert iatse["strikes"] == [] and iatse["pending"] is None
    explained = run("status", "--guild", "iatse", "--as-of", "2025-12-31", "--explain", "--json")
    started = [row for row in json.loads(explained.stdout) if row["event"] == "strike-started"]
    assert started[0]["why"].endswith("called off before that day")


def test_a_deal_after_the_strike_began_does_not_undo_it(run, run_json, tmp_path):
    late = report(
        "IATSE and the studios reach a tentative agreement",
        "2025-10-14T10:00:00-07:00",
        "Crews stay on the picket lines until members vote.",
    )
    import_archive(run, tmp_path, IATSE_DATE, late)
    iatse = standing(run_json, "2025-10-15")["iatse"]
    assert (iatse["on_strike"], iatse["strike_started"], iatse["strike_day"]) == (
        True,
        "2025-10-13",
        3,
    )


def test_the_readme_status_examples_hold_on_the_sample(run, run_json):
    assert run("import", "--sample", "--quiet").exit_code == 0
    sag = standing(run_json, "2023-07-13")["sag-aftra"]
    assert sag["on_strike"] is False
    assert (sag["pending"]["event"], sag["pending"]["on"]) == ("strike-started", "2023-07-14")
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    examples = re.findall(r"^strikewatch (status --as-of \S+ --guild wga) +# (.+)$", readme, re.M)
    assert len(examples) == 2
    for command, expected in examples:
        assert run(*command.split()).stdout.splitlines()[0] == expected
    # A time names its Los Angeles day: 8 p.m. Pacific on July 13 is July 14 in UTC.
    evening = {e["guild"]: e for e in run_json("status", "--as-of", "2023-07-13T20:00:00-07:00")}
    assert evening["sag-aftra"]["on_strike"] is False
    assert evening["sag-aftra"]["pending"]["on"] == "2023-07-14"
    # "the WGA is on strike as of 2023-05-02 (day 1) to 2023-09-26 (day 148) and not as of
    # 2023-09-27; SAG-AFTRA as of 2023-07-14 (day 1) to 2023-11-08 (day 118)"
    for guild, as_of, day in [
        ("wga", "2023-05-01", None),
        ("wga", "2023-05-02", 1),
        ("wga", "2023-09-26", 148),
        ("wga", "2023-09-27", None),
        ("sag-aftra", "2023-07-14", 1),
        ("sag-aftra", "2023-11-08", 118),
        ("sag-aftra", "2023-11-09", None),
    ]:
        assert standing(run_json, as_of)[guild]["strike_day"] == day, (guild, as_of)


def test_the_day_tied_to_the_start_wins_over_the_day_of_the_vote(run, run_json, tmp_path):
    import_archive(
        run,
        tmp_path,
        report(
            "SAG-AFTRA members voted on Thursday to strike beginning 12:01 a.m. Friday",
            "2025-03-06T19:00:00-08:00",  # Thursday evening: Friday in UTC
            "The national board approved the walkout against the studios.",
        ),
    )
    thursday = standing(run_json, "2025-03-06")["sag-aftra"]
    assert thursday["on_strike"] is False and thursday["pending"]["on"] == "2025-03-07"
    friday = standing(run_json, "2025-03-07")["sag-aftra"]
    assert (friday["on_strike"], friday["strike_started"], friday["strike_day"]) == (
        True,
        "2025-03-07",
        1,
    )


def test_a_strike_call_reported_the_evening_before_counts_from_the_next_day(
    run, run_json, tmp_path
):
    import_archive(
        run,
        tmp_path,
        report(
            "Writers strike is on after talks with studios collapse",
            "2025-05-01T23:10:00-07:00",  # 06:10 on May 2 in UTC
            "The Writers Guild called the walkout after negotiations with the AMPTP failed.",
        ),
    )
    evening = standing(run_json, "2025-05-01")["wga"]
    assert evening["on_strike"] is False and evening["pending"]["on"] == "2025-05-02"
    wga = standing(run_json, "2025-05-02")["wga"]
    assert (wga["strike_started"], wga["strike_day"]) == ("2025-05-02", 1)


def test_pacific_time_follows_the_time_zone_database():
    """The US rules written out in status (1987 on) agree with the time zone database, this
    year included (a changed rule in an updated database shows here); earlier years use it."""
    zoneinfo = pytest.importorskip("zoneinfo")
    from datetime import timedelta

    from strikewatch import status

    try:
        zone = zoneinfo.ZoneInfo("America/Los_Angeles")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no time zone database here")
    for year in (1980, 1995, 2006, 2007, 2023, datetime.now(UTC).year + 1):
        for month, day in ((3, 8), (3, 14), (4, 1), (4, 8), (4, 24), (10, 25), (11, 1), (11, 8)):
            start = datetime(year, month, day, tzinfo=UTC)
            for hour in range(0, 24 * 8, 1):
                moment = start + timedelta(hours=hour)
                expected = moment.astimezone(zone).replace(tzinfo=None)
                assert status.pacific_time(moment) == expected, moment


SAG_CONTRACTS = (
    report(
        "SAG-AFTRA calls strike against video game companies",
        "2024-07-25T15:00:00-07:00",  # Thursday
        "Performers covered by the Interactive Media Agreement will walk off at 12:01 a.m."
        " Friday after talks over AI protections failed.",
    ),
    report(
        "SAG-AFTRA strike against studios begins as actors walk off film and TV sets",
        "2024-09-10T09:00:00-07:00",
        "Picket lines went up outside the studios.",
    ),
    report(
        "SAG-AFTRA video game strike ends after eleven months",
        "2025-06-11T10:00:00-07:00",
        "Performers return to work on games under the new agreement.",
    ),
    report(
        "SAG-AFTRA members strike advertisers as commercials contract talks fail",
        "2025-07-01T10:00:00-07:00",
        "The union called the strike against ad agencies.",
    ),
)


def test_each_contract_strikes_and_ends_on_its_own(run, run_json, tmp_path):
    import_archive(run, tmp_path, *SAG_CONTRACTS)
    games = standing(run_json, "2024-08-01")["sag-aftra"]
    assert games["on_strike"] is True
    assert games["strikes"] == [
        {"contract": "interactive", "started": "2024-07-26", "strike_day": 7}
    ]
    line = run("status", "--as-of", "2024-08-01", "--guild", "sag").stdout.splitlines()[0]
    assert line == "sag-aftra: ON STRIKE: video games (interactive), day 7 (since 2024-07-26)"

    both = standing(run_json, "2024-10-01")["sag-aftra"]
    assert [strike["contract"] for strike in both["strikes"]] == ["interactive", "tv-theatrical"]
    assert (both["strike_started"], both["strike_day"]) == ("2024-07-26", 68)  # the longest

    # The video game strike's end does not end the film and TV one.
    after = standing(run_json, "2025-06-12")["sag-aftra"]
    assert after["strikes"] == [
        {"contract": "tv-theatrical", "started": "2024-09-10", "strike_day": 276}
    ]
    assert (after["strike_started"], after["strike_day"]) == ("2024-09-10", 276)
    assert after["previous_strike"]["contract"] == "interactive"
    assert after["previous_strike"]["last_day"] == "2025-06-10"

    ads = standing(run_json, "2025-07-02")["sag-aftra"]
    assert [strike["contract"] for strike in ads["strikes"]] == ["tv-theatrical", "commercials"]
    csv_out = run("status", "--as-of", "2025-07-02", "--guild", "sag", "--csv").stdout
    (row,) = csv.DictReader(io.StringIO(csv_out))
    # plain text, not JSON, in the cell (issue 18)
    assert row["strikes"] == (
        "contract tv-theatrical, started 2024-09-10, strike_day 296;"
        " contract commercials, started 2025-07-01, strike_day 2"
    )


@pytest.mark.parametrize(
    "staff",
    [
        report(
            "WGA staff union walks out over stalled contract talks with the guild",
            "2025-02-03T09:00:00-08:00",
            "The guild's employees say bargaining has dragged on for a year.",
        ),
        report(
            "Writers Guild employees go on strike",
            "2025-02-03T12:00:00-08:00",
            "The guild's own staff union began its walkout on Monday.",
        ),
    ],
    ids=["staff union", "guild employees"],
)
def test_a_strike_against_the_guild_is_not_the_guild_on_strike(run, run_json, tmp_path, staff):
    import_archive(run, tmp_path, staff)
    wga = standing(run_json, "2025-02-04")["wga"]
    assert (wga["on_strike"], wga["strikes"], wga["pending"]) == (False, [], None)
    # The guild's own strike still counts.
    import_archive(
        run,
        tmp_path,
        report(
            "Writers strike is on after talks with studios collapse",
            "2025-05-02T09:00:00-07:00",
            "The Writers Guild walked out after negotiations with the AMPTP failed.",
        ),
    )
    assert standing(run_json, "2025-05-03")["wga"]["strike_started"] == "2025-05-02"


def test_an_empty_store_says_it_does_not_know(run, run_json):
    assert run("reclassify", "--quiet").exit_code == 0  # an empty database
    entries = run_json("status")
    assert [entry["guild"] for entry in entries] == list(GUILDS)
    for entry in entries:
        assert set(entry) >= {"guild", "on_strike", "strike_started", "strike_day", "strikes"}
        assert (entry["stale"], entry["data_through"], entry["last_poll"]) == (True, None, None)
    lines = run("status").stdout.splitlines()
    assert lines[0] == (
        "wga: not known: no reports stored (last successful poll: never); last known: not on strike"
    )


def test_months_old_data_says_how_fresh_it_is(run, run_json):
    assert run("import", "--sample", "--quiet").exit_code == 0
    fresh = standing(run_json, "2023-08-04")["wga"]
    assert (fresh["stale"], fresh["data_through"]) == (False, "2023-08-04")
    old = standing(run_json, "2024-03-01")
    newest = old["wga"]["data_through"]
    assert newest.startswith("2023-12") and all(entry["stale"] for entry in old.values())
    first = run("status", "--as-of", "2024-03-01", "--guild", "wga").stdout.splitlines()[0]
    assert first == (
        f"wga: not known: no report since {newest} (last successful poll: never); last known:"
        " not on strike (last strike 2023-05-02 to 2023-09-26, 148 days)"
    )
    # A finished strike is given to its last day on strike, as the README says.
    ended = run("status", "--as-of", "2023-12-31", "--guild", "wga").stdout.splitlines()[0]
    assert ended == "wga: not on strike (last strike 2023-05-02 to 2023-09-26, 148 days)"


def test_a_recent_poll_is_fresh_data(run, run_json, tmp_path):
    from email.utils import format_datetime

    published = format_datetime(datetime.now(UTC))
    feed = tmp_path / "feed.xml"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Reel</title>'
        "<link>https://reel.example/</link><description>x</description><item>"
        "<title>WGA and AMPTP schedule talks for next week</title>"
        "<link>https://reel.example/wga-talks</link>"
        f"<pubDate>{published}</pubDate></item></channel></rss>",
        encoding="utf-8",
    )
    assert run("feeds", "add", str(feed)).exit_code == 0
    assert run("poll", "--quiet").exit_code == 0
    wga = standing(run_json)["wga"]
    assert wga["stale"] is False and wga["last_poll"] is not None
    assert run("status", "--guild", "wga").stdout.startswith("wga: not on strike\n")


def test_the_weekly_chart_shows_every_event_with_dates_and_a_legend(run, run_json):
    assert run("import", "--sample", "--quiet").exit_code == 0
    sag = standing(run_json, "2023-07-14")["sag-aftra"]
    assert sag["weekly"][-1]["dated"] == [
        {"day": "2023-07-11", "event": "meeting-requested"},
        {"day": "2023-07-13", "event": "talks-stalled"},
        {"day": "2023-07-13", "event": "strike-started"},
    ]
    out = run("status", "--as-of", "2023-07-14", "--guild", "sag").stdout
    assert (
        "    week of 2023-07-10: 07-11 m meeting-requested, 07-13 x talks-stalled,"
        " 07-13 S strike-started\n" in out
    )
    assert "    week of 2023-06-05: 06-05 A strike-authorized, 06-07 t talks-started\n" in out
    legend = out.splitlines()[-1]
    assert legend.startswith("As of the end of 2023-07-14 (Los Angeles)")
    assert (
        "S strike-started" in legend and "E strike-ended" in legend and "x talks-stalled" in legend
    )


def test_the_terminal_chart_lists_every_event_and_the_legend(run_json, run):
    from strikewatch.render import print_status

    assert run("import", "--sample", "--quiet").exit_code == 0
    rows = run_json("status", "--as-of", "2023-07-14", "--guild", "sag")

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    print_status(rows, stream=screen)
    text = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", screen.getvalue()).split())
    assert "week of 07-10: 07-11 m, 07-13 x, 07-13 S" in text
    assert "S strike-started, E strike-ended" in text


@pytest.mark.parametrize("as_of", [date(1, 1, 1), date(1, 2, 1), date(9999, 12, 31)])
def test_status_at_the_ends_of_the_calendar(season_store, as_of):
    """Whatever DATE the command line lets through, status answers without a traceback."""
    status = guild_status(season_store.conn, "wga", as_of)
    assert (status["on_strike"], status["stale"]) == (False, True)
    assert len(status["weekly"]) == (0 if as_of.year == 1 else 12)


def test_days_stored_under_the_old_rule_are_worked_out_again(tmp_path, season_store):
    """m006: a store opened after the rule changed (Los Angeles days) has every strike
    report's day worked out again, not the day the old rule kept."""
    path = write_old_database(tmp_path / "old.db", stop_before="m006_status_days_in_los_angeles")
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE items SET effective_day = '1999-01-01', effective_why = 'the old rule'"
            " WHERE id IN (SELECT item_id FROM tags WHERE tag IN ('strike-started', 'strike-ended'))"
        )
    conn.close()
    with Store.open(path) as migrated:
        assert stored_days(migrated) == stored_days(season_store)
        assert "the old rule" not in {why for _, why in stored_days(migrated).values()}
