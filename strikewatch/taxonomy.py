"""The ids of the contract: the six tracked parties and the ten events.

Kept apart from the rules engine so that commands which only filter by these ids start fast.
"""

from __future__ import annotations

import functools
import re

GUILDS: tuple[str, ...] = ("wga", "sag-aftra", "amptp", "dga", "iatse", "teamsters")

# The employers' side of the table; every other party is a union. It never strikes, and it is
# named in nearly every guild's news without being what the news is about.
STUDIOS = "amptp"

EVENTS: tuple[str, ...] = (
    "meeting-requested",
    "talks-started",
    "talks-resumed",
    "talks-stalled",
    "offer",
    "deal",
    "ratified",
    "strike-authorized",
    "strike-started",
    "strike-ended",
)
# The events that open and close a strike: `status` replays them, and the store keeps the day
# each such report takes effect.
STRIKE_CHANGES: tuple[str, ...] = ("strike-started", "strike-ended")

# Spellings users type for --guild; the ids themselves are always accepted (see resolve_guild).
GUILD_ALIASES: dict[str, str] = {
    "writers": "wga",
    "writers-guild": "wga",
    "wgaw": "wga",
    "wgae": "wga",
    "sag": "sag-aftra",
    "sagaftra": "sag-aftra",
    "sag_aftra": "sag-aftra",
    "aftra": "sag-aftra",
    "actors": "sag-aftra",
    "studios": "amptp",
    "producers": "amptp",
    "directors": "dga",
    "ia": "iatse",
    "tag": "iatse",
    "animation-guild": "iatse",
    "crew": "iatse",
    "local-399": "teamsters",
    "teamsters-399": "teamsters",
    "basic-crafts": "teamsters",
    # More spellings (resolve_guild ignores case, spaces, dots, hyphens and apostrophes).
    "wga-west": "wga",
    "wga-east": "wga",
    "writers-guild-of-america": "wga",
    "scribes": "wga",
    "screen-actors-guild": "sag-aftra",
    "thesps": "sag-aftra",
    "performers": "sag-aftra",
    "alliance": "amptp",
    "directors-guild": "dga",
    "directors-guild-of-america": "dga",
    "helmers": "dga",
    "the-animation-guild": "iatse",
    "crews": "iatse",
    "teamsters-local-399": "teamsters",
    "hollywood-teamsters": "teamsters",
}

EVENT_ALIASES: dict[str, str] = {
    "meeting": "meeting-requested",
    "talks": "talks-started",
    "resumed": "talks-resumed",
    "stalled": "talks-stalled",
    "breakdown": "talks-stalled",
    "tentative-agreement": "deal",
    "agreement": "deal",
    "ratification": "ratified",
    "authorization": "strike-authorized",
    "strike": "strike-started",
    "walkout": "strike-started",
    "strike-start": "strike-started",
    "strike-end": "strike-ended",
}


def _folded(name: str) -> str:
    return re.sub(r"[\s._'\u2019-]+", "", name.strip().lower())


@functools.cache
def _spellings(kind: str) -> dict[str, str]:
    ids, aliases = (GUILDS, GUILD_ALIASES) if kind == "guild" else (EVENTS, EVENT_ALIASES)
    spellings = {_folded(alias): target for alias, target in aliases.items()}
    spellings.update({_folded(known): known for known in ids})
    return spellings


def resolve_guild(name: str) -> str | None:
    """The guild id for what a user typed after --guild, or None when it names no guild: an
    id or alias in any case, with or without spaces, dots, underscores, apostrophes and
    hyphens ("SAG AFTRA", "Local 399", "W.G.A.")."""
    return _spellings("guild").get(_folded(name))


def resolve_event(name: str) -> str | None:
    """The event id for what a user typed after --event, or None (spelled as for guilds:
    "Strike Started", "strike_started")."""
    return _spellings("event").get(_folded(name))
