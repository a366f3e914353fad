"""The ids of the contract: the six tracked parties and the ten events.

Kept apart from the rules engine so that commands which only filter by these ids start fast.
"""

from __future__ import annotations

GUILDS: tuple[str, ...] = ("wga", "sag-aftra", "amptp", "dga", "iatse", "teamsters")

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

# Spellings users type for --guild; the ids themselves are always accepted, in any case.
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
