"""The rule book: reading the TOML rule files, checking them, and merging them in order.

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

from strikewatch import taxonomy
from strikewatch.errors import RulesError

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
# Keys that only a party a rules file adds may carry: they define its row in the taxonomy.
_NEW_PARTY_KEYS = ("label", "colour", "can_strike")
_NEW_EVENT_KEYS = ("letter", "colour", "aliases")
_PARTY_KEYS = (
    "name",
    "aliases",
    "contextual",
    "acronyms",
    "not",
    "rivals",
    "lookalikes",
    "context",
)
_EXAMPLE_KEYS = ("examples", "counterexamples")
_MODIFIER_KEYS = (
    "id",
    "why",
    "where",
    "window",
    "words",
    "events",
    "except_events",
    "only_in",
    "unless",
    *_EXAMPLE_KEYS,
)
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
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_RULE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
DEFAULT_GAP = 3


@dataclass
class Origin:
    """Where a rule came from, for error messages: 'file: rule: problem'."""

    file: str
    rule: str

    def error(self, problem: str) -> RulesError:
        return RulesError(f"{self.file}: {self.rule}: {problem}")


@dataclass
class Phrase:
    """One user-written phrase or pattern, with where it came from."""

    text: str
    origin: Origin


@dataclass
class Party:
    aliases: list[Phrase] = field(default_factory=list)
    contextual: list[Phrase] = field(default_factory=list)
    acronyms: list[Phrase] = field(default_factory=list)
    nots: list[Phrase] = field(default_factory=list)  # organisations we do not track
    lookalikes: list[Phrase] = field(default_factory=list)  # words that only look like a name
    # Employers and bodies across the table in someone else's bargaining (game publishers,
    # station groups): blanked out, and like `nots` they keep the plain words from counting.
    rivals: list[Phrase] = field(default_factory=list)
    context: list[str] = field(default_factory=lambda: ["labor"])
    name: str = ""


@dataclass
class Modifier:
    id: str
    why: str
    where: tuple[str, ...]
    window: int
    words: list[Phrase]
    events: frozenset[str]
    only_in: str  # "any", "headline" or "summary"
    origin: Origin
    examples: list[Example] = field(default_factory=list)
    # Words that, found in the same sentence, make this modifier not apply ("would" is a
    # guess, but "the strike would end at 12:01 a.m." reports a schedule).
    unless: list[Phrase] = field(default_factory=list)


@dataclass(frozen=True)
class Example:
    """A text a block's rules must tag (an example) or must not (a counterexample): the
    rules editor's own test, run by `strikewatch rules check` and the test suite."""

    headline: str
    summary: str
    counter: bool
    origin: Origin

    @property
    def text(self) -> str:
        return f"{self.headline} || {self.summary}" if self.summary else self.headline


@dataclass
class FalseFriend:
    id: str
    why: str
    phrases: list[Phrase]
    origin: Origin


@dataclass
class RuleBook:
    """All rule files merged: later files extend earlier ones."""

    settings: dict[str, Any] = field(default_factory=dict)
    lists: dict[str, list[Phrase]] = field(default_factory=dict)
    context: dict[str, list[Phrase]] = field(default_factory=dict)
    parties: dict[str, Party] = field(default_factory=dict)
    others: list[Phrase] = field(default_factory=list)
    false_friends: dict[str, FalseFriend] = field(default_factory=dict)
    events: dict[str, list[Phrase]] = field(default_factory=dict)
    event_examples: dict[str, list[Example]] = field(default_factory=dict)
    modifiers: dict[str, Modifier] = field(default_factory=dict)


def _strings(value: Any, origin: Origin, what: str) -> list[str]:
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


def _table(value: Any, origin: Origin) -> dict[str, Any]:
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
        origin = Origin(fname, f"{label} {i}")
        body = _table(body, origin)
        _unknown_keys(body, keys, origin)
        block_id = body.get("id")
        if not isinstance(block_id, str) or not _RULE_ID_RE.match(block_id):
            raise origin.error("needs an id of lowercase letters, digits, - or _")
        yield block_id, body


def _check_event(eid: Any, origin: Origin, what: str = "event") -> None:
    if taxonomy.event(eid) is None:
        known = ", ".join(taxonomy.event_ids())
        raise origin.error(f"unknown {what} (expected one of: {known}, or one [events] adds)")


def _unknown_keys(table: dict[str, Any], allowed: Iterable[str], origin: Origin) -> None:
    allowed = tuple(allowed)
    for key in table:
        if key not in allowed:
            raise origin.error(f"unknown key '{key}' (expected one of: {', '.join(allowed)})")


def _merge_file(rules: RuleBook, doc: dict[str, Any], fname: str) -> list[tuple[str, Any, Origin]]:
    """Add one parsed rule file to `rules`; return its [disable] requests for later."""
    for key in doc:
        if key not in _SECTIONS:
            raise RulesError(
                f"{fname}: unknown section '{key}' (expected one of: {', '.join(_SECTIONS)})"
            )
    _merge_settings(rules, doc, fname)
    _merge_word_tables(rules, doc, fname)
    _merge_parties(rules, doc, fname)
    others = _table(doc.get("others", {}), Origin(fname, "others"))
    _unknown_keys(others, ("names",), Origin(fname, "others"))
    if "names" in others:
        rules.others.extend(_phrases(others["names"], Origin(fname, "others names"), "names"))
    _merge_false_friends(rules, doc, fname)
    _merge_events(rules, doc, fname)
    _merge_modifiers(rules, doc, fname)
    return _disable_requests(doc, fname)


def _phrases(value: Any, origin: Origin, key: str) -> list[Phrase]:
    """A list of strings as the rules read it: lowercased, each knowing where it was written."""
    return [Phrase(w.lower(), origin) for w in _strings(value, origin, key)]


def _text(body: dict[str, Any], key: str, origin: Origin, default: str) -> str:
    value = body.get(key, default)
    if not isinstance(value, str):
        raise origin.error(f"{key} must be a string")
    return value


def _merge_settings(rules: RuleBook, doc: dict[str, Any], fname: str) -> None:
    settings = _table(doc.get("settings", {}), Origin(fname, "settings"))
    for key, value in settings.items():
        origin = Origin(fname, f"settings.{key}")
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


def _merge_word_tables(rules: RuleBook, doc: dict[str, Any], fname: str) -> None:
    """[lists] and [context]: named lists of words, which later files extend."""
    for section, kind, target in (
        ("lists", "list", rules.lists),
        ("context", "context", rules.context),
    ):
        for name, words in _table(doc.get(section, {}), Origin(fname, section)).items():
            origin = Origin(fname, f"{kind} '{name}'")
            if not NAME_RE.match(name):
                raise origin.error(f"{kind} names use lowercase letters, digits and _ only")
            if section == "lists" and name in _SPECIAL_LISTS:
                raise origin.error(
                    f"'{{{name}}}' is built from the party aliases; pick another name"
                )
            target.setdefault(name, []).extend(_phrases(words, origin, "words"))


def _merge_parties(rules: RuleBook, doc: dict[str, Any], fname: str) -> None:
    for pid, body in _table(doc.get("parties", {}), Origin(fname, "parties")).items():
        origin = Origin(fname, f"party '{pid}'")
        body = _table(body, origin)
        if pid not in taxonomy.GUILDS:  # a party a rules file adds
            _unknown_keys(body, (*_PARTY_KEYS, *_NEW_PARTY_KEYS), origin)
            try:
                added = taxonomy.guild_from_rules(pid, body)
            except ValueError as exc:
                raise origin.error(str(exc)) from None
            taxonomy.add_guild(added)
        else:
            _unknown_keys(body, _PARTY_KEYS, origin)
        guild = taxonomy.guild(pid)
        assert guild is not None
        party = rules.parties.setdefault(pid, Party(name=guild.name))
        party.name = _text(body, "name", origin, party.name)
        for key, target in (
            ("aliases", party.aliases),
            ("contextual", party.contextual),
            ("not", party.nots),
            ("rivals", party.rivals),
            ("lookalikes", party.lookalikes),
        ):
            if key in body:
                target.extend(_phrases(body[key], Origin(fname, f"party '{pid}' {key}"), key))
        if "acronyms" in body:
            sub = Origin(fname, f"party '{pid}' acronyms")
            for w in _strings(body["acronyms"], sub, "acronyms"):
                if not re.match(r"^[A-Za-z0-9]+$", w):
                    raise sub.error(f"'{w}': an acronym is letters and digits only")
                party.acronyms.append(Phrase(w, sub))
        if "context" in body:
            party.context = _strings(body["context"], origin, "context")


def _merge_false_friends(rules: RuleBook, doc: dict[str, Any], fname: str) -> None:
    for fid, body in _id_blocks(
        doc, fname, "false_friends", "false friend", ("id", "why", "phrases")
    ):
        origin = Origin(fname, f"false friend '{fid}'")
        if "phrases" not in body:
            raise origin.error("needs phrases = [...]")
        phrases = _phrases(body["phrases"], origin, "phrases")
        if fid in rules.false_friends:
            rules.false_friends[fid].phrases.extend(phrases)
        else:
            why = _text(body, "why", origin, "a look-alike that is not a labor event")
            rules.false_friends[fid] = FalseFriend(fid, why, phrases, origin)


def _merge_events(rules: RuleBook, doc: dict[str, Any], fname: str) -> None:
    for eid, body in _table(doc.get("events", {}), Origin(fname, "events")).items():
        origin = Origin(fname, f"event '{eid}'")
        body = _table(body, origin)
        keys = ("name", "patterns", *_EXAMPLE_KEYS)
        if eid not in taxonomy.EVENTS:  # an event a rules file adds
            _unknown_keys(body, (*keys, *_NEW_EVENT_KEYS), origin)
            try:
                added = taxonomy.event_from_rules(eid, body)
            except ValueError as exc:
                raise origin.error(str(exc)) from None
            taxonomy.add_event(added)
        else:
            _unknown_keys(body, keys, origin)
        _text(body, "name", origin, "")  # a default event's name is for people reading the file
        patterns = rules.events.setdefault(eid, [])
        for text in _strings(body.get("patterns", []), origin, "patterns"):
            n = sum(p.origin.file == fname for p in patterns) + 1  # numbered per file
            patterns.append(Phrase(text.lower(), Origin(fname, f"event '{eid}' pattern {n}")))
        rules.event_examples.setdefault(eid, []).extend(_examples(body, fname, f"event '{eid}'"))


def _examples(body: dict[str, Any], fname: str, block: str) -> list[Example]:
    """A block's examples and counterexamples, each "headline" or "headline || summary"."""
    out: list[Example] = []
    for key in _EXAMPLE_KEYS:
        origin = Origin(fname, f"{block} {key}")
        for n, text in enumerate(_strings(body.get(key, []), origin, key), 1):
            headline, _, summary = text.partition(" || ")
            where = Origin(fname, f"{block} {key[:-1]} {n}")
            out.append(Example(headline.strip(), summary.strip(), key == "counterexamples", where))
    return out


def _merge_modifiers(rules: RuleBook, doc: dict[str, Any], fname: str) -> None:
    for mid, body in _id_blocks(doc, fname, "modifiers", "modifier", _MODIFIER_KEYS):
        origin = Origin(fname, f"modifier '{mid}'")
        words = _phrases(body.get("words", []), origin, "words")
        examples = _examples(body, fname, f"modifier '{mid}'")
        if mid in rules.modifiers and set(body) <= {"id", "words", *_EXAMPLE_KEYS}:
            rules.modifiers[mid].words.extend(words)  # a user adding cue words to a default
            rules.modifiers[mid].examples.extend(examples)
            continue
        if mid in rules.modifiers:
            raise origin.error(
                "already defined; to add words (and examples) give only id and words"
            )
        where = tuple(_strings(body.get("where", "before"), origin, "where"))
        for w in where:
            if w not in _WHERES:
                raise origin.error(f"unknown where '{w}' (expected one of: {', '.join(_WHERES)})")
        if not words and "question" not in where:
            raise origin.error("needs words = [...]")
        window = body.get("window", 3)
        if not isinstance(window, int) or isinstance(window, bool) or not 0 <= window <= 20:
            raise origin.error("window must be a whole number from 0 to 20")
        events = set(taxonomy.event_ids())
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
        unless = _phrases(body.get("unless", []), origin, "unless")
        rules.modifiers[mid] = Modifier(
            mid, why, where, window, words, frozenset(events), only_in, origin, examples, unless
        )


def _disable_requests(doc: dict[str, Any], fname: str) -> list[tuple[str, Any, Origin]]:
    disable = _table(doc.get("disable", {}), Origin(fname, "disable"))
    _unknown_keys(
        disable,
        ("modifiers", "false_friends", "patterns", "aliases", "words"),
        Origin(fname, "disable"),
    )
    requests: list[tuple[str, Any, Origin]] = []
    for key, value in disable.items():
        origin = Origin(fname, f"disable {key}")
        if key == "words":
            requests.append((key, _table(value, origin), origin))
        else:
            requests.append((key, _strings(value, origin, key), origin))
    return requests


def _apply_disable(rules: RuleBook, requests: list[tuple[str, Any, Origin]]) -> None:
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
                sub = Origin(origin.file, f"disable words '{name}'")
                if name not in rules.lists:
                    raise sub.error(f"no word list '{{{name}}}'")
                for w in _strings(words, sub, "words"):
                    if not _drop_phrases([rules.lists[name]], w):
                        raise sub.error(f"'{w}' is not in the list")


def _drop_phrases(groups: Iterable[list[Phrase]], text: str) -> bool:
    """Remove the phrases written `text` (in any case) from each group; True if any was."""
    text = text.lower()
    dropped = False
    for group in groups:
        kept = [phrase for phrase in group if phrase.text.lower() != text]
        dropped = dropped or len(kept) != len(group)
        group[:] = kept
    return dropped


def read_rule_book(files: Sequence[tuple[str, bytes]]) -> RuleBook:
    """The rule files ((label, content) in order: defaults, then users') merged into one book."""
    rules = RuleBook()
    requests: list[tuple[str, Any, Origin]] = []
    docs: list[tuple[str, dict[str, Any]]] = []
    for label, raw in files:
        try:
            docs.append((label, tomllib.loads(raw.decode("utf-8"))))
        except UnicodeDecodeError as exc:
            raise RulesError(f"{label}: not UTF-8 text ({exc.reason})") from exc
        except tomllib.TOMLDecodeError as exc:
            raise RulesError(f"{label}: not valid TOML: {exc}") from exc
        except RecursionError:
            raise RulesError(
                f"{label}: tables or arrays nested too deeply (a rules file needs three levels)"
            ) from None
    for _, doc in docs:  # first, so that a modifier for every event covers the added ones too
        taxonomy.add_from_rules(doc)
    for label, doc in docs:
        requests += _merge_file(rules, doc, label)
    _apply_disable(rules, requests)
    for pid, party in rules.parties.items():
        if pid not in taxonomy.GUILDS:  # now tracked: no longer an organisation we do not track
            for name in (*party.aliases, *party.acronyms):
                _drop_phrases([rules.others], name.text)
    return rules
