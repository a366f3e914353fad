"""The filters of timeline, since, search and export: the user's values read (dates) and
turned into SQL, here and nowhere else."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, NamedTuple

from strikewatch.dates import to_utc_iso, utcnow
from strikewatch.errors import UsageError

DATE_HELP = "YYYY-MM-DD, an ISO 8601 timestamp, or relative: 7d, 2w, 12h"
_RELATIVE_RE = re.compile(r"^\s*(\d{1,5})\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


# The dates a filter may name: wide enough for any archive, narrow enough that a day or a week
# either side (status's weekly chart, a time zone) stays on the calendar.
FIRST_YEAR, LAST_YEAR = 1900, 9998


def in_zone(moment: datetime, zone: tzinfo | None) -> datetime:
    """A wall-clock time read in `zone`, or in the user's zone (TZ, else the system's) when
    None: what someone means by "2023-07-13" is their own day."""
    if zone is None:
        try:
            return moment.astimezone()  # a naive datetime is taken as local time, DST included
        except (OverflowError, ValueError):  # year 1 or 9999 (the range check rejects them)
            return moment.replace(tzinfo=UTC)
    return moment.replace(tzinfo=zone)


def parse_date(
    value: str,
    *,
    end_of_day: bool = False,
    now: datetime | None = None,
    zone: tzinfo | None = None,
) -> datetime:
    """A DATE as the README defines it. A bare day is a day in the user's time zone (`zone`,
    else TZ, else the system's): its start, or with end_of_day its last second, so --until
    2023-05-02 includes that whole day. A timestamp without an offset is read in that zone too."""
    text = value.strip()
    relative = _RELATIVE_RE.match(text)
    if relative:
        # "52000w" means "everything": a span reaching before the range starts at its start.
        amount, unit = int(relative.group(1)), relative.group(2).lower()
        first = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
        now = now or utcnow()
        return first if amount * _UNITS[unit] > now - first else now - amount * _UNITS[unit]
    moment = _read_date(text, value, end_of_day, zone)
    # The year as written: only years 1 and 9999 can leave the calendar when made UTC.
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise UsageError(
            f"invalid date {value!r}: outside {FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31 "
            f"(expected {DATE_HELP})"
        )
    return moment.astimezone(UTC)


def _read_date(text: str, value: str, end_of_day: bool, zone: tzinfo | None) -> datetime:
    """An absolute DATE (`text` is `value` stripped), in the offset it names (else `zone`'s)."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise UsageError(
                f"invalid date {value!r}: no such day (expected {DATE_HELP})"
            ) from None
        return in_zone(datetime.combine(day, time(23, 59, 59) if end_of_day else time(0, 0)), zone)
    candidate = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        raise UsageError(f"invalid date {value!r}: expected {DATE_HELP}") from None
    if "T" not in text.upper() and " " not in text:
        raise UsageError(f"invalid date {value!r}: expected {DATE_HELP}")
    if moment.tzinfo is None:
        moment = in_zone(moment, zone)
    return moment


def date_bound(
    value: str | None, *, end_of_day: bool = False, zone: tzinfo | None = None
) -> str | None:
    """The UTC ISO 8601 bound a DATE stands for (see parse_date for `zone`)."""
    if value is None:
        return None
    return to_utc_iso(parse_date(value, end_of_day=end_of_day, zone=zone))


class TimelineFilter(NamedTuple):
    """The filters the commands share (README: Filters). Search uses the first five: it ranks
    every matching item, tracked or not, and shows each story once by itself. (A NamedTuple:
    every listing defines it, and a frozen dataclass costs half a millisecond to define.)"""

    guilds: Sequence[str] = ()
    events: Sequence[str] = ()
    since: str | None = None
    until: str | None = None
    sources: Sequence[str] = ()
    limit: int | None = None
    include_untagged: bool = False
    collapse: bool = True


def where(filters: TimelineFilter, probe: Sequence[bool] = ()) -> tuple[list[str], list[Any]]:
    """The conditions on `items` that `filters` set, and their parameters, in order.

    --guild and --event each require one of their tags; `probe[i]` says whether the i-th of
    those two groups (the ones given) is checked item by item (EXISTS) or looked up in the tag
    index (IN): the store chooses, from how common the tags are. Collapsed, only a story's
    first report is a row, and --source also accepts a story through another of its reports.
    """
    clauses: list[str] = []
    params: list[Any] = []
    if filters.collapse:
        # Only a story's first report (an item not grouped yet counts as its own story).
        clauses.append("coalesce(items.story_id, items.id) = items.id")
    groups = [group for group in (filters.guilds, filters.events) if group]
    for index, group in enumerate(groups):
        marks = ", ".join("?" for _ in group)
        if index < len(probe) and probe[index]:
            clauses.append(
                "EXISTS (SELECT 1 FROM tags WHERE tags.item_id = items.id"
                f" AND tags.tag IN ({marks}))"
            )
        else:
            clauses.append(f"items.id IN (SELECT item_id FROM tags WHERE tag IN ({marks}))")
        params.extend(group)
    if not filters.guilds and not filters.include_untagged:
        clauses.append("items.guilds != '[]'")
    if filters.since:
        clauses.append("items.published >= ?")
        params.append(filters.since)
    if filters.until:
        clauses.append("items.published <= ?")
        params.append(filters.until)
    if filters.sources:
        marks = ", ".join("?" for _ in filters.sources)
        if filters.collapse:
            clauses.append(
                f"(items.source COLLATE NOCASE IN ({marks}) OR EXISTS (SELECT 1 FROM items AS"
                " report WHERE report.story_id = items.id"
                f" AND report.source COLLATE NOCASE IN ({marks})))"
            )
            params.extend([*filters.sources, *filters.sources])
        else:
            clauses.append(f"items.source COLLATE NOCASE IN ({marks})")
            params.extend(filters.sources)
    return clauses, params
