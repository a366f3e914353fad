"""What a guild and an event are: one table of each, read by every module.

The six tracked parties and the ten events are defined here; a user's rules file can add more
(`[parties.afm]`, `[events.lockout]`, see data/rules/README.md). The CLI registers those before
it reads any option, so a new id works everywhere: classify, the filters, timeline, status,
export and alerts. Nothing here reads the rules engine, so listings stay cheap.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from pathlib import Path

# The two rows are NamedTuples, not frozen dataclasses: every command loads this module, and a
# frozen dataclass costs half a millisecond to define.


class Guild(NamedTuple):
    """A party to Hollywood's labor news: a union, or the employers' side."""

    id: str
    name: str  # as headlines write it: alert titles, Atom category labels, rule explanations
    label: str  # the status panel's heading
    colour: str = "bold"  # a rich style
    can_strike: bool = True  # False for the employers' side (the AMPTP)
    aliases: tuple[str, ...] = ()  # other spellings accepted by --guild


class Event(NamedTuple):
    """A labor event the rules can find in a headline."""

    id: str
    name: str  # in words: alert titles
    letter: str  # its mark in the status chart
    colour: str = ""  # a rich style ("" = plain)
    story_priority: int = 100  # lower names a story first (stories.lead_event)
    chart_priority: int = 100  # lower wins a week's mark in the status chart
    aliases: tuple[str, ...] = ()  # other spellings accepted by --event


_BUNDLED_GUILDS: tuple[Guild, ...] = (
    Guild(
        "wga", "WGA", "WGA (writers)", "bold yellow",
        aliases=("writers", "writers-guild", "wgaw", "wgae", "wga-west", "wga-east",
                 "writers-guild-of-america", "scribes"),
    ),
    Guild(
        "sag-aftra", "SAG-AFTRA", "SAG-AFTRA (actors)", "bold magenta",
        aliases=("sag", "sagaftra", "sag_aftra", "aftra", "actors", "screen-actors-guild",
                 "thesps", "performers"),
    ),
    # The employers' side of the table: it never strikes, and it is named in nearly every
    # guild's news without being what the news is about.
    Guild(
        "amptp", "AMPTP", "AMPTP (the studios)", "bold cyan", can_strike=False,
        aliases=("studios", "producers", "alliance"),
    ),
    Guild(
        "dga", "DGA", "DGA (directors)", "bold green",
        aliases=("directors", "directors-guild", "directors-guild-of-america", "helmers"),
    ),
    Guild(
        "iatse", "IATSE", "IATSE (crews)", "bold blue",
        aliases=("ia", "tag", "animation-guild", "crew", "the-animation-guild", "crews"),
    ),
    Guild(
        "teamsters", "Teamsters", "Teamsters", "bold red",
        aliases=("local-399", "teamsters-399", "basic-crafts", "teamsters-local-399",
                 "hollywood-teamsters"),
    ),
)  # fmt: skip

# story_priority: the end of a strike is the deal story; a strike that began when talks
# collapsed is the strike story; "talks set for Tuesday" is about the meeting, not the
# breakdown its summary recalls. Events that summaries mention as background come last.
# chart_priority: a week's mark is its most consequential event.
_BUNDLED_EVENTS: tuple[Event, ...] = (
    Event("meeting-requested", "meeting requested", "m", "",
          story_priority=7, chart_priority=10, aliases=("meeting",)),
    Event("talks-started", "talks started", "t", "",
          story_priority=6, chart_priority=9, aliases=("talks",)),
    Event("talks-resumed", "talks resumed", "t", "",
          story_priority=8, chart_priority=8, aliases=("resumed",)),
    Event("talks-stalled", "talks stalled", "x", "yellow",
          story_priority=9, chart_priority=6, aliases=("stalled", "breakdown")),
    Event("offer", "offer", "o", "cyan",
          story_priority=10, chart_priority=7),
    Event("deal", "deal", "D", "bold green",
          story_priority=1, chart_priority=3, aliases=("tentative-agreement", "agreement")),
    Event("ratified", "ratified", "R", "green",
          story_priority=4, chart_priority=4, aliases=("ratification",)),
    Event("strike-authorized", "strike authorized", "A", "red",
          story_priority=5, chart_priority=5, aliases=("authorization",)),
    Event("strike-started", "strike started", "S", "bold red",
          story_priority=3, chart_priority=1, aliases=("strike", "walkout", "strike-start")),
    Event("strike-ended", "strike ended", "E", "bold green",
          story_priority=2, chart_priority=2, aliases=("strike-end",)),
)  # fmt: skip

# The bundled ids, in the order help and errors list them (user additions come after).
GUILDS: tuple[str, ...] = tuple(g.id for g in _BUNDLED_GUILDS)
EVENTS: tuple[str, ...] = tuple(e.id for e in _BUNDLED_EVENTS)
# The events that open and close a strike: `status` replays them, and the store keeps the day
# each such report takes effect.
STRIKE_CHANGES: tuple[str, ...] = ("strike-started", "strike-ended")

GUILD_ALIASES: dict[str, str] = {a: g.id for g in _BUNDLED_GUILDS for a in g.aliases}
EVENT_ALIASES: dict[str, str] = {a: e.id for e in _BUNDLED_EVENTS for a in e.aliases}

_guilds: dict[str, Guild] = {g.id: g for g in _BUNDLED_GUILDS}
_events: dict[str, Event] = {e.id: e for e in _BUNDLED_EVENTS}
_spelling_cache: dict[str, dict[str, str]] = {}
_order_cache: dict[str, Any] = {}  # story_order and chart_marks, until the next addition

ID_RE = re.compile(r"^[a-z][a-z0-9-]*$")
# A rules file is a few kilobytes of TOML; anything past this is not one.
MAX_RULES_BYTES = 1024 * 1024


# -- reading the tables -----------------------------------------------------------------------


def guilds() -> tuple[Guild, ...]:
    """Every party: the bundled six, then those rules files added."""
    return tuple(_guilds.values())


def events() -> tuple[Event, ...]:
    return tuple(_events.values())


def guild_ids() -> tuple[str, ...]:
    return tuple(_guilds)


def event_ids() -> tuple[str, ...]:
    return tuple(_events)


def guild(gid: str) -> Guild | None:
    return _guilds.get(gid)


def event(eid: str) -> Event | None:
    return _events.get(eid)


def can_strike(gid: str) -> bool:
    """Whether a party can strike (an unknown id is taken for a union)."""
    found = _guilds.get(gid)
    return found is None or found.can_strike


def guild_name(gid: str) -> str:
    found = _guilds.get(gid)
    return found.name if found else gid


def event_name(eid: str) -> str:
    found = _events.get(eid)
    return found.name if found else eid.replace("-", " ")


def story_order() -> tuple[str, ...]:
    """Event ids, the one that best names a story first."""
    if "story" not in _order_cache:
        ranked = sorted(_events.values(), key=lambda e: e.story_priority)
        _order_cache["story"] = tuple(e.id for e in ranked)
    return _order_cache["story"]


def chart_marks() -> dict[str, str]:
    """Event id -> chart letter, the event that wins a week first."""
    if "chart" not in _order_cache:
        ranked = sorted(_events.values(), key=lambda e: e.chart_priority)
        _order_cache["chart"] = {e.id: e.letter for e in ranked}
    return dict(_order_cache["chart"])


class _Colours(Mapping[str, str]):
    """Id -> rich style, read from the table when looked up (so additions show)."""

    def __init__(self, table: dict[str, Guild] | dict[str, Event]) -> None:
        self._table = table

    def __getitem__(self, key: str) -> str:
        found = self._table.get(key)
        if found is None or not found.colour:
            raise KeyError(key)
        return found.colour

    def __iter__(self) -> Iterator[str]:
        return (key for key, row in self._table.items() if row.colour)

    def __len__(self) -> int:
        return sum(1 for _ in self)


GUILD_COLOURS: Mapping[str, str] = _Colours(_guilds)
EVENT_COLOURS: Mapping[str, str] = _Colours(_events)


def _folded(name: str) -> str:
    return re.sub(r"[\s._'\u2019-]+", "", name.strip().lower())


def _spellings(kind: str) -> dict[str, str]:
    if kind not in _spelling_cache:
        rows: list[Guild | Event] = list((_guilds if kind == "guild" else _events).values())
        spellings: dict[str, str] = {}
        for row in rows:  # the first row to claim an alias keeps it
            for alias in row.aliases:
                spellings.setdefault(_folded(alias), row.id)
        spellings.update({_folded(row.id): row.id for row in rows})  # an id always wins
        _spelling_cache[kind] = spellings
    return _spelling_cache[kind]


def resolve_guild(name: str) -> str | None:
    """The guild id for what a user typed after --guild, or None when it names no guild: an
    id or alias in any case, with or without spaces, dots, underscores, apostrophes and
    hyphens ("SAG AFTRA", "Local 399", "W.G.A.")."""
    return _spellings("guild").get(_folded(name))


def resolve_event(name: str) -> str | None:
    """The event id for what a user typed after --event, or None (spelled as for guilds:
    "Strike Started", "strike_started")."""
    return _spellings("event").get(_folded(name))


# -- additions from rules files ---------------------------------------------------------------


def _text(body: dict[str, Any], key: str, default: str) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key} must be a non-empty string")
    return value.strip()


def _aliases(body: dict[str, Any]) -> tuple[str, ...]:
    value = body.get("aliases", [])
    if isinstance(value, str):
        value = [value]
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _colour(body: dict[str, Any], default: str) -> str:
    value = body.get("colour", default)
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9_ ]*", value):
        raise ValueError('colour must be a style such as "bold yellow" (lowercase words)')
    return value


def guild_from_rules(gid: str, body: dict[str, Any]) -> Guild:
    """The Guild a rules file's new `[parties.ID]` table defines (ValueError if it cannot:
    a new party needs a `name`).
    `aliases` there are the classifier's names for it; --guild accepts them too."""
    if "name" not in body:  # a misspelt id is a mistake, not a new party
        known = ", ".join(_guilds)
        raise ValueError(f"unknown party (expected one of: {known}; to add a party, name it)")
    if not ID_RE.match(gid):
        raise ValueError("a new party's id uses lowercase letters, digits and - only")
    name = _text(body, "name", gid)
    can = body.get("can_strike", True)
    if not isinstance(can, bool):
        raise ValueError("can_strike must be true or false")
    return Guild(gid, name, _text(body, "label", name), _colour(body, "bold"), can, _aliases(body))


def event_from_rules(eid: str, body: dict[str, Any]) -> Event:
    """The Event a rules file's new `[events.ID]` table defines (ValueError if it cannot: a
    new event needs a `name`).
    It names stories and wins chart weeks after every bundled event."""
    if "name" not in body:  # a misspelt id is a mistake, not a new event
        known = ", ".join(_events)
        raise ValueError(f"unknown event (expected one of: {known}; to add an event, name it)")
    if not ID_RE.match(eid):
        raise ValueError("a new event's id uses lowercase letters, digits and - only")
    letter = _text(body, "letter", eid[0].upper())
    if len(letter) != 1:
        raise ValueError("letter must be one character")
    last = max((e.story_priority for e in _events.values()), default=0)
    last_chart = max((e.chart_priority for e in _events.values()), default=0)
    return Event(
        eid,
        _text(body, "name", eid.replace("-", " ")),
        letter,
        _colour(body, ""),
        last + 1,
        last_chart + 1,
        _aliases(body),
    )


def add_guild(new: Guild) -> None:
    """Register a party a rules file adds (a known id keeps its row)."""
    if new.id not in _guilds:
        _guilds[new.id] = new
        _spelling_cache.clear()


def add_event(new: Event) -> None:
    """Register an event a rules file adds (a known id keeps its row)."""
    if new.id not in _events:
        _events[new.id] = new
        _spelling_cache.clear()
        _order_cache.clear()


def forget_additions() -> None:
    """Back to the bundled tables: each CLI invocation registers its own rules files' additions
    afresh (and tests start from the bundled six and ten)."""
    for table, bundled in ((_guilds, _BUNDLED_GUILDS), (_events, _BUNDLED_EVENTS)):
        table.clear()
        table.update({row.id: row for row in bundled})
    _spelling_cache.clear()
    _order_cache.clear()


def add_from_rules(doc: dict[str, Any]) -> None:
    """Register the parties and events one parsed rules file adds. Tables that do not make
    a sound row are skipped here: reading the rules reports them, with file and line."""
    for section, make, add, known in (
        ("parties", guild_from_rules, add_guild, _guilds),
        ("events", event_from_rules, add_event, _events),
    ):
        tables = doc.get(section)
        if not isinstance(tables, dict):
            continue
        for new_id, body in tables.items():
            if new_id in known or not isinstance(body, dict):
                continue
            try:
                add(make(new_id, body))
            except ValueError:
                continue


def add_from_rules_files(paths: Iterable[str | Path]) -> None:
    """Register what the user's rules files add, read with tomllib and nothing more (the rules
    are not compiled). A file that cannot be read is skipped: the command that reads the
    rules reports it."""
    paths = list(paths)
    if not paths:  # the usual case: no TOML parser to load at every start
        return
    import tomllib

    for path in paths:
        try:
            info = os.stat(path)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_RULES_BYTES:
                continue
            with open(path, encoding="utf-8") as handle:
                doc = tomllib.loads(handle.read())
        except (OSError, ValueError, RecursionError):
            continue
        add_from_rules(doc)
