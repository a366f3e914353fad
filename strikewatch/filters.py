"""Reading the user's filter values (dates, guilds, events) into a TimelineFilter."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from strikewatch.errors import UsageError
from strikewatch.normalize import to_utc_iso, utcnow

DATE_HELP = "YYYY-MM-DD, an ISO 8601 timestamp, or relative: 7d, 2w, 12h"
_RELATIVE_RE = re.compile(r"^\s*(\d{1,5})\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def in_zone(moment: datetime, zone: tzinfo | None) -> datetime:
    """A wall-clock time read in `zone`, or in the user's zone (TZ, else the system's) when
    None: what someone means by "2023-07-13" is their own day."""
    if zone is None:
        return moment.astimezone()  # a naive datetime is taken as local time, DST included
    return moment.replace(tzinfo=zone)


def parse_date(
    value: str,
    *,
    end_of_day: bool = False,
    now: datetime | None = None,
    zone: tzinfo | None = None,
) -> datetime:
    """A DATE as the contract defines it. A bare day is a day in the user's time zone (`zone`,
    else TZ, else the system's): its start, or with end_of_day its last second, so --until
    2023-05-02 includes that whole day. A timestamp without an offset is read in that zone too."""
    text = value.strip()
    relative = _RELATIVE_RE.match(text)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2).lower()
        return (now or utcnow()) - amount * _UNITS[unit]
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            day = date.fromisoformat(text)  # not strptime: its import costs listings 3 ms
        except ValueError:
            raise UsageError(
                f"invalid date {value!r}: no such day (expected {DATE_HELP})"
            ) from None
        moment = datetime.combine(day, time(23, 59, 59) if end_of_day else time(0, 0))
        return in_zone(moment, zone).astimezone(UTC)
    candidate = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        raise UsageError(f"invalid date {value!r}: expected {DATE_HELP}") from None
    if "T" not in text.upper() and " " not in text:
        raise UsageError(f"invalid date {value!r}: expected {DATE_HELP}")
    if moment.tzinfo is None:
        moment = in_zone(moment, zone)
    return moment.astimezone(UTC)


def date_bound(
    value: str | None, *, end_of_day: bool = False, zone: tzinfo | None = None
) -> str | None:
    """The UTC ISO 8601 bound a DATE stands for (see parse_date for `zone`)."""
    if value is None:
        return None
    return to_utc_iso(parse_date(value, end_of_day=end_of_day, zone=zone))
