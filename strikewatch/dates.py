"""Timestamps: the one stored form (UTC ISO 8601, to the second), and reading the dates
feeds and archives write. Every command loads it (the filters and the store use it), so it
imports nothing but re and datetime, and the pattern only feeds need is compiled on first use."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone


def to_utc_iso(moment: datetime) -> str:
    """ISO 8601 in UTC, to the second: the one format every stored timestamp uses."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def parse_timestamp(value: str | None) -> datetime | None:
    """Read the dates feeds and archives use (ISO 8601, RFC 822 and its loose cousins); None
    when unusable, and when its time zone is one this reader does not know (never a guess)."""
    return read_timestamp(value)[0]


def read_timestamp(value: str | None) -> tuple[datetime | None, str | None]:
    """The instant a date names, and the zone name that kept it from being read, if that was
    the trouble. A date that names no zone is UTC; a zone it names but we cannot read gives no
    instant, since taking it as UTC would put the story hours away from where it happened."""
    if not value or not isinstance(value, str):
        return None, None
    text = value.strip()
    if not text:
        return None, None
    candidate = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        return _read_written_date(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None, None
    return moment, None


_MONTHS = {
    name: number
    for number, name in enumerate(
        "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1
    )
}
# Zone names feeds write, as hours from UTC. The generic US names (ET, CT, MT, PT) follow
# daylight saving time, as the publisher writing them does.
_FIXED_ZONES = {
    "ut": 0, "utc": 0, "gmt": 0, "z": 0,
    "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
    "akst": -9, "akdt": -8, "hst": -10,
}  # fmt: skip
_US_GENERIC_ZONES = {"et": -5, "ct": -6, "mt": -7, "pt": -8}


# RFC 822 and the loose forms around it: "Tue, 2 May 2023 3:15 PM PDT", "May 2, 2023 15:15 ET",
# "2023/05/02 03:15 GMT+2", each with an optional zone and (comment). Compiled on first use (re
# keeps it): a millisecond that only reading a feed's dates needs, not every command.
_WRITTEN_DATE = (
    r"(?:[a-z]{3,9}\.?,?\s+)?"  # weekday
    r"(?:(?P<d1>\d{1,2})[\s-]+(?P<m1>[a-z]{3,9})\.?,?[\s-]+(?P<y1>\d{4}|\d{2})"
    r"|(?P<m2>[a-z]{3,9})\.?\s+(?P<d2>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y2>\d{4})"
    r"|(?P<y3>\d{4})[-/.](?P<m3>\d{1,2})[-/.](?P<d3>\d{1,2}))"
    r"(?:(?:\s*,\s*|\s+|t)(?:at\s+)?(?P<hour>\d{1,2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:\.\d+)?)?\s*(?P<ampm>[ap]\.?m\b\.?)?)?"
    r"(?:\s*(?P<zone>[a-z][a-z_/]*(?:\s*[+-]\s*\d{1,2}(?::?\d{2})?)?|[+-]\d{1,2}(?::?\d{2})?))?"
    r"(?:\s*\([^()]*\))?"
)


def _read_written_date(text: str) -> tuple[datetime | None, str | None]:
    match = re.fullmatch(_WRITTEN_DATE, text, re.IGNORECASE)
    if match is None:
        return None, None
    parts = match.groupdict()
    month_name = parts["m1"] or parts["m2"]
    month = _MONTHS.get(month_name[:3].lower()) if month_name else int(parts["m3"])
    year_text = parts["y1"] or parts["y2"] or parts["y3"]
    year = int(year_text)
    if len(year_text) == 2:  # RFC 2822's rule for two-digit years
        year += 2000 if year < 50 else 1900
    hour, minute = int(parts["hour"] or 0), int(parts["minute"] or 0)
    if parts["ampm"]:
        if not 1 <= hour <= 12:
            return None, None
        hour = hour % 12 + (12 if parts["ampm"][0].lower() == "p" else 0)
    try:
        local = datetime(
            year, month or 0, int(parts["d1"] or parts["d2"] or parts["d3"]), hour, minute,
            int(parts["second"] or 0),
        )  # fmt: skip
    except (TypeError, ValueError):
        return None, None
    zone = parts["zone"]
    if zone is None:
        return local.replace(tzinfo=UTC), None
    offset = _zone_offset(zone, local)
    if offset is None:
        return None, zone
    try:
        return local.replace(tzinfo=timezone(offset)).astimezone(UTC), None
    except (OverflowError, ValueError):
        return None, None


def _zone_offset(zone: str, local: datetime) -> timedelta | None:
    """How far `zone` is from UTC at the local time `local`; None for a zone we cannot read."""
    name = re.match(r"[a-z]*", zone, re.IGNORECASE).group(0).lower()  # type: ignore[union-attr]
    number = zone[len(name) :].replace(" ", "")
    if number:  # "+0200", "-07:00", "GMT+2", "UTC-05:00"
        if name not in ("", "gmt", "utc", "ut"):
            return None
        digits = number[1:].replace(":", "")
        hours, minutes = (digits, "0") if len(digits) <= 2 else (digits[:-2], digits[-2:])
        offset = timedelta(hours=int(hours), minutes=int(minutes))
        if offset > timedelta(hours=14) or int(minutes) >= 60:
            return None
        return -offset if number[0] == "-" else offset
    if name in _FIXED_ZONES:
        return timedelta(hours=_FIXED_ZONES[name])
    if name in _US_GENERIC_ZONES:
        standard = _US_GENERIC_ZONES[name]
        return timedelta(hours=standard + 1 if _us_daylight_time(local) else standard)
    return None


def _us_daylight_time(local: datetime) -> bool:
    """Whether US daylight saving time is in force at this local wall-clock time (the rules
    since 2007: from the second Sunday of March to the first Sunday of November, 2 a.m.)."""
    march_first = datetime(local.year, 3, 1)
    november_first = datetime(local.year, 11, 1)
    start = march_first + timedelta(days=(6 - march_first.weekday()) % 7 + 7, hours=2)
    end = november_first + timedelta(days=(6 - november_first.weekday()) % 7, hours=2)
    return start <= local.replace(tzinfo=None) < end


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# No story strikewatch tracks was written before this; a date earlier is a placeholder
# (Hugo writes "Mon, 01 Jan 0001" on undated pages) or a mistake.
EARLIEST_DATE = datetime(1900, 1, 1, tzinfo=UTC)


def plausible_date(moment: datetime | None, now: datetime | None = None) -> datetime | None:
    """The date, or None when it cannot be a story's: before 1900, or more than a day ahead
    of `now` (a clock or a time zone can be a few hours out; a year cannot)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment < EARLIEST_DATE or moment > (now or utcnow()) + timedelta(days=1):
        return None
    return moment


def usable_date(published: datetime | None, first_seen: datetime) -> datetime | None:
    """The item's own date, or None when it is missing, in the future or before 1900."""
    if (
        published is None
        or published > first_seen + timedelta(minutes=5)
        or published < EARLIEST_DATE
    ):
        return None
    return published
