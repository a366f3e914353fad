"""The stored strike standing (status.save_standings, table strike_standing): `status` answers
from it exactly as a replay of every report would, and it is dropped whenever a strike or deal
report changes, whoever changes it."""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, date, datetime, timedelta

import pytest

from strikewatch.parse import Item
from strikewatch.pipeline import finish, ingest
from strikewatch.status import guild_status, la_day, save_standings
from strikewatch.store import Store
from tests.feeds import Story, rss
from tests.season import Tags, replayed_in_full, write_old_database

# Headlines of our own wording, each with its events; {day} is filled with a weekday within the
# week, {date} with a date up to 45 days ahead: strikes scheduled, repeated, ended and averted.
STARTS = (
    "{guild} members walk off the job after talks collapse",
    "{guild} strike to begin at 12:01 a.m. {day}",
    "{guild} strike set to begin {date}",
    "{guild} video game strike to begin {date}",
    "Picket lines go up as {guild} strike begins",
)
ENDS = (
    "{guild} board votes to end strike at 12:01 a.m. {day}",
    "{guild} strike is over: members head back to work",
    "{guild} calls off strike planned for {date}",
    "Strike averted: {guild} and studios step back from the brink",
)
DEALS = (
    "{guild} reaches tentative agreement with studios",
    "{guild} and AMPTP strike a deal overnight",
)
NAMES = {"wga": "WGA", "sag-aftra": "SAG-AFTRA"}


def reports(seed: int, count: int = 90) -> list[tuple[Item, Tags]]:
    """A season of start, end and deal reports for two guilds, at any hour, in no order."""
    rng = random.Random(seed)
    begin = datetime(2023, 4, 20, tzinfo=UTC)
    made = []
    for number in range(count):
        guild = rng.choice(list(NAMES))
        kind, texts = rng.choice(
            [("strike-started", STARTS)] * 3 + [("strike-ended", ENDS)] * 2 + [("deal", DEALS)]
        )
        published = begin + timedelta(minutes=rng.randrange(0, 70 * 24 * 60))
        local = la_day(published)
        week = local + timedelta(days=rng.randrange(1, 7))
        ahead = local + timedelta(days=rng.choice((2, 9, 20, 45)))
        title = rng.choice(texts).format(
            guild=NAMES[guild], day=f"{week:%A}", date=f"{ahead:%b}. {ahead.day}"
        )
        link = f"https://trade.example/{number}"
        item = Item(f"{title} ({number})", link, published=published, source="trade")
        made.append((item, Tags(tuple(sorted({guild, "amptp"})), (kind,))))
    return made


class Tagger:
    version = "standing-test"

    def __init__(self, tags: dict[str, Tags]) -> None:
        self.tags = tags

    def classify(self, title: str, summary: str = "") -> Tags:
        return self.tags.get(title, Tags((), ()))


@pytest.mark.parametrize(("seed", "bulk"), [(1, False), (2, False), (3, True)])
def test_the_stored_standing_answers_as_a_replay_of_every_report(tmp_path, seed, bulk):
    """Polled day by day, as cron would (or imported day by day, `bulk`: a first poll's or an
    import's way of storing): after each day's reports the stored standing, advanced to any
    later day, says what a replay of every report says (strikes, pending, previous)."""
    season = reports(seed)
    tagger = Tagger({item.title: tags for item, tags in season})
    store = Store.open(tmp_path / "season.db")
    days = sorted({la_day(item.published) for item, _ in season})
    compared = 0
    for today in days:
        batch = [item for item, _ in season if la_day(item.published) == today]
        ingest(store, tagger, batch, source="trade", bulk=bulk)
        finish(store)
        assert store.conn.execute("SELECT count(*) FROM strike_standing").fetchone()[0] == 5
        for ahead in (0, 1, 3, 10, 45, 62):
            for guild in NAMES:
                day = today + timedelta(days=ahead)
                stored = guild_status(store.conn, guild, day, with_weeks=False)
                assert stored == replayed_in_full(store.conn, guild, day, False), (
                    today,
                    ahead,
                    guild,
                )
                compared += 1
    # The season strikes, schedules and calls off: the comparison saw each kind of answer.
    store.close()
    assert compared > 500


def test_status_reads_no_strike_report_when_the_standing_is_stored(tmp_path, season_store):
    statements: list[str] = []
    season_store.conn.set_trace_callback(statements.append)
    status = guild_status(season_store.conn, "wga", date(2023, 12, 31))
    season_store.conn.set_trace_callback(None)
    assert status["previous_strike"]["started"] == "2023-05-02"
    assert not [sql for sql in statements if "effective_day" in sql]
    # An earlier day than the newest report is replayed from the reports.
    season_store.conn.set_trace_callback(statements.append)
    during = guild_status(season_store.conn, "wga", date(2023, 7, 1))
    season_store.conn.set_trace_callback(None)
    assert during["on_strike"] and during["strike_started"] == "2023-05-02"
    assert [sql for sql in statements if "effective_day" in sql]


def test_another_programs_change_to_a_strike_report_is_seen_at_once(tmp_path, season_store):
    """sqlite-utils, Datasette or a hand-written statement: the triggers drop the standing, so
    status replays the reports as they now are, without waiting for the next poll."""
    path = season_store.conn.execute("PRAGMA database_list").fetchone()[2]
    before = guild_status(season_store.conn, "wga", date(2023, 12, 31))
    assert before["previous_strike"]["ended"] == "2023-09-27"
    other = sqlite3.connect(path)  # foreign keys off, as sqlite3 opens by default

    def standing() -> int:
        return other.execute("SELECT count(*) FROM strike_standing").fetchone()[0]

    ends = "SELECT item_id FROM tags WHERE tag = 'strike-ended'"
    with other:
        other.execute(f"DELETE FROM items WHERE id IN ({ends})")
    assert standing() == 0
    after = guild_status(season_store.conn, "wga", date(2023, 12, 31))
    assert after["on_strike"] and after["strike_started"] == "2023-05-02"
    finish(season_store)
    assert standing() == 5
    # A strike report moved to another day, or retagged to another guild.
    starts = "SELECT item_id FROM tags WHERE tag = 'strike-started'"
    with other:
        other.execute(
            f"UPDATE items SET published = '2023-05-09T16:00:00+00:00' WHERE id IN ({starts})"
        )
    assert standing() == 0
    finish(season_store)
    with other:
        other.execute(f"UPDATE items SET guilds = '[\"dga\"]' WHERE id IN ({starts})")
    assert standing() == 0
    # Other news changes nothing status reads.
    finish(season_store)
    with other:
        other.execute("UPDATE items SET title = title || ' (updated)' WHERE events = '[]'")
    assert standing() == 5
    other.close()


def test_news_without_strike_reports_keeps_the_standing(tmp_path, season_store):
    """Most polls bring no strike or deal report: nothing is replayed again."""
    kept = season_store.conn.execute("SELECT guild, state FROM strike_standing").fetchall()
    assert kept
    news = Item(
        "WGA hosts a panel on residuals",
        "https://trade.example/panel",
        published=datetime(2024, 1, 5, 18, tzinfo=UTC),
        source="trade",
    )
    ingest(season_store, Tagger({news.title: Tags(("wga",), ())}), [news], source="trade")
    statements: list[str] = []
    season_store.conn.set_trace_callback(statements.append)
    finish(season_store)
    season_store.conn.set_trace_callback(None)
    assert not [sql for sql in statements if "effective_day" in sql]
    assert season_store.conn.execute("SELECT guild, state FROM strike_standing").fetchall() == kept


def test_a_store_upgraded_from_schema_9_has_its_standing_saved(tmp_path):
    """Migration m010 saves the standing of what an older store holds: status answers from it
    at once, as a replay would."""
    path = write_old_database(tmp_path / "old.db", stop_before="m010_stored_strike_standing")
    store = Store.open(path)
    rows = store.conn.execute("SELECT guild, day FROM strike_standing ORDER BY guild").fetchall()
    assert [tuple(row) for row in rows] == [
        (guild, "2023-11-09") for guild in ("dga", "iatse", "sag-aftra", "teamsters", "wga")
    ]
    for guild in ("wga", "sag-aftra"):
        day = date(2023, 11, 20)
        assert guild_status(store.conn, guild, day) == replayed_in_full(
            store.conn, guild, day, weeks=True
        )
    store.close()


def test_of_two_strikes_announced_the_nearest_is_pending(tmp_path):
    """Two contracts' strikes announced for later days: status names the one that comes first,
    from the stored standing and from a full replay alike."""
    announced = [
        Item(
            "SAG-AFTRA sets film and TV strike to begin Aug. 10",
            "https://trade.example/tv",
            published=datetime(2023, 7, 20, 17, tzinfo=UTC),
        ),
        Item(
            "SAG-AFTRA video game strike to begin Aug. 1",
            "https://trade.example/games",
            published=datetime(2023, 7, 21, 17, tzinfo=UTC),
        ),
    ]
    tagger = Tagger({item.title: Tags(("sag-aftra",), ("strike-started",)) for item in announced})
    store = Store.open(tmp_path / "two.db")
    ingest(store, tagger, announced, source="trade")
    finish(store)
    for day, expected in (
        (date(2023, 7, 25), ("2023-08-01", "interactive")),
        (date(2023, 8, 3), ("2023-08-10", "tv-theatrical")),
    ):
        for status in (
            guild_status(store.conn, "sag-aftra", day, with_weeks=False),
            replayed_in_full(store.conn, "sag-aftra", day, False),
        ):
            assert (status["pending"]["on"], status["pending"]["contract"]) == expected
    store.close()


def subscribe_to_one_story(tmp_path, run, story: Story) -> None:
    """A local feed named `picket` that carries `story`, subscribed."""
    feed = tmp_path / "picket.xml"
    feed.write_bytes(rss([story], title="Picket Line"))
    assert run("feeds", "add", str(feed), "--name", "picket").exit_code == 0


def test_purging_a_feed_that_carried_a_strike_report_ends_that_strike(
    tmp_path, run, run_json, db_path
):
    """`feeds remove --purge` deletes the reports, and the standing is saved again from what
    is left."""
    walkout = Story(
        "WGA strike begins as writers walk picket lines",
        "https://picket.example/wga-strike-begins",
        "2023-05-02T17:00:00+00:00",
        "Writers picketed studio gates on the first morning.",
    )
    subscribe_to_one_story(tmp_path, run, walkout)
    assert run("poll", "--quiet").exit_code == 0
    [wga] = run_json("status", "--as-of", "2023-05-10", "--guild", "wga")
    assert wga["on_strike"] and wga["strike_started"] == "2023-05-02"
    assert run("feeds", "remove", "picket", "--purge").exit_code == 0
    [wga] = run_json("status", "--as-of", "2023-05-10", "--guild", "wga")
    assert not wga["on_strike"]
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM strike_standing").fetchone()[0] == 5


def test_a_poll_whose_standing_cannot_be_saved_keeps_its_items_and_says_so(
    tmp_path, run, run_json, monkeypatch
):
    """A full disk at the very end: the items stay, one line says which steps failed, exit 1;
    the next run saves the standing."""
    walkout = Story(
        "SAG-AFTRA strike begins at studios across Los Angeles",
        "https://picket.example/sag-aftra-strike-begins",
        "2023-07-14T15:00:00+00:00",
    )
    subscribe_to_one_story(tmp_path, run, walkout)

    failed: list[bool] = []

    def full_disk_once(conn):
        if not failed:
            failed.append(True)
            raise sqlite3.OperationalError("database or disk is full")
        return save_standings(conn)

    monkeypatch.setattr("strikewatch.pipeline.save_standings", full_disk_once)
    result = run("poll", "--quiet")
    assert result.exit_code == 1
    assert "error: the run's last steps (grouping stories, saving the strike standing) failed" in (
        result.stderr
    )
    assert [entry["title"] for entry in run_json("timeline")] == [walkout.title]
    assert run("poll", "--quiet").exit_code == 0
    [sag] = run_json("status", "--as-of", "2023-07-20", "--guild", "sag-aftra")
    assert sag["on_strike"] and sag["strike_started"] == "2023-07-14"
