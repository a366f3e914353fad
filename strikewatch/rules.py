"""The rule files: reading and checking them, and compiling them into the classifier's
program (plain data: regex sources over word codes, and tables).

Imported only when the compiled rules are not in the cache (see classify.load_classifier):
parsing TOML and building regexes costs more than the rest of start-up together.

A rule file has these sections (data/rules/README.md is the guide for rules editors):
[settings], [lists], [context], [parties.<id>], [others], [[false_friends]],
[events.<id>], [[modifiers]] and, in a user's file, [disable]. Later files extend earlier
ones; a mistake is a RulesError naming the file, the rule and the problem.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from strikewatch.classify import (
    _END_RE,
    _FORMAT,
    _GAP_RE,
    _HIGH,
    _LOW,
    _NUMBER,
    _PUNCT_CODE,
    _TOKEN_RE,
    GUILD_NAMES,
    _words_of,
)
from strikewatch.errors import RulesError
from strikewatch.taxonomy import EVENTS, GUILDS, STUDIOS

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
# A mask that can start with more words than this is not part of the scanner (see _compile).
_SCANNER_FIRST_WORDS = 8


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


def _id_blocks(
    doc: dict[str, Any], fname: str, section: str, label: str, keys: Sequence[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The [[section]] blocks of a rules file, each checked (a table, known keys, a valid id)
    and given with its id."""
    blocks = doc.get(section, [])
    if not isinstance(blocks, list):
        raise RulesError(f"{fname}: {section}: write each one as a [[{section}]] block")
    for i, body in enumerate(blocks, 1):
        origin = _Origin(fname, f"{label} {i}")
        body = _table(body, origin)
        _unknown_keys(body, keys, origin)
        block_id = body.get("id")
        if not isinstance(block_id, str) or not _RULE_ID_RE.match(block_id):
            raise origin.error("needs an id of lowercase letters, digits, - or _")
        yield block_id, body


def _check_event(eid: Any, origin: _Origin, what: str = "event") -> None:
    if eid not in EVENTS:
        raise origin.error(f"unknown {what} (expected one of: {', '.join(EVENTS)})")


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
    _merge_settings(rules, doc, fname)
    _merge_word_tables(rules, doc, fname)
    _merge_parties(rules, doc, fname)
    others = _table(doc.get("others", {}), _Origin(fname, "others"))
    _unknown_keys(others, ("names",), _Origin(fname, "others"))
    if "names" in others:
        rules.others.extend(_phrases(others["names"], _Origin(fname, "others names"), "names"))
    _merge_false_friends(rules, doc, fname)
    _merge_events(rules, doc, fname)
    _merge_modifiers(rules, doc, fname)
    return _disable_requests(doc, fname)


def _phrases(value: Any, origin: _Origin, key: str) -> list[_Phrase]:
    """A list of strings as the rules read it: lowercased, each knowing where it was written."""
    return [_Phrase(w.lower(), origin) for w in _strings(value, origin, key)]


def _text(body: dict[str, Any], key: str, origin: _Origin, default: str) -> str:
    value = body.get(key, default)
    if not isinstance(value, str):
        raise origin.error(f"{key} must be a string")
    return value


def _merge_settings(rules: _Rules, doc: dict[str, Any], fname: str) -> None:
    settings = _table(doc.get("settings", {}), _Origin(fname, "settings"))
    for key, value in settings.items():
        origin = _Origin(fname, f"settings.{key}")
        if key == "gap":
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10:
                raise origin.error("must be a whole number from 0 to 10")
        elif key in ("clause_words", "passing", "with_words"):
            value = [*rules.settings.get(key, []), *_strings(value, origin, key)]
        elif key == "counterpart_events":
            value = _strings(value, origin, key)
            for eid in value:
                _check_event(eid, origin, f"event '{eid}'")
        elif key == "summary_background":
            table = _table(value, origin)
            value = dict(rules.settings.get(key, {}))
            for eid, laters in table.items():
                _check_event(eid, origin, f"event '{eid}'")
                laters = _strings(laters, origin, eid)
                for later in laters:
                    _check_event(later, origin, f"event '{later}'")
                value[eid] = [*value.get(eid, []), *laters]
        else:
            raise origin.error(
                "unknown setting (expected: gap, clause_words, passing, with_words, "
                "counterpart_events, summary_background)"
            )
        rules.settings[key] = value


def _merge_word_tables(rules: _Rules, doc: dict[str, Any], fname: str) -> None:
    """[lists] and [context]: named lists of words, which later files extend."""
    for section, kind, target in (
        ("lists", "list", rules.lists),
        ("context", "context", rules.context),
    ):
        for name, words in _table(doc.get(section, {}), _Origin(fname, section)).items():
            origin = _Origin(fname, f"{kind} '{name}'")
            if not _NAME_RE.match(name):
                raise origin.error(f"{kind} names use lowercase letters, digits and _ only")
            if section == "lists" and name in _SPECIAL_LISTS:
                raise origin.error(
                    f"'{{{name}}}' is built from the party aliases; pick another name"
                )
            target.setdefault(name, []).extend(_phrases(words, origin, "words"))


def _merge_parties(rules: _Rules, doc: dict[str, Any], fname: str) -> None:
    for pid, body in _table(doc.get("parties", {}), _Origin(fname, "parties")).items():
        origin = _Origin(fname, f"party '{pid}'")
        if pid not in GUILDS:
            raise origin.error(f"unknown party (expected one of: {', '.join(GUILDS)})")
        body = _table(body, origin)
        _unknown_keys(body, _PARTY_KEYS, origin)
        party = rules.parties.setdefault(pid, _Party(name=GUILD_NAMES[pid]))
        party.name = _text(body, "name", origin, party.name)
        for key, target in (
            ("aliases", party.aliases),
            ("contextual", party.contextual),
            ("not", party.nots),
        ):
            if key in body:
                target.extend(_phrases(body[key], _Origin(fname, f"party '{pid}' {key}"), key))
        if "acronyms" in body:
            sub = _Origin(fname, f"party '{pid}' acronyms")
            for w in _strings(body["acronyms"], sub, "acronyms"):
                if not re.match(r"^[A-Za-z0-9]+$", w):
                    raise sub.error(f"'{w}': an acronym is letters and digits only")
                party.acronyms.append(_Phrase(w, sub))
        if "context" in body:
            party.context = _strings(body["context"], origin, "context")


def _merge_false_friends(rules: _Rules, doc: dict[str, Any], fname: str) -> None:
    for fid, body in _id_blocks(
        doc, fname, "false_friends", "false friend", ("id", "why", "phrases")
    ):
        origin = _Origin(fname, f"false friend '{fid}'")
        if "phrases" not in body:
            raise origin.error("needs phrases = [...]")
        phrases = _phrases(body["phrases"], origin, "phrases")
        if fid in rules.false_friends:
            rules.false_friends[fid].phrases.extend(phrases)
        else:
            why = _text(body, "why", origin, "a look-alike that is not a labor event")
            rules.false_friends[fid] = _FalseFriend(fid, why, phrases, origin)


def _merge_events(rules: _Rules, doc: dict[str, Any], fname: str) -> None:
    for eid, body in _table(doc.get("events", {}), _Origin(fname, "events")).items():
        origin = _Origin(fname, f"event '{eid}'")
        _check_event(eid, origin)
        body = _table(body, origin)
        _unknown_keys(body, ("name", "patterns"), origin)
        _text(body, "name", origin, "")  # not used: for people reading the file
        patterns = rules.events.setdefault(eid, [])
        for text in _strings(body.get("patterns", []), origin, "patterns"):
            n = len(patterns) + 1
            patterns.append(_Phrase(text.lower(), _Origin(fname, f"event '{eid}' pattern {n}")))


def _merge_modifiers(rules: _Rules, doc: dict[str, Any], fname: str) -> None:
    for mid, body in _id_blocks(doc, fname, "modifiers", "modifier", _MODIFIER_KEYS):
        origin = _Origin(fname, f"modifier '{mid}'")
        words = _phrases(body.get("words", []), origin, "words")
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
        excluded = set(_strings(body.get("except_events", []), origin, "except_events"))
        for e in events | excluded:
            _check_event(e, origin, f"event '{e}'")
        events -= excluded
        only_in = body.get("only_in", "any")
        if only_in not in ("any", "headline", "summary"):
            raise origin.error("only_in must be 'any', 'headline' or 'summary'")
        why = _text(body, "why", origin, mid)
        rules.modifiers[mid] = _Modifier(
            mid, why, where, window, words, frozenset(events), only_in, origin
        )


def _disable_requests(doc: dict[str, Any], fname: str) -> list[tuple[str, Any, _Origin]]:
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
                if not _drop_phrases(rules.events.values(), text):
                    raise origin.error(f"no event pattern '{text.lower()}' to disable")
        elif key == "aliases":
            groups = [
                group
                for party in rules.parties.values()
                for group in (party.aliases, party.contextual, party.acronyms)
            ]
            for text in value:
                if not _drop_phrases(groups, text):
                    raise origin.error(f"no party alias '{text.lower()}' to disable")
        elif key == "words":
            for name, words in value.items():
                sub = _Origin(origin.file, f"disable words '{name}'")
                if name not in rules.lists:
                    raise sub.error(f"no word list '{{{name}}}'")
                for w in _strings(words, sub, "words"):
                    if not _drop_phrases([rules.lists[name]], w):
                        raise sub.error(f"'{w}' is not in the list")


def _drop_phrases(groups: Iterable[list[_Phrase]], text: str) -> bool:
    """Remove the phrases written `text` (in any case) from each group; True if any was."""
    text = text.lower()
    dropped = False
    for group in groups:
        kept = [phrase for phrase in group if phrase.text.lower() != text]
        dropped = dropped or len(kept) != len(group)
        group[:] = kept
    return dropped


# Compiling: phrases and patterns -> regexes over codes
# --------------------------------------------------------------------------------------------
# An atom is one word position: an exact word ("strike"), a prefix ("negotiat*") or any
# number ("#"). A phrase is a tuple of atoms; a step of a pattern is a set of phrases (its
# alternatives), optional or not; "..." is a gap step and "$" the end of a clause.

Atom = str
PhraseT = tuple[Atom, ...]
Seq = tuple[frozenset[str], ...]  # a phrase as the codes each of its words can have
_GAP = "gap"
_END = "end"
_ALT = "alt"
_PATTERN_CHARS_RE = re.compile(r"[{}|?$]|\.\.\.")
_WORD_CHARS_RE = re.compile(r"^[\w.'&%+@,:]+$")
# For choosing the word that gates a pattern (see _Compiler.gate): English words found in
# most texts, and words found in most labor stories. Only speed depends on these lists.
_COMMON = frozenset(
    "the to a an and of in on for with is are was were will at as by from it its his her their "
    "has have had be new that this says said".split()
)
_FREQUENT = frozenset(
    "talks negotiations negotiators bargaining strike strikes striking deal contract agreement "
    "union unions guild members writers actors performers studios studio producers vote votes "
    "voted offer proposal table meeting session sessions week day year time first last back "
    "up out over after more set says would could will may can not no".split()
)


def _atoms(text: str, origin: _Origin) -> list[Atom]:
    """The atoms of one plain phrase ("walk out", "negotiat*", "# days", "won't")."""
    atoms: list[Atom] = []
    for piece in re.split(r"[\s/-]+", text.strip()):
        if not piece:
            continue
        if piece == "#":
            atoms.append("#")
            continue
        star = piece.endswith("*")
        stem = piece[:-1] if star else piece
        if not stem or "*" in stem or "#" in stem or not _WORD_CHARS_RE.match(stem):
            hint = " ('#' stands for a whole number; use '1*' for numbers starting with 1)"
            raise origin.error(
                f"'{text}': use letters, digits, spaces, - and a final * only"
                + (hint if "#" in stem else "")
            )
        words = [w for tok in _TOKEN_RE.findall(stem) for w in _words_of(tok)]
        if not words:
            raise origin.error(f"'{text}': no word in it")
        if star:
            if len(words) != 1:
                raise origin.error(f"'{piece}': '*' goes at the end of a single word")
            atoms.append(words[0] + "*")
        else:
            atoms.extend(words)
    if not atoms:
        raise origin.error(f"'{text}': empty")
    return atoms


def _variants(atoms: list[Atom]) -> set[PhraseT]:
    """A phrase and, for two words, the same words run together ("walk out" also matches
    "walkout", "sag aftra" also "SAGAFTRA")."""
    out = {tuple(atoms)}
    if len(atoms) == 2 and all(re.match(r"^[a-z0-9]+$", a) for a in atoms):
        joined = "".join(atoms)
        if len(joined) <= 24:
            out.add((joined,))
    return out


@dataclass
class _Pattern:
    """A parsed pattern: steps of (kind, phrases or gap size, optional)."""

    steps: list[tuple[str, Any, bool]]
    text: str
    origin: _Origin
    lead: str = ""  # "party"/"union": starts with that list, matched from the party mentions


def _without_optional_start(
    steps: list[tuple[str, Any, bool]],
) -> list[list[tuple[str, Any, bool]]]:
    """A pattern whose first word is optional, as the patterns with and without it."""
    if steps and steps[0][0] == _ALT and steps[0][2]:
        rest = steps[1:]
        while rest and rest[0][0] == _GAP:
            rest = rest[1:]
        with_first = [(_ALT, steps[0][1], False), *steps[1:]]
        return [with_first, *_without_optional_start(rest)] if rest else [with_first]
    return [steps]


def _optional(regex: str) -> str:
    return f"(?:{regex})?"


class _Compiler:
    """Parses phrases and patterns into atoms, gives each word a code, renders regexes."""

    def __init__(self, lists: dict[str, list[_Phrase]], gap: int) -> None:
        self.raw_lists = lists
        self.gap = gap
        self.lists: dict[str, frozenset[PhraseT]] = {}
        self.words: dict[str, str] = {}
        self.prefixes: dict[str, str] = {}
        self.acronym_words: dict[str, str] = {}  # "sag" -> "§sag" (its capitals-only twin)
        self.weight: dict[str, float] = {}  # word key -> how common (see score)
        self._key_classes: dict[Atom, frozenset[str]] = {}
        self.marker_of: dict[str, int] = {}
        self._markers_made = 0
        self._classes: dict[Atom, frozenset[str]] = {}
        self._sorted_words: list[str] | None = None
        self.end_re = _END_RE  # what "$" renders to (see compile_rules)

    # ---- codes
    def register(self, atom: Atom) -> None:
        """Note a word or prefix; codes are given out by `assign_codes`."""
        if atom == "#":
            return
        if self._sorted_words is not None:
            if atom not in self.words and atom[:-1] not in self.prefixes:
                raise AssertionError(f"word registered after codes were given: {atom!r}")
            return
        if atom.endswith("*"):
            self.prefixes.setdefault(atom[:-1], "")
        else:
            self.words.setdefault(atom, "")

    def key_class(self, atom: Atom) -> frozenset[str]:
        """Every word key (a word, or "p*" for a prefix; "#" for an unknown number) that a
        token matching `atom` can have: what `atom_class` is before codes are given out."""
        cls = self._key_classes.get(atom)
        if cls is not None:
            return cls
        keys: set[str] = set()
        if atom == "#":
            keys.add("#")
            keys.update(w for w in self.words if w[:1].isdigit())
            keys.update(p + "*" for p in self.prefixes if p[:1].isdigit())
        elif atom.endswith("*"):
            stem = atom[:-1]
            keys.update(w for w in self.words if w.startswith(stem))
            keys.update(p + "*" for p in self.prefixes if p.startswith(stem))
        else:
            keys.add(atom)
        for low, twin in self.acronym_words.items():
            if low in keys or twin in keys:
                keys.update((low, twin))
        cls = self._key_classes[atom] = frozenset(keys)
        return cls

    def score(self, keys: Iterable[str]) -> float:
        """How likely a text is to have one of these words, roughly: each word counts, a
        common English word a lot, a frequent word of labor news much, a word many rules
        need (likely frequent too) more than a rare one. A number never gates."""
        weight = self.weight
        return sum(weight.get(k, 0.05) for k in keys)

    def step_keys(self, phrases: Iterable[PhraseT]) -> frozenset[str]:
        """Words one of which a text must have for a step to match: for each alternative,
        those of its rarest word ("on hold" needs "hold")."""
        keys: set[str] = set()
        for phrase in phrases:
            keys |= min((self.key_class(a) for a in phrase), key=self.score)
        return frozenset(keys)

    def anchor(self, steps: Sequence[tuple[str, Any, bool]]) -> frozenset[str]:
        """The words of a pattern's rarest required step: the text must have one of them for
        the pattern to be tried at all (empty: the pattern cannot be gated)."""
        required = [
            self.step_keys(arg) for kind, arg, optional in steps if kind == _ALT and not optional
        ]
        required = [keys for keys in required if "#" not in keys]
        return min(required, key=self.score) if required else frozenset()

    def assign_codes(self, roles: Sequence[Iterable[Atom]]) -> None:
        """Give every word and prefix its code. The high (first) character says what role a
        word plays, by pools: the words of `roles[0]` get the first high characters, those
        of `roles[1]` (not already placed) the next ones, and so on, every other word the
        last ones. A regex's first character is then in the pool of the words it can start
        with, and the regex engine skips, in C and without trying a match, every word of
        the other pools: most of a text, for most regexes."""
        keys = [*self.words, *(p + "*" for p in self.prefixes)]
        placed: set[str] = set()
        pools: list[list[str]] = []
        for atoms in roles:
            role = {k for a in atoms for k in self.key_class(a)} - {"#"} - placed
            pools.append([k for k in keys if k in role])
            placed |= role
        pools.append([k for k in keys if k not in placed])
        sizes = [max(1, -(-len(pool) // len(_LOW))) for pool in pools]
        if sum(sizes) > len(_HIGH):
            raise RulesError(f"rules: {len(keys)} different words and prefixes; that is too many")
        sizes[-1] += len(_HIGH) - sum(sizes)  # spare high characters go to the last pool
        first_high = 0
        for pool, size in zip(pools, sizes, strict=True):
            for n, key in enumerate(pool):
                code = chr(_HIGH[first_high + n // len(_LOW)]) + chr(_LOW[n % len(_LOW)])
                if key.endswith("*"):
                    self.prefixes[key[:-1]] = code
                else:
                    self.words[key] = code
            first_high += size
        self._sorted_words = sorted(self.words)

    def atom_class(self, atom: Atom) -> frozenset[str]:
        """Every code a token matching `atom` can have."""
        cls = self._classes.get(atom)
        if cls is not None:
            return cls
        if self._sorted_words is None:
            raise AssertionError("assign_codes first")
        codes: set[str] = set()
        if atom == "#":
            codes.add(_NUMBER)
            codes.update(c for w, c in self.words.items() if w[:1].isdigit())
            codes.update(c for p, c in self.prefixes.items() if p[:1].isdigit())
        elif atom.endswith("*"):
            stem = atom[:-1]
            codes.add(self.prefixes[stem])
            codes.update(c for w, c in self.words.items() if w.startswith(stem))
            codes.update(c for p, c in self.prefixes.items() if p.startswith(stem))
            codes.update(
                self.words[twin] for low, twin in self.acronym_words.items() if low.startswith(stem)
            )
        else:
            codes.add(self.words[atom])
            twin = self.acronym_words.get(atom)
            if twin is not None:
                codes.add(self.words[twin])
        cls = frozenset(codes)
        self._classes[atom] = cls
        return cls

    # ---- parsing
    def plain(self, text: str, origin: _Origin) -> set[PhraseT]:
        phrases = _variants(_atoms(text, origin))
        for phrase in phrases:
            for atom in phrase:
                self.register(atom)
        return phrases

    def expand_lists(self) -> None:
        """Word lists with {other} entries replaced by the other list's phrases."""
        done: dict[str, frozenset[PhraseT]] = {}
        raw = self.raw_lists

        def expand(name: str, trail: tuple[str, ...]) -> frozenset[PhraseT]:
            if name in done:
                return done[name]
            out: set[PhraseT] = set()
            for p in raw[name]:
                text = p.text.strip()
                if text.startswith("{") and text.endswith("}"):
                    ref = text[1:-1]
                    if ref not in raw:
                        raise p.origin.error(f"unknown word list '{{{ref}}}'")
                    if ref in trail:
                        raise p.origin.error(f"'{{{ref}}}' refers back to itself")
                    out |= expand(ref, (*trail, ref))
                    continue
                if _PATTERN_CHARS_RE.search(text):
                    raise p.origin.error(f"'{p.text}': a list entry is plain words (no | ... ? $)")
                out |= self.plain(text, p.origin)
            done[name] = frozenset(out)
            return done[name]

        for name in raw:
            expand(name, (name,))
        self.lists.update(done)

    def pattern(self, text: str, origin: _Origin) -> _Pattern:
        """'{reach} ...4 {deal}' as steps."""
        steps: list[tuple[str, Any, bool]] = []
        for raw in text.split():
            if raw == "$":
                if not steps or steps[-1][0] != _ALT:
                    raise origin.error("'$' (end of clause) must follow a word")
                steps.append((_END, None, False))
                continue
            if raw.startswith("..."):
                n_text = raw[3:]
                if n_text and not n_text.isdigit():
                    raise origin.error(f"'{raw}': a gap is '...' or '...N' with N a number")
                if not steps:
                    raise origin.error("a pattern cannot start with '...'")
                if steps[-1][0] == _GAP:
                    raise origin.error("two gaps in a row")
                steps.append((_GAP, int(n_text) if n_text else self.gap, False))
                continue
            optional = raw.endswith("?") and len(raw) > 1
            word = raw[:-1] if optional else raw
            phrases: set[PhraseT] = set()
            for alt in word.split("|"):
                if not alt:
                    raise origin.error(f"'{raw}': empty alternative")
                if alt.startswith("{") or alt.endswith("}"):
                    name = alt[1:-1] if alt.startswith("{") and alt.endswith("}") else ""
                    if not _NAME_RE.match(name):
                        raise origin.error(f"'{alt}': a word list is written {{name}}")
                    if name not in self.lists:
                        raise origin.error(f"unknown word list '{{{name}}}'")
                    phrases |= self.lists[name]
                else:
                    if alt.startswith("*") or "{" in alt or "}" in alt:
                        raise origin.error(f"'{alt}': use letters, digits, - and * only")
                    phrases |= self.plain(alt.replace("-", " "), origin)
            if not phrases:
                raise origin.error(f"'{raw}': the word list is empty")
            steps.append((_ALT, frozenset(phrases), optional))
        words = [s for s in steps if s[0] == _ALT]
        if not words:
            raise origin.error("empty pattern")
        if steps[-1][0] == _GAP:
            raise origin.error("a pattern cannot end with '...'")
        if all(s[2] for s in words):
            raise origin.error("a pattern needs at least one word that is not optional")
        first = text.split()[0]
        lead = first[1:-1] if first in ("{party}", "{union}") else ""
        return _Pattern(steps, text, origin, lead)

    def phrase_or_pattern(self, p: _Phrase) -> _Pattern:
        text = p.text.strip()
        if _PATTERN_CHARS_RE.search(text):
            return self.pattern(text, p.origin)
        return _Pattern([(_ALT, frozenset(self.plain(text, p.origin)), False)], text, p.origin)

    # ---- rendering
    def _classes_of(self, phrases: Iterable[PhraseT]) -> set[Seq]:
        return {tuple(self.atom_class(a) for a in phrase) for phrase in phrases}

    def render_codes(self, codes: Iterable[str]) -> str:
        """A set of codes: one branch per high character, a class of low characters."""
        by_high: dict[str, set[str]] = {}
        for code in codes:
            by_high.setdefault(code[0], set()).add(code[1])
        branches = [re.escape(h) + _char_class(by_high[h]) for h in sorted(by_high)]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    def render_seqs(self, seqs: Iterable[Seq]) -> str:
        """Alternatives as a regex in which every branch starts with a plain character (the
        high character of its first code), so that the engine picks a branch with one
        comparison, and where alternatives with the same continuation share one class for
        their first word. Longer alternatives are tried first."""
        by_high: dict[str, set[Seq]] = {}
        for seq in seqs:
            for high, codes in _by_high(seq[0]).items():
                by_high.setdefault(high, set()).add((codes, *seq[1:]))
        branches = [re.escape(h) + self._render_lows(by_high[h]) for h in sorted(by_high)]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    def _render_lows(self, seqs: Iterable[Seq]) -> str:
        """Alternatives whose first codes all share one high character, without it."""
        by_tail: dict[Seq, set[str]] = {}
        for seq in seqs:
            by_tail.setdefault(seq[1:], set()).update(code[1] for code in seq[0])
        by_lows: dict[frozenset[str], list[Seq]] = {}
        for tail, lows in by_tail.items():
            by_lows.setdefault(frozenset(lows), []).append(tail)
        subs: list[tuple[int, str]] = []
        for lows, tails in by_lows.items():
            longer = [t for t in tails if t]
            regex = _char_class(lows)
            if longer:
                rest = self.render_seqs(longer)
                regex += _optional(rest) if () in tails else rest
            subs.append((max((len(t) for t in longer), default=0), regex))
        subs.sort(key=lambda s: (-s[0], s[1]))
        return subs[0][1] if len(subs) == 1 else "(?:" + "|".join(s[1] for s in subs) + ")"

    def render_phrases(self, phrases: Iterable[PhraseT]) -> str:
        return self.render_seqs(self._classes_of(phrases))

    def render_steps(self, steps: Sequence[tuple[str, Any, bool]]) -> str:
        out: list[str] = []
        for kind, arg, optional in steps:
            if kind == _GAP:
                out.append(f"{_GAP_RE}{{0,{arg}}}?")
            elif kind == _END:
                out.append(self.end_re)
            else:
                piece = self.render_phrases(arg)
                out.append(_optional(piece) if optional else piece)
        return "".join(out)

    def render_alternatives(
        self,
        entries: Sequence[tuple[list[tuple[str, Any, bool]], int | None]],
        by_order: bool = False,
        by_code: bool = False,
    ) -> str:
        """Several patterns as one regex, dispatched on the high character of their first
        code: every branch starts with a plain character, so the engine skips in C every
        position where no pattern can start, and picks a branch with one comparison. Each
        pattern ends in an empty named group that tells which entry matched (see
        `marker_of`: name -> the entry's id). At one position, longer alternatives are
        tried first, then earlier entries; with `by_order`, earlier entries first."""
        self.marker_of = {}
        if len(entries) == 1 and entries[0][1] is None and not by_code:
            # One pattern: its first step dispatches on the high character by itself, and
            # the rest follows once.
            return self.render_steps(entries[0][0])
        firsts = {steps[0] if steps else None for steps, _ in entries}
        if (
            len(firsts) == 1
            and not by_code
            and all(entry is None for _, entry in entries)
            and next(iter(firsts)) is not None
            and next(iter(firsts))[0] == _ALT
            and not next(iter(firsts))[2]
        ):
            # Patterns that start with the same step: that step once, then their rests.
            rests = sorted({self.render_steps(steps[1:]) for steps, _ in entries}, key=len)
            rests.reverse()  # longer rests first
            tail = rests[0] if len(rests) == 1 else "(?:" + "|".join(rests) + ")"
            return self.render_steps(entries[0][0][:1]) + tail
        by_high: dict[str, list[tuple[int, int, str]]] = {}
        loose: list[str] = []  # patterns that do not start with a word (lead patterns' rests)
        for order, (steps, entry) in enumerate(entries):
            for variant in _without_optional_start(steps) if steps else [steps]:
                if not variant or variant[0][0] != _ALT:
                    loose.append(self.render_steps(variant) + self._marker(entry))  # type: ignore[arg-type]
                    continue
                rest = self.render_steps(variant[1:])
                extra = len(variant) - 1  # a pattern counts as longer than its first words
                by_first: dict[str, set[Seq]] = {}
                for seq in self._classes_of(variant[0][1]):
                    for high, codes in _by_high(seq[0]).items():
                        by_first.setdefault(high, set()).add((codes, *seq[1:]))
                for high, seqs in by_first.items():
                    if by_code:  # one branch per first code: a comparison picks it
                        for code in sorted({c for seq in seqs for c in seq[0]}):
                            tails = {seq[1:] for seq in seqs if code in seq[0]}
                            longer = [t for t in tails if t]
                            tail = self.render_seqs(longer) if longer else ""
                            if longer and () in tails:
                                tail = _optional(tail)
                            body = re.escape(code[1]) + tail + rest + self._marker(entry)
                            longest = max(len(t) for t in tails) + 1 + extra
                            key = (order, -longest) if by_order else (-longest, order)
                            by_high.setdefault(high, []).append((*key, body))
                        continue
                    body = self._render_lows(seqs) + rest + self._marker(entry)
                    longest = max(len(seq) for seq in seqs) + extra
                    key = (order, -longest) if by_order else (-longest, order)
                    by_high.setdefault(high, []).append((*key, body))
        branches: list[str] = []
        for high in sorted(by_high):
            alts = sorted(by_high[high])
            if by_code:
                # Alternatives that start with the same low character share one branch.
                by_low: dict[str, list[str]] = {}
                for _, _, b in alts:
                    by_low.setdefault(b[0], []).append(b[1:])  # low characters need no escape
                bodies = [
                    low + (rests[0] if len(rests) == 1 else "(?:" + "|".join(rests) + ")")
                    for low, rests in by_low.items()
                ]
            else:
                bodies = [b for _, _, b in alts]
            body = bodies[0] if len(bodies) == 1 else "(?:" + "|".join(bodies) + ")"
            branches.append(re.escape(high) + body)
        branches += loose
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    def sequences(self, steps: Sequence[tuple[str, Any, bool]]) -> set[str]:
        """Every code string a gap-free pattern can match (to tell from a match's codes
        which pattern it was)."""
        out = {""}
        for kind, arg, optional in steps:
            if kind != _ALT:
                raise AssertionError("sequences of a pattern with a gap")
            step: set[str] = set()
            for phrase in arg:
                seqs = {""}
                for atom in phrase:
                    seqs = {a + c for a in seqs for c in self.atom_class(atom)}
                step |= seqs
            if optional:
                step.add("")
            out = {a + b for a in out for b in step}
        return out

    def _marker(self, entry: int | None) -> str:
        """An empty named group that tells which entry matched; none for entry None (a
        match object copies every group's slots, so markers are used sparingly)."""
        if entry is None:
            return ""
        self._markers_made += 1
        name = f"m_{self._markers_made}"
        self.marker_of[name] = entry
        return f"(?P<{name}>)"

    def first_codes(self, phrases: Iterable[PhraseT]) -> frozenset[str]:
        codes: set[str] = set()
        for phrase in phrases:
            codes |= self.atom_class(phrase[0])
        return frozenset(codes)


def _by_high(codes: Iterable[str]) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for code in codes:
        out.setdefault(code[0], set()).add(code)
    return {high: frozenset(group) for high, group in out.items()}


def _char_class(chars: Iterable[str]) -> str:
    """A regex class of single characters, with runs written as ranges."""
    points = sorted({ord(c) for c in chars})
    if len(points) == 1:
        return re.escape(chr(points[0]))
    parts: list[str] = []
    i = 0
    while i < len(points):
        j = i
        while j + 1 < len(points) and points[j + 1] == points[j] + 1:
            j += 1
        lo, hi = re.escape(chr(points[i])), re.escape(chr(points[j]))
        parts.append(lo if j == i else f"{lo}{hi}" if j == i + 1 else f"{lo}-{hi}")
        i = j + 1
    return "[" + "".join(parts) + "]"


# --------------------------------------------------------------------------------------------
# The compiled program: plain data, so that it can be cached
# --------------------------------------------------------------------------------------------


def _compile(rules: _Rules, version: str) -> dict[str, Any]:
    gap = int(rules.settings.get("gap", _DEFAULT_GAP))
    comp = _Compiler(rules.lists, gap)
    setting_origin = _Origin("rules", "settings")

    # Acronyms first: their capitals-only twin words must exist before any class is built.
    acronyms: dict[str, str] = {}
    acronym_party: dict[str, str] = {}
    for pid in GUILDS:
        party = rules.parties.get(pid)
        for p in party.acronyms if party else ():
            twin = "\u00a7" + p.text.lower()
            acronyms[p.text] = twin
            acronym_party[twin] = pid
            comp.register(twin)
            comp.register(p.text.lower())
            comp.acronym_words[p.text.lower()] = twin

    # Word lists, then the built-in {party} and {union} lists from the party names.
    comp.expand_lists()
    party_phrases: dict[tuple[str, bool], set[PhraseT]] = {}
    for contextual in (False, True):
        for pid in GUILDS:
            party = rules.parties.get(pid)
            if party is None:
                continue
            phrases: set[PhraseT] = set()
            for p in party.contextual if contextual else party.aliases:
                if _PATTERN_CHARS_RE.search(p.text):
                    raise p.origin.error(f"'{p.text}': a name is plain words (no | ... ? $)")
                phrases |= comp.plain(p.text, p.origin)
            if not contextual:
                phrases |= {(twin,) for twin, owner in acronym_party.items() if owner == pid}
            if phrases:
                party_phrases[(pid, contextual)] = phrases
    comp.lists["party"] = frozenset(p for ph in party_phrases.values() for p in ph)
    comp.lists["union"] = frozenset(
        p for (pid, _), ph in party_phrases.items() if pid != STUDIOS for p in ph
    )

    # Parse everything (registering every word) before any class is built.
    mask_specs: list[tuple[list[_Phrase], str, str, bool]] = []
    for pid in GUILDS:
        party = rules.parties.get(pid)
        if party and party.nots:
            mask_specs.append(
                (party.nots, f"parties.{pid}.not", f"not the same as {party.name}", True)
            )
    for ff in rules.false_friends.values():
        mask_specs.append((ff.phrases, f"false_friends.{ff.id}", ff.why, False))
    if rules.others:
        mask_specs.append((rules.others, "others", "an organisation we do not track", True))
    masks = [[comp.phrase_or_pattern(p) for p in spec[0]] for spec in mask_specs]
    contexts = {
        name: [comp.phrase_or_pattern(p) for p in phrases]
        for name, phrases in rules.context.items()
    }
    events = [
        (eid, pi, p.text, comp.pattern(p.text, p.origin))
        for eid in EVENTS
        for pi, p in enumerate(rules.events.get(eid, []))
    ]
    modifiers = [
        (mod, [comp.phrase_or_pattern(p) for p in mod.words]) for mod in rules.modifiers.values()
    ]
    settings = {
        name: {p for w in words for p in comp.plain(w, setting_origin)}
        for name, words in (
            ("passing", rules.settings.get("passing", ["as"])),
            ("clause", rules.settings.get("clause_words", ["but", "while", "although"])),
            ("with", rules.settings.get("with_words", ["with", "and", "against"])),
        )
    }
    for pid, party in rules.parties.items():
        for ctx in party.context:
            if ctx != "guild" and ctx not in contexts:
                origin = party.aliases[0].origin if party.aliases else _Origin("rules", "")
                raise RulesError(
                    f"{origin.file}: party '{pid}' context: unknown context '{ctx}' "
                    f"(known: guild, {', '.join(sorted(contexts))})"
                )

    # Which masks the scanner looks for along with the party names: those that start with
    # one of a few uncommon words. The others (a gap, a list, a common first word) are
    # regexes of their own, tried only when all the words they need occur.
    scan_groups: list[list[_Pattern]] = []
    scan_info: list[list[Any]] = []  # ["mask", rule, why, org] | ["party", pid, contextual, rule]
    gated_specs: list[tuple[_Pattern, str, str, bool]] = []
    for (_, rule, why, org), parsed in zip(mask_specs, masks, strict=True):
        plain: list[_Pattern] = []
        for pattern in parsed:
            first = pattern.steps[0]
            starts = {phrase[0] for phrase in first[1]} if first[0] == _ALT else set()
            if (
                first[0] != _ALT
                or first[2]
                or any(step[0] in (_GAP, _END) for step in pattern.steps)
                or len(starts) > _SCANNER_FIRST_WORDS
                or starts & _COMMON
                or any(a == "#" or a.endswith("*") for a in starts)
            ):
                gated_specs.append((pattern, rule, why, org))
            else:
                plain.append(pattern)
        if plain:
            scan_groups.append(plain)
            scan_info.append(["mask", rule, why, org])
    for pid, contextual in sorted(party_phrases, key=lambda k: k[1]):
        kind = "contextual" if contextual else "aliases"
        phrases = party_phrases[(pid, contextual)]
        scan_groups.append([_Pattern([(_ALT, frozenset(phrases), False)], "", setting_origin)])
        scan_info.append(["party", pid, contextual, f"parties.{pid}.{kind}"])
    # ---- how common each word is, and the anchor of every gated rule
    # A common English word is in most texts, a frequent word of labor news in most of
    # ours, any other word hardly ever. The anchor of a rule is its rarest required step.
    weight: dict[str, float] = {"#": float("inf")}
    for words, extra in ((_COMMON, 100.0), (_FREQUENT, 20.0)):
        for word in words:
            if word in comp.words:
                weight[word] = weight.get(word, 0.05) + extra
    comp.weight = weight

    # A group: the patterns of one event with the same anchor, in one regex.
    groups: dict[tuple[str, frozenset[str], str], list[tuple[int, str, list[Any]]]] = {}
    for eid, pi, text, pattern in events:
        steps = pattern.steps[1:] if pattern.lead else pattern.steps
        groups.setdefault((eid, comp.anchor(steps), pattern.lead), []).append((pi, text, steps))
    gated = [
        (pattern, rule, why, org, comp.anchor(pattern.steps))
        for pattern, rule, why, org in gated_specs
    ]
    anchors: set[str] = set()
    for _, anchor, _ in groups:
        anchors |= anchor
    for *_, anchor in gated:
        anchors |= anchor

    cue_starts: list[Atom] = []
    for _, parsed in modifiers:
        for pattern in parsed:
            for steps in _without_optional_start(pattern.steps):
                cue_starts.extend(phrase[0] for phrase in steps[0][1])
    context_starts = [
        phrase[0]
        for patterns in contexts.values()
        for pattern in patterns
        for steps in _without_optional_start(pattern.steps)
        for phrase in steps[0][1]
    ]
    party_starts = [phrase[0] for phrases in party_phrases.values() for phrase in phrases]
    comp.assign_codes(
        [
            anchors,  # the rarest word each rule needs
            party_starts,
            [  # the masks the scanner looks for
                phrase[0]
                for group, info in zip(scan_groups, scan_info, strict=True)
                if info[0] == "mask"
                for pattern in group
                for phrase in pattern.steps[0][1]
            ],
            cue_starts,
            context_starts,
        ]
    )

    def codes_of(keys: Iterable[str]) -> list[str]:
        return [comp.prefixes[k[:-1]] if k.endswith("*") else comp.words[k] for k in keys]

    # "$" ends a clause at its punctuation and also just before a clause word ("writers strike
    # AFTER talks collapse", "thesps walk out AS ..."), which starts a clause of its own.
    clause_words = comp.render_phrases(settings["clause"])
    if settings["clause"]:
        comp.end_re = _END_RE[:-1] + "|" + clause_words + ")"

    # ---- the scanner: party names and the masks that start with an uncommon word, in one
    # regex that starts with a class of the starters' high characters, so the engine skips
    # every other word in C (see assign_codes). Masks come first at one position.
    # What a match is, from the codes it matched: masks first, as in the regex.
    scanner = comp.render_alternatives(
        [(pattern.steps, None) for group in scan_groups for pattern in group],
        by_order=True,
        by_code=True,
    )
    scanned: dict[str, list[Any]] = {}
    for group, info in zip(scan_groups, scan_info, strict=True):
        for pattern in group:
            for sequence in comp.sequences(pattern.steps):
                scanned.setdefault(sequence, info)

    # ---- gated rules: event groups and the other masks, tried when their anchor occurs
    # A rule id: event groups first, then masks. `anchors` maps an anchor code to the rules
    # it opens; `always`: rules without an anchor (tried whenever a party is named).
    code_rules: dict[str, list[int]] = {}
    always: list[int] = []
    event_list: list[list[Any]] = []
    for (eid, anchor, lead), members in groups.items():
        rid = len(event_list)
        for code in codes_of(anchor):
            code_rules.setdefault(code, []).append(rid)
        if not anchor:
            always.append(rid)
        source = comp.render_alternatives([(steps, None) for _, _, steps in members])
        singles = [comp.render_alternatives([(steps, None)]) for _, _, steps in members]
        event_list.append(
            [
                eid,
                source,
                lead,
                [[pi, text, one] for (pi, text, _), one in zip(members, singles, strict=True)],
            ]
        )
    gated_masks: list[list[Any]] = []
    for pattern, rule, why, org, anchor in gated:
        rid = len(event_list) + len(gated_masks)
        for code in codes_of(anchor):
            code_rules.setdefault(code, []).append(rid)
        if not anchor:
            always.append(rid)
        gated_masks.append([comp.render_alternatives([(pattern.steps, None)]), rule, why, org])

    # ---- contexts: one regex each
    context_regexes = {
        name: comp.render_alternatives([(p.steps, None) for p in patterns])
        for name, patterns in contexts.items()
    }

    # ---- modifiers: all cue words in one regex
    # Each alternative ends in a marker that says which modifiers' cues start there, and
    # how many words long each is (0: as long as the match). Where a cue is the start of a
    # longer one ("not" of "not yet"), the longer one carries the shorter one's modifiers
    # too, since the regex reports one alternative per place.
    plain_cues: dict[PhraseT, set[int]] = {}
    pattern_cues: list[tuple[_Pattern, int]] = []
    for mi, (_, parsed) in enumerate(modifiers):
        for pattern in parsed:
            if len(pattern.steps) == 1 and not pattern.steps[0][2]:
                for phrase in pattern.steps[0][1]:
                    plain_cues.setdefault(phrase, set()).add(mi)
            else:
                pattern_cues.append((pattern, mi))
    by_first_key: dict[str, list[PhraseT]] = {}
    for phrase in plain_cues:
        for key in comp.key_class(phrase[0]):
            by_first_key.setdefault(key, []).append(phrase)

    def prefix_marks(classes: Sequence[frozenset[str]]) -> set[tuple[int, int]]:
        """The plain cues that match wherever a cue starting with these words matches."""
        marks: set[tuple[int, int]] = set()
        for other in by_first_key.get(next(iter(classes[0])), ()) if classes[0] else ():
            if len(other) <= len(classes) and all(
                comp.key_class(a) >= classes[i] for i, a in enumerate(other)
            ):
                marks.update((mi, len(other)) for mi in plain_cues[other])
        return marks

    cue_entries: list[tuple[list[Any], int]] = []
    cue_marks: list[list[tuple[int, int]]] = []
    # A cue with a gap or a list is tried before the plain words it starts with (it is
    # longer), and carries their modifiers too.
    # Where its first step is a choice of words, the cue is split by the plain cues those
    # words are, so that a marker never names a plain cue that is not there.
    # The same cue in several modifiers is one entry carrying all their marks.
    entry_of: dict[str, int] = {}

    def add_cue(steps: list[Any], marks: set[tuple[int, int]]) -> None:
        key = comp.render_steps(steps)
        if key in entry_of:
            cue_marks[entry_of[key]] = sorted({*cue_marks[entry_of[key]], *marks})
            return
        entry_of[key] = len(cue_marks)
        cue_entries.append((steps, len(cue_marks)))
        cue_marks.append(sorted(marks))

    for pattern, mi in pattern_cues:
        first = pattern.steps[0]
        if first[0] != _ALT or first[2]:
            add_cue(pattern.steps, {(mi, 0)})
            continue
        split: dict[frozenset[tuple[int, int]], list[PhraseT]] = {}
        for phrase in first[1]:
            extra = prefix_marks([comp.key_class(phrase[0])]) if len(phrase) == 1 else set()
            split.setdefault(frozenset(extra), []).append(phrase)
        for extra, phrases in sorted(split.items(), key=lambda item: sorted(item[0])):
            add_cue([(_ALT, frozenset(phrases), False), *pattern.steps[1:]], {(mi, 0), *extra})
    by_marks: dict[frozenset[tuple[int, int]], list[PhraseT]] = {}
    for phrase in plain_cues:
        marks = prefix_marks([comp.key_class(a) for a in phrase])
        by_marks.setdefault(frozenset(marks), []).append(phrase)
    # A match's codes name every plain cue that matches them (all of them are there).
    plain_sets: dict[str, set[tuple[int, int]]] = {}
    for marks, phrases in by_marks.items():
        for sequence in comp.sequences([(_ALT, frozenset(phrases), False)]):
            plain_sets.setdefault(sequence, set()).update(marks)
    # Plain cues by their length in words, so that at one place the regex tries every cue,
    # plain or not, longest first.
    by_length: dict[int, list[PhraseT]] = {}
    for phrase in plain_cues:
        by_length.setdefault(len(phrase), []).append(phrase)
    for _, phrases in sorted(by_length.items(), reverse=True):
        cue_entries.append(([(_ALT, frozenset(phrases), False)], None))
    plain_marks = {sequence: sorted(marks) for sequence, marks in plain_sets.items()}
    cues = comp.render_alternatives(cue_entries) if cue_entries else "(?!)"
    cue_markers = {name: cue_marks[i] for name, i in comp.marker_of.items()}
    modifier_list = [[mod.id, mod.why, list(mod.where), mod.window] for mod, _ in modifiers]
    mods_for: dict[str, list[int]] = {}
    for eid in EVENTS:
        for kind in ("headline", "summary"):
            mods_for[f"{eid}|{kind}"] = [
                i
                for i, (mod, _) in enumerate(modifiers)
                if eid in mod.events and mod.only_in in ("any", kind)
            ]

    clause = comp.render_codes(_PUNCT_CODE[p] for p in ",.;:?!|")
    clause += "|" + clause_words
    return {
        "format": _FORMAT,
        "version": version,
        "words": comp.words,
        "prefixes": comp.prefixes,
        "acronyms": acronyms,
        "party_starter": comp.render_codes(
            c for a in party_starts for c in comp.atom_class(a) if c != _NUMBER
        ),
        "anchor_class": comp.render_codes(codes_of(anchors)),
        "code_rules": code_rules,
        "always": always,
        "scanner": scanner,
        "scanned": scanned,
        "gated_masks": gated_masks,
        "party_context": {pid: list(p.context) for pid, p in rules.parties.items()},
        "contexts": context_regexes,
        "events": event_list,
        "cues": cues,
        "cue_markers": cue_markers,
        "plain_cues": plain_marks,
        "modifiers": modifier_list,
        "mods_for": mods_for,
        "passing": comp.render_phrases(settings["passing"]),
        "clause": clause,
        "with_codes": sorted(comp.first_codes(settings["with"])),
        "counterpart_events": list(rules.settings.get("counterpart_events", [])),
        "summary_background": {
            eid: list(laters)
            for eid, laters in rules.settings.get("summary_background", {}).items()
        },
        "counterparts": sorted(pid for pid, p in rules.parties.items() if "guild" in p.context),
    }


def compile_rule_files(files: Sequence[tuple[str, bytes]], version: str) -> dict[str, Any]:
    """The program for these rule files ((label, content) in order: defaults, then users')."""
    rules = _Rules()
    requests: list[tuple[str, Any, _Origin]] = []
    for label, raw in files:
        try:
            doc = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise RulesError(f"{label}: not UTF-8 text ({exc.reason})") from exc
        except tomllib.TOMLDecodeError as exc:
            raise RulesError(f"{label}: not valid TOML: {exc}") from exc
        requests += _merge_file(rules, doc, label)
    _apply_disable(rules, requests)
    return _compile(rules, version)
