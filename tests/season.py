"""The 2023 season test archive (tests/data/season-2023.jsonl) and a classifier that tags each
of its headlines exactly as the archive's `expect` field says, so story and status tests do not
depend on the real rules."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from strikewatch.parse import Item, archive_record_to_item

SEASON = Path(__file__).parent / "data" / "season-2023.jsonl"


@dataclass(frozen=True)
class Tags:
    guilds: tuple[str, ...]
    events: tuple[str, ...]


def save(store, items, *, classifier, group: bool = True, **options):
    """Items through the pipeline (pipeline.ingest), then grouped into stories as a poll or an
    import ends (unless `group` is False: a run killed before it)."""
    from strikewatch.pipeline import finish, ingest

    result = ingest(store, classifier, items, **options)
    if group:
        finish(store)
    return result


class ArchiveClassifier:
    """Tags a headline as the archive expects; `overrides` maps a title to other tags."""

    version = "archive-1"

    def __init__(self, overrides: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] | None = None):
        self.tags: dict[str, Tags] = {}
        for record in season_records():
            expect = record["expect"]
            self.tags[record["title"]] = Tags(tuple(expect["guilds"]), tuple(expect["events"]))
        for title, (guilds, events) in (overrides or {}).items():
            self.tags[title] = Tags(tuple(sorted(guilds)), tuple(sorted(events)))

    def classify(self, title: str, summary: str = "") -> Tags:
        return self.tags.get(title, Tags((), ()))


def season_records() -> list[dict]:
    return [json.loads(line) for line in SEASON.read_text().splitlines() if line.strip()]


def season_items() -> list[Item]:
    return [
        archive_record_to_item(record, number, "season")
        for number, record in enumerate(season_records(), start=1)
    ]


def write_old_database(path: Path, stop_before: str) -> Path:
    """The season as an older strikewatch stored it: the schema up to the migration
    `stop_before`, and the items and their tags written in that schema's columns only."""
    from sqlite_utils import Database

    from strikewatch.migrations import migrations

    conn = sqlite3.connect(path)
    migrations.apply(Database(conn), stop_before=stop_before)
    applied = conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0]
    conn.execute(f"PRAGMA user_version = {applied}")
    classifier = ArchiveClassifier()
    for number, item in enumerate(season_items(), start=1):
        tags = classifier.classify(item.title)
        published = item.published.astimezone(UTC).isoformat(timespec="seconds")
        conn.execute(
            "INSERT INTO items (id, title, link, summary, published, first_seen, source,"
            " content_hash, guilds, events) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                number,
                item.title,
                item.link,
                item.summary,
                published,
                published,
                item.source,
                str(number),
                json.dumps(list(tags.guilds)),
                json.dumps(list(tags.events)),
            ),
        )
        conn.executemany(
            "INSERT INTO tags (item_id, kind, tag, published) VALUES (?, ?, ?, ?)",
            [(number, "guild", tag, published) for tag in tags.guilds]
            + [(number, "event", tag, published) for tag in tags.events],
        )
    conn.commit()
    conn.close()
    return path


def replayed_in_full(conn: sqlite3.Connection, guild: str, day, weeks: bool = False) -> dict:
    """status.guild_status as a replay of every report gives it (the stored standing set
    aside, then put back)."""
    from strikewatch.status import guild_status

    conn.execute("SAVEPOINT full")
    try:
        conn.execute("DELETE FROM strike_standing")
        return guild_status(conn, guild, day, with_weeks=weeks)
    finally:
        conn.execute("ROLLBACK TO full")
        conn.execute("RELEASE full")
