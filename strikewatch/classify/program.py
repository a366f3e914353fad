"""The compiled rules: a frozen program of regex sources over word codes, and tables.

The compiler writes a `Program`, the engine runs it, the cache keeps it between runs. It is
plain data under named fields, so that `to_data`/`from_data` turn it into what `marshal`
stores (tuples, dicts, strings) and back.

Rule ids: the engine numbers the gated rules (those tried only when their anchor word occurs)
as the event groups first, then the gated masks; `code_rules` and `always` use those numbers.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields
from typing import Any

# (modifier number, cue length in words, 0 for "as long as the match")
Mark = tuple[int, int]


@dataclass(frozen=True)
class PartyName:
    """A scanner match that is a party's name."""

    party: str
    contextual: bool
    rule: str


@dataclass(frozen=True)
class Mask:
    """Words blanked out before events are looked for: a look-alike, a false friend, or (with
    `organisation`) an organisation we do not track, which may own an event."""

    rule: str
    why: str
    organisation: bool


@dataclass(frozen=True)
class GatedMask:
    """A mask with its own regex, tried only when its anchor word occurs."""

    regex: str
    mask: Mask


@dataclass(frozen=True)
class EventPattern:
    """One pattern of an event as written (number: its place in the event's list)."""

    number: int
    text: str
    regex: str


@dataclass(frozen=True)
class EventGroup:
    """The patterns of one event that share an anchor, as one regex. With `lead` ("party" or
    "union") the regex is the pattern without its leading name, matched from each mention."""

    event: str
    regex: str
    lead: str
    patterns: tuple[EventPattern, ...]


@dataclass(frozen=True)
class ModifierRule:
    """A modifier as the engine needs it: where its cue must stand, and why it suppresses."""

    id: str
    why: str
    where: tuple[str, ...]
    window: int
    unless: str = ""  # regex over codes: found in the sentence, the modifier does not apply


@dataclass(frozen=True)
class Program:
    """Everything the engine runs; see the compiler for how each part is made."""

    version: str
    # Reading: word -> code, prefix -> code, acronym as written -> its capitals-only word.
    words: dict[str, str]
    prefixes: dict[str, str]
    acronyms: dict[str, str]
    # Codes that start a party name: a text without one names no party.
    party_starter: str
    # Anchor codes, and which gated rules each opens; rules without an anchor.
    anchor_class: str
    code_rules: dict[str, tuple[int, ...]]
    always: tuple[int, ...]
    # Party names and the masks that start with an uncommon word, in one regex; what a
    # match is, by the codes it matched.
    scanner: str
    scanned: dict[str, PartyName | Mask]
    gated_masks: tuple[GatedMask, ...]
    events: tuple[EventGroup, ...]
    # Context name -> regex; party -> the contexts its contextual names need.
    contexts: dict[str, str]
    party_context: dict[str, tuple[str, ...]]
    # Modifiers: every cue in one regex; a cue's marks by its marker group or by its codes.
    cues: str
    cue_markers: dict[str, tuple[Mark, ...]]
    plain_cues: dict[str, tuple[Mark, ...]]
    modifiers: tuple[ModifierRule, ...]
    mods_for: dict[tuple[str, str], tuple[int, ...]]  # (event, headline|summary) -> modifiers
    # Settings.
    passing: str
    clause: str
    with_codes: frozenset[str]
    counterpart_events: frozenset[str]
    counterparts: frozenset[str]
    summary_background: dict[str, frozenset[str]]
    key: str = ""  # the cache key it was stored under


def to_data(program: Program) -> dict[str, Any]:
    """The program as plain values for `marshal`."""
    data = {f.name: getattr(program, f.name) for f in fields(program)}
    data["scanned"] = {
        codes: ("party", *astuple(hit)) if isinstance(hit, PartyName) else ("mask", *astuple(hit))
        for codes, hit in program.scanned.items()
    }
    data["gated_masks"] = tuple(astuple(g) for g in program.gated_masks)
    data["events"] = tuple(astuple(g) for g in program.events)
    data["modifiers"] = tuple(astuple(m) for m in program.modifiers)
    return data


def from_data(data: dict[str, Any]) -> Program:
    """The program back from `to_data`'s values; a KeyError/TypeError/ValueError if they are
    not of this shape."""
    data = dict(data)
    hits: dict[tuple[Any, ...], PartyName | Mask] = {}  # one object per distinct hit
    scanned: dict[str, PartyName | Mask] = {}
    for codes, (kind, *rest) in data["scanned"].items():
        hit = hits.get((kind, *rest))
        if hit is None:
            hit = hits[(kind, *rest)] = PartyName(*rest) if kind == "party" else Mask(*rest)
        scanned[codes] = hit
    data["scanned"] = scanned
    data["gated_masks"] = tuple(
        GatedMask(regex, Mask(*mask)) for regex, mask in data["gated_masks"]
    )
    data["events"] = tuple(
        EventGroup(eid, regex, lead, tuple(EventPattern(*p) for p in patterns))
        for eid, regex, lead, patterns in data["events"]
    )
    data["modifiers"] = tuple(ModifierRule(*m) for m in data["modifiers"])
    return Program(**data)
