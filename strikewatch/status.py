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
      included); a date with its month counts up to DATE_HORIZON ahead when the sentence has a
      word of the change itself ("video game strike to begin Aug. 1"), and stays pending;
   b. if it names no day at all but speaks of the future ("to begin at midnight", "will strike",
      "tomorrow", "ends at 12:01 a.m."), the change takes effect the day after the publication
      day in Hollywood;
   c. otherwise (it names only days further off, "members vote through Oct. 9", or no day and
      no future tense, "writers head back to sets") the next sentence is read.
   Of several days within the week, the one nearest a scheduling or start/end word wins ("voted
   on Thursday to strike beginning 12:01 a.m. Friday" is Friday).
2. A report without such a sentence takes effect on its Los Angeles publication day, or the next
   day when it came out from 5 p.m. there on (the call reported the evening before).

The store keeps each strike report's day and the reason with the report (migration
m004_effective_days, worked out again by m006 when this rule changed), so this is worked out when
a report is saved, not on every call.

Changes are then replayed per contract (tv-theatrical, interactive, commercials: contract_of) in
order of the day they take effect: a start opens a strike if that contract is not on strike, an
end closes one if it is; everything else is a repeat. A deal, or an end that closes nothing (a
strike called off or averted), cancels the starts announced for a later day when it is reported
before that day, or on that day itself unless a start report published earlier that day said the
strike had begun (a deal at 12:20 a.m. averts a 12:01 a.m. deadline). A strike of the guild's own staff is left out. `as_of` is the end of a Los
Angeles day: only reports published by then count, and a change they schedule for a later day
is shown as pending. The day a strike starts is its day 1. AMPTP, the employers, never strikes.
Each entry also says how fresh the store's data is (_Freshness).
"""

from __future__ import annotations

import json
import re
import sqlite3
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache, lru_cache
from typing import Any

from strikewatch import taxonomy
from strikewatch.stories import lead_event
from strikewatch.taxonomy import STRIKE_CHANGES

SCHEDULE_HORIZON = timedelta(days=7)
# A date written with its month ("to begin Aug. 1") is read further ahead than a weekday: such a
# start is announced weeks before, and stays pending until that day.
DATE_HORIZON = timedelta(days=60)
EVENING_HOUR = 17  # 5 p.m. in Los Angeles: a strike report from then on is about the next day
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
    r"|(?:begin(?:s|ning)?|start(?:s|ing)?|end(?:s|ing)?|takes? effect|is lifted|expires?)"
    r" at (?:midnight|12:01)"
    r"|effective (?:at )?(?:midnight|12:01))\b"
)
# Words of the change itself, which tie a day to it rather than to a vote or a meeting.
_CHANGE_WORD = (
    r"\b(?:beginning|starting|begins?|starts?|ending|ends?|effective|walk(?:s|ing)? (?:off|out)"
    r"|strike (?:on|from))\b"
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
        self.change_word = re.compile(_CHANGE_WORD, re.IGNORECASE)


@cache
def _patterns() -> _Patterns:
    return _Patterns()


def pacific_time(moment: datetime) -> datetime:
    """The wall-clock time in Los Angeles (naive). The US rules since 1987 are written out below
    (checked against the time zone database by a test): faster than loading zoneinfo, and there
    where no database is installed. Earlier years ask the database, where there is one."""
    moment = moment.astimezone(UTC)
    if moment.year < 1987:
        zone = _los_angeles()
        if zone is not None:
            return moment.astimezone(zone).replace(tzinfo=None)
    dst_start, dst_end = _daylight_saving(moment.year)
    offset = timedelta(hours=-7 if dst_start <= moment < dst_end else -8)
    return (moment + offset).replace(tzinfo=None)


@cache
def _los_angeles() -> tzinfo | None:
    """America/Los_Angeles, or None where no time zone database is installed (tzdata is not a
    dependency: Windows and slim containers may lack one)."""
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("America/Los_Angeles")
    except Exception:  # ZoneInfoNotFoundError, or a broken database
        return None


@lru_cache(maxsize=64)
def _daylight_saving(year: int) -> tuple[datetime, datetime]:
    """When Pacific daylight time starts and ends in `year`, in UTC: 2 a.m. local on the second
    Sunday of March to the first Sunday of November since 2007, the first Sunday of April to the
    last Sunday of October from 1987 to 2006."""
    if year >= 2007:
        spring, autumn = date(year, 3, 8), date(year, 11, 1)
        start_day = spring + timedelta(days=(6 - spring.weekday()) % 7)
        end_day = autumn + timedelta(days=(6 - autumn.weekday()) % 7)
    else:
        spring, autumn = date(year, 4, 1), date(year, 10, 31)
        start_day = spring + timedelta(days=(6 - spring.weekday()) % 7)
        end_day = autumn - timedelta(days=(autumn.weekday() + 1) % 7)
    return (
        datetime.combine(start_day, time(10), tzinfo=UTC),
        datetime.combine(end_day, time(9), tzinfo=UTC),
    )


def la_day(moment: datetime) -> date:
    """The day in Los Angeles at `moment`: strikes begin and contracts expire at 12:01 a.m.
    Pacific, so that is the day a strike day is counted in."""
    try:
        return pacific_time(moment).date()
    except OverflowError:  # within hours of year 1 or 9999
        return moment.astimezone(UTC).date()


@lru_cache(maxsize=64)
def end_of_day(day: date) -> str:
    """The last second of a Los Angeles day, as the UTC ISO time the store keeps (the bound
    for 'published by the end of `day`')."""
    local = datetime.combine(day, time(23, 59, 59))
    for offset in (7, 8):  # PDT, then PST: the one that maps back onto `day` 23:59:59
        try:
            moment = (local + timedelta(hours=offset)).replace(tzinfo=UTC)
        except OverflowError:
            break
        if pacific_time(moment) == local:
            return moment.isoformat(timespec="seconds")
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC).isoformat(timespec="seconds")


def _sentences(text: str) -> list[str]:
    patterns = _patterns()
    text = patterns.clock.sub(lambda match: match.group(1) + "m", text or "")
    return [part for part in patterns.sentence_end.split(text) if part.strip()]


def _named_days(sentence: str, local_day: date) -> list[tuple[date, int, int, bool]]:
    """The days a sentence names, in order, resolved near `local_day`, with where each is named
    and whether it is a weekday (read within SCHEDULE_HORIZON) or a date (DATE_HORIZON)."""
    days = []
    for match in _patterns().named_day.finditer(sentence):
        if match.group("weekday"):
            weekday = _WEEKDAYS.index(match.group("weekday").lower())
            found = local_day + timedelta(days=(weekday - local_day.weekday()) % 7)
            days.append((found, match.start(), match.end(), True))
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
            found = min(candidates, key=lambda candidate: abs(candidate - local_day))
            days.append((found, match.start(), match.end(), False))
    return days


def _tied_day(sentence: str, days: list[tuple[date, int, int, bool]]) -> date:
    """Of several days a scheduling sentence names, the one tied to its start or end phrase:
    in "voted on Thursday to strike beginning 12:01 a.m. Friday" that is Friday, the day nearest
    a scheduling word (the later one on a tie), not the first day named."""
    cues = [
        (cue.start(), cue.end())
        for pattern in (_patterns().schedule_cue, _patterns().change_word)
        for cue in pattern.finditer(sentence)
    ]

    def distance(named: tuple[date, int, int, bool]) -> tuple[int, int]:
        _, start, end, _weekday = named
        gap = min(
            (max(cue_start - end, start - cue_end, 0) for cue_start, cue_end in cues),
            default=0,
        )
        return gap, -start

    return min(days, key=distance)[0]


@dataclass(frozen=True, slots=True)
class Effective:
    """When a strike report's change takes effect, and why."""

    day: date
    reason: str


def effective_day(title: str, summary: str, published: str) -> Effective:
    """The day a strike-started/strike-ended report takes effect (the rule in the module doc)."""
    moment = datetime.fromisoformat(published)
    patterns = _patterns()
    schedule_cue = patterns.schedule_cue
    if schedule_cue.search(title) is None and schedule_cue.search(summary or "") is None:
        # No sentence can be a schedule (splitting and "a.m." -> "am" create no cue).
        return _unscheduled(moment)
    local_day = la_day(moment)
    for sentence in [title, *_sentences(summary)]:
        cue = schedule_cue.search(sentence)
        if cue is None:
            continue
        named = _named_days(sentence, local_day)
        # A date beyond the week counts only with a word of the change itself ("to begin
        # Aug. 1"), not of a vote or a meeting ("members will vote through Oct. 9").
        far = DATE_HORIZON if patterns.change_word.search(sentence) else SCHEDULE_HORIZON
        near = [
            found
            for found in named
            if local_day <= found[0] <= local_day + (SCHEDULE_HORIZON if found[3] else far)
        ]
        if near:
            day = _tied_day(sentence, near)
            return Effective(day, f"names {day:%A %Y-%m-%d} with {cue.group(0)!r}")
        next_day = patterns.next_day_cue.search(sentence)
        if not named and next_day is not None:
            return Effective(
                local_day + timedelta(days=1),
                f"{next_day.group(0)!r} without a day: the day after {local_day} (Pacific)",
            )
    return _unscheduled(moment)


def _unscheduled(moment: datetime) -> Effective:
    """The day of a report that names none: its day in Los Angeles, or the next one when it
    came out in the evening there, since strikes begin and end at 12:01 a.m. and the trade
    press reports the call (or the end) the evening before."""
    try:
        local = pacific_time(moment)
    except OverflowError:  # within hours of year 1 or 9999
        return Effective(moment.astimezone(UTC).date(), "published that day (UTC)")
    if local.hour >= EVENING_HOUR:
        return Effective(
            local.date() + timedelta(days=1),
            f"published in the evening of {local.date()} (Los Angeles): the next day",
        )
    return Effective(local.date(), "published that day (Los Angeles)")


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


# Contracts a guild can strike separately. The film and TV contract is the default: a report
# names another one when it is about it ("video game strike", "the commercials contract").
TV_THEATRICAL = "tv-theatrical"
CONTRACTS = (TV_THEATRICAL, "interactive", "commercials")
_CONTRACT_CUES = (
    (
        "interactive",
        r"video[- ]?games?|interactive (?:media )?(?:agreement|contract|localization)"
        r"|interactive media|(?:video )?game (?:publishers|companies|studios|makers|developers"
        r"|industry|performers|actors|voice actors|workers)|gaming (?:companies|industry)",
    ),
    (
        "commercials",
        r"commercials(?! break)|commercial (?:contracts?|agreements?|strike|actors|performers)"
        r"|advertis(?:ers|ing agencies|ing industry)|ad agencies",
    ),
    (
        TV_THEATRICAL,
        r"tv|television|theatrical|film|movies?|studios|streamers|amptp"
        r"|alliance of motion picture",
    ),
)
# Phrases that make a strike (or its end) clearly one of another contract, whatever else the
# headline names: "video game strike", "strike against game companies", "commercials strike".
_OTHER_STRIKE = (
    (
        "interactive",
        r"(?:video[- ]?games?|game|gaming)(?: (?:performers?|actors?|voice actors?|workers?)(?:'s?)?)?"
        r" (?:strikes?|walkouts?)|interactive media (?:agreement|contract)"
        r"|(?:strikes?|walkouts?|walk(?:s|ing)? out) (?:against|on|of) (?:the )?(?:major )?"
        r"(?:video[- ]?games?|game|gaming) (?:companies|publishers|studios|makers|developers"
        r"|industry|employers)",
    ),
    (
        "commercials",
        r"commercials? (?:contract )?(?:strikes?|walkouts?)"
        r"|(?:strikes?|walkouts?|walk(?:s|ing)? out) (?:against|on) (?:the )?(?:advertisers"
        r"|ad agencies|advertising (?:agencies|industry))",
    ),
)
# Where a headline turns from the strike to what follows from it ("..., and what it means for
# video games"): a contract named only after this is not the strike's.
_ASIDE = (
    r"\b(?:what (?:it|this|that|the strike) means for|how (?:it|this|the strike) (?:affects|hits)"
    r"|(?:impact|effect)s? on|fallout for|means for)\b"
)
# The guild's own employees striking the guild: the guild is the employer there, not on strike.
# "Workers" only with the WGA's names: "IATSE workers" are the union's own members.
_WGA = r"(?:wga|wgaw|wgae|wga (?:west|east)|writers guild(?: of america)?(?: west| east)?)"
_STAFF_STRIKE = (
    r"\b(?:(?:guild|sag-aftra|dga|iatse|" + _WGA + r")"
    r"(?:'s|\u2019s)? (?:own )?(?:staff(?:ers)?|employees)(?: union)?"
    r"|" + _WGA + r"(?:'s|\u2019s)? (?:own )?workers(?: union)?"
    r"|(?:staff(?:ers)?|employees) (?:at|of) (?:the )?(?:sag-aftra|dga|iatse|guild|" + _WGA + r")"
    r"|workers (?:at|of) (?:the )?" + _WGA + r""
    r"|staff(?:ers)?(?:'s|\u2019s)? union|union (?:of|representing) (?:its|the guild's|guild)"
    r" (?:staff|employees))\b"
)
# With no report of any kind for this long, status says how fresh its data is rather than answer
# with confidence from months-old news (a polled trade-press feed has news every week).
STALE_AFTER = timedelta(days=60)
_CANCELS = ("deal", "strike-ended")
_KINDS = (*STRIKE_CHANGES, "deal")
_KINDS_SQL = "(" + ", ".join(f"'{kind}'" for kind in _KINDS) + ")"


class _Reading:
    """The regexes status uses on a report's text (its contract; a strike of the guild's own
    staff), compiled at first use: most reports never need them (_hinted)."""

    def __init__(self) -> None:
        self.contract = re.compile(
            "|".join(rf"\b(?P<c{index}>{cue})\b" for index, (_, cue) in enumerate(_CONTRACT_CUES)),
            re.IGNORECASE,
        )
        self.staff = re.compile(_STAFF_STRIKE, re.IGNORECASE)
        self.other_strike = re.compile(
            "|".join(rf"\b(?P<c{index}>{cue})\b" for index, (_, cue) in enumerate(_OTHER_STRIKE)),
            re.IGNORECASE,
        )
        self.aside = re.compile(_ASIDE, re.IGNORECASE)


@cache
def _reading() -> _Reading:
    return _Reading()


# Substrings that every cue of the other contracts, and of a staff strike, contains: a report
# with none of them (most) is film and TV, and not its staff's, without running the regexes
# above, which would cost a noticeable part of a second on a store of 200,000 items.
_TV_HINTS = ("tv", "television", "theatrical", "film", "movie", "studios", "streamers", "amptp")


def _hinted(lower: str) -> bool:
    """Whether lower-case text has a hint, so that most reports skip the contract and staff
    regexes."""
    return (
        "game" in lower
        or "interactive" in lower
        or "commercial" in lower
        or "advertis" in lower
        or "ad agenc" in lower
        or "staff" in lower
        or "employee" in lower
        or ("workers" in lower and ("wga" in lower or "writers guild" in lower))
    )


def contract_of(title: str, summary: str | None) -> tuple[str, bool]:
    """The contract a strike or deal report is about, and whether it names one, read from its
    headline (its summary when the headline names none): a strike clearly of another contract
    ("video game strike", "strike against game companies", "commercials strike") is that one;
    else the one contract it names; a text naming several, or naming another only after it turns
    to what follows ("and what it means for video games"), is about the film and TV one, the
    default, as is a text naming none."""
    for text in (title, summary or ""):
        lower = text.lower()
        if _hinted(lower):
            found = _named_contract(text)
            if found is not None:
                return found, True
        if any(hint in lower for hint in _TV_HINTS):
            return TV_THEATRICAL, True
    return TV_THEATRICAL, False


def _named_contract(text: str) -> str | None:
    """contract_of for one text with a hint of another contract (None: it names none)."""
    reading = _reading()
    strike = reading.other_strike.search(text)
    if strike is not None:
        return _OTHER_STRIKE[int(strike.lastgroup[1:])][0]  # type: ignore[index]
    aside = reading.aside.search(text)
    main = text[: aside.start()] if aside is not None else text
    named = {
        _CONTRACT_CUES[int(match.lastgroup[1:])][0]  # type: ignore[index]
        for match in reading.contract.finditer(main)
    }
    if len(named) == 1:
        return named.pop()
    if named or (aside is not None and reading.contract.search(text) is not None):
        return TV_THEATRICAL
    return None


def is_staff_strike(title: str, summary: str | None) -> bool:
    """Whether a report is about the guild's own staff striking it (the headline, or the
    summary's first sentence)."""
    text = title + "\n" + (summary or "").split(". ", 1)[0]
    return _reading().staff.search(text) is not None


class _Change:
    """One report's start or end of a strike, or a deal, on the day it takes effect, and the
    contract it is about (whether the report names it is worked out only when asked)."""

    __slots__ = (
        "_explicit",
        "contract",
        "day",
        "effective",
        "kind",
        "published",
        "reported",
        "row",
        "undated",
    )

    def __init__(
        self,
        day: date,
        published: str,
        kind: str,
        row: sqlite3.Row,
        effective: Effective,
        contract: tuple[str, bool | None] = (TV_THEATRICAL, False),
        reported: date | None = None,
        undated: bool = False,
    ) -> None:
        self.day = day
        self.published = published
        self.kind = kind  # "strike-started", "strike-ended" or "deal"
        self.row = row  # id, published, title, link, summary
        self.effective = effective
        self.contract, self._explicit = contract
        # The day it was reported (Los Angeles): when a deal or an end calls off starts.
        self.reported = reported
        self.undated = undated  # a strike report whose source gave no usable date

    @property
    def explicit(self) -> bool:
        """Whether the report names its contract (the film and TV one by a word such as
        "studios" or "TV"): only an end or a deal that names none applies beyond it."""
        if self._explicit is None:
            self._explicit = contract_of(self.row["title"], self.row["summary"])[1]
        return self._explicit


def _placed(title: str, summary: str | None) -> tuple[str, bool | None] | None:
    """A report's contract, and whether it names it (None: not worked out yet), or None for a
    strike of the guild's own staff. One cheap look for the hints decides most reports."""
    if not _hinted((title + "\n" + (summary or "")).lower()):
        return TV_THEATRICAL, None
    if is_staff_strike(title, summary):
        return None
    return contract_of(title, summary)


# The strike and deal reports published by a time (the parameter): their stored day and reason
# (see the module doc), their summary (read for the contract, and for the day where none is
# stored: written by another tool, or edited since), whether their source gave a usable date, and
# all their tags (whose guilds _strike_changes picks). Read by id, so that the items' pages are
# visited in order.
STRIKE_REPORTS_SQL = (
    "SELECT items.id, items.published, items.title, items.link,"
    " items.effective_day, items.effective_why, items.summary, items.undated,"
    " (SELECT group_concat(tag, ' ') FROM tags WHERE tags.item_id = items.id) AS tags"
    " FROM items WHERE items.id IN (SELECT item_id FROM tags"
    f" WHERE tag IN {_KINDS_SQL} AND published <= ?)"
)


def _published_day(published: str) -> date | None:
    try:
        return la_day(datetime.fromisoformat(published))
    except ValueError:
        return None


def _day_text(published: str) -> str | None:
    """A report's Los Angeles day as text (None for a time strikewatch cannot read)."""
    day = _published_day(published)
    return day.isoformat() if day else None


def _strike_changes(
    conn: sqlite3.Connection, until: str, guilds: Sequence[str], include_undated: bool = False
) -> dict[str, list[_Change]]:
    """Each of `guilds`' strike changes and deals published by `until`, in the order they take
    effect, read in one pass for all of them (a pass per guild re-read every strike report).
    A report of the guild's own staff striking it is left out: the guild is not on strike; so
    is an undated strike report, unless `include_undated`: "strike begins" on an undated page
    (items.undated: stored on the moment it was first seen) would otherwise put the guild on
    strike from the day strikewatch happened to read it."""
    by_guild: dict[str, list[_Change]] = {guild: [] for guild in guilds}
    if not by_guild:
        return by_guild
    reports: list[tuple[tuple[date, str, int], list[_Change], list[list[_Change]]]] = []
    for row in conn.execute(STRIKE_REPORTS_SQL, (until,)):
        item_id, published, title, _, stored_day, stored_why, summary, no_date, tag_text = row
        tags = tag_text.split(" ")
        mine = [changes for guild, changes in by_guild.items() if guild in tags]
        if not mine:
            continue
        kinds = [kind for kind in _KINDS if kind in tags]
        strike = "strike-started" in kinds or "strike-ended" in kinds
        undated = strike and bool(no_date)
        if undated and not include_undated:
            continue
        reported = _published_day(published)
        if not strike:
            if reported is None:  # a deal takes effect when reported
                continue
            effective = Effective(reported, "a deal: the day it was reported (Los Angeles)")
        else:
            effective = _kept_day(stored_day, stored_why) or _readable_effective_day(
                title, summary, published
            )
            if effective is None:
                continue
        contract = _placed(title, summary)
        if contract is None:
            continue  # the guild's own staff on strike: not the guild
        changes = [
            _Change(effective.day, published, kind, row, effective, contract, reported, undated)
            for kind in kinds
        ]
        reports.append(((effective.day, published, item_id), changes, mine))
    # In the order they take effect; a report that both starts and ends a strike keeps its start
    # first. Its changes are shared by the guilds it is about: a replay does not change them.
    reports.sort(key=lambda report: report[0])
    for _, changes, guild_lists in reports:
        for guild_changes in guild_lists:
            guild_changes.extend(changes)
    return by_guild


def _kept_day(stored_day: str | None, stored_why: str | None) -> Effective | None:
    """The day the store keeps with a strike report, or None when there is none or another
    tool left one strikewatch cannot read ("2023-5-2"): it is then worked out again."""
    if stored_day is None:
        return None
    try:
        return Effective(date.fromisoformat(stored_day), stored_why or "")
    except (TypeError, ValueError):
        return None


def _first_announced(changes: Sequence[_Change]) -> dict[tuple[str, date], str]:
    """When each scheduled start (contract, day) was first reported."""
    first: dict[tuple[str, date], str] = {}
    for change in changes:
        if change.kind == "strike-started":
            key = (change.contract, change.day)
            first[key] = min(first.get(key, change.published), change.published)
    return first


def _begun(changes: Sequence[_Change]) -> dict[tuple[str, date], str]:
    """For each contract and Los Angeles day, when the first report of a start was published
    that day: a start report published on or after a strike's day says it is under way."""
    begun: dict[tuple[str, date], str] = {}
    for change in changes:
        if change.kind != "strike-started":
            continue
        if change.reported is not None:
            key = (change.contract, change.reported)
            begun[key] = min(begun.get(key, change.published), change.published)
    return begun


def _calls_off(
    change: _Change,
    announced: dict[tuple[str, date], str],
    on_strike: Collection[str],
    begun: dict[tuple[str, date], str],
    days: dict[str, list[date]],
) -> list[tuple[str, date]]:
    """The announced starts a deal, or a strike called off or averted, cancels: those of its
    contract (of any, when it names none) not yet under way, first reported before it and due
    after the day it was reported (Los Angeles), or due that very day when no start report
    published on that day, before it, said the strike had begun (a deal reached at 12:20 a.m.
    on the strike day averts it: the walkout at 12:01 was a deadline, not a report). `days`:
    each contract's announced days, in order."""
    reported = change.reported
    if reported is None or not announced:
        return []
    contracts = (change.contract,) if change.explicit else CONTRACTS
    # Up to year 9999: a date another tool wrote ("9999-12-01") reaches no further.
    reach = reported + _REACH if reported <= date.max - _REACH else date.max
    off = []
    for contract in contracts:
        if contract in on_strike or contract not in days:
            continue
        due = days[contract]
        for day in due[bisect_right(due, reported) : bisect_right(due, reach)]:
            if announced[(contract, day)] < change.published:
                off.append((contract, day))
        if (
            announced.get((contract, reported), change.published) < change.published
            and begun.get((contract, reported), change.published) >= change.published
        ):
            off.append((contract, reported))
    return off


# How far after a report a start it calls off may be due.
_REACH = DATE_HORIZON + timedelta(days=1)


@dataclass
class _Standing:
    """A guild's strikes replayed to the end of a day: the day each contract's strike under way
    began, the last strike finished, the announced starts called off, and the changes that take
    effect after that day, not replayed yet (in order)."""

    started: dict[str, date]
    previous: dict[str, Any] | None
    off: set[tuple[str, date]]
    later: list[_Change]


def _settle(changes: Sequence[_Change], as_of: date) -> _Standing:
    """Replay the changes that take effect by the end of `as_of`. Changes go in the order they
    take effect; a deal, or an end that closes no strike, calls off the starts announced for a
    later day (_calls_off) as of the day it was reported, before anything due after that day
    happens. Every report was published by `as_of`, so every call-off is settled here: what is
    left, `later`, only needs _advance."""
    started: dict[str, date] = {}
    previous: dict[str, Any] | None = None
    announced = _first_announced(changes)
    days: dict[str, list[date]] = {}
    for contract, day in sorted(announced):
        days.setdefault(contract, []).append(day)
    begun = _begun(changes)
    called_off: set[tuple[str, date]] = set()
    closers: set[int] = set()  # id() of the ends that closed a strike: no call-off
    checks = sorted(
        (
            (change.reported, change.published, index)
            for index, change in enumerate(changes)
            if change.kind in _CANCELS and change.reported is not None
        ),
        reverse=True,
    )

    def check_until(day: date | None) -> None:
        while checks and (day is None or checks[-1][0] <= day):
            change = changes[checks.pop()[2]]
            ending = change.kind == "strike-ended"
            if ending and (id(change) in closers or _contract_for(change, started) in started):
                continue  # the end of a strike under way, not a call-off
            called_off.update(_calls_off(change, announced, started, begun, days))

    later: list[_Change] = []
    for change in changes:
        if change.day > as_of:
            later.append(change)
            continue
        check_until(change.day)
        if _opens_or_closes(change, started, called_off):
            if change.kind == "strike-started":
                started[change.contract] = change.day
            else:
                closers.add(id(change))
                previous = _finished(change, started)
    check_until(None)
    return _Standing(started, previous, called_off, later)


def _opens_or_closes(
    change: _Change, started: Collection[str], called_off: Collection[tuple[str, date]]
) -> bool:
    """Whether a change starts a strike on a contract not on strike (and not called off) or
    ends the one under way; everything else is a repeat."""
    if change.kind == "deal":
        return False
    contract = _contract_for(change, started)
    if change.kind == "strike-started":
        return contract not in started and (contract, change.day) not in called_off
    return contract in started


def _finished(end: _Change, started: dict[str, date]) -> dict[str, Any]:
    """Close the strike `end` ends (removing it from `started`): the finished strike."""
    contract = _contract_for(end, started)
    began = started.pop(contract)
    # The day before the end, or the first day (an end on its first day, maybe on year 1).
    last_day = end.day - timedelta(days=1) if end.day > began else began
    return {
        "contract": contract,
        "started": began.isoformat(),
        "ended": end.day.isoformat(),
        "last_day": last_day.isoformat(),
        "days": (last_day - began).days + 1,
    }


def _advance(standing: _Standing, as_of: date) -> dict[str, Any]:
    """The standing at the end of `as_of` (not before the day it was settled to): the strikes
    under way by contract, the last finished, and the first change still to come."""
    started = dict(standing.started)
    previous = standing.previous
    pending = None
    for change in standing.later:
        if not _opens_or_closes(change, started, standing.off):
            continue
        if change.day > as_of:
            pending = pending or change  # the first to come; a later one opens nothing yet
            continue
        if change.kind == "strike-started":
            started[change.contract] = change.day
        else:
            previous = _finished(change, started)
    return {"started": started, "previous": previous, "pending": pending, "off": standing.off}


def _replay(changes: Sequence[_Change], as_of: date) -> dict[str, Any]:
    """Each contract's strike under way at the end of `as_of`, the last one finished, and the
    first change announced for a later day."""
    return _advance(_settle(changes, as_of), as_of)


# The replay each guild's strike reports came to, stored so that `status` does not read and
# replay every report on every call. Saved by save_standings at the end of every poll, import
# and reclassify; the store's triggers delete it whenever a strike or deal report is added,
# retagged, edited or removed, by strikewatch or any other program. Bump on any change to how
# reports are replayed or placed (contract_of, is_staff_strike): a standing of another version
# is replayed afresh.
STANDING_VERSION = 1


def standings_saved(conn: sqlite3.Connection) -> bool:
    """Whether every striking guild's standing is stored (no strike or deal report changed
    since it was saved)."""
    stored = {
        guild
        for (guild,) in conn.execute(
            "SELECT guild FROM strike_standing WHERE version = ?", (STANDING_VERSION,)
        )
    }
    return stored.issuperset(guild for guild in taxonomy.guild_ids() if taxonomy.can_strike(guild))


def save_standings(conn: sqlite3.Connection) -> bool:
    """Store each striking guild's replay up to its newest strike or deal report, unless the
    stored one is still good; returns whether it replayed. In the caller's transaction."""
    if standings_saved(conn):
        return False
    guilds = [guild for guild in taxonomy.guild_ids() if taxonomy.can_strike(guild)]
    # Of the times in text: a BLOB (bytes from another program) sorts after every text, so no
    # `as_of` ever reads its report, and the standing must not either.
    through = conn.execute(
        f"SELECT max(published) FROM tags WHERE tag IN {_KINDS_SQL} AND typeof(published) = 'text'"
    ).fetchone()[0]
    changes = _strike_changes(conn, through or "", guilds)
    # Settled to the last day a report was published: every call-off is then decided, and any
    # later `as_of` only has the changes announced for after it left to replay.
    days = [change.reported for each in changes.values() for change in each]
    day = max((each for each in days if each is not None), default=date.min)
    rows = []
    for guild in guilds:
        standing = _settle(changes[guild], day)
        rows.append((guild, STANDING_VERSION, through, day.isoformat(), _dump(standing, day)))
    conn.execute("DELETE FROM strike_standing")
    conn.executemany("INSERT INTO strike_standing VALUES (?, ?, ?, ?, ?)", rows)
    return True


def _dump(standing: _Standing, settled: date) -> str:
    return json.dumps(
        {
            "started": {
                contract: began.isoformat() for contract, began in standing.started.items()
            },
            "previous": standing.previous,
            "off": [[contract, day.isoformat()] for contract, day in standing.off if day > settled],
            "later": [
                {
                    "kind": change.kind,
                    "day": change.day.isoformat(),
                    "contract": change.contract,
                    "explicit": change.explicit,
                    "published": change.published,
                    "title": change.row["title"],
                    "link": change.row["link"],
                }
                for change in standing.later
            ],
        }
    )


def _load(text: str) -> _Standing:
    state = json.loads(text)
    return _Standing(
        started={contract: date.fromisoformat(day) for contract, day in state["started"].items()},
        previous=state["previous"],
        off={(contract, date.fromisoformat(day)) for contract, day in state["off"]},
        later=[
            _Change(
                date.fromisoformat(change["day"]),
                change["published"],
                change["kind"],
                {"title": change["title"], "link": change["link"], "summary": None},
                Effective(date.fromisoformat(change["day"]), ""),
                (change["contract"], change["explicit"]),
            )
            for change in state["later"]
        ],
    )


def _replays(
    conn: sqlite3.Connection, as_of: date, guilds: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Each guild's strikes replayed to the end of `as_of`: from its stored standing when that
    covers every report published by then and was settled no later than `as_of`, else from
    every report (an earlier `--as-of`, a guild the rules file just added, a store another
    program changed since the last poll)."""
    until = end_of_day(as_of)
    replays: dict[str, dict[str, Any]] = {}
    try:
        rows = conn.execute(
            "SELECT guild, through, day, state FROM strike_standing WHERE version = ?",
            (STANDING_VERSION,),
        ).fetchall()
    except sqlite3.OperationalError:  # not a strikewatch store (no such table)
        rows = []
    for guild, through, day, state in rows:
        if guild in guilds and (through or "") <= until and day <= as_of.isoformat():
            replays[guild] = _advance(_load(state), as_of)
    rest = [guild for guild in guilds if guild not in replays]
    if rest:
        changes = _strike_changes(conn, until, rest)
        replays.update((guild, _replay(changes[guild], as_of)) for guild in rest)
    return replays


def _contract_for(change: _Change, started: Collection[str]) -> str:
    """The contract a change is about: an end that names none ends the one strike under way."""
    unnamed_end = change.kind == "strike-ended" and not change.explicit
    if unnamed_end and change.contract not in started and len(started) == 1:
        return next(iter(started))
    return change.contract


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


@lru_cache(maxsize=4)
def _day_bounds(first_monday: date) -> list[str]:
    """end_of_day of each day of the chart that starts on `first_monday` (up to year 9999)."""
    last = (date.max - first_monday).days
    return [
        end_of_day(first_monday + timedelta(days=offset))
        for offset in range(CHART_WEEKS * 7)
        if offset <= last
    ]


def _weekly(conn: sqlite3.Connection, guild: str, as_of: date) -> list[dict[str, Any]]:
    """Coverage (reports) and stories with events per week, Monday to Sunday in Los Angeles, up
    to `as_of`: each week's `events` (every event of the stories first reported that week) and
    `dated` (each of those events with its day, in order)."""
    last_monday = as_of - timedelta(days=as_of.weekday())
    try:
        first_monday = last_monday - timedelta(weeks=CHART_WEEKS - 1)
        start = end_of_day(first_monday - timedelta(days=1))
    except OverflowError:  # within 12 weeks of year 1: no chart
        return []
    weeks: list[dict[str, Any]] = [
        {
            "week": (first_monday + timedelta(weeks=index)).isoformat(),
            "items": 0,
            "events": [],
            "dated": [],
        }
        for index in range(CHART_WEEKS)
    ]
    # The last second of each of the chart's days, as the store writes times: a time so written
    # falls on the first day whose bound is not before it (the others are read one by one).
    # From 1987 on, where pacific_time follows the rules written out, end_of_day is exactly
    # where la_day turns; before 1883 Los Angeles kept local mean time, which it is not.
    bounds = _day_bounds(first_monday) if first_monday.year >= 1987 else None
    for published, events, first in conn.execute(
        "SELECT items.published, items.events,"
        " coalesce(items.story_id, items.id) = items.id"
        " FROM tags JOIN items ON items.id = tags.item_id"
        " WHERE tags.tag = ? AND tags.published > ? AND tags.published <= ?"
        " ORDER BY tags.published, tags.item_id",  # as the index has them
        (guild, start, end_of_day(as_of)),
    ):
        if (
            bounds
            and len(published) == 25
            and published.endswith("+00:00")
            and published[10] == "T"
        ):
            try:
                datetime.fromisoformat(published)  # not "T24:00:00" or "02-30" (another tool's)
            except ValueError:
                continue
            day = first_monday + timedelta(days=bisect_left(bounds, published))
        else:
            day = _published_day(published)
            if day is None:  # a time no strikewatch wrote ("2023/05/02 07:00") sorts in here
                continue
        index = (day - first_monday).days // 7
        if not 0 <= index < CHART_WEEKS:
            continue
        week = weeks[index]
        week["items"] += 1
        if not first or events == "[]":
            continue  # a later report of a story: its events are the first report's
        for event in json.loads(events):
            week["dated"].append({"day": day.isoformat(), "event": event})
    for week in weeks:
        week["events"] = sorted({entry["event"] for entry in week["dated"]})
    return weeks


class _Freshness:
    """How fresh the store's data is at the end of a day: its newest report and its last
    successful poll, read once for every guild."""

    __slots__ = ("data_through", "first_report", "last_poll", "stale")

    def __init__(self, conn: sqlite3.Connection, as_of: date) -> None:
        until = end_of_day(as_of)
        newest = conn.execute(
            "SELECT max(published) FROM items WHERE published <= ?", (until,)
        ).fetchone()[0]
        self.data_through = _published_day(newest) if newest else None
        oldest = conn.execute("SELECT min(published) FROM items").fetchone()[0]
        # The Los Angeles day of the oldest stored report, whatever --as-of: "no reports up to
        # that day" is not "no reports stored".
        self.first_report = _published_day(oldest) if oldest else None
        try:
            self.last_poll = conn.execute(
                "SELECT max(last_success) FROM feeds WHERE last_success <= ?", (until,)
            ).fetchone()[0]
        except sqlite3.OperationalError:  # no feeds table: not a strikewatch store
            self.last_poll = None
        self.stale = self.data_through is None or as_of - self.data_through > STALE_AFTER


def guild_status(
    conn: sqlite3.Connection,
    guild: str,
    as_of: date,
    with_weeks: bool = True,
    replay: dict[str, Any] | None = None,
    freshness: _Freshness | None = None,
) -> dict[str, Any]:
    """One guild's standing at the end of `as_of` (a Los Angeles day), as `status --json` shows
    it. `replay` is its strikes replayed, `freshness` the store's, when the caller has them."""
    until = end_of_day(as_of)
    if replay is None:
        replay = {"started": {}, "previous": None, "pending": None}
        if taxonomy.can_strike(guild):
            replay = _replays(conn, as_of, (guild,))[guild]
    strikes = sorted(
        (
            {
                "contract": contract,
                "started": began.isoformat(),
                "strike_day": (as_of - began).days + 1,
            }
            for contract, began in replay["started"].items()
        ),
        key=lambda strike: (strike["started"], CONTRACTS.index(strike["contract"])),
    )
    longest = strikes[0] if strikes else None
    pending = replay["pending"]
    last = _last_event(conn, guild, until)
    if freshness is None:
        freshness = _Freshness(conn, as_of)
    status: dict[str, Any] = {
        "guild": guild,
        "as_of": as_of.isoformat(),
        "on_strike": bool(strikes),
        "strike_started": longest["started"] if longest else None,
        "strike_day": longest["strike_day"] if longest else None,
        "strikes": strikes,
        "last_event": last["event"] if last else None,
        "last_event_at": last["at"] if last else None,
        "last_event_day": _day_text(last["at"]) if last else None,
        "last_title": last["title"] if last else None,
        "last_link": last["link"] if last else None,
        "previous_strike": replay["previous"],
        "pending": {
            "event": pending.kind,
            "on": pending.day.isoformat(),
            "contract": pending.contract,
            "title": pending.row["title"],
            "link": pending.row["link"],
        }
        if pending
        else None,
        "data_through": freshness.data_through.isoformat() if freshness.data_through else None,
        "first_report": freshness.first_report.isoformat() if freshness.first_report else None,
        "last_poll": freshness.last_poll,
        "stale": freshness.stale,
    }
    if with_weeks:
        status["weekly"] = _weekly(conn, guild, as_of)
    return status


def all_status(
    conn: sqlite3.Connection, as_of: date, guilds: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """Every guild's standing (`guilds`: those of the taxonomy, in its order)."""
    if guilds is None:
        guilds = taxonomy.guild_ids()
    striking = [guild for guild in guilds if taxonomy.can_strike(guild)]
    replays = _replays(conn, as_of, striking)
    freshness = _Freshness(conn, as_of)
    return [
        guild_status(conn, guild, as_of, replay=replays.get(guild), freshness=freshness)
        for guild in guilds
    ]


def today() -> date:
    """Today in Los Angeles, the day `status` answers for by default."""
    return la_day(datetime.now(UTC))


def explain_strikes(conn: sqlite3.Connection, guild: str, as_of: date) -> list[dict[str, Any]]:
    """Every strike report considered for `guild`, with its contract and the day it takes effect
    and why (one whose date strikewatch cannot read, which only another tool can write, is not
    considered; nor is a strike of the guild's own staff). An undated one is listed as
    "undated: not counted"."""
    changes = _strike_changes(conn, end_of_day(as_of), (guild,), include_undated=True)[guild]
    called_off = _replay([change for change in changes if not change.undated], as_of)["off"]
    return [
        {
            "published": change.published,
            "event": change.kind,
            "contract": change.contract,
            "effective": change.day.isoformat(),
            "why": "undated: not counted (the source gave no usable date)"
            if change.undated
            else change.effective.reason
            + (
                "; called off before that day"
                if change.kind == "strike-started" and (change.contract, change.day) in called_off
                else ""
            ),
            "title": change.row["title"],
        }
        for change in changes
        if change.kind != "deal"
    ]
