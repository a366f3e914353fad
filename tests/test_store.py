"""The database: schema pinned, migrations on open, dedupe rules, feed bookkeeping."""

from __future__ import annotations

import os
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from strikewatch.errors import StoreError, UsageError
from strikewatch.filters import TimelineFilter
from strikewatch.parse import Item
from strikewatch.store import SCHEMA_VERSION, Store
from strikewatch.subscriptions import add_feed, derive_feed_name, find_feed
from tests.season import save

SNAPSHOT = Path(__file__).parent / "data" / "schema.sql"


class FixedClassifier:
    """Tags every item mentioning 'wga' with wga, and 'deal' with deal."""

    version = "fixed-1"

    def classify(self, title: str, summary: str = ""):
        from strikewatch.classify import Tags

        text = f"{title} {summary}".lower()
        guilds = ("wga",) if "wga" in text else ()
        events = ("deal",) if "deal" in text else ()
        return Tags(guilds, events)


def dump_schema(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type, name"
        ).fetchall()
    blocks = [f"-- {kind} {name}\n{' '.join(sql.split())};" for kind, name, sql in rows]
    return "\n".join(blocks) + "\n"


def test_schema_is_pinned(tmp_path):
    """Any schema change must come with a migration and an updated snapshot (set
    STRIKEWATCH_UPDATE_SCHEMA=1 to rewrite tests/data/schema.sql after adding one)."""
    Store.open(tmp_path / "a.db").close()
    schema = dump_schema(tmp_path / "a.db")
    if os.environ.get("STRIKEWATCH_UPDATE_SCHEMA"):
        SNAPSHOT.write_text(schema)
    assert schema == SNAPSHOT.read_text()


def test_open_applies_migrations_once_and_sets_wal(tmp_path):
    path = tmp_path / "nested" / "dir" / "a.db"
    store = Store.open(path)
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        applied = [
            row[0] for row in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id")
        ]
    assert applied[0] == "m001_initial"
    assert all(re.fullmatch(r"m\d{3}_\w+", name) for name in applied)
    Store.open(path).close()  # reopening is a no-op
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == len(applied)


def test_migrations_module_matches_schema_version():
    from strikewatch.migrations import migrations

    assert len(migrations._migrations) == SCHEMA_VERSION


def test_not_a_database_is_a_clear_error(tmp_path):
    bogus = tmp_path / "notes.db"
    bogus.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(StoreError, match="not a strikewatch database"):
        Store.open(bogus)
    assert bogus.read_text().startswith("these are my notes")
    with pytest.raises(StoreError, match="is a directory"):
        Store.open(tmp_path)


def test_odd_database_paths(tmp_path, monkeypatch):
    # An empty path is a mistake (sqlite would open a throwaway database and keep nothing).
    with pytest.raises(StoreError, match="path is empty"):
        Store.open("")
    # A trailing slash names the file, as pathlib reads it: no folder of that name appears.
    Store.open(f"{tmp_path}/slash.db/").close()
    assert (tmp_path / "slash.db").is_file()
    # A relative path with no folder, and ~, as typed.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    Store.open("plain.db").close()
    Store.open("~/deep/er.db").close()
    assert (tmp_path / "plain.db").is_file() and (tmp_path / "home/deep/er.db").is_file()


def test_an_empty_db_option_is_an_error_not_the_default_database(tmp_path, monkeypatch):
    monkeypatch.setenv("STRIKEWATCH_DB", str(tmp_path / "default.db"))
    from click.testing import CliRunner

    from strikewatch.cli import cli

    result = CliRunner().invoke(cli, ["--db", "", "timeline", "--json"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: no database file given (the path is empty)"
    assert not (tmp_path / "default.db").exists()


def test_dedupe_by_guid_then_link_then_hash(tmp_path):
    store = Store.open(tmp_path / "a.db")
    seen = datetime(2023, 10, 1, tzinfo=UTC)
    first = [
        Item(
            "WGA deal reached",
            "https://a.example/1",
            guid="g1",
            published=datetime(2023, 9, 25, tzinfo=UTC),
        ),
        Item("No link, no guid", None, summary="body text"),
    ]
    result = save(store, first, source="a", classifier=FixedClassifier(), seen_at=seen)
    assert len(result.new_ids) == 2
    again = [
        Item("WGA deal reached (updated)", "https://a.example/1-moved", guid="g1"),  # same guid
        Item("No link, no guid", None, summary="body text"),  # same hash
        Item(
            "WGA deal reached", "https://a.example/1", guid="other", published=None
        ),  # same link via feed b
    ]
    result = save(store, again[:2], source="a", classifier=FixedClassifier(), seen_at=seen)
    assert result.new_ids == [] and len(result.updated_ids) == 1 and result.unchanged == 1
    result = save(store, again[2:], source="b", classifier=FixedClassifier(), seen_at=seen)
    assert result.new_ids == [] and result.unchanged == 1
    rows = store.timeline(TimelineFilter(include_untagged=True))
    assert len(rows) == 2
    deal = next(row for row in rows if row["link"] == "https://a.example/1")
    assert deal["title"] == "WGA deal reached (updated)"
    assert deal["guilds"] == ["wga"] and deal["events"] == ["deal"]
    undated = next(row for row in rows if row["link"] is None)
    assert undated["published"] == "2023-10-01T00:00:00+00:00"  # first seen


def test_future_dates_are_clamped_to_first_seen(tmp_path):
    store = Store.open(tmp_path / "a.db")
    seen = datetime(2023, 10, 1, 12, tzinfo=UTC)
    future = Item("WGA deal", "https://a.example/f", published=datetime(2031, 1, 1, tzinfo=UTC))
    save(store, [future], source="a", classifier=FixedClassifier(), seen_at=seen)
    assert store.timeline(TimelineFilter())[0]["published"] == "2023-10-01T12:00:00+00:00"


def test_timeline_filters_and_limit(tmp_path):
    store = Store.open(tmp_path / "a.db")
    items = [
        Item(
            f"WGA story {day}{' deal' if day % 2 else ''}",
            f"https://a.example/{day}",
            published=datetime(2023, 5, day, tzinfo=UTC),
        )
        for day in range(1, 11)
    ]
    save(store, items, source="deadline", classifier=FixedClassifier())
    limited = store.timeline(TimelineFilter(guilds=["wga"], limit=3))
    assert [row["link"] for row in limited] == [f"https://a.example/{day}" for day in (8, 9, 10)]
    deals = store.timeline(TimelineFilter(events=["deal"], since="2023-05-04T00:00:00+00:00"))
    assert [row["link"] for row in deals] == [f"https://a.example/{day}" for day in (5, 7, 9)]
    assert (
        store.timeline(TimelineFilter(sources=["DEADLINE"], limit=1))[0]["link"]
        == "https://a.example/10"
    )
    assert store.timeline(TimelineFilter(sources=["variety"])) == []


def test_timeline_queries_use_indexes(tmp_path):
    store = Store.open(tmp_path / "a.db")
    plans = []
    for filters in (
        TimelineFilter(guilds=["wga"], limit=50),
        TimelineFilter(since="2023-05-02T00:00:00+00:00"),
        TimelineFilter(events=["deal"]),
        TimelineFilter(sources=["deadline"]),
    ):
        sql, params = store.timeline_sql(filters)
        plan = " | ".join(row[3] for row in store.conn.execute("EXPLAIN QUERY PLAN " + sql, params))
        plans.append(plan)
        assert re.search(r"SCAN items(?! USING)", plan) is None, plan


def test_feeds_add_twice_and_names(tmp_path):
    store = Store.open(tmp_path / "a.db")
    feed, created = add_feed(store, "https://deadline.com/feed/")
    assert created and feed["name"] == "deadline"
    again, created = add_feed(store, "https://deadline.com/feed/")
    assert not created and again["id"] == feed["id"]
    other, _ = add_feed(store, "https://deadline.com/tag/wga/feed/")
    assert other["name"] == "deadline-2"
    with pytest.raises(UsageError, match="already exists"):
        add_feed(store, "https://variety.com/feed/", name="DEADLINE")
    store.remove_feed(feed["id"])
    assert find_feed(store, "deadline")["active"] == 0
    revived, created = add_feed(store, "https://deadline.com/feed/")
    assert created and revived["active"] == 1


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://deadline.com/feed/", "deadline"),
        ("https://www.hollywoodreporter.com/feed/", "hollywoodreporter"),
        ("https://feeds.bbci.co.uk/news/rss.xml", "bbci"),
        ("http://127.0.0.1:8080/variety.xml", "variety"),
        ("/home/me/feeds/guild-news.atom", "guild-news"),
    ],
)
def test_derive_feed_name(url, name):
    assert derive_feed_name(url) == name


def test_import_with_jobs_stores_exactly_what_a_one_process_import_does(tmp_path, monkeypatch):
    """With --jobs, an archive is parsed and tagged in worker processes while the main one
    stores: same items, tags, stories and bad-line numbers as doing it all in one process."""
    import json

    from strikewatch import ingest
    from strikewatch.classify import load_classifier

    headlines = [
        "WGA and AMPTP reach tentative agreement",
        "SAG-AFTRA goes on strike at midnight",
        "Box office: animated sequel leads the weekend",
        "DGA opens contract talks with the studios",
        "No deal yet as actors' talks stretch into a third day",
    ]
    lines = []
    for number in range(1, 61):
        if number % 17 == 0:
            lines.append("{not json")
        elif number % 23 == 0:
            lines.append(json.dumps({"title": "", "link": f"https://x.example/{number}"}))
        else:
            lines.append(
                json.dumps(
                    {
                        "title": headlines[number % len(headlines)],
                        "link": f"https://x.example/{number}",
                        "published": f"2023-0{1 + number % 9}-1{number % 10}T12:00:00+00:00",
                        "summary": "Negotiators met for several hours.",
                        "source": ["deadline", "variety", "thr"][number % 3],
                    }
                )
            )
    archive = tmp_path / "archive.jsonl"
    archive.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(ingest, "BATCH_SIZE", 7)
    classifier = load_classifier()
    pieces: list[int] = []

    class CountingPool(ingest.ProcessPoolExecutor):
        def submit(self, *args, **kwargs):
            pieces.append(1)
            return super().submit(*args, **kwargs)

    monkeypatch.setattr(ingest, "ProcessPoolExecutor", CountingPool)

    def imported(name: str, jobs: int):
        with Store.open(tmp_path / name) as store:
            report = ingest.import_file(store, archive, classifier, jobs=jobs)
            rows = store.conn.execute(
                "SELECT id, story_id, title, link, published, source, guilds, events,"
                " rules_version FROM items ORDER BY id"
            ).fetchall()
            tags = store.conn.execute("SELECT * FROM tags ORDER BY item_id, kind, tag").fetchall()
        errors = [(e.line_number, e.message) for e in report.line_errors]
        return [tuple(r) for r in rows], [tuple(t) for t in tags], errors, len(report.new_ids)

    serial = imported("serial.db", 1)
    assert not pieces
    parallel = imported("parallel.db", 3)
    assert len(pieces) == 9  # the worker processes really did the parsing and tagging
    assert parallel == serial
    rows, tags, errors, new = parallel
    assert new == 60 - 3 - 2 and len(rows) == new
    assert [number for number, _ in errors] == [17, 23, 34, 46, 51]
    assert any(json.loads(row[7]) == ["deal"] for row in rows) and tags


def test_an_import_leaves_no_large_wal_behind_while_another_connection_is_open(tmp_path):
    """Imports checkpoint rarely for speed; at the end the WAL is folded in and truncated, even
    with another connection (a reader, a cron poll) keeping the file open."""
    import json

    from strikewatch import ingest
    from strikewatch.classify import load_classifier

    archive = tmp_path / "archive.jsonl"
    archive.write_text(
        "".join(
            json.dumps(
                {
                    "title": f"WGA talks, day {n}: negotiators meet again",
                    "link": f"https://x.example/{n}",
                    "published": "2023-05-01T12:00:00+00:00",
                    "summary": "Negotiators met for several hours. " * 20,
                }
            )
            + "\n"
            for n in range(3000)
        ),
        encoding="utf-8",
    )
    db = tmp_path / "s.db"
    with Store.open(db) as store:
        other = sqlite3.connect(db)
        other.execute("SELECT count(*) FROM items").fetchone()
        ingest.import_file(store, archive, load_classifier())
        assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
        wal = Path(str(db) + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0
        assert other.execute("SELECT count(*) FROM items").fetchone()[0] == 3000
        other.close()


def test_damage_is_told_apart_whatever_the_database_is_named(tmp_path):
    """The read-only check opens the file by URI: "%", "?", "#" and spaces in its name must
    reach the file itself, not be read as the URI's query or an escape."""
    from strikewatch.store import database_is_damaged

    folder = tmp_path / "50% of my feeds? #1"
    folder.mkdir()
    healthy = folder / "a db?.db"
    Store.open(healthy).close()
    damaged = folder / "b%20#.db"
    damaged.write_bytes(b"not a database at all, " * 200)
    assert database_is_damaged(str(healthy)) is False
    assert database_is_damaged(str(damaged)) is True
