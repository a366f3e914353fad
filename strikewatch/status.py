"""Where each guild stands: on strike or not, since when, and the last thing that happened.

Strikes are read from the reports tagged `strike-started` and `strike-ended`. A report takes effect
on the day it says, not always the day it was published, because the trade press announces a
strike the evening before it begins ("walkout to begin at 12:01 a.m. Tuesday") and the end of one
the day before writers may go back ("board votes to end strike at 12:01 a.m. Wednesday"):

1. Its headline, then its summary, is read sentence by sentence. The first sentence with a
   scheduling word (12:01, midnight, effective, as of, takes effect, tomorrow, tonight, will,
   to begin/start/end, set to, scheduled, return/back to work, go/head back, begins/ends at/on)
   that settles the day decides:
   a. if it names a day (a date such as "May 2" or "Sept. 27", or a weekday such as "Wednesday")
      that falls within the week after the report's publication day in Hollywood (Pacific time),
      the change takes effect on that day (a weekday means its next occurrence, that very day
      included);
   b. if it names no day at all but speaks of the future ("to begin at midnight", "will strike",
      "tomorrow", "ends at 12:01 a.m."), the change takes effect the day after the publication
      day in Hollywood;
   c. otherwise (it names only days further off, "members vote through Oct. 9", or no day and
      no future tense, "writers head back to sets") the next sentence is read.
2. A report without such a sentence takes effect on the UTC day it was published.

The store keeps each strike report's day and the reason with the report (migration
m004_effective_days), so this is worked out when a report is saved, not on every call.

Changes are then replayed in order of the day they take effect: a start opens a strike if the
guild is not on strike, an end closes one if it is; everything else is a repeat. `as_of` is the
end of a UTC day: only reports published by then count, and a change they schedule for a later
day is shown as pending. The day a strike starts is its day 1. AMPTP, the employers, never strikes.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import Any

from strikewatch.stories import lead_event
from strikewatch.taxonomy import GUILDS, STRIKE_CHANGES, STUDIOS

NOT_STRIKING = frozenset({STUDIOS})
SCHEDULE_HORIZON = timedelta(days=7)
CHART_WEEKS = 12

# Words that make a sentence about a strike's start or end a schedule when it names a day...
_SCHEDULE_CUE = (
    r"\b(?:12:01|midnight|effective|as of|takes? effect|tomorrow|tonight|will|set to|scheduled"
    r"|to (?:begin|start|end|be lifted|lift|return)|(?:return|back) to work"
    r"|(?:go|going|head|heading|come|coming) back|(?:begins?|starts?|ends?|lifts?|lifted) (?:at|on))\b"
)
# ...and the ones that mean "tomorrow" when it names none. Only the future tense counts:
# "walked out at midnight" is a report, "walkout begins at midnight" a schedule.
_NEXT_DAY_CUE = (
    r"\b(?:tomorrow|tonight|will|set to|scheduled to|to (?:begin|start|end|be lifted)"
    r"|(?:begins?|starts?|ends?|takes? effect|is lifted|expires?) at (?:midnight|12:01)"
    r"|effective (?:at )?(?:midnight|12:01))\b"
)
_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NAMED_DAY = (
    r"\b(?:(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?\s+(?P<day>\d{1,2})(?!\d)"
    r"(?:(?:st|nd|rd|th)\b)?(?:,?\s+(?P<year>\d{4}))?"
    r"|(?P<weekday>monday|tuesday|wednesday|thursday|friday|saturday|sunday))"
)


class _Patterns:
    """The regexes of the rule, compiled at first use: `status` reads the days the store kept
    and rarely needs them, so compiling at import would only slow its start."""

    def __init__(self) -> None:
        self.schedule_cue = re.compile(_SCHEDULE_CUE, re.IGNORECASE)
        self.next_day_cue = re.compile(_NEXT_DAY_CUE, re.IGNORECASE)
        self.named_day = re.compile(_NAMED_DAY, re.IGNORECASE)
        self.sentence_end = re.compile(r"(?<=[.!?;])\s+(?=[A-Z\"'\u201c])")
        self.clock = re.compile(r"\b([ap])\.m\.", re.IGNORECASE)


@cache
def _patterns() -> _Patterns:
    return _Patterns()


def pacific_time(moment: datetime) -> datetime:
    """The time in Los Angeles (US rules since 2007), without needing a time zone database."""
    moment = moment.astimezone(UTC)
    dst_start, dst_end = _daylight_saving(moment.year)
    offset = timedelta(hours=-7 if dst_start <= moment < dst_end else -8)
    return (moment + offset).replace(tzinfo=None)


@lru_cache(maxsize=64)
def _daylight_saving(year: int) -> tuple[datetime, datetime]:
    """When Pacific daylight time starts and ends in `year`, in UTC."""
    march = date(year, 3, 8)
    start = datetime.combine(
        march + timedelta(days=(6 - march.weekday()) % 7), time(10), tzinfo=UTC
    )
    november = date(year, 11, 1)
    end = datetime.combine(
        november + timedelta(days=(6 - november.weekday()) % 7), time(9), tzinfo=UTC
    )
    return start, end


def _sentences(text: str) -> list[str]:
    patterns = _patterns()
    text = patterns.clock.sub(lambda match: match.group(1) + "m", text or "")
    return [part for part in patterns.sentence_end.split(text) if part.strip()]


def _named_days(sentence: str, local_day: date) -> list[date]:
    """The days a sentence names, in order, resolved near `local_day`."""
    days = []
    for match in _patterns().named_day.finditer(sentence):
        if match.group("weekday"):
            weekday = _WEEKDAYS.index(match.group("weekday").lower())
            days.append(local_day + timedelta(days=(weekday - local_day.weekday()) % 7))
            continue
        month = _MONTHS[match.group("month")[:3].lower()]
        day = int(match.group("day"))
        years = (
            [int(match.group("year"))]
            if match.group("year")
            else [local_day.year - 1, local_day.year, local_day.year + 1]
        )
        candidates = []
        for year in years:
            try:
                candidates.append(date(year, month, day))
            except ValueError:
                continue
        if candidates:
            days.append(min(candidates, key=lambda found: abs(found - local_day)))
    return days


# Plain classes, not dataclasses: importing `dataclasses` slowed every start of `status`.
class Effective:
    """When a strike report's change takes effect, and why."""

    __slots__ = ("day", "reason")

    def __init__(self, day: date, reason: str) -> None:
        self.day = day
        self.reason = reason


def effective_day(title: str, summary: str, published: str) -> Effective:
    """The day a strike-started/strike-ended report takes effect (the rule in the module doc)."""
    moment = datetime.fromisoformat(published)
    patterns = _patterns()
    schedule_cue = patterns.schedule_cue
    if schedule_cue.search(title) is None and schedule_cue.search(summary or "") is None:
        # No sentence can be a schedule (splitting and "a.m." -> "am" create no cue).
        return Effective(moment.astimezone(UTC).date(), "published that day (UTC)")
    local_day = pacific_time(moment).date()
    for sentence in [title, *_sentences(summary)]:
        cue = schedule_cue.search(sentence)
        if cue is None:
            continue
        named = _named_days(sentence, local_day)
        for day in named:
            if local_day <= day <= local_day + SCHEDULE_HORIZON:
                return Effective(day, f"names {day:%A %Y-%m-%d} with {cue.group(0)!r}")
        next_day = patterns.next_day_cue.search(sentence)
        if not named and next_day is not None:
            return Effective(
                local_day + timedelta(days=1),
                f"{next_day.group(0)!r} without a day: the day after {local_day} (Pacific)",
            )
    return Effective(moment.astimezone(UTC).date(), "published that day (UTC)")


def _readable_effective_day(title: str, summary: str, published: str) -> Effective | None:
    """effective_day, or None when `published` is not the ISO time strikewatch writes, or one
    at the calendar's very ends (only another tool or an older version can leave either): such
    a report has no day to place it on."""
    try:
        return effective_day(title, summary, published)
    except (ValueError, OverflowError):
        return None


def stored_effective(title: str, summary: str, published: str) -> tuple[str | None, str | None]:
    """The day and the reason the store keeps with a strike report (items.effective_day and
    effective_why); none for an unreadable `published`, which `status` then passes over."""
    effective = _readable_effective_day(title, summary, published)
    if effective is None:
        return None, None
    return effective.day.isoformat(), effective.reason


def end_of_day(day: date) -> str:
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC).isoformat(timespec="seconds")


class _Change:
    """One report's start or end of a strike, on the day it takes effect."""

    __slots__ = ("day", "effective", "kind", "published", "row")

    def __init__(
        self, day: date, published: str, kind: str, row: sqlite3.Row, effective: Effective
    ) -> None:
        self.day = day
        self.published = published
        self.kind = kind  # "strike-started" or "strike-ended"
        self.row = row  # id, published, title, link
        self.effective = effective


def strike_reports_sql(guild_count: int) -> str:
    """The strike reports published by a time (the first parameter) about any of `guild_count`
    guilds (the others): their stored day and reason (see the module doc), their summary only
    where those are missing (written by another tool, or edited since), and all their tags.
    Read by id, so that the items' pages are visited in order."""
    marks = ", ".join("?" for _ in range(guild_count))
    return (
        "SELECT items.id, items.published, items.title, items.link,"
        " items.effective_day, items.effective_why,"
        " CASE WHEN items.effective_day IS NULL THEN items.summary END AS summary,"
        " (SELECT group_concat(tag, ' ') FROM tags WHERE tags.item_id = items.id) AS tags"
        " FROM items WHERE items.id IN (SELECT item_id FROM tags"
        " WHERE tag IN ('strike-started', 'strike-ended') AND published <= ?)"
        " AND EXISTS (SELECT 1 FROM tags AS mine"
        f" WHERE mine.item_id = items.id AND mine.tag IN ({marks}))"
    )


def _strike_changes(
    conn: sqlite3.Connection, until: str, guilds: Sequence[str]
) -> dict[str, list[_Change]]:
    """Each of `guilds`' strike changes published by `until`, in the order they take effect,
    read in one pass for all of them (a pass per guild re-read every strike report)."""
    by_guild: dict[str, list[_Change]] = {guild: [] for guild in guilds}
    if not by_guild:
        return by_guild
    for row in conn.execute(strike_reports_sql(len(by_guild)), (until, *by_guild)):
        if row["effective_day"] is None:
            effective = _readable_effective_day(row["title"], row["summary"], row["published"])
            if effective is None:
                continue
        else:
            effective = Effective(date.fromisoformat(row["effective_day"]), row["effective_why"])
        tags = row["tags"].split(" ")
        for guild, changes in by_guild.items():
            if guild in tags:
                changes.extend(
                    _Change(effective.day, row["published"], kind, row, effective)
                    for kind in STRIKE_CHANGES
                    if kind in tags
                )
    for changes in by_guild.values():
        # Stable: a report that both starts and ends a strike keeps its start first.
        changes.sort(key=lambda change: (change.day, change.published, change.row["id"]))
    return by_guild


def _last_event(conn: sqlite3.Connection, guild: str, until: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT items.id, items.published, items.title, items.link, items.events, items.story_id"
        " FROM tags JOIN items ON items.id = tags.item_id"
        " WHERE tags.tag = ? AND tags.published <= ? AND items.events != '[]'"
        " ORDER BY tags.published DESC, items.id DESC LIMIT 1",
        (guild, until),
    ).fetchone()
    if row is None:
        return None
    first = row
    if row["story_id"] not in (None, row["id"]):
        candidate = conn.execute(
            "SELECT items.id, items.published, items.title, items.link, items.events,"
            " items.story_id FROM items JOIN tags ON tags.item_id = items.id AND tags.tag = ?"
            " WHERE items.id = ?",
            (guild, row["story_id"]),
        ).fetchone()
        if candidate is not None:
            first = candidate
    return {
        "event": lead_event(json.loads(first["events"])),
        "at": first["published"],
        "title": first["title"],
        "link": first["link"],
    }


def _weekly(conn: sqlite3.Connection, guild: str, as_of: date) -> list[dict[str, Any]]:
    """Coverage (reports) and stories with events per week, Monday to Sunday, up to `as_of`."""
    last_monday = as_of - timedelta(days=as_of.weekday())
    first_monday = last_monday - timedelta(weeks=CHART_WEEKS - 1)
    weeks = [
        {
            "week": (first_monday + timedelta(weeks=index)).isoformat(),
            "items": 0,
            "events": [],
        }
        for index in range(CHART_WEEKS)
    ]
    start = datetime.combine(first_monday, time(0), tzinfo=UTC).isoformat(timespec="seconds")
    for row in conn.execute(
        "SELECT items.id, items.published, items.events, items.story_id"
        " FROM tags JOIN items ON items.id = tags.item_id"
        " WHERE tags.tag = ? AND tags.published >= ? AND tags.published <= ?",
        (guild, start, end_of_day(as_of)),
    ):
        try:
            day = date.fromisoformat(row["published"][:10])
        except ValueError:  # a time no strikewatch wrote ("2023/05/02 07:00") sorts in here
            continue
        index = (day - first_monday).days // 7
        if not 0 <= index < CHART_WEEKS:
            continue
        week = weeks[index]
        week["items"] += 1
        is_first_report = row["story_id"] in (None, row["id"])
        event = lead_event(json.loads(row["events"]))
        if event and is_first_report:
            week["events"].append(event)
    for week in weeks:
        week["events"] = sorted(set(week["events"]))
    return weeks


def guild_status(
    conn: sqlite3.Connection,
    guild: str,
    as_of: date,
    with_weeks: bool = True,
    changes: Sequence[_Change] | None = None,
) -> dict[str, Any]:
    """One guild's standing at the end of `as_of` (a UTC day), as `status --json` shows it.
    `changes` are its strike changes when the caller has read them already."""
    until = end_of_day(as_of)
    on_strike = False
    started: _Change | None = None
    previous: dict[str, Any] | None = None
    pending: _Change | None = None
    if guild not in NOT_STRIKING:
        if changes is None:
            changes = _strike_changes(conn, until, (guild,))[guild]
        for change in changes:
            opens = change.kind == "strike-started" and not on_strike
            closes = change.kind == "strike-ended" and on_strike
            if not (opens or closes):
                continue
            if change.day > as_of:
                pending = change
                break
            if opens:
                on_strike, started = True, change
            else:
                assert started is not None
                previous = {
                    "started": started.day.isoformat(),
                    "ended": change.day.isoformat(),
                    "days": (change.day - started.day).days,
                }
                on_strike, started = False, None
    last = _last_event(conn, guild, until)
    status: dict[str, Any] = {
        "guild": guild,
        "as_of": as_of.isoformat(),
        "on_strike": on_strike,
        "strike_started": started.day.isoformat() if started else None,
        "strike_day": (as_of - started.day).days + 1 if started else None,
        "last_event": last["event"] if last else None,
        "last_event_at": last["at"] if last else None,
        "last_title": last["title"] if last else None,
        "last_link": last["link"] if last else None,
        "previous_strike": previous,
        "pending": {
            "event": pending.kind,
            "on": pending.day.isoformat(),
            "title": pending.row["title"],
            "link": pending.row["link"],
        }
        if pending
        else None,
    }
    if with_weeks:
        status["weekly"] = _weekly(conn, guild, as_of)
    return status


def all_status(
    conn: sqlite3.Connection, as_of: date, guilds: tuple[str, ...] = GUILDS
) -> list[dict[str, Any]]:
    striking = [guild for guild in guilds if guild not in NOT_STRIKING]
    changes = _strike_changes(conn, end_of_day(as_of), striking)
    return [guild_status(conn, guild, as_of, changes=changes.get(guild, ())) for guild in guilds]


def explain_strikes(conn: sqlite3.Connection, guild: str, as_of: date) -> list[dict[str, Any]]:
    """Every strike report considered for `guild`, with the day it takes effect and why (one
    whose date strikewatch cannot read, which only another tool can write, is not considered)."""
    return [
        {
            "published": change.published,
            "event": change.kind,
            "effective": change.day.isoformat(),
            "why": change.effective.reason,
            "title": change.row["title"],
        }
        for change in _strike_changes(conn, end_of_day(as_of), (guild,))[guild]
    ]
