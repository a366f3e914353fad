"""The 2023 season test archive (tests/data/season-2023.jsonl) and a classifier that tags each
of its headlines exactly as the archive's `expect` field says, so story and status tests do not
depend on the real rules."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

SEASON = Path(__file__).parent / "data" / "season-2023.jsonl"


@dataclass(frozen=True)
class Tags:
    guilds: tuple[str, ...]
    events: tuple[str, ...]


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
