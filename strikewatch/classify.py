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
        "\u2026": "... ",
        "\u200b": "",
        "\ufeff": "",
    }
)
# A dash between spaces (or a double hyphen) separates two statements, like a semicolon.
_SPACED_DASH_RE = re.compile(r"\s+-+\s+|--+")
_APOSTROPHE_RE = re.compile(r"(\w+)'(\w*)")
_IRREGULAR_NOT = {"won": "will", "can": "can", "shan": "shall", "ain": "is"}
_IS_CONTRACTIONS = frozenset(
    "it that there here what who where how he she this everything nothing".split()
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
    """Plain ASCII-ish punctuation, contractions spelled out, one space between words.

    Case is kept (a few aliases such as "TAG" are case-sensitive); callers lowercase. Lowercasing
    after this step must not change the length, so positions agree between both forms.
    """
    if not text:
        return ""
    text = text.translate(_TRANSLATE)
    if "'" in text:
        text = _APOSTROPHE_RE.sub(_apostrophe, text).replace("'", " ")
    if "-" in text:
        text = _SPACED_DASH_RE.sub(" ; ", text)
    return " ".join(text.split())


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
        elif key == "clause_words":
            value = _strings(value, origin, "clause_words")
        else:
            raise origin.error("unknown setting (expected: gap, clause_words)")
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
        words = [_Phrase(w.lower(), origin) for w in _strings(body.get("words", []), origin, "words")]
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
    _unknown_keys(disable, ("modifiers", "false_friends", "patterns", "aliases", "words"), _Origin(fname, "disable"))
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
# Compiling phrases and patterns into regular expressions
# --------------------------------------------------------------------------------------------

# Between two words of a pattern: anything that is not a word and does not end a clause.
_SEP = r"[^\w.,;:?!|]+"
_SEP_LOOSE = r"[^\w.;:?!|]+"  # a gap may cross a comma ("WGA, AMPTP reach deal")
_WORD_OK_RE = re.compile(r"^[\w*&$%.+/#@-]+$")


def _word_regex(word: str) -> str:
    """One written word: '*' is any ending, '-' matches a hyphen, a space or nothing."""
    out: list[str] = []
    for ch in word:
        if ch == "*":
            out.append(r"\w*")
        elif ch in "- ":
            out.append(r"[\s/-]*")
        else:
            out.append(re.escape(ch))
    body = "".join(out)
    start = r"\b" if re.match(r"\w", word) else ""
    end = r"\b" if re.search(r"\w$", word) else ""
    if word.endswith("*"):
        end = ""
    return start + body + end


def _phrase_regex(text: str) -> str:
    """A list entry or alias: words joined loosely (space, hyphen, slash or nothing)."""
    return _word_regex(text)


def _alternation(entries: Iterable[str]) -> str:
    """A regex matching any of the entries, longest first so that 'writers guild' beats 'writers'.

    Entries sharing a first word are factored under a common prefix to keep the regex engine
    from trying every branch at every position.
    """
    unique = sorted(set(entries), key=lambda e: (-len(e), e))
    if not unique:
        return r"(?!)"
    groups: dict[str, list[str]] = {}
    for e in unique:
        first = e.split(" ", 1)[0].rstrip("*")
        key = first[:3] if len(first) >= 3 and first.isalnum() else ""
        groups.setdefault(key, []).append(e)
    parts: list[str] = []
    for key, items in groups.items():
        alts = "|".join(_phrase_regex(e) for e in items)
        if key:
            parts.append(rf"(?=\b{re.escape(key)})(?:{alts})")
        else:
            parts.append(f"(?:{alts})")
    return "(?:" + "|".join(parts) + ")"


@dataclass
class _Token:
    regex: str
    optional: bool
    stems: list[str]  # literal word starts, for the cheap anchor prefilter
    gap: int | None = None


def _stem(word: str) -> str:
    """The literal start of a word up to its first wildcard or hyphen."""
    m = re.match(r"[a-z0-9]+", word)
    return m.group(0) if m else ""


def _compile_pattern(
    text: str,
    lists: dict[str, list[str]],
    origin: _Origin,
    gap_default: int,
) -> tuple[str, list[str] | None]:
    """A pattern ('{reach} ... {deal}') to a regex, plus the anchor stems one of which must occur."""
    tokens: list[_Token] = []
    for raw in text.split():
        if raw.startswith("..."):
            n_text = raw[3:]
            if n_text and not n_text.isdigit():
                raise origin.error(f"'{raw}': a gap is '...' or '...N' with N a number")
            n = int(n_text) if n_text else gap_default
            if tokens and tokens[-1].gap is not None:
                raise origin.error("two gaps in a row")
            tokens.append(_Token("", False, [], gap=n))
            continue
        optional = raw.endswith("?") and len(raw) > 1
        word = raw[:-1] if optional else raw
        alts: list[str] = []
        stems: list[str] = []
        for alt in word.split("|"):
            if not alt:
                raise origin.error(f"'{raw}': empty alternative")
            if alt.startswith("{") or alt.endswith("}"):
                name = alt[1:-1] if alt.startswith("{") and alt.endswith("}") else ""
                if not _NAME_RE.match(name):
                    raise origin.error(f"'{alt}': a word list is written {{name}}")
                if name not in lists:
                    raise origin.error(f"unknown word list '{{{name}}}'")
                alts.extend(lists[name])
                stems.extend(_stem(e) for e in lists[name])
            else:
                if not _WORD_OK_RE.match(alt):
                    raise origin.error(f"'{alt}': use letters, digits, - and * only")
                alts.append(alt)
                stems.append(_stem(alt))
        tokens.append(_Token(_alternation(alts), optional, stems))
    if not tokens:
        raise origin.error("empty pattern")
    if tokens[0].gap is not None or tokens[-1].gap is not None:
        raise origin.error("a pattern cannot start or end with '...'")
    if all(t.optional for t in tokens if t.gap is None):
        raise origin.error("a pattern needs at least one word that is not optional")

    regex = ""
    pending_gap: int | None = None
    first = True
    for tok in tokens:
        if tok.gap is not None:
            pending_gap = tok.gap
            continue
        if first:
            piece = tok.regex
            regex = f"(?:{piece})?" if tok.optional else piece
            first = False
        else:
            sep = _SEP
            if pending_gap:
                sep = rf"{_SEP_LOOSE}(?:\w+{_SEP_LOOSE}){{0,{pending_gap}}}?"
            piece = sep + tok.regex
            regex += f"(?:{piece})?" if tok.optional else piece
        pending_gap = None

    # The anchor: the required token whose literal stems are longest (most selective).
    best: list[str] | None = None
    best_score = -1
    for tok in tokens:
        if tok.gap is not None or tok.optional or not tok.stems:
            continue
        if any(len(s) < 3 for s in tok.stems):
            continue
        score = min(len(s) for s in tok.stems) * 10 - len(tok.stems)
        if score > best_score:
            best, best_score = tok.stems, score
    return regex, best


def _check_regex(regex: str, origin: _Origin) -> re.Pattern[str]:
    try:
        return re.compile(regex)
    except re.error as exc:  # pragma: no cover - our own generated regex should always compile
        raise origin.error(f"cannot be compiled ({exc})") from exc


# --------------------------------------------------------------------------------------------
# The compiled classifier
# --------------------------------------------------------------------------------------------

_SENTENCE_END_RE = re.compile(r"[;?!|]|[.:](?=\s|$)")


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
    mentions: list[_Mention]
    _bounds: list[int] | None = None
    _cues: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def sentence(self, pos: int) -> tuple[int, int]:
        """Start and end of the sentence containing `pos` (a headline's clauses count as one)."""
        if self._bounds is None:
            self._bounds = [m.end() for m in _SENTENCE_END_RE.finditer(self.text)]
        i = bisect_right(self._bounds, pos)
        start = self._bounds[i - 1] if i else 0
        end = self._bounds[i] if i < len(self._bounds) else len(self.text)
        return start, end


class Classifier:
    """Rules compiled for fast tagging. Build one with `load_classifier()`."""

    version: str

    def __init__(self, rules: _Rules, version: str) -> None:
        self.version = version
        self._cache: dict[tuple[str, str], Tags] = {}
        self._compile(rules)

    # ---------------------------------------------------------------- compile
    def _compile(self, rules: _Rules) -> None:
        gap = int(rules.settings.get("gap", _DEFAULT_GAP))
        lists = {name: [p.text for p in phrases] for name, phrases in rules.lists.items()}
        for name, phrases in rules.lists.items():
            for p in phrases:
                if not _WORD_OK_RE.match(p.text.replace(" ", "")):
                    raise p.origin.error(f"'{p.text}': use letters, digits, spaces, - and * only")

        # Parties: one combined regex, strong aliases before contextual ones so that the longer
        # "writers guild" wins over "writers" at the same position.
        self._party_name = {pid: rules.parties[pid].name for pid in rules.parties}
        groups: list[str] = []
        self._party_groups: dict[str, tuple[str, bool]] = {}
        all_aliases: list[str] = []
        union_aliases: list[str] = []
        for contextual in (False, True):
            for pid in GUILDS:
                party = rules.parties.get(pid)
                if party is None:
                    continue
                phrases = party.contextual if contextual else party.aliases
                texts = [p.text for p in phrases]
                if not texts:
                    continue
                name = f"p{len(groups)}"
                groups.append(f"(?P<{name}>{_alternation(texts)})")
                self._party_groups[name] = (pid, contextual)
                all_aliases.extend(texts)
                if pid != "amptp":
                    union_aliases.extend(texts)
        self._party_re = re.compile("|".join(groups) or r"(?!)")
        acr: list[str] = []
        self._acronym_party: dict[str, str] = {}
        for pid, party in rules.parties.items():
            for p in party.acronyms:
                if not re.match(r"^[\w-]+$", p.text):
                    raise p.origin.error(f"'{p.text}': an acronym is letters and digits only")
                acr.append(p.text)
                self._acronym_party[p.text] = pid
        self._acronym_re = (
            re.compile(r"\b(?:" + "|".join(re.escape(a) for a in sorted(acr, key=len, reverse=True)) + r")\b")
            if acr
            else None
        )
        self._party_context = {pid: tuple(p.context) for pid, p in rules.parties.items()}
        lists = dict(lists)
        lists["party"] = all_aliases
        lists["union"] = union_aliases

        # Context word lists ("labor", "hollywood"); "guild" is built in: another tracked party.
        self._context_re: dict[str, re.Pattern[str]] = {}
        for name, phrases in rules.context.items():
            self._context_re[name] = re.compile(_alternation(p.text for p in phrases))
        for pid, party in rules.parties.items():
            for ctx in party.context:
                if ctx != "guild" and ctx not in self._context_re:
                    raise _Origin(party.aliases[0].origin.file if party.aliases else "rules", f"party '{pid}' context").error(
                        f"unknown context '{ctx}' (known: guild, {', '.join(self._context_re)})"
                    )

        # Masks: names of other organisations, look-alikes of our parties, false friends.
        mask_groups: list[str] = []
        self._mask_info: dict[str, tuple[str, str, str | None]] = {}  # group -> (rule, why, org)

        def add_mask(phrases: list[_Phrase], rule: str, why: str, org: str | None) -> None:
            alts: list[str] = []
            for p in phrases:
                rx, _ = _compile_pattern(p.text, lists, p.origin, gap)
                alts.append(rx)
            if alts:
                name = f"m{len(mask_groups)}"
                mask_groups.append(f"(?P<{name}>" + "|".join(sorted(alts, key=len, reverse=True)) + ")")
                self._mask_info[name] = (rule, why, org)

        for pid in GUILDS:
            party = rules.parties.get(pid)
            if party and party.nots:
                add_mask(
                    party.nots,
                    f"parties.{pid}.not",
                    f"not the same as {party.name}",
                    "other",
                )
        for ff in rules.false_friends.values():
            add_mask(ff.phrases, f"false_friends.{ff.id}", ff.why, None)
        add_mask(rules.others, "others", "an organisation we do not track", "other")
        self._mask_re = re.compile("|".join(mask_groups)) if mask_groups else None

        # Events: one regex per event, one named group per pattern; plus the anchor prefilter.
        self._event_re: dict[str, re.Pattern[str]] = {}
        self._event_patterns: dict[str, list[str]] = {}
        self._event_names = dict(rules.event_names)
        anchor_events: dict[str, set[str]] = {}
        self._always: set[str] = set()
        for eid in EVENTS:
            patterns = rules.events.get(eid, [])
            if not patterns:
                continue
            alts = []
            for i, p in enumerate(patterns):
                rx, stems = _compile_pattern(p.text, lists, p.origin, gap)
                alts.append(f"(?P<q{i}>{rx})")
                if stems is None:
                    self._always.add(eid)
                else:
                    for s in stems:
                        anchor_events.setdefault(s, set()).add(eid)
            self._event_re[eid] = _check_regex("|".join(alts), patterns[0].origin)
            self._event_patterns[eid] = [p.text for p in patterns]
        # A found stem also stands for every shorter stem it begins with.
        stems_sorted = sorted(anchor_events)
        self._anchor_events: dict[str, frozenset[str]] = {}
        for s in stems_sorted:
            evs = set(anchor_events[s])
            for t in stems_sorted:
                if t != s and s.startswith(t):
                    evs |= anchor_events[t]
            self._anchor_events[s] = frozenset(evs)
        self._anchor_re = re.compile(
            r"\b(?:" + "|".join(re.escape(s) for s in sorted(stems_sorted, key=lambda x: (-len(x), x))) + ")"
            if stems_sorted
            else r"(?!)"
        )

        # Modifiers: one regex each (their cue words may overlap, so they are not combined).
        self._modifiers: list[tuple[_Modifier, re.Pattern[str] | None]] = []
        for mod in rules.modifiers.values():
            rx = None
            if mod.words:
                alts = []
                for p in mod.words:
                    r, _ = _compile_pattern(p.text, lists, p.origin, gap)
                    alts.append(r)
                rx = re.compile("|".join(sorted(alts, key=len, reverse=True)))
            self._modifiers.append((mod, rx))
        clause_words = rules.settings.get("clause_words", ["but", "while", "although", "though"])
        self._clause_break_re = re.compile(
            r"[,;:?!|]|\.(?=\s|$)|\b(?:" + "|".join(re.escape(w) for w in clause_words) + r")\b"
        )

    # ---------------------------------------------------------------- public API
    def classify(self, title: str, summary: str = "") -> Tags:
        """Tags for one item; results are memoized since feeds repeat the same stories."""
        key = (title, summary or "")
        tags = self._cache.get(key)
        if tags is None:
            tags = self._run(title, summary or "", None)
            if len(self._cache) >= 65536:
                self._cache.clear()
            self._cache[key] = tags
        return tags

    def classify_uncached(self, title: str, summary: str = "") -> Tags:
        """Tags without the memo (for benchmarks)."""
        return self._run(title, summary or "", None)

    def explain(self, title: str, summary: str = "") -> Explanation:
        """Tags plus the plain-English story of which rule fired on which words."""
        steps: list[str] = []
        tags = self._run(title, summary or "", steps)
        return Explanation(tags=tags, steps=steps, version=self.version)

    # ---------------------------------------------------------------- the work
    def _prepare(self, raw: str, kind: str, trace: list[str] | None) -> _Text:
        """Normalize, mask look-alikes, find party mentions."""
        cased = normalize_text(raw)
        text = cased.lower()
        if len(text) != len(cased):  # exotic Unicode: positions would disagree
            cased = text
        mentions: list[_Mention] = []
        if self._mask_re is not None and self._mask_re.search(text):
            chars = list(text)
            for m in self._mask_re.finditer(text):
                rule, why, org = self._mask_info[m.lastgroup or ""]
                if org is not None:
                    mentions.append(_Mention(m.start(), m.end(), None, False, m.group(), rule))
                for i in range(m.start(), m.end()):
                    if chars[i] != " ":
                        chars[i] = "_" if org is not None else " "
                if trace is not None:
                    trace.append(f"{kind}: ignored \"{m.group()}\": {why} (rule {rule}).")
            text = "".join(chars)
        if self._party_re.search(text):
            for m in self._party_re.finditer(text):
                pid, contextual = self._party_groups[m.lastgroup or ""]
                rule = f"parties.{pid}.{'contextual' if contextual else 'aliases'}"
                mentions.append(_Mention(m.start(), m.end(), pid, contextual, m.group(), rule))
        if self._acronym_re is not None:
            for m in self._acronym_re.finditer(cased):
                if text[m.start()] in "_ ":
                    continue
                pid = self._acronym_party[m.group()]
                mentions.append(
                    _Mention(m.start(), m.end(), pid, False, m.group(), f"parties.{pid}.acronyms")
                )
        mentions.sort(key=lambda x: x.start)
        return _Text(kind, text, mentions)

    def _context(self, name: str, texts: Sequence[_Text]) -> str | None:
        """The words that make this item a labor (or Hollywood) story, or None."""
        rx = self._context_re.get(name)
        if rx is None:
            return None
        for t in texts:
            m = rx.search(t.text)
            if m:
                return m.group()
        return None

    def _run(self, title: str, summary: str, trace: list[str] | None) -> Tags:
        head = self._prepare(title, "headline", trace)
        body = self._prepare(summary, "summary", trace) if summary else None
        if trace is not None:
            trace.insert(0, f'Read the headline as: "{head.text.strip()}"')
            if body is not None:
                trace.insert(1, f'Read the summary as: "{body.text.strip()}"')
        texts = [head] if body is None else [head, body]

        # ---- parties
        strong: dict[str, set[str]] = {"headline": set(), "summary": set()}
        for t in texts:
            for m in t.mentions:
                if m.party is not None and not m.contextual:
                    strong[t.kind].add(m.party)
        found: dict[str, set[str]] = {"headline": set(strong["headline"]), "summary": set(strong["summary"])}
        ctx_cache: dict[str, str | None] = {}
        valid_mentions: dict[int, bool] = {}
        pending: list[tuple[_Text, _Mention]] = []
        for t in texts:
            for m in t.mentions:
                if m.party is None:
                    continue
                if not m.contextual:
                    valid_mentions[id(m)] = True
                    if trace is not None:
                        trace.append(
                            f"{t.kind}: found {GUILD_NAMES[m.party]} in \"{m.words}\" (rule {m.rule})."
                        )
                else:
                    pending.append((t, m))
        # Contextual aliases: those needing only word context first, then those needing a guild.
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
                            missing = "no other tracked guild is involved"
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
                    valid_mentions[id(m)] = True
                    found[t.kind].add(m.party)
                    if trace is not None:
                        trace.append(
                            f"{t.kind}: \"{m.words}\" counts as {GUILD_NAMES[m.party]} because "
                            f"of {' and '.join(because)} (rule {m.rule})."
                        )
                elif trace is not None:
                    trace.append(
                        f"{t.kind}: \"{m.words}\" does not count as {GUILD_NAMES[m.party]}: "
                        f"{missing} (rule {m.rule})."
                    )

        # ---- events, headline first
        events: set[str] = set()
        head_events = self._events(head, valid_mentions, trace)
        events |= head_events
        parties = set(found["headline"])
        if body is not None:
            body_events, body_parties = self._summary(body, valid_mentions, found, head_events, parties, trace)
            events |= body_events
            parties |= body_parties
        if events and not parties:
            if trace is not None:
                trace.append("No tracked party is involved, so no events are tagged.")
            events = set()
        tags = Tags(
            guilds=tuple(g for g in sorted(parties)),
            events=tuple(sorted(events)),
        )
        if trace is not None:
            trace.append(
                f"Result: guilds {', '.join(tags.guilds) or '(none)'}; "
                f"events {', '.join(tags.events) or '(none)'}."
            )
        return tags

    def _summary(
        self,
        body: _Text,
        valid: dict[int, bool],
        found: dict[str, set[str]],
        head_events: set[str],
        head_parties: set[str],
        trace: list[str] | None,
    ) -> tuple[set[str], set[str]]:
        """What the summary adds: events it asserts, and parties of a labor story."""
        events = self._events(body, valid, trace)
        parties: set[str] = set()
        if head_parties or head_events or events:
            parties = set(found["summary"])
        elif found["summary"] and trace is not None:
            trace.append(
                "summary: mentions "
                + ", ".join(GUILD_NAMES[p] for p in sorted(found["summary"]))
                + " only in passing (the headline names no party and no event), so they are not tagged."
            )
        return events, parties

    def _cue_spans(self, t: _Text, mod: _Modifier, rx: re.Pattern[str] | None) -> list[tuple[int, int]]:
        spans = t._cues.get(mod.id)
        if spans is None:
            spans = [(m.start(), m.end()) for m in rx.finditer(t.text)] if rx is not None else []
            t._cues[mod.id] = spans
        return spans

    def _events(self, t: _Text, valid: dict[int, bool], trace: list[str] | None) -> set[str]:
        """Events asserted in one text: pattern matches that no modifier suppresses."""
        text = t.text
        candidates: set[str] = set(self._always)
        for stem in self._anchor_re.findall(text):
            candidates |= self._anchor_events.get(stem, frozenset())
        out: set[str] = set()
        for eid in EVENTS:
            if eid not in candidates or eid not in self._event_re:
                continue
            for m in self._event_re[eid].finditer(text):
                reason = self._suppressed(t, eid, m.start(), m.end(), valid)
                if trace is not None:
                    idx = int((m.lastgroup or "q0")[1:])
                    pattern = self._event_patterns[eid][idx]
                    name = self._event_names.get(eid, eid)
                    if reason is None:
                        trace.append(
                            f"{t.kind}: event {eid} ({name}): \"{m.group()}\" matches pattern "
                            f"\"{pattern}\" (rule events.{eid} pattern {idx + 1})."
                        )
                    else:
                        trace.append(
                            f"{t.kind}: \"{m.group()}\" would be {eid} (pattern \"{pattern}\") "
                            f"but is not counted: {reason}."
                        )
                if reason is None:
                    out.add(eid)
        return out

    def _suppressed(self, t: _Text, eid: str, start: int, end: int, valid: dict[int, bool]) -> str | None:
        """Why the event matched at text[start:end] does not count, or None when it does."""
        text = t.text
        s_start, s_end = t.sentence(start)
        for mod, rx in self._modifiers:
            if eid not in mod.events:
                continue
            if mod.only_in != "any" and mod.only_in != t.kind:
                continue
            for where in mod.where:
                if where == "question":
                    if text[s_end - 1 : s_end] == "?" or (
                        rx is not None
                        and (q := rx.match(text, s_start + (1 if text[s_start : s_start + 1] == " " else 0)))
                        and q.start() <= start
                    ):
                        return f"the sentence is a question ({mod.why}; rule modifiers.{mod.id})"
                    continue
                for c_start, c_end in self._cue_spans(t, mod, rx):
                    if c_start < s_start or c_end > s_end:
                        continue
                    hit = False
                    if where in ("before", "around") and c_end <= start:
                        gap = text[c_end:start]
                        hit = len(gap.split()) <= mod.window and not self._clause_break_re.search(gap)
                    if not hit and where in ("after", "around") and c_start >= end:
                        gap = text[end:c_start]
                        hit = len(gap.split()) <= mod.window and not self._clause_break_re.search(gap)
                    if not hit and where == "inside":
                        hit = c_start >= start and c_end <= end
                    if not hit and where == "sentence":
                        hit = True
                    if not hit and where == "earlier_in_sentence":
                        hit = c_end <= start
                    if not hit and where == "later_in_sentence":
                        hit = c_start >= end
                    if hit:
                        return f"\"{text[c_start:c_end]}\" {mod.why} (rule modifiers.{mod.id})"
        # Whose event is it? The nearest organisation before the words, else the first after.
        who = self._subject(t, start, end, s_start, s_end, valid)
        if who is not None and who.party is None:
            return f"it is about \"{who.words}\", an organisation we do not track"
        return None

    @staticmethod
    def _subject(
        t: _Text, start: int, end: int, s_start: int, s_end: int, valid: dict[int, bool]
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
