"""Rule-based tagging of headlines: which guilds are involved, which labor events happened.

The rules live in data/rules/*.toml so that a non-programmer can add a word or a pattern; this
module only compiles them. Everything is compiled once at load into a handful of combined
regular expressions, because the CLI classifies tens of thousands of lines per run and loads the
rules at every start.

How a text is read (the same steps are narrated by `explain`):

1. normalize: lowercase, curly quotes and dashes to ASCII, contractions spelled out;
2. mask: names we must not confuse with a tracked party ("Writers Guild of Canada"), untracked
   organisations ("UAW") and false friends ("overall deal", "in talks to star") are blanked out;
3. parties: aliases always count; contextual aliases ("writers", "the studios") count only in a
   Hollywood labor story;
4. events: patterns built from word lists, looked for only where a cheap anchor word is present;
   each match is then checked against modifiers (negation, question, speculation...), and
   against the organisation it is about;
5. the headline decides; the summary adds what its sentences assert, never background.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strikewatch.errors import RulesError
from strikewatch.paths import data_path

__all__ = [
    "EVENTS",
    "GUILDS",
    "GUILD_ALIASES",
    "GUILD_NAMES",
    "Classifier",
    "Explanation",
    "Tags",
    "load_classifier",
    "resolve_guild",
]

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
GUILD_NAMES: dict[str, str] = {
    "wga": "WGA",
    "sag-aftra": "SAG-AFTRA",
    "amptp": "AMPTP",
    "dga": "DGA",
    "iatse": "IATSE",
    "teamsters": "Teamsters",
}

# What the CLI accepts for --guild (compared after lowercasing and dropping spaces, dots,
# apostrophes and underscores).
GUILD_ALIASES: dict[str, str] = {
    "wga": "wga",
    "wgaw": "wga",
    "wgae": "wga",
    "wgawest": "wga",
    "wgaeast": "wga",
    "writers": "wga",
    "writersguild": "wga",
    "writersguildofamerica": "wga",
    "sag-aftra": "sag-aftra",
    "sagaftra": "sag-aftra",
    "sag": "sag-aftra",
    "aftra": "sag-aftra",
    "actors": "sag-aftra",
    "screenactorsguild": "sag-aftra",
    "amptp": "amptp",
    "studios": "amptp",
    "producers": "amptp",
    "alliance": "amptp",
    "dga": "dga",
    "directors": "dga",
    "directorsguild": "dga",
    "directorsguildofamerica": "dga",
    "iatse": "iatse",
    "ia": "iatse",
    "iatse-tag": "iatse",
    "tag": "iatse",
    "animationguild": "iatse",
    "crews": "iatse",
    "teamsters": "teamsters",
    "teamsters399": "teamsters",
    "local399": "teamsters",
    "hollywoodteamsters": "teamsters",
    "basiccrafts": "teamsters",
}


def resolve_guild(name: str) -> str | None:
    """The guild id for what a user typed after --guild, or None when it names no guild."""
    key = re.sub(r"[\s._'\u2019]+", "", name.strip().lower())
    if key in GUILD_ALIASES:
        return GUILD_ALIASES[key]
    key = key.replace("-", "")
    for alias, guild in GUILD_ALIASES.items():
        if alias.replace("-", "") == key:
            return guild
    return None


@dataclass(frozen=True)
class Tags:
    """What the rules say about one item: sorted guild ids and sorted event ids."""

    guilds: tuple[str, ...] = ()
    events: tuple[str, ...] = ()


@dataclass
class Explanation:
    """The tags plus, in order, the plain-English steps that led to them."""

    tags: Tags
    steps: list[str] = field(default_factory=list)
    version: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for `classify --explain --json` and scripts."""
        return {
            "guilds": list(self.tags.guilds),
            "events": list(self.tags.events),
            "steps": list(self.steps),
            "rules_version": self.version,
        }

    def __str__(self) -> str:
        return "\n".join(self.steps)


# --------------------------------------------------------------------------------------------
# Text normalization
# --------------------------------------------------------------------------------------------

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "`": "'",
        "\u00b4": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2212": "-",
        "\u2013": " - ",
        "\u2014": " - ",
        "\u2015": " - ",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\u2026": " ; ",
        "\u200b": "",
        "\ufeff": "",
        "&": " and ",
        "\t": " ",
        "\n": " ",
        "\r": " ",
    }
)
# Punctuation that always becomes a token of its own.
_PUNCT_TABLE = str.maketrans({c: f" {c} " for c in ',;!?|()"[]{}/'})
# A dash between spaces (or a double hyphen) separates two statements, like a semicolon.
_SPACED_DASH_RE = re.compile(r"(?:^|\s)-+(?:\s|$)|--+")
_APOSTROPHE_RE = re.compile(r"(\w+)'(\w*)")
# Punctuation becomes a token of its own; a full stop only where it ends a sentence (not in
# "a.m.", "U.S." or "97.9"), a colon not inside "12:01".
_PUNCT_RE = re.compile(r":(?!\d)|(?<!\b\w)\.(?=\s|$)")
# Abbreviations whose full stop does not end a sentence ("Oct. 18", "No. 1").
_ABBREV_RE = re.compile(
    r"\b(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec|No|Nos|Vs|St|Mr|Mrs|Ms|Dr|Inc|Corp|Jr|Sr"
    r"|Co|Ltd|Ave|Blvd|Gov|Sen|Rep|Pres|Gen|Prof)\.",
    re.IGNORECASE,
)
# "May 10" is a date, not the modal "may" (which the speculation modifier looks for).
_MAY_DATE_RE = re.compile(r"\bMay(?=\.? \d)|(?<=\b[Ii]n )May\b|(?<=\b[Ss]ince )May\b")
_IRREGULAR_NOT = {"won": "will", "can": "can", "shan": "shall", "ain": "is"}
_IS_CONTRACTIONS = frozenset(
    [
        "it",
        "that",
        "there",
        "here",
        "what",
        "who",
        "where",
        "how",
        "he",
        "she",
        "this",
        "everything",
        "nothing",
    ]
)


def _apostrophe(m: re.Match[str]) -> str:
    word, tail = m.group(1), m.group(2).lower()
    if tail == "t" and word[-1:].lower() == "n":
        stem = word[:-1]
        return _IRREGULAR_NOT.get(stem.lower(), stem) + " not"
    if tail == "s":
        return word + " is" if word.lower() in _IS_CONTRACTIONS else word
    if tail == "re":
        return word + " are"
    if tail == "ll":
        return word + " will"
    if tail == "ve":
        return word + " have"
    if tail == "d":
        return word + " would"
    if tail == "m":
        return word + " am"
    return word + m.group(2)


def normalize_text(text: str) -> str:
    """One token per word or punctuation mark, each preceded by a space, plus a trailing space.

    " wga , amptp reach deal ; strike to end " -- this shape is what makes matching fast: every
    rule regex starts with a literal space, which the regex engine scans for in C instead of
    trying every position. Quotes and dashes become ASCII, contractions are spelled out
    ("won't" -> "will not"), hyphens become spaces. Case is kept (a few aliases such as "TAG"
    are case-sensitive); callers lowercase.
    """
    if not text:
        return " "
    text = text.translate(_TRANSLATE)
    if "May" in text:
        text = _MAY_DATE_RE.sub("Maymonth", text)
    if "'" in text:
        text = _APOSTROPHE_RE.sub(_apostrophe, text).replace("'", " ")
    if "-" in text:
        text = _SPACED_DASH_RE.sub(" ; ", text).replace("-", " ")
    text = text.translate(_PUNCT_TABLE)
    if "." in text or ":" in text:
        if "." in text:
            text = _ABBREV_RE.sub(r"\1", text)
        text = _PUNCT_RE.sub(r" \g<0> ", text)
    return " " + " ".join(text.split()) + " "


# --------------------------------------------------------------------------------------------
# Rule files
# --------------------------------------------------------------------------------------------

_SECTIONS = (
    "settings",
    "lists",
    "context",
    "parties",
    "others",
    "false_friends",
    "events",
    "modifiers",
    "disable",
)
_PARTY_KEYS = ("name", "aliases", "contextual", "acronyms", "not", "context")
_MODIFIER_KEYS = ("id", "why", "where", "window", "words", "events", "except_events", "only_in")
_WHERES = (
    "before",
    "after",
    "around",
    "inside",
    "sentence",
    "earlier_in_sentence",
    "later_in_sentence",
    "question",
)
_SPECIAL_LISTS = ("party", "union")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_RULE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_DEFAULT_GAP = 3


@dataclass
class _Origin:
    """Where a rule came from, for error messages: 'file: rule: problem'."""

    file: str
    rule: str

    def error(self, problem: str) -> RulesError:
        return RulesError(f"{self.file}: {self.rule}: {problem}")


@dataclass
class _Phrase:
    """One user-written phrase or pattern, with where it came from."""

    text: str
    origin: _Origin


@dataclass
class _Party:
    aliases: list[_Phrase] = field(default_factory=list)
    contextual: list[_Phrase] = field(default_factory=list)
    acronyms: list[_Phrase] = field(default_factory=list)
    nots: list[_Phrase] = field(default_factory=list)
    context: list[str] = field(default_factory=lambda: ["labor"])
    name: str = ""


@dataclass
class _Modifier:
    id: str
    why: str
    where: tuple[str, ...]
    window: int
    words: list[_Phrase]
    events: frozenset[str]
    only_in: str  # "any", "headline" or "summary"
    origin: _Origin


@dataclass
class _FalseFriend:
    id: str
    why: str
    phrases: list[_Phrase]
    origin: _Origin


@dataclass
class _Rules:
    """All rule files merged: later files extend earlier ones."""

    settings: dict[str, Any] = field(default_factory=dict)
    lists: dict[str, list[_Phrase]] = field(default_factory=dict)
    context: dict[str, list[_Phrase]] = field(default_factory=dict)
    parties: dict[str, _Party] = field(default_factory=dict)
    others: list[_Phrase] = field(default_factory=list)
    false_friends: dict[str, _FalseFriend] = field(default_factory=dict)
    events: dict[str, list[_Phrase]] = field(default_factory=dict)
    event_names: dict[str, str] = field(default_factory=dict)
    modifiers: dict[str, _Modifier] = field(default_factory=dict)


def _strings(value: Any, origin: _Origin, what: str) -> list[str]:
    """A TOML value that must be a list of non-empty strings (a lone string is accepted)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise origin.error(f"{what} must be a list of strings, got {type(value).__name__}")
    out: list[str] = []
    for i, item in enumerate(value, 1):
        if not isinstance(item, str) or not item.strip():
            raise origin.error(f"{what} entry {i} must be a non-empty string, got {item!r}")
        out.append(" ".join(item.split()))
    return out


def _table(value: Any, origin: _Origin) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise origin.error(f"must be a table, got {type(value).__name__}")
    return value


def _unknown_keys(table: dict[str, Any], allowed: Iterable[str], origin: _Origin) -> None:
    allowed = tuple(allowed)
    for key in table:
        if key not in allowed:
            raise origin.error(f"unknown key '{key}' (expected one of: {', '.join(allowed)})")


def _merge_file(rules: _Rules, doc: dict[str, Any], fname: str) -> list[tuple[str, Any, _Origin]]:
    """Add one parsed rule file to `rules`; return its [disable] requests for later."""
    for key in doc:
        if key not in _SECTIONS:
            raise RulesError(
                f"{fname}: unknown section '{key}' (expected one of: {', '.join(_SECTIONS)})"
            )

    settings = _table(doc.get("settings", {}), _Origin(fname, "settings"))
    for key, value in settings.items():
        origin = _Origin(fname, f"settings.{key}")
        if key == "gap":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10:
                raise origin.error("must be a whole number from 0 to 10")
        elif key in ("clause_words", "passing"):
            value = _strings(value, origin, key)
        else:
            raise origin.error("unknown setting (expected: gap, clause_words, passing)")
        rules.settings[key] = value

    for name, words in _table(doc.get("lists", {}), _Origin(fname, "lists")).items():
        origin = _Origin(fname, f"list '{name}'")
        if not _NAME_RE.match(name):
            raise origin.error("list names use lowercase letters, digits and _ only")
        if name in _SPECIAL_LISTS:
            raise origin.error(f"'{{{name}}}' is built from the party aliases; pick another name")
        rules.lists.setdefault(name, []).extend(
            _Phrase(w.lower(), origin) for w in _strings(words, origin, "words")
        )

    for name, words in _table(doc.get("context", {}), _Origin(fname, "context")).items():
        origin = _Origin(fname, f"context '{name}'")
        if not _NAME_RE.match(name):
            raise origin.error("context names use lowercase letters, digits and _ only")
        rules.context.setdefault(name, []).extend(
            _Phrase(w.lower(), origin) for w in _strings(words, origin, "words")
        )

    for pid, body in _table(doc.get("parties", {}), _Origin(fname, "parties")).items():
        origin = _Origin(fname, f"party '{pid}'")
        if pid not in GUILDS:
            raise origin.error(f"unknown party (expected one of: {', '.join(GUILDS)})")
        body = _table(body, origin)
        _unknown_keys(body, _PARTY_KEYS, origin)
        party = rules.parties.setdefault(pid, _Party(name=GUILD_NAMES[pid]))
        if "name" in body:
            if not isinstance(body["name"], str):
                raise origin.error("name must be a string")
            party.name = body["name"]
        for key, target in (
            ("aliases", party.aliases),
            ("contextual", party.contextual),
            ("not", party.nots),
        ):
            if key in body:
                sub = _Origin(fname, f"party '{pid}' {key}")
                target.extend(_Phrase(w.lower(), sub) for w in _strings(body[key], sub, key))
        if "acronyms" in body:
            sub = _Origin(fname, f"party '{pid}' acronyms")
            party.acronyms.extend(
                _Phrase(w, sub) for w in _strings(body["acronyms"], sub, "acronyms")
            )
        if "context" in body:
            party.context = _strings(body["context"], origin, "context")

    others = _table(doc.get("others", {}), _Origin(fname, "others"))
    _unknown_keys(others, ("names",), _Origin(fname, "others"))
    if "names" in others:
        origin = _Origin(fname, "others names")
        rules.others.extend(
            _Phrase(w.lower(), origin) for w in _strings(others["names"], origin, "names")
        )

    friends = doc.get("false_friends", [])
    if not isinstance(friends, list):
        raise RulesError(f"{fname}: false_friends: write each one as a [[false_friends]] block")
    for i, body in enumerate(friends, 1):
        origin = _Origin(fname, f"false friend {i}")
        body = _table(body, origin)
        _unknown_keys(body, ("id", "why", "phrases"), origin)
        fid = body.get("id")
        if not isinstance(fid, str) or not _RULE_ID_RE.match(fid):
            raise origin.error("needs an id of lowercase letters, digits, - or _")
        origin = _Origin(fname, f"false friend '{fid}'")
        if "phrases" not in body:
            raise origin.error("needs phrases = [...]")
        phrases = [_Phrase(w.lower(), origin) for w in _strings(body["phrases"], origin, "phrases")]
        if fid in rules.false_friends:
            rules.false_friends[fid].phrases.extend(phrases)
        else:
            why = body.get("why", "a look-alike that is not a labor event")
            if not isinstance(why, str):
                raise origin.error("why must be a string")
            rules.false_friends[fid] = _FalseFriend(fid, why, phrases, origin)

    for eid, body in _table(doc.get("events", {}), _Origin(fname, "events")).items():
        origin = _Origin(fname, f"event '{eid}'")
        if eid not in EVENTS:
            raise origin.error(f"unknown event (expected one of: {', '.join(EVENTS)})")
        body = _table(body, origin)
        _unknown_keys(body, ("name", "patterns"), origin)
        if "name" in body:
            if not isinstance(body["name"], str):
                raise origin.error("name must be a string")
            rules.event_names[eid] = body["name"]
        patterns = rules.events.setdefault(eid, [])
        for text in _strings(body.get("patterns", []), origin, "patterns"):
            n = len(patterns) + 1
            patterns.append(_Phrase(text.lower(), _Origin(fname, f"event '{eid}' pattern {n}")))

    mods = doc.get("modifiers", [])
    if not isinstance(mods, list):
        raise RulesError(f"{fname}: modifiers: write each one as a [[modifiers]] block")
    for i, body in enumerate(mods, 1):
        origin = _Origin(fname, f"modifier {i}")
        body = _table(body, origin)
        _unknown_keys(body, _MODIFIER_KEYS, origin)
        mid = body.get("id")
        if not isinstance(mid, str) or not _RULE_ID_RE.match(mid):
            raise origin.error("needs an id of lowercase letters, digits, - or _")
        origin = _Origin(fname, f"modifier '{mid}'")
        words = [
            _Phrase(w.lower(), origin) for w in _strings(body.get("words", []), origin, "words")
        ]
        if mid in rules.modifiers and set(body) <= {"id", "words"}:
            rules.modifiers[mid].words.extend(words)  # a user adding cue words to a default
            continue
        if mid in rules.modifiers:
            raise origin.error("already defined; to add words give only id and words")
        where = tuple(_strings(body.get("where", "before"), origin, "where"))
        for w in where:
            if w not in _WHERES:
                raise origin.error(f"unknown where '{w}' (expected one of: {', '.join(_WHERES)})")
        if not words and "question" not in where:
            raise origin.error("needs words = [...]")
        window = body.get("window", 3)
        if not isinstance(window, int) or isinstance(window, bool) or not 0 <= window <= 20:
            raise origin.error("window must be a whole number from 0 to 20")
        events = set(EVENTS)
        if "events" in body:
            events = set(_strings(body["events"], origin, "events"))
        for e in events | set(_strings(body.get("except_events", []), origin, "except_events")):
            if e not in EVENTS:
                raise origin.error(f"unknown event '{e}' (expected one of: {', '.join(EVENTS)})")
        events -= set(_strings(body.get("except_events", []), origin, "except_events"))
        only_in = body.get("only_in", "any")
        if only_in not in ("any", "headline", "summary"):
            raise origin.error("only_in must be 'any', 'headline' or 'summary'")
        why = body.get("why", mid)
        if not isinstance(why, str):
            raise origin.error("why must be a string")
        rules.modifiers[mid] = _Modifier(
            mid, why, where, window, words, frozenset(events), only_in, origin
        )

    disable = _table(doc.get("disable", {}), _Origin(fname, "disable"))
    _unknown_keys(
        disable,
        ("modifiers", "false_friends", "patterns", "aliases", "words"),
        _Origin(fname, "disable"),
    )
    requests: list[tuple[str, Any, _Origin]] = []
    for key, value in disable.items():
        origin = _Origin(fname, f"disable {key}")
        if key == "words":
            requests.append((key, _table(value, origin), origin))
        else:
            requests.append((key, _strings(value, origin, key), origin))
    return requests


def _apply_disable(rules: _Rules, requests: list[tuple[str, Any, _Origin]]) -> None:
    """Switch off default rules a user file names; naming something that doesn't exist is an error."""
    for key, value, origin in requests:
        if key == "modifiers":
            for mid in value:
                if rules.modifiers.pop(mid, None) is None:
                    raise origin.error(f"no modifier '{mid}' to disable")
        elif key == "false_friends":
            for fid in value:
                if rules.false_friends.pop(fid, None) is None:
                    raise origin.error(f"no false friend '{fid}' to disable")
        elif key == "patterns":
            for text in value:
                text = text.lower()
                hit = False
                for patterns in rules.events.values():
                    before = len(patterns)
                    patterns[:] = [p for p in patterns if p.text != text]
                    hit = hit or len(patterns) != before
                if not hit:
                    raise origin.error(f"no event pattern '{text}' to disable")
        elif key == "aliases":
            for text in value:
                text = text.lower()
                hit = False
                for party in rules.parties.values():
                    for group in (party.aliases, party.contextual, party.acronyms):
                        before = len(group)
                        group[:] = [p for p in group if p.text.lower() != text]
                        hit = hit or len(group) != before
                if not hit:
                    raise origin.error(f"no party alias '{text}' to disable")
        elif key == "words":
            for name, words in value.items():
                sub = _Origin(origin.file, f"disable words '{name}'")
                if name not in rules.lists:
                    raise sub.error(f"no word list '{{{name}}}'")
                for w in _strings(words, sub, "words"):
                    before = len(rules.lists[name])
                    rules.lists[name] = [p for p in rules.lists[name] if p.text != w.lower()]
                    if len(rules.lists[name]) == before:
                        raise sub.error(f"'{w}' is not in the list")


# --------------------------------------------------------------------------------------------
# Compiling phrases and patterns
# --------------------------------------------------------------------------------------------
# The text is " tok tok tok " (see normalize_text): every token starts right after a space and
# is followed by one. Matching is two-staged, because Python's regex engine has no DFA and
# would otherwise try every rule at every word: one small trie regex finds the word starts
# where some rule can begin (by the first letters of its first word), then only those rules
# are tried there. Each word list is compiled once, lazily, into a trie regex.

_FLEX = r"(?: /)? ?"  # a space, hyphen or slash written in a rule: a space, a slash or nothing
_ANY_END = r"\w*"  # "*" written in a rule
_NUMBER = r"[\d.,]+"  # "#" written in a rule
_WORD_END = "(?= )"
_WORD_OK_RE = re.compile(r"^[\w*$%.+/#@-]+$")
_SIMPLE_PHRASE_RE = re.compile(r"^[\w*$%.+#@ /-]+$")
_STEM_MAX = 4  # stage one looks at this many letters of a word
_CLAUSE_ENDERS = frozenset(".;:?!|")
_SENTENCE_ENDERS = frozenset(".;:?!|")
_TRANSPARENT = frozenset('"()[]{}')


def _rule_text(text: str) -> str:
    """A phrase as the normalized news text spells it ("won't" -> "will not", "&" -> "and")."""
    if "'" in text or "\u2019" in text:
        text = " ".join(normalize_text(text).split()).lower()
    if "&" in text:
        text = " ".join(text.replace("&", " and ").split())
    return text


def _atoms(entry: str) -> list[str]:
    """A written phrase as regex atoms, one per character ("*", "#" and "-" become classes)."""
    out: list[str] = []
    for ch in entry:
        if ch == "*":
            out.append(_ANY_END)
        elif ch == "#":
            out.append(_NUMBER)
        elif ch in "- /":
            if not out or out[-1] != _FLEX:
                out.append(_FLEX)
        else:
            out.append(re.escape(ch))
    return out


def _emit(node: dict[str, Any]) -> str:
    alts: list[str] = []
    end: str | None = None
    for atom in sorted(node):
        if atom == "":
            end = node[atom]
            continue
        alts.append(atom + _emit(node[atom]))
    if end is not None:
        alts.append(end)  # tried last, so the longest phrase wins
    if len(alts) == 1:
        return alts[0]
    return "(?:" + "|".join(alts) + ")"


def _alternation(entries: Iterable[str]) -> str:
    """One regex for many phrases, factored as a trie so that the regex engine checks one
    character per branch instead of trying every phrase. Longer phrases win ("writers guild"
    over "writers")."""
    root: dict[str, Any] = {}
    for entry in set(entries):
        node = root
        for atom in _atoms(entry):
            node = node.setdefault(atom, {})
        node[""] = _WORD_END if re.search(r"[\w%.$#]$", entry) else ""
    if not root:
        return r"(?!)"
    return _emit(root)


def _stems(entry: str) -> list[str]:
    """Stage-one keys of a phrase: its first letters (a number matches any digit)."""
    m = re.match(r"[^*#\s/-]+", entry)
    if m:
        return [m.group(0)[:_STEM_MAX]]
    if entry.startswith("#"):
        return list("0123456789")
    raise ValueError(entry)


class _Lazy:
    """A trie regex compiled on first use: load time matters more than the first match."""

    __slots__ = ("entries", "rx", "srx")

    def __init__(self, entries: frozenset[str]) -> None:
        self.entries = entries
        self.rx: re.Pattern[str] | None = None
        self.srx: re.Pattern[str] | None = None

    def match(self, text: str, pos: int) -> int:
        rx = self.rx
        if rx is None:
            rx = self.rx = re.compile(_alternation(self.entries))
        m = rx.match(text, pos)
        return -1 if m is None else m.end()

    def search(self, text: str, pos: int) -> re.Match[str] | None:
        """The next place at or after pos (a space) where the phrase starts a word."""
        rx = self.srx
        if rx is None:
            rx = self.srx = re.compile(" " + _alternation(self.entries))
        return rx.search(text, pos)


class _Seq:
    """A compiled pattern: tokens (word-list regexes), gaps and clause ends, matched in order."""

    __slots__ = ("steps",)

    def __init__(self, steps: tuple[tuple[int, Any, bool], ...]) -> None:
        self.steps = steps  # (0, _Lazy, optional) | (1, gap, False) | (2, None, False)

    def match(self, text: str, pos: int) -> int:
        return _match_steps(self.steps, 0, text, pos, -1)


def _match_steps(
    steps: tuple[tuple[int, Any, bool], ...], i: int, text: str, pos: int, end: int
) -> int:
    """End of the match of steps[i:] at pos (end: end of the last word so far), or -1."""
    n = len(steps)
    size = len(text)
    while i < n:
        op, arg, optional = steps[i]
        if op == 0:
            e = arg.match(text, pos) if pos < size else -1
            if e < 0:
                if optional:
                    i += 1
                    continue
                return -1
            end = e
            pos = e + 1
            while pos + 1 < size and text[pos] in _TRANSPARENT and text[pos + 1] == " ":
                pos += 2
            i += 1
        elif op == 1:
            # The furthest word start the gap allows: `arg` words on, not past a sentence end.
            limit = pos
            for _ in range(arg):
                if limit >= size or (text[limit] in _SENTENCE_ENDERS and text[limit + 1] == " "):
                    break
                nxt = text.find(" ", limit)
                if nxt < 0 or nxt + 1 >= size:
                    break
                limit = nxt + 1
            nxt_op, nxt_arg, nxt_opt = steps[i + 1]
            if nxt_op != 0 or nxt_opt:
                for _ in range(arg + 1):  # rare: a gap before an optional word or '$'
                    r = _match_steps(steps, i + 1, text, pos, end)
                    if r >= 0 or pos >= limit:
                        return r
                    pos = text.find(" ", pos) + 1
                return -1
            at = pos - 1
            while True:
                m = nxt_arg.search(text, at)
                if m is None or m.start() + 1 > limit:
                    return -1
                r = _match_steps(steps, i + 2, text, m.end() + 1, m.end())
                if r >= 0:
                    return r
                at = m.start() + 1
        else:
            if pos < size and not (text[pos] in _CLAUSE_ENDERS and text[pos + 1 : pos + 2] == " "):
                return -1
            i += 1
    return end


@dataclass
class _Unit:
    """One matcher, the stage-one keys where it may start, and the keys of its rarest word
    (the pattern is only tried when one of those occurs in the text)."""

    matcher: _Lazy | _Seq
    stems: list[str]
    anchor: list[str] | None = None
    needs: tuple[frozenset[str], ...] = ()  # every required word: one of these stems


_COMMON = frozenset(
    [
        "the",
        "to",
        "a",
        "an",
        "and",
        "of",
        "in",
        "on",
        "for",
        "with",
        "is",
        "are",
        "was",
        "were",
        "will",
        "at",
        "as",
        "by",
        "from",
        "it",
        "its",
        "his",
        "her",
        "their",
        "has",
        "have",
        "had",
        "be",
        "new",
    ]
)


def _anchor(stems: list[list[str]], optional: list[bool]) -> list[str]:
    """The most selective required word: long stems, few of them, no common words."""
    best: list[str] = []
    best_score = -(10**9)
    for st, opt in zip(stems, optional, strict=True):
        if opt or not st:
            continue
        uniq = set(st)
        good = all(len(x) >= 3 for x in uniq) and not (uniq & _COMMON)
        score = (1000 if good else 0) + 10 * min(len(x) for x in uniq) - len(uniq)
        if score > best_score:
            best, best_score = sorted(uniq), score
    return best


class _Compiler:
    """Turns phrases and patterns into matchers, sharing one regex per distinct word list."""

    def __init__(self, lists: dict[str, list[str]], gap: int) -> None:
        self.lists = lists
        self.gap = gap
        self._tokens: dict[frozenset[str], _Lazy] = {}

    def token(self, alts: Iterable[str]) -> _Lazy:
        key = frozenset(alts)
        lazy = self._tokens.get(key)
        if lazy is None:
            lazy = self._tokens[key] = _Lazy(key)
        return lazy

    def pattern(self, text: str, origin: _Origin) -> _Unit:
        """A pattern ('{reach} ... {deal}') as a matcher."""
        steps: list[tuple[int, Any, bool]] = []
        stems: list[list[str]] = []
        for raw in _rule_text(text).split():
            if raw == "$":
                if not steps or steps[-1][0] != 0:
                    raise origin.error("'$' (end of clause) must follow a word")
                steps.append((2, None, False))
                continue
            if raw.startswith("..."):
                n_text = raw[3:]
                if n_text and not n_text.isdigit():
                    raise origin.error(f"'{raw}': a gap is '...' or '...N' with N a number")
                if not steps:
                    raise origin.error("a pattern cannot start with '...'")
                if steps[-1][0] == 1:
                    raise origin.error("two gaps in a row")
                steps.append((1, int(n_text) if n_text else self.gap, False))
                continue
            optional = raw.endswith("?") and len(raw) > 1
            word = raw[:-1] if optional else raw
            alts: list[str] = []
            for alt in word.split("|"):
                if not alt:
                    raise origin.error(f"'{raw}': empty alternative")
                if alt.startswith("{") or alt.endswith("}"):
                    name = alt[1:-1] if alt.startswith("{") and alt.endswith("}") else ""
                    if not _NAME_RE.match(name):
                        raise origin.error(f"'{alt}': a word list is written {{name}}")
                    if name not in self.lists:
                        raise origin.error(f"unknown word list '{{{name}}}'")
                    alts.extend(self.lists[name])
                else:
                    if not _WORD_OK_RE.match(alt) or alt.startswith("*"):
                        raise origin.error(f"'{alt}': use letters, digits, - and * only")
                    alts.append(alt)
            if not alts:
                raise origin.error(f"'{raw}': the word list is empty")
            steps.append((0, self.token(alts), optional))
            stems.append([s for a in alts for s in _stems(a)])
        words = [s for s in steps if s[0] == 0]
        if not words:
            raise origin.error("empty pattern")
        if steps[-1][0] == 1:
            raise origin.error("a pattern cannot end with '...'")
        if all(s[2] for s in words):
            raise origin.error("a pattern needs at least one word that is not optional")
        if len(words) > 1 and words[0][2] and words[1][2]:
            raise origin.error("a pattern cannot start with two optional words")
        if steps[0][0] == 0 and steps[0][2] and len(steps) > 1 and steps[1][0] != 0:
            raise origin.error("an optional first word must be followed by a word")
        first = stems[0] + (stems[1] if words[0][2] else [])
        anchor = _anchor(stems, [w[2] for w in words])
        needs = tuple(
            frozenset(x[:_STEM_MAX] for x in st)
            for st, w in zip(stems, words, strict=True)
            if not w[2] and sorted(set(st)) != anchor
        )
        return _Unit(_Seq(tuple(steps)), first, anchor, needs)

    def phrases(self, phrases: Sequence[_Phrase]) -> list[_Unit]:
        """Plain phrases share one trie matcher; phrases with lists or gaps are patterns."""
        simple: list[str] = []
        units: list[_Unit] = []
        for p in phrases:
            text = _rule_text(p.text)
            if _SIMPLE_PHRASE_RE.match(text) and "..." not in text and "?" not in text:
                if not _WORD_OK_RE.match(text.replace(" ", "")) or text.startswith("*"):
                    raise p.origin.error(f"'{p.text}': use letters, digits, spaces, - and * only")
                simple.append(text)
            else:
                units.append(self.pattern(text, p.origin))
        if simple:
            units.insert(0, _Unit(self.token(simple), [s for t in simple for s in _stems(t)]))
        return units


def _stems_regex(stems: Iterable[str]) -> str:
    """Stage one: literal word starts as a trie (no word end: the word may go on)."""
    root: dict[str, Any] = {}
    for stem in set(stems):
        node = root
        for ch in stem:
            node = node.setdefault(re.escape(ch), {})
        node[""] = ""
    return _emit(root) if root else r"(?!)"


def _expand_lists(raw: dict[str, list[_Phrase]]) -> dict[str, list[str]]:
    """Word lists with {other} entries replaced by the other list's words; checks every entry."""
    done: dict[str, list[str]] = {}

    def expand(name: str, trail: tuple[str, ...]) -> list[str]:
        if name in done:
            return done[name]
        out: list[str] = []
        for p in raw[name]:
            text = _rule_text(p.text)
            if text.startswith("{") and text.endswith("}"):
                ref = text[1:-1]
                if ref not in raw:
                    raise p.origin.error(f"unknown word list '{{{ref}}}'")
                if ref in trail:
                    raise p.origin.error(f"'{{{ref}}}' refers back to itself")
                out.extend(expand(ref, (*trail, ref)))
                continue
            if not _WORD_OK_RE.match(text.replace(" ", "")) or text.startswith("*"):
                raise p.origin.error(f"'{p.text}': use letters, digits, spaces, - and * only")
            out.append(text)
        done[name] = out
        return out

    for name in raw:
        expand(name, (name,))
    return done


# --------------------------------------------------------------------------------------------
# The compiled classifier
# --------------------------------------------------------------------------------------------

_SENTENCE_END_RE = re.compile(r" [;?!|.:](?= )")
_MASK, _PARTY, _EVENT, _CUE, _CTX = range(5)


@dataclass
class _Mention:
    start: int
    end: int
    party: str | None  # None: an organisation we do not track
    contextual: bool
    words: str
    rule: str


@dataclass
class _Text:
    """One normalized text (headline or summary) and what has been found in it."""

    kind: str  # "headline" or "summary"
    text: str
    hits: list[tuple[int, str]]
    enabled: set[int]
    mentions: list[_Mention]
    bounds: list[int] | None = None
    cues: list[list[tuple[int, int]]] | None = None
    # (event, pattern index, pattern, start, end, why a modifier suppresses it or None)
    matches: list[tuple[str, int, str, int, int, str | None]] | None = None

    def sentence(self, pos: int) -> tuple[int, int]:
        """Start and end of the sentence around `pos`; text[end + 1] is its punctuation."""
        if self.bounds is None:
            self.bounds = [m.start() for m in _SENTENCE_END_RE.finditer(self.text)]
        i = bisect_right(self.bounds, pos)
        start = self.bounds[i - 1] + 2 if i else 0
        end = self.bounds[i] if i < len(self.bounds) else len(self.text) - 1
        return start, end


_EMPTY = Tags()
_Dispatch = dict[str, tuple[tuple[tuple[Any, Any], ...], ...]]


class Classifier:
    """Rules compiled for fast tagging. Build one with `load_classifier()`."""

    version: str

    def __init__(self, rules: _Rules, version: str) -> None:
        self.version = version
        self._cache: dict[tuple[str, str], Tags] = {}
        self._texts: dict[tuple[str, str], _Text] = {}
        self._compile(rules)

    # ---------------------------------------------------------------- compile
    def _compile(self, rules: _Rules) -> None:
        gap = int(rules.settings.get("gap", _DEFAULT_GAP))
        lists = _expand_lists(rules.lists)
        # units[kind] = list of (key, matcher, stems, anchor); anchor None = no extra check
        units: list[list[tuple[Any, Any, list[str], list[str] | None, Any]]] = [
            [] for _ in range(5)
        ]

        # Parties: aliases before contextual names, so that at one position the longer
        # "writers guild" (an alias) wins over "writers" (contextual) on a tie.
        self._party_name = {pid: p.name for pid, p in rules.parties.items()}
        all_aliases: list[str] = []
        union_aliases: list[str] = []
        comp = _Compiler(lists, gap)
        for contextual in (False, True):
            for pid in GUILDS:
                party = rules.parties.get(pid)
                if party is None:
                    continue
                phrases = party.contextual if contextual else party.aliases
                texts = [_rule_text(p.text) for p in phrases]
                for p, t in zip(phrases, texts, strict=True):
                    if not _WORD_OK_RE.match(t.replace(" ", "")) or t.startswith("*"):
                        raise p.origin.error(
                            f"'{p.text}': use letters, digits, spaces, - and * only"
                        )
                if not texts:
                    continue
                stems = [s for t in texts for s in _stems(t)]
                units[_PARTY].append(((pid, contextual), comp.token(texts), stems, None, ()))
                all_aliases.extend(texts)
                if pid != "amptp":
                    union_aliases.extend(texts)
        self._acronym_party: dict[str, str] = {}
        for pid, party in rules.parties.items():
            for p in party.acronyms:
                if not re.match(r"^[\w.]+$", p.text):
                    raise p.origin.error(f"'{p.text}': an acronym is letters and digits only")
                self._acronym_party[p.text] = pid
        self._acronym_re = (
            re.compile(
                " ("
                + "|".join(re.escape(a) for a in sorted(self._acronym_party, key=len, reverse=True))
                + ")(?= )"
            )
            if self._acronym_party
            else None
        )
        self._party_context = {pid: tuple(p.context) for pid, p in rules.parties.items()}
        lists = dict(lists)
        lists["party"] = all_aliases
        lists["union"] = union_aliases
        comp.lists = lists

        # Context word lists ("labor", "hollywood"); "guild" is built in: another tracked party.
        self._context_names = set(rules.context)
        for name, phrases in rules.context.items():
            for u in comp.phrases(phrases):
                units[_CTX].append((name, u.matcher, u.stems, u.anchor, u.needs))
        for pid, party in rules.parties.items():
            for ctx in party.context:
                if ctx != "guild" and ctx not in self._context_names:
                    origin = party.aliases[0].origin if party.aliases else _Origin("rules", "")
                    raise RulesError(
                        f"{origin.file}: party '{pid}' context: unknown context '{ctx}' "
                        f"(known: guild, {', '.join(sorted(self._context_names))})"
                    )

        # Masks: look-alikes of our parties, false friends, organisations we do not track.
        self._mask_info: list[tuple[str, str, bool]] = []  # (rule, why, is_org)

        def add_mask(phrases: list[_Phrase], rule: str, why: str, org: bool) -> None:
            if phrases:
                idx = len(self._mask_info)
                self._mask_info.append((rule, why, org))
                for u in comp.phrases(phrases):
                    units[_MASK].append((idx, u.matcher, u.stems, u.anchor, u.needs))

        for pid in GUILDS:
            party = rules.parties.get(pid)
            if party and party.nots:
                add_mask(party.nots, f"parties.{pid}.not", f"not the same as {party.name}", True)
        for ff in rules.false_friends.values():
            add_mask(ff.phrases, f"false_friends.{ff.id}", ff.why, False)
        add_mask(rules.others, "others", "an organisation we do not track", True)

        # Events: each pattern is tried only where its first word starts, and only in texts
        # that contain its rarest word (its anchor).
        self._event_names = dict(rules.event_names)
        for eid in EVENTS:
            for pi, p in enumerate(rules.events.get(eid, [])):
                u = comp.pattern(p.text, p.origin)
                units[_EVENT].append(((eid, pi, p.text), u.matcher, u.stems, u.anchor, u.needs))

        # Modifiers.
        self._modifiers: list[_Modifier] = list(rules.modifiers.values())
        for i, mod in enumerate(self._modifiers):
            for u in comp.phrases(mod.words):
                units[_CUE].append((i, u.matcher, u.stems, u.anchor, u.needs))
        self._mods_for: dict[tuple[str, str], tuple[int, ...]] = {}
        for eid in EVENTS:
            for kind in ("headline", "summary"):
                self._mods_for[(eid, kind)] = tuple(
                    i
                    for i, m in enumerate(self._modifiers)
                    if eid in m.events and m.only_in in ("any", kind)
                )
        self._passing_re = re.compile(
            " (?:"
            + _alternation(_rule_text(w) for w in rules.settings.get("passing", ["as"]))
            + ")"
        )
        clause_words = rules.settings.get("clause_words", ["but", "while", "although", "though"])
        self._clause_break_re = re.compile(
            r" (?:[,;:?!|.]|" + "|".join(re.escape(_rule_text(w)) for w in clause_words) + ")(?= )"
        )

        # Stage one: every stem -> the matchers that may start there, per kind. A word found
        # by its longest stem also stands for every shorter stem it begins with.
        # Units with an anchor get an id; a text enables the ids whose anchor it contains.
        by_stem: dict[str, list[list[tuple[Any, Any, Any]]]] = {}
        anchors: dict[str, list[int]] = {}
        uid = 0
        self._needs: dict[int, tuple[frozenset[str], ...]] = {}
        for kind, entries in enumerate(units):
            for key, matcher, stems, anchor, needs in entries:
                unit_id = -1
                if anchor:
                    unit_id = uid
                    uid += 1
                    if needs:
                        self._needs[unit_id] = needs
                    for a in anchor:
                        anchors.setdefault(a[:_STEM_MAX], []).append(unit_id)
                for s in set(stems):
                    slot = by_stem.setdefault(s, [[] for _ in range(5)])
                    slot[kind].append((unit_id, key, matcher))
        for a in anchors:
            by_stem.setdefault(a, [[] for _ in range(5)])
        for req in self._needs.values():
            for group in req:
                for a in group:
                    by_stem.setdefault(a, [[] for _ in range(5)])
        dispatch: _Dispatch = {}
        for s in by_stem:
            merged: list[list[tuple[Any, Any, Any]]] = [[] for _ in range(5)]
            for k in range(1, len(s) + 1):
                slot = by_stem.get(s[:k])
                if slot is not None:
                    for kind in range(5):
                        merged[kind].extend(slot[kind])
            dispatch[s] = tuple(tuple(x) for x in merged)
        self._dispatch = dispatch
        self._closure = {
            s: tuple(s[:k] for k in range(1, len(s) + 1) if s[:k] in by_stem) for s in by_stem
        }
        self._anchor_index = {a: frozenset(ids) for a, ids in anchors.items()}
        self._stage_one = re.compile(" (" + _stems_regex(by_stem) + ")")

    # ---------------------------------------------------------------- public API
    def classify(self, title: str, summary: str = "") -> Tags:
        """Tags for one item; memoized, since feeds and reclassify repeat the same stories."""
        key = (title, summary or "")
        tags = self._cache.get(key)
        if tags is None:
            tags = self._run(title, summary or "", None)
            if len(self._cache) >= 100_000:
                self._cache.clear()
            self._cache[key] = tags
        return tags

    def classify_uncached(self, title: str, summary: str = "") -> Tags:
        """Tags computed from scratch, bypassing every memo (for benchmarks)."""
        self._texts.clear()
        return self._run(title, summary or "", None)

    def explain(self, title: str, summary: str = "") -> Explanation:
        """Tags plus the plain-English story of which rule fired on which words."""
        steps: list[str] = []
        tags = self._run(title, summary or "", steps)
        return Explanation(tags=tags, steps=steps, version=self.version)

    # ---------------------------------------------------------------- the work
    def _scan(self, text: str) -> tuple[list[tuple[int, str]], set[int]]:
        """Stage one: (position, stem) of every word where some rule may start, and the ids
        of the patterns whose rarest word occurs."""
        hits = [(m.start(1), m.group(1)) for m in self._stage_one.finditer(text)]
        closure = self._closure
        present: set[str] = set()
        for stem in {s for _, s in hits}:
            present.update(closure[stem])
        candidates: set[int] = set()
        anchor_index = self._anchor_index
        for k in present:
            ids = anchor_index.get(k)
            if ids is not None:
                candidates |= ids
        needs = self._needs
        enabled = {-1}
        for uid in candidates:
            req = needs.get(uid)
            if req is None or all(not r.isdisjoint(present) for r in req):
                enabled.add(uid)
        return hits, enabled

    def _prepare(self, raw: str, kind: str, trace: list[str] | None) -> _Text:
        """Normalize, blank out look-alikes and other organisations, find party mentions."""
        cased = normalize_text(raw)
        text = cased.lower()
        if len(text) != len(cased):  # exotic Unicode: positions would disagree
            cased = text
        hits, enabled = self._scan(text)
        dispatch = self._dispatch
        masks: list[tuple[int, int, int]] = []
        last_end = -1
        for pos, stem in hits:
            if pos < last_end:
                continue
            best = -1
            best_idx = -1
            for unit_id, idx, matcher in dispatch[stem][_MASK]:
                if unit_id not in enabled:
                    continue
                e = matcher.match(text, pos)
                if e > best:
                    best, best_idx = e, idx
            if best > 0:
                masks.append((pos, best, best_idx))
                last_end = best
        mentions: list[_Mention] = []
        if masks:
            out: list[str] = []
            out_cased: list[str] = []
            size = 0
            last = 0
            for pos, end, idx in masks:
                rule, why, org = self._mask_info[idx]
                piece = text[last:pos]
                out.append(piece)
                out_cased.append(cased[last:pos])
                size += len(piece)
                mark = "_" if org else "~"
                out.append(mark)
                out_cased.append(mark)
                words = text[pos:end]
                if org:
                    mentions.append(_Mention(size, size + 1, None, False, words, rule))
                size += 1
                last = end
                if trace is not None:
                    trace.append(f'{kind}: ignored "{words}": {why} (rule {rule}).')
            out.append(text[last:])
            out_cased.append(cased[last:])
            text = "".join(out)
            cased = "".join(out_cased)
            hits, enabled = self._scan(text)
        last_end = -1
        for pos, stem in hits:
            if pos < last_end:
                continue
            best = -1
            best_key: tuple[str, bool] | None = None
            for _, key, matcher in dispatch[stem][_PARTY]:
                e = matcher.match(text, pos)
                if e > best:
                    best, best_key = e, key
            if best_key is not None:
                pid, contextual = best_key
                rule = f"parties.{pid}.{'contextual' if contextual else 'aliases'}"
                mentions.append(_Mention(pos, best, pid, contextual, text[pos:best], rule))
                last_end = best
        if self._acronym_re is not None and cased != text:
            taken = [(x.start, x.end) for x in mentions]
            for m in self._acronym_re.finditer(cased):
                if any(a <= m.start(1) < b for a, b in taken):
                    continue
                pid = self._acronym_party[m.group(1)]
                rule = f"parties.{pid}.acronyms"
                mentions.append(_Mention(m.start(1), m.end(), pid, False, m.group(1), rule))
        if len(mentions) > 1:
            mentions.sort(key=lambda x: x.start)
        return _Text(kind, text, hits, enabled, mentions)

    def _context(self, name: str, texts: Sequence[_Text]) -> str | None:
        """The words that make this item a labor (or Hollywood) story, or None."""
        dispatch = self._dispatch
        for t in texts:
            for pos, stem in t.hits:
                for unit_id, key, matcher in dispatch[stem][_CTX]:
                    if key == name and unit_id in t.enabled:
                        e = matcher.match(t.text, pos)
                        if e > 0:
                            return t.text[pos:e]
        return None

    def _text(self, raw: str, kind: str, trace: list[str] | None) -> _Text:
        """The analysed text, memoized: a headline or a stock summary recurs across feeds."""
        if trace is not None:
            return self._prepare(raw, kind, trace)
        key = (kind, raw)
        t = self._texts.get(key)
        if t is None:
            t = self._prepare(raw, kind, None)
            if len(self._texts) >= 50_000:
                self._texts.clear()
            self._texts[key] = t
        return t

    def _run(self, title: str, summary: str, trace: list[str] | None) -> Tags:
        head = self._text(title, "headline", trace)
        body = self._text(summary, "summary", trace) if summary else None
        if trace is not None:
            trace.insert(0, f'Read the headline as: "{head.text.strip()}"')
            if body is not None:
                trace.insert(1, f'Read the summary as: "{body.text.strip()}"')
        if not head.mentions and (body is None or not body.mentions):
            if trace is not None:
                trace.append("No tracked party is named, so nothing is tagged.")
                trace.append("Result: guilds (none); events (none).")
            return _EMPTY
        texts = (head,) if body is None else (head, body)

        # ---- parties
        found: dict[str, set[str]] = {"headline": set(), "summary": set()}
        valid: set[int] = set()
        pending: list[tuple[_Text, _Mention]] = []
        for t in texts:
            for m in t.mentions:
                if m.party is None:
                    continue
                if m.contextual:
                    pending.append((t, m))
                    continue
                valid.add(id(m))
                found[t.kind].add(m.party)
                if trace is not None:
                    trace.append(
                        f'{t.kind}: found {GUILD_NAMES[m.party]} in "{m.words}" (rule {m.rule}).'
                    )
        if pending:
            self._contextual(texts, pending, found, valid, trace)
        self._drop_passing(head, found, valid, trace)

        # ---- events: the headline decides, the summary adds what it asserts
        head_events = self._events(head, valid, trace)
        parties = set(found["headline"])
        events = set(head_events)
        if body is not None:
            body_events, asserted = self._summary_events(body, valid, trace)
            events |= body_events
            # Summary names count where their sentence asserts an event, or when the headline
            # names no party but is about labor (then the summary says who).
            carry = not parties and self._context("labor", (head,)) is not None
            for m in body.mentions:
                if m.party is None or id(m) not in valid or m.party in parties:
                    continue
                sentence = body.sentence(m.start)
                if carry or sentence in asserted:
                    parties.add(m.party)
                    if trace is not None:
                        trace.append(
                            f'summary: adds {GUILD_NAMES[m.party]} ("{m.words}"): '
                            + (
                                "its sentence reports an event."
                                if sentence in asserted
                                else "the headline names no party, the summary says who."
                            )
                        )
                elif trace is not None:
                    trace.append(
                        f'summary: "{m.words}" is mentioned in passing (its sentence reports no '
                        f"event), so {GUILD_NAMES[m.party]} is not added."
                    )
        if events and not parties:
            if trace is not None:
                trace.append("No tracked party is involved, so no events are tagged.")
            events = set()
        tags = Tags(guilds=tuple(sorted(parties)), events=tuple(sorted(events)))
        if trace is not None:
            trace.append(
                f"Result: guilds {', '.join(tags.guilds) or '(none)'}; "
                f"events {', '.join(tags.events) or '(none)'}."
            )
        return tags

    def _contextual(
        self,
        texts: Sequence[_Text],
        pending: list[tuple[_Text, _Mention]],
        found: dict[str, set[str]],
        valid: set[int],
        trace: list[str] | None,
    ) -> None:
        """Decide contextual names ("writers", "the studios"): they need a labor story, and
        for the studios' side a guild across the table."""
        ctx_cache: dict[str, str | None] = {}
        for needs_guild in (False, True):
            for t, m in pending:
                assert m.party is not None
                needs = self._party_context.get(m.party, ("labor",))
                if ("guild" in needs) != needs_guild:
                    continue
                missing: str | None = None
                because: list[str] = []
                for ctx in needs:
                    if ctx == "guild":
                        others = (found["headline"] | found["summary"]) - {m.party}
                        if not others:
                            missing = "no guild is across the table"
                            break
                        because.append(", ".join(GUILD_NAMES[o] for o in sorted(others)))
                        continue
                    if ctx not in ctx_cache:
                        ctx_cache[ctx] = self._context(ctx, texts)
                    if ctx_cache[ctx] is None:
                        missing = f"nothing marks this as a {ctx} story"
                        break
                    because.append(f'"{ctx_cache[ctx]}"')
                if missing is None:
                    valid.add(id(m))
                    found[t.kind].add(m.party)
                    if trace is not None:
                        trace.append(
                            f'{t.kind}: "{m.words}" counts as {GUILD_NAMES[m.party]} because of '
                            f"{' and '.join(because)} (rule {m.rule})."
                        )
                elif trace is not None:
                    trace.append(
                        f'{t.kind}: "{m.words}" does not count as {GUILD_NAMES[m.party]}: '
                        f"{missing} (rule {m.rule})."
                    )

    def _matches(self, t: _Text) -> list[tuple[str, int, str, int, int, str | None]]:
        """Every event pattern match in the text, with the modifier that suppresses it."""
        if t.matches is None:
            found: list[tuple[str, int, str, int, int, str | None]] = []
            text = t.text
            dispatch = self._dispatch
            enabled = t.enabled
            for pos, stem in t.hits:
                for unit_id, (eid, pi, pattern), matcher in dispatch[stem][_EVENT]:
                    if unit_id not in enabled:
                        continue
                    end = matcher.match(text, pos)
                    if end >= 0:
                        found.append((eid, pi, pattern, pos, end, self._modified(t, eid, pos, end)))
            t.matches = found
        return t.matches

    def _events(self, t: _Text, valid: set[int], trace: list[str] | None) -> set[str]:
        """Events asserted in one text: matches that no modifier suppresses and that are not
        about an organisation we do not track."""
        out: set[str] = set()
        for eid, pi, pattern, start, end, reason in self._matches(t):
            if eid in out and trace is None:
                continue
            if reason is None:
                reason = self._about_other(t, start, end, valid)
            if trace is not None:
                words = t.text[start:end]
                if reason is None:
                    name = self._event_names.get(eid, eid)
                    trace.append(
                        f'{t.kind}: event {eid} ({name}): "{words}" matches pattern '
                        f'"{pattern}" (rule events.{eid} pattern {pi + 1}).'
                    )
                else:
                    trace.append(
                        f'{t.kind}: "{words}" would be {eid} (pattern "{pattern}") but is not '
                        f"counted: {reason}."
                    )
            if reason is None:
                out.add(eid)
        return out

    def _summary_events(
        self, body: _Text, valid: set[int], trace: list[str] | None
    ) -> tuple[set[str], set[tuple[int, int]]]:
        """Events the summary asserts, and the sentences that assert them."""
        out: set[str] = set()
        sentences: set[tuple[int, int]] = set()
        for eid, pi, pattern, start, end, reason in self._matches(body):
            if reason is None:
                reason = self._about_other(body, start, end, valid)
            if trace is not None:
                words = body.text[start:end]
                if reason is None:
                    trace.append(
                        f'summary: event {eid} ({self._event_names.get(eid, eid)}): "{words}" '
                        f'matches pattern "{pattern}" (rule events.{eid} pattern {pi + 1}).'
                    )
                else:
                    trace.append(
                        f'summary: "{words}" would be {eid} (pattern "{pattern}") but is not '
                        f"counted: {reason}."
                    )
            if reason is None:
                out.add(eid)
                sentences.add(body.sentence(start))
        return out, sentences

    def _drop_passing(
        self, head: _Text, found: dict[str, set[str]], valid: set[int], trace: list[str] | None
    ) -> None:
        """A party named only in a side phrase of the headline ("as writers picket", "joining
        writers", "after WGA and SAG-AFTRA") is not what the item is about, when another party
        is."""
        mentions = [m for m in head.mentions if m.party is not None and id(m) in valid]
        if len({m.party for m in mentions}) < 2:
            return
        text = head.text
        passing: dict[str, bool] = {}
        for m in mentions:
            lo = m.start
            for _ in range(3):  # look up to three words back
                nxt = text.rfind(" ", 0, lo - 1)
                if nxt < 0:
                    break
                lo = nxt
            window = text[lo : m.start]
            cue = self._passing_re.search(window + " ")
            side = cue is not None and not self._clause_break_re.search(
                text, lo + cue.end() - 1, m.start
            )
            assert m.party is not None
            passing[m.party] = passing.get(m.party, True) and side
        passing.pop("amptp", None)  # the studios' side is never a bystander to a guild's news
        main = {p for p, side in passing.items() if not side}
        if not main:
            return
        for party, side in passing.items():
            if side and party in found["headline"]:
                found["headline"].discard(party)
                if trace is not None:
                    trace.append(
                        f"headline: {GUILD_NAMES[party]} is named only in a side phrase "
                        "(rule settings.passing), so it is not tagged."
                    )

    def _cues(self, t: _Text) -> list[list[tuple[int, int]]]:
        """Where each modifier's cue words occur in the text (computed once per text)."""
        if t.cues is None:
            cues: list[list[tuple[int, int]]] = [[] for _ in self._modifiers]
            text = t.text
            dispatch = self._dispatch
            enabled = t.enabled
            for pos, stem in t.hits:
                for unit_id, i, matcher in dispatch[stem][_CUE]:
                    if unit_id not in enabled:
                        continue
                    e = matcher.match(text, pos)
                    if e > 0:
                        cues[i].append((pos, e))
            t.cues = cues
        return t.cues

    def _modified(self, t: _Text, eid: str, start: int, end: int) -> str | None:
        """Which modifier (negation, question...) suppresses the match at text[start:end]."""
        text = t.text
        s_start, s_end = t.sentence(start)
        cues = self._cues(t)
        for i in self._mods_for[(eid, t.kind)]:
            mod = self._modifiers[i]
            spans = cues[i]
            if "question" in mod.where:
                if text[s_end + 1 : s_end + 2] == "?":
                    return f'the sentence ends with "?": it {mod.why} (rule modifiers.{mod.id})'
                for c_start, c_end in spans:
                    if c_start == s_start + 1 and c_start <= start:
                        return (
                            f'the sentence starts with "{text[c_start:c_end]}": it {mod.why} '
                            f"(rule modifiers.{mod.id})"
                        )
            if not spans:
                continue
            for c_start, c_end in spans:
                if c_start < s_start or c_end > s_end:
                    continue
                hit = False
                for where in mod.where:
                    if where in ("before", "around") and c_start < start:
                        hit = c_end >= start or self._near(text, c_end, start, mod.window)
                    if not hit and where in ("after", "around") and c_start >= end:
                        hit = self._near(text, end, c_start, mod.window)
                    if not hit and where == "inside":
                        hit = c_start >= start and c_end <= end
                    if not hit and where == "sentence":
                        hit = True
                    if not hit and where == "earlier_in_sentence":
                        hit = c_end <= start
                    if not hit and where == "later_in_sentence":
                        hit = c_start >= end
                    if hit:
                        return f'"{text[c_start:c_end]}" {mod.why} (rule modifiers.{mod.id})'
        return None

    def _about_other(self, t: _Text, start: int, end: int, valid: set[int]) -> str | None:
        """Whose event is it? The nearest organisation named before the words in the sentence,
        else the first after: if that is one we do not track, the event is theirs."""
        s_start, s_end = t.sentence(start)
        who = self._subject(t, start, s_start, s_end, valid)
        if who is not None and who.party is None:
            return f'it is about "{who.words}", an organisation we do not track'
        return None

    def _near(self, text: str, a: int, b: int, window: int) -> bool:
        """At most `window` words between a and b, and no clause break."""
        gap = text[a:b]
        return gap.count(" ") - 1 <= window and not self._clause_break_re.search(gap)

    @staticmethod
    def _subject(
        t: _Text, start: int, s_start: int, s_end: int, valid: set[int]
    ) -> _Mention | None:
        before: _Mention | None = None
        after: _Mention | None = None
        for m in t.mentions:
            if m.party is not None and id(m) not in valid:
                continue
            if m.end <= start and m.start >= s_start:
                before = m
            elif m.start >= start and m.start < s_end and after is None:
                after = m
        return before or after


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def _default_rule_files() -> list[Path]:
    folder = data_path("rules")
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise RulesError(f"{folder}: no rule files (*.toml) found")
    return files


def load_classifier(extra_rules: Sequence[str | Path] = ()) -> Classifier:
    """The default rules from data/rules/, extended by each user file in order."""
    rules = _Rules()
    digest = hashlib.sha256()
    requests: list[tuple[str, Any, _Origin]] = []
    files: list[tuple[Path, str]] = [(p, f"rules/{p.name}") for p in _default_rule_files()]
    files += [(Path(p), str(p)) for p in extra_rules]
    for path, label in files:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise RulesError(f"{label}: cannot read rules file ({exc.strerror or exc})") from exc
        try:
            doc = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise RulesError(f"{label}: not UTF-8 text ({exc.reason})") from exc
        except tomllib.TOMLDecodeError as exc:
            raise RulesError(f"{label}: not valid TOML: {exc}") from exc
        digest.update(path.name.encode() + b"\0" + raw + b"\0")
        requests += _merge_file(rules, doc, label)
    _apply_disable(rules, requests)
    prefix = "custom" if extra_rules else "default"
    return Classifier(rules, f"{prefix}-{digest.hexdigest()[:12]}")
