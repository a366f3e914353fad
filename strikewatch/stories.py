"""Stories: the reports of one event by several outlets, shown as one timeline entry.

The rule, applied to tracked reports (tagged with at least one guild) in order of publication:

- a report's *parties* are its guilds without `amptp` (the studios are the other side of nearly
  every story, so they say nothing about which story it is), or `amptp` alone; a report whose
  only party is `amptp` shares it with any report that names the studios;
- its *lead event* is the most telling of its events (taxonomy: story priority), or none;
- a report joins the most recent story whose first report was published at most STORY_WINDOW
  before it, shares one of its parties, has the same lead event, and, when neither has an event,
  shares at least half of its headline words (Jaccard similarity of the word sets);
- otherwise it starts a story of its own, and is that story's first report.

A story is stored as `items.story_id`: the id of its first report (the one the timeline shows;
the others are listed in `also`). Because the rule only looks back STORY_WINDOW from each report,
a late-arriving report (an archive imported out of order) only needs the stories of its lead
event around its own date to be recomputed: `assign_pending` sweeps that stretch forward and
stops as soon as a whole window passes without a change, so polling stays cheap and the result
is the same whatever order the reports arrived in. Untracked items are each their own story.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from strikewatch import taxonomy

STORY_WINDOW = timedelta(hours=36)
WORD_SIMILARITY = 0.5

_NO_EVENT = ""

_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "over",
        "s",
        "says",
        "than",
        "that",
        "the",
        "their",
        "this",
        "to",
        "up",
        "was",
        "were",
        "will",
        "with",
        "after",
        "before",
        "amid",
        "new",
    ]
)


def parties_of(guilds: Iterable[str]) -> frozenset[str]:
    """The unions among `guilds`, or the employers' side when it is alone."""
    guilds = frozenset(guilds)
    return frozenset(g for g in guilds if taxonomy.can_strike(g)) or guilds


def lead_event(events: Iterable[str]) -> str:
    """The event that names the story ('' when there is none)."""
    events = set(events)
    for event in taxonomy.story_order():
        if event in events:
            return event
    return min(events) if events else _NO_EVENT


def headline_words(title: str) -> frozenset[str]:
    """Content words of a headline, crudely singularised, for comparing wordings."""
    words = set()
    title = title.lower().replace("'s", "").replace("\u2019s", "")
    for word in re.findall(r"[a-z0-9]+", title):  # re's own cache: compiled once, when used
        if word in _STOPWORDS or len(word) < 2:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.add(word)
    return frozenset(words)


def word_similarity(first: frozenset[str], second: frozenset[str]) -> float:
    if not first or not second:
        return 0.0
    return len(first & second) / len(first | second)


class Report:
    """What the grouping rule needs to know about one stored item. A plain class: every
    command loads this module (the store's listings use attach_also), and a dataclass costs a
    millisecond to define."""

    __slots__ = ("_words", "event", "guilds", "id", "parties", "published", "story_id", "title")

    def __init__(
        self,
        *,
        id: int,
        published: str,
        parties: frozenset[str],
        guilds: frozenset[str],
        event: str,
        title: str,
        story_id: int | None,
    ) -> None:
        self.id = id
        self.published = published
        self.parties = parties
        self.guilds = guilds
        self.event = event
        self.title = title
        self.story_id = story_id
        self._words: frozenset[str] | None = None

    @property
    def words(self) -> frozenset[str]:
        if self._words is None:
            self._words = headline_words(self.title)
        return self._words

    @property
    def moment(self) -> datetime:
        return datetime.fromisoformat(self.published)


def share_a_party(first: Report, later: Report) -> bool:
    """A shared party; a report naming only the studios shares one with any report naming them
    ("Studios walk away from the table" and "AMPTP suspends talks with SAG-AFTRA")."""
    if first.parties & later.parties:
        return True
    return (_employers_only(first.parties) and later.guilds >= first.parties) or (
        _employers_only(later.parties) and first.guilds >= later.parties
    )


def _employers_only(parties: frozenset[str]) -> bool:
    return bool(parties) and not any(taxonomy.can_strike(p) for p in parties)


def same_story(first: Report, later: Report) -> bool:
    """Does `later` belong to the story that `first` opened? (Time is checked by the caller.)"""
    if first.event != later.event or not share_a_party(first, later):
        return False
    if first.event:
        return True
    return word_similarity(first.words, later.words) >= WORD_SIMILARITY


_REPORT_COLUMNS = (
    "items.id, items.published, items.guilds, items.events, items.title, items.story_id"
)


@lru_cache(maxsize=512)
def _guilds_from_json(guilds: str) -> frozenset[str]:
    return frozenset(json.loads(guilds))


@lru_cache(maxsize=512)
def _event_from_json(events: str) -> str:
    return lead_event(json.loads(events))


def _report(row: Sequence[Any]) -> Report:
    return Report(
        id=row[0],
        published=row[1],
        parties=parties_of(_guilds_from_json(row[2])),
        guilds=_guilds_from_json(row[2]),
        event=_event_from_json(row[3]),
        title=row[4],
        story_id=row[5],
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _readable(published: str) -> datetime | None:
    """A stored time, or None for one strikewatch did not write and cannot read (another tool's
    row): such a report stays a story of its own rather than stopping the grouping."""
    try:
        moment = datetime.fromisoformat(published)
        moment - STORY_WINDOW  # the earliest days cannot be looked back from
    except (TypeError, ValueError, OverflowError):
        return None
    return moment


def _shifted(moment: datetime, span: timedelta) -> datetime:
    """moment + span, held at the calendar's ends: a report dated year 1 or 9999 (written by
    an older version or another tool) must not stop grouping for every later report."""
    try:
        return moment + span
    except OverflowError:
        return (
            datetime.max.replace(tzinfo=UTC)
            if span > timedelta(0)
            else datetime.min.replace(tzinfo=UTC)
        )


def _partition_rows(conn: sqlite3.Connection, event: str, since: str) -> Iterator[Report]:
    """Tracked reports whose lead event is `event`, published at or after `since`, in order."""
    if event:
        cursor = conn.execute(
            f"SELECT {_REPORT_COLUMNS} FROM tags JOIN items ON items.id = tags.item_id"
            " WHERE tags.tag = ? AND tags.published >= ? ORDER BY tags.published, items.id",
            (event, since),
        )
    else:
        cursor = conn.execute(
            f"SELECT {_REPORT_COLUMNS} FROM items"
            " WHERE guilds != '[]' AND events = '[]' AND published >= ? ORDER BY published, id",
            (since,),
        )
    for row in cursor:
        report = _report(row)
        if report.event == event and report.parties:
            yield report


def _sweep(conn: sqlite3.Connection, event: str, start: datetime, last_new: str) -> int:
    """Recompute the stories of one lead event from `start` on; returns how many reports moved.

    Reports published before `start` keep their stories; the stories they opened within a window
    before `start` are still open. The sweep stops once it is past `last_new` (the latest report
    that needed a story) and a whole window has gone by without a change: from there on, every
    report sees the same open stories as before, so nothing else can change."""
    open_from = _iso(_shifted(start, -STORY_WINDOW))
    start_iso = _iso(start)
    # The stories still open (first report within a window), by guild: only those that name one
    # of a report's guilds can take it, so only those are compared.
    open_stories: dict[str, deque[Report]] = defaultdict(deque)
    changes: list[tuple[int, int]] = []
    quiet_after = _shifted(start, STORY_WINDOW)

    def open_story(report: Report) -> None:
        for guild in report.guilds:
            open_stories[guild].append(report)

    for report in _partition_rows(conn, event, open_from):
        if report.published < start_iso:
            if report.story_id == report.id:
                open_story(report)
            continue
        moment = _readable(report.published)
        if moment is None:
            continue
        if report.published > last_new and moment > quiet_after:
            break
        horizon = _iso(_shifted(moment, -STORY_WINDOW))
        chosen: Report | None = None
        for guild in report.guilds:
            candidates = open_stories[guild]
            while candidates and candidates[0].published < horizon:
                candidates.popleft()
            for first in reversed(candidates):
                if chosen is not None and (first.published, first.id) <= (
                    chosen.published,
                    chosen.id,
                ):
                    break
                if same_story(first, report):
                    chosen = first
                    break
        story_id = chosen.id if chosen is not None else report.id
        if chosen is None:
            open_story(report)
        if story_id != report.story_id:
            changes.append((story_id, report.id))
            report.story_id = story_id
            quiet_after = _shifted(moment, STORY_WINDOW)
    if changes:
        conn.executemany("UPDATE items SET story_id = ? WHERE id = ?", changes)
    return len(changes)


def pending_key(
    guilds: Sequence[str], events: Sequence[str], published: str
) -> tuple[str, str] | None:
    """What `assign_pending` needs to know about a newly stored report (None if untracked)."""
    if not guilds:
        return None
    return lead_event(events), published


def assign_pending(
    conn: sqlite3.Connection, new_reports: Iterable[tuple[str, str] | None] = ()
) -> int:
    """Place newly stored reports (given as `pending_key`s; they were stored as stories of their
    own) and every tracked item whose story was released (story_id NULL) into their stories.
    Returns how many reports changed story."""
    earliest: dict[str, str] = {}
    latest: dict[str, str] = {}

    def note(event: str, published: str) -> None:
        if event not in earliest or published < earliest[event]:
            earliest[event] = published
        if event not in latest or published > latest[event]:
            latest[event] = published

    for key in new_reports:
        if key is not None and _readable(key[1]) is not None:
            note(*key)
    for published, events in conn.execute(
        "SELECT published, events FROM items WHERE story_id IS NULL AND guilds != '[]'"
    ):
        if _readable(published) is not None:
            note(_event_from_json(events), published)
    # Every pending report starts as a story of its own (one statement); the sweeps then
    # write only the reports that join an existing story.
    conn.execute("UPDATE items SET story_id = id WHERE story_id IS NULL")
    moved = 0
    for event, first in sorted(earliest.items()):
        moved += _sweep(conn, event, datetime.fromisoformat(first), latest[event])
    return moved


def release(conn: sqlite3.Connection, item_ids: Sequence[int]) -> None:
    """Mark items (whose tags changed, or that are about to go) and the reports of the stories
    they opened as needing a story again; `assign_pending` regroups them."""
    for start in range(0, len(item_ids), 500):
        chunk = list(item_ids[start : start + 500])
        marks = ", ".join("?" for _ in chunk)
        conn.execute(
            f"UPDATE items SET story_id = NULL WHERE id IN ({marks}) OR story_id IN ({marks})",
            chunk + chunk,
        )


def regroup_all(conn: sqlite3.Connection) -> int:
    """Recompute every story from scratch (after reclassify, and when the column is added);
    only the reports whose story changes are written."""
    conn.execute("UPDATE items SET story_id = id WHERE guilds = '[]' AND story_id IS NOT id")
    first = conn.execute("SELECT min(published), max(published) FROM items").fetchone()
    if first[0] is None:
        return 0
    events = [_NO_EVENT, *taxonomy.story_order()]
    events += [
        row[0]
        for row in conn.execute("SELECT DISTINCT tag FROM tags WHERE kind = 'event'")
        if row[0] not in events
    ]
    moved = 0
    for event in events:
        moved += _sweep(conn, event, datetime.fromisoformat(first[0]), first[1])
    conn.execute("UPDATE items SET story_id = id WHERE story_id IS NULL")
    return moved


# The reports of some stories, each story's in (published, id) order straight from the
# items_story index (public so tests can EXPLAIN it).
ALSO_SQL = (
    "SELECT id, story_id, source, link, title, published FROM items"
    " WHERE story_id IN ({marks}){others_only} ORDER BY story_id, published, id"
)


def attach_also(conn: sqlite3.Connection, entries: list[dict[str, Any]]) -> None:
    """Add `also` to each timeline entry: the story's other reports, earliest first.

    Each entry carries `story`; the entries themselves are left out of `also`."""
    by_story: dict[int, list[dict[str, Any]]] = defaultdict(list)
    stories = [entry["story"] for entry in entries]
    shown = {entry["id"] for entry in entries}
    # A story's first report is the item whose id is the story's; when every entry is one (a
    # collapsed timeline), the query leaves them out itself instead of reading them. Each
    # story's reports come in index order, (published, id): no sort.
    others_only = " AND id != story_id" if all(e["id"] == e["story"] for e in entries) else ""
    for start in range(0, len(stories), 500):
        chunk = stories[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for row in conn.execute(ALSO_SQL.format(marks=marks, others_only=others_only), chunk):
            if row[0] in shown:
                continue
            by_story[row[1]].append(
                {"source": row[2], "link": row[3], "title": row[4], "published": row[5]}
            )
    for entry in entries:
        entry["also"] = by_story.get(entry["story"], [])
