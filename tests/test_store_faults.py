"""When the database will not take a write (issue 14, points 2 and 17): one feed's failure costs
no other feed anything, and every message says what is true."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from strikewatch import store as storing
from strikewatch.cli import cli
from strikewatch.store import Store
from tests.feeds import Story, rss

DAY = "2023-07-14T1{}:00:00+00:00"


def serve(httpserver, run, name: str, stories: list[Story]) -> str:
    path = f"/{name}.xml"
    httpserver.expect_request(path).respond_with_data(
        rss(stories), content_type="application/rss+xml"
    )
    url = httpserver.url_for(path)
    assert run("feeds", "add", url, "--name", name).exit_code == 0
    return url


def stored(db_path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT source, title FROM items ORDER BY source, id").fetchall()


@pytest.fixture
def two_feeds(httpserver, run):
    small = serve(
        httpserver,
        run,
        "small",
        [Story("WGA strike begins", "https://a.example/1", DAY.format(1))],
    )
    big = serve(
        httpserver,
        run,
        "big",
        [
            Story(
                f"SAG-AFTRA talks, day {n}", f"https://b.example/{n}", DAY.format(2), "word " * 300
            )
            for n in range(300)
        ],
    )
    return {"small": small, "big": big}


def test_a_feed_the_database_refuses_is_that_feeds_error(two_feeds, run, run_json, db_path):
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "CREATE TRIGGER refuse_big BEFORE INSERT ON items WHEN new.source = 'big'"
            " BEGIN SELECT RAISE(ABORT, 'refused by a check'); END"
        )
    result = run("poll")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: big ({two_feeds['big']}): its items could not be stored: refused by a check"
    ]
    assert "database error" not in result.output
    assert stored(db_path) == [("small", "WGA strike begins")]
    health = {feed["name"]: feed for feed in run_json("feeds", "list")}
    assert health["small"]["health"] == "ok"
    assert health["big"]["health"].startswith("failing")
    assert health["big"]["error"] == errors[0].split(": ", 2)[2]
    with sqlite3.connect(db_path) as conn:
        outcomes = dict(
            conn.execute(
                "SELECT feeds.name, poll_log.outcome FROM poll_log JOIN feeds ON feeds.id = feed_id"
            )
        )
    assert outcomes == {"small": "ok", "big": "error"}


@pytest.fixture
def disk_fills_for(monkeypatch):
    """The database file cannot grow while the pipeline stores the named source's items (or
    from the given call on): SQLite's own "database or disk is full"."""
    from strikewatch import pipeline

    def arrange(source: str | None = None, from_call: int = 1) -> None:
        save = pipeline.ingest
        calls = []

        def ingest(store, tagger, items, **kwargs):
            calls.append(kwargs["source"])
            if kwargs["source"] == source or (source is None and len(calls) >= from_call):
                pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
                store.conn.execute(f"PRAGMA max_page_count = {pages}")
                try:
                    return save(store, tagger, items, **kwargs)
                finally:
                    store.conn.execute("PRAGMA max_page_count = 1073741823")
            return save(store, tagger, items, **kwargs)

        monkeypatch.setattr(pipeline, "ingest", ingest)

    return arrange


def test_a_full_disk_says_which_feeds_were_stored(two_feeds, run, db_path, disk_fills_for):
    disk_fills_for("big")
    result = run("poll", "--quiet")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: big ({two_feeds['big']}): its items could not be stored:"
        " the disk is full: the write in progress was undone",
        "note: stored before or despite that: small (1 new, 0 updated)",
    ]
    assert "nothing" not in result.output
    assert stored(db_path) == [("small", "WGA strike begins")]


def test_a_full_disk_during_an_import_says_what_was_stored(
    tmp_path, run, db_path, monkeypatch, disk_fills_for
):
    monkeypatch.setattr("strikewatch.ingest.BATCH_SIZE", 2)
    lines = [
        {"title": f"WGA update {n}", "link": f"https://a.example/{n}", "summary": "x" * 9000}
        for n in range(5)
    ]
    path = tmp_path / "archive.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    disk_fills_for(from_call=2)
    result = run("import", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {path}: the disk is full: the write in progress was undone; 2 new and 0 updated"
        " item(s) from it were stored before that"
    ]
    assert len(stored(db_path)) == 2


def test_a_device_is_not_a_database_file():
    """It used to be "the disk is full or failing: nothing was written"."""
    result = CliRunner().invoke(cli, ["--db", "/dev/null", "timeline"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: /dev/null: is not a regular file (a device or pipe) and cannot hold a database;"
        " give the path of a database file"
    )


def test_a_lock_held_by_another_program_is_not_blamed_on_strikewatch(run, db_path, monkeypatch):
    Store.open(db_path).close()
    monkeypatch.setattr(storing, "BUSY_TIMEOUT_SECONDS", 0.2)
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = run("feeds", "add", "https://a.example/feed", "--name", "a", "--no-check")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: database error: the database is busy: another program has been writing to it"
        " for over 0.2 s; try again in a moment"
    )


def test_damaged_only_when_quick_check_says_so(tmp_path, run, db_path):
    assert run("import", "--sample", "--quiet").exit_code == 0
    size = db_path.stat().st_size
    with open(db_path, "r+b") as handle:  # every page but the first overwritten with noise
        handle.seek(4096)
        handle.write(b"\xa5" * (size - 4096))
    result = run("timeline", "--all", "--json")
    assert result.exit_code == 1
    assert result.stderr.strip().endswith(
        "the file is not a strikewatch database, or it is damaged"
    )


def test_reimporting_an_unchanged_archive_updates_nothing(tmp_path, run):
    link = "https://guild.example/news"
    lines = [
        {"title": "WGA statement", "link": link, "summary": "first wording"},
        {"title": "WGA statement", "link": link, "summary": "second wording"},
        {"title": "DGA statement", "link": "https://guild.example/dga"},
    ]
    path = tmp_path / "guild.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    # The second line is the first one's item again, the later text winning.
    assert "2 new, 0 updated, 1 already stored" in run("import", str(path)).output
    assert "0 new, 0 updated, 3 already stored" in run("import", str(path)).output
