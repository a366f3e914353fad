"""Compiling the rule book into the engine's `Program`.

Imported only when the compiled rules are not in the cache (see `cache.load_rules`): parsing
TOML and building regexes costs more than the rest of start-up together.

The steps, in order (each word must be registered before any code is given out, and codes
must be given out before any regex is rendered):

1. acronyms, word lists and party names, which patterns refer to ({party}, {union});
2. every other phrase and pattern parsed: masks, contexts, events, modifier cues, settings;
3. which masks the scanner finds along with the party names, and which are gated rules;
4. the anchor (rarest required word) of every gated rule, and the codes of all words;
5. the regexes: scanner, event groups, gated masks, contexts, modifier cues, settings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from strikewatch import taxonomy
from strikewatch.classify.book import (
    DEFAULT_GAP,
    Modifier,
    Origin,
    Phrase,
    RuleBook,
    read_rule_book,
)
from strikewatch.classify.patterns import (
    ALT,
    COMMON,
    END,
    FREQUENT,
    GAP,
    PATTERN_CHARS_RE,
    Atom,
    Pattern,
    PatternCompiler,
    PatternStep,
    Words,
    without_optional_start,
)
from strikewatch.classify.program import (
    EventGroup,
    EventPattern,
    GatedMask,
    Mark,
    Mask,
    ModifierRule,
    PartyName,
    Program,
)
from strikewatch.classify.tokens import END_RE, NUMBER, PUNCT_CODE
from strikewatch.errors import RulesError

# A mask that can start with more words than this is not part of the scanner (see _split_masks).
SCANNER_FIRST_WORDS = 8

_SETTINGS_ORIGIN = Origin("rules", "settings")
# (party, contextual) -> the phrases of its names
PartyPhrases = dict[tuple[str, bool], set[Words]]


def compile_rule_files(files: Sequence[tuple[str, bytes]], version: str) -> Program:
    """The program for these rule files ((label, content) in order: defaults, then users')."""
    return compile_book(read_rule_book(files), version)


@dataclass
class _Parsed:
    """Every phrase and pattern of the book, parsed (so every word is registered)."""

    masks: list[tuple[list[Pattern], Mask]]
    contexts: dict[str, list[Pattern]]
    events: list[tuple[str, int, str, Pattern]]  # (event, pattern number, text, pattern)
    modifiers: list[tuple[Modifier, list[Pattern]]]
    settings: dict[str, set[Words]]  # passing, clause, with
    unless: dict[str, list[Pattern]]  # modifier id -> words that make it not apply


@dataclass
class _Scan:
    """The scanner's patterns (party names, and masks that start with an uncommon word), in
    groups with what a match of each group is; and the masks that are gated rules."""

    groups: list[list[Pattern]]
    info: list[PartyName | Mask]
    gated: list[tuple[Pattern, Mask]]


def compile_book(rules: RuleBook, version: str) -> Program:
    comp = PatternCompiler(rules.lists, int(rules.settings.get("gap", DEFAULT_GAP)))
    acronyms, acronym_party = _register_acronyms(rules, comp)
    comp.expand_lists()
    party_phrases = _party_names(rules, comp, acronym_party)
    parsed = _parse(rules, comp)
    _check_party_contexts(rules, parsed.contexts)
    scan = _split_masks(parsed.masks, party_phrases)
    comp.weight = _word_weights(comp)

    # A group: the patterns of one event with the same anchor, in one regex.
    groups: dict[tuple[str, frozenset[str], str], list[tuple[int, str, list[PatternStep]]]] = {}
    for eid, pi, text, pattern in parsed.events:
        steps = pattern.steps[1:] if pattern.lead else pattern.steps
        groups.setdefault((eid, comp.anchor(steps), pattern.lead), []).append((pi, text, steps))
    gated = [(pattern, mask, comp.anchor(pattern.steps)) for pattern, mask in scan.gated]
    anchors: set[str] = set()
    for _, anchor, _ in groups:
        anchors |= anchor
    for *_, anchor in gated:
        anchors |= anchor
    party_starts = [phrase[0] for phrases in party_phrases.values() for phrase in phrases]
    _assign_codes(comp, anchors, party_starts, scan, parsed)

    # "$" ends a clause at its punctuation and also just before a clause word ("writers strike
    # AFTER talks collapse", "thesps walk out AS ..."), which starts a clause of its own.
    clause_words = comp.render_phrases(parsed.settings["clause"])
    if parsed.settings["clause"]:
        comp.end_re = END_RE[:-1] + "|" + clause_words + ")"
    scanner, scanned = _scanner(comp, scan)
    events, gated_masks, code_rules, always = _gated_rules(comp, groups, gated)
    contexts = {
        name: comp.render_alternatives([(p.steps, None) for p in patterns])
        for name, patterns in parsed.contexts.items()
    }
    cues, cue_markers, plain_cues = _CueTable(comp, parsed.modifiers).render()
    clause = comp.render_codes(PUNCT_CODE[p] for p in ",.;:?!|")
    clause += "|" + clause_words
    return Program(
        version=version,
        words=comp.words,
        prefixes=comp.prefixes,
        acronyms=acronyms,
        party_starter=comp.render_codes(
            c for a in party_starts for c in comp.atom_class(a) if c != NUMBER
        ),
        anchor_class=comp.render_codes(_codes_of(comp, anchors)),
        code_rules=code_rules,
        always=always,
        scanner=scanner,
        scanned=scanned,
        gated_masks=gated_masks,
        events=events,
        contexts=contexts,
        party_context={pid: tuple(p.context) for pid, p in rules.parties.items()},
        cues=cues,
        cue_markers=cue_markers,
        plain_cues=plain_cues,
        modifiers=tuple(
            ModifierRule(
                mod.id,
                mod.why,
                tuple(mod.where),
                mod.window,
                comp.render_alternatives([(p.steps, None) for p in parsed.unless[mod.id]])
                if mod.id in parsed.unless
                else "",
            )
            for mod, _ in parsed.modifiers
        ),
        mods_for=_modifiers_for(parsed.modifiers),
        passing=comp.render_phrases(parsed.settings["passing"]),
        clause=clause,
        with_codes=comp.first_codes(parsed.settings["with"]),
        counterpart_events=frozenset(rules.settings.get("counterpart_events", [])),
        counterparts=frozenset(pid for pid, p in rules.parties.items() if "guild" in p.context),
        summary_background={
            eid: frozenset(laters)
            for eid, laters in rules.settings.get("summary_background", {}).items()
        },
    )


def _register_acronyms(
    rules: RuleBook, comp: PatternCompiler
) -> tuple[dict[str, str], dict[str, str]]:
    """Acronyms first: their capitals-only twin words must exist before any class is built.
    Returns acronym as written -> twin word, and twin word -> party."""
    acronyms: dict[str, str] = {}
    acronym_party: dict[str, str] = {}
    for pid in taxonomy.guild_ids():
        party = rules.parties.get(pid)
        for p in party.acronyms if party else ():
            twin = "\u00a7" + p.text.lower()
            acronyms[p.text] = twin
            acronym_party[twin] = pid
            comp.register(twin)
            comp.register(p.text.lower())
            comp.acronym_words[p.text.lower()] = twin
    return acronyms, acronym_party


def _party_names(
    rules: RuleBook, comp: PatternCompiler, acronym_party: dict[str, str]
) -> PartyPhrases:
    """Each party's names (aliases, then contextual names), and the built-in {party} and
    {union} word lists made of them."""
    party_phrases: PartyPhrases = {}
    for contextual in (False, True):
        for pid in taxonomy.guild_ids():
            party = rules.parties.get(pid)
            if party is None:
                continue
            phrases: set[Words] = set()
            for p in party.contextual if contextual else party.aliases:
                if PATTERN_CHARS_RE.search(p.text):
                    raise p.origin.error(f"'{p.text}': a name is plain words (no | ... ? $)")
                phrases |= comp.plain(p.text, p.origin)
            if not contextual:
                phrases |= {(twin,) for twin, owner in acronym_party.items() if owner == pid}
            if phrases:
                party_phrases[(pid, contextual)] = phrases
    comp.lists["party"] = frozenset(p for ph in party_phrases.values() for p in ph)
    comp.lists["union"] = frozenset(
        p for (pid, _), ph in party_phrases.items() if taxonomy.can_strike(pid) for p in ph
    )
    return party_phrases


def _mask_specs(rules: RuleBook) -> list[tuple[list[Phrase], Mask]]:
    """What is blanked out, in order: organisations named like a party, words that only look
    like a party's name, false friends, and the other organisations we do not track. Only an
    organisation can own an event ("Writers Guild of Canada strikes" is not the WGA's strike);
    a look-alike hides its words and nothing more ("Star Wars actors strike" is the actors')."""
    specs: list[tuple[list[Phrase], Mask]] = []
    for pid in taxonomy.guild_ids():
        party = rules.parties.get(pid)
        if party and party.nots:
            mask = Mask(f"parties.{pid}.not", f"not the same as {party.name}", True)
            specs.append((party.nots, mask))
        if party and party.rivals:
            why = f"someone else's bargaining counterpart, not {party.name}"
            specs.append((party.rivals, Mask(f"parties.{pid}.rivals", why, False)))
        if party and party.lookalikes:
            why = f"looks like a name of {party.name} but is not one"
            specs.append((party.lookalikes, Mask(f"parties.{pid}.lookalikes", why, False)))
    for ff in rules.false_friends.values():
        specs.append((ff.phrases, Mask(f"false_friends.{ff.id}", ff.why, False)))
    if rules.others:
        specs.append((rules.others, Mask("others", "an organisation we do not track", True)))
    return specs


def _parse(rules: RuleBook, comp: PatternCompiler) -> _Parsed:
    """Parse everything (registering every word) before any class is built."""
    masks = [
        ([comp.phrase_or_pattern(p) for p in phrases], mask) for phrases, mask in _mask_specs(rules)
    ]
    contexts = {
        name: [comp.phrase_or_pattern(p) for p in phrases]
        for name, phrases in rules.context.items()
    }
    events = [
        (eid, pi, p.text, comp.pattern(p.text, p.origin))
        for eid in taxonomy.event_ids()
        for pi, p in enumerate(rules.events.get(eid, []))
    ]
    modifiers = [
        (mod, [comp.phrase_or_pattern(p) for p in mod.words]) for mod in rules.modifiers.values()
    ]
    settings = {
        name: {p for w in words for p in comp.plain(w, _SETTINGS_ORIGIN)}
        for name, words in (
            ("passing", rules.settings.get("passing", ["as"])),
            ("clause", rules.settings.get("clause_words", ["but", "while", "although"])),
            ("with", rules.settings.get("with_words", ["with", "and", "against"])),
        )
    }
    unless = {
        mod.id: [comp.phrase_or_pattern(p) for p in mod.unless]
        for mod in rules.modifiers.values()
        if mod.unless
    }
    return _Parsed(masks, contexts, events, modifiers, settings, unless)


def _check_party_contexts(rules: RuleBook, contexts: dict[str, list[Pattern]]) -> None:
    for pid, party in rules.parties.items():
        for ctx in party.context:
            if ctx != "guild" and ctx not in contexts:
                origin = party.aliases[0].origin if party.aliases else Origin("rules", "")
                raise RulesError(
                    f"{origin.file}: party '{pid}' context: unknown context '{ctx}' "
                    f"(known: guild, {', '.join(sorted(contexts))})"
                )


def _split_masks(masks: list[tuple[list[Pattern], Mask]], party_phrases: PartyPhrases) -> _Scan:
    """Which masks the scanner looks for along with the party names: those that start with
    one of a few uncommon words. The others (a gap, a list, a common first word) are
    regexes of their own, tried only when all the words they need occur."""
    scan = _Scan([], [], [])
    for parsed, mask in masks:
        plain: list[Pattern] = []
        for pattern in parsed:
            first = pattern.steps[0]
            starts = {phrase[0] for phrase in first[1]} if first[0] == ALT else set()
            if (
                first[0] != ALT
                or first[2]
                or any(step[0] in (GAP, END) for step in pattern.steps)
                or len(starts) > SCANNER_FIRST_WORDS
                or starts & COMMON
                or any(a == "#" or a.endswith("*") for a in starts)
            ):
                scan.gated.append((pattern, mask))
            else:
                plain.append(pattern)
        if plain:
            scan.groups.append(plain)
            scan.info.append(mask)
    for pid, contextual in sorted(party_phrases, key=lambda k: k[1]):
        kind = "contextual" if contextual else "aliases"
        phrases = party_phrases[(pid, contextual)]
        scan.groups.append([Pattern([(ALT, frozenset(phrases), False)], "", _SETTINGS_ORIGIN)])
        scan.info.append(PartyName(pid, contextual, f"parties.{pid}.{kind}"))
    return scan


def _word_weights(comp: PatternCompiler) -> dict[str, float]:
    """How common each word is: a common English word is in most texts, a frequent word of
    labor news in most of ours, any other word hardly ever. The anchor of a rule is its
    rarest required step."""
    weight: dict[str, float] = {"#": float("inf")}
    for words, extra in ((COMMON, 100.0), (FREQUENT, 20.0)):
        for word in words:
            if word in comp.words:
                weight[word] = weight.get(word, 0.05) + extra
    return weight


def _assign_codes(
    comp: PatternCompiler, anchors: set[str], party_starts: list[Atom], scan: _Scan, parsed: _Parsed
) -> None:
    """Codes by role (see `PatternCompiler.assign_codes`): anchors, then the words that start
    party names, scanner masks, modifier cues and contexts."""
    cue_starts: list[Atom] = []
    for _, patterns in parsed.modifiers:
        for pattern in patterns:
            for steps in without_optional_start(pattern.steps):
                cue_starts.extend(phrase[0] for phrase in steps[0][1])
    context_starts = [
        phrase[0]
        for patterns in parsed.contexts.values()
        for pattern in patterns
        for steps in without_optional_start(pattern.steps)
        for phrase in steps[0][1]
    ]
    mask_starts = [
        phrase[0]
        for group, info in zip(scan.groups, scan.info, strict=True)
        if isinstance(info, Mask)
        for pattern in group
        for phrase in pattern.steps[0][1]
    ]
    comp.assign_codes([anchors, party_starts, mask_starts, cue_starts, context_starts])


def _codes_of(comp: PatternCompiler, keys: Iterable[str]) -> list[str]:
    return [comp.prefixes[k[:-1]] if k.endswith("*") else comp.words[k] for k in keys]


def _scanner(comp: PatternCompiler, scan: _Scan) -> tuple[str, dict[str, PartyName | Mask]]:
    """Party names and the masks that start with an uncommon word, in one regex that starts
    with a class of the starters' high characters, so the engine skips every other word in C
    (see assign_codes). Masks come first at one position. With it, what a match is, from the
    codes it matched."""
    scanner = comp.render_alternatives(
        [(pattern.steps, None) for group in scan.groups for pattern in group],
        by_order=True,
        by_code=True,
    )
    scanned: dict[str, PartyName | Mask] = {}
    for group, info in zip(scan.groups, scan.info, strict=True):
        for pattern in group:
            for sequence in comp.sequences(pattern.steps):
                scanned.setdefault(sequence, info)
    return scanner, scanned


def _gated_rules(
    comp: PatternCompiler,
    groups: dict[tuple[str, frozenset[str], str], list[tuple[int, str, list[PatternStep]]]],
    gated: list[tuple[Pattern, Mask, frozenset[str]]],
) -> tuple[
    tuple[EventGroup, ...], tuple[GatedMask, ...], dict[str, tuple[int, ...]], tuple[int, ...]
]:
    """Event groups and the other masks, tried when their anchor occurs. A rule id: event
    groups first, then masks. Returns those, anchor code -> the rules it opens, and the rules
    without an anchor (tried whenever a party is named)."""
    code_rules: dict[str, list[int]] = {}
    always: list[int] = []
    events: list[EventGroup] = []
    for (eid, anchor, lead), members in groups.items():
        rid = len(events)
        for code in _codes_of(comp, anchor):
            code_rules.setdefault(code, []).append(rid)
        if not anchor:
            always.append(rid)
        source = comp.render_alternatives([(steps, None) for _, _, steps in members])
        patterns = tuple(
            EventPattern(pi, text, comp.render_alternatives([(steps, None)]))
            for pi, text, steps in members
        )
        events.append(EventGroup(eid, source, lead, patterns))
    gated_masks: list[GatedMask] = []
    for pattern, mask, anchor in gated:
        rid = len(events) + len(gated_masks)
        for code in _codes_of(comp, anchor):
            code_rules.setdefault(code, []).append(rid)
        if not anchor:
            always.append(rid)
        gated_masks.append(GatedMask(comp.render_alternatives([(pattern.steps, None)]), mask))
    return (
        tuple(events),
        tuple(gated_masks),
        {code: tuple(rids) for code, rids in code_rules.items()},
        tuple(always),
    )


def _modifiers_for(
    modifiers: list[tuple[Modifier, list[Pattern]]],
) -> dict[tuple[str, str], tuple[int, ...]]:
    """(event, headline/summary) -> the numbers of the modifiers that apply there."""
    return {
        (eid, kind): tuple(
            i
            for i, (mod, _) in enumerate(modifiers)
            if eid in mod.events and mod.only_in in ("any", kind)
        )
        for eid in taxonomy.event_ids()
        for kind in ("headline", "summary")
    }


class _CueTable:
    """All modifier cue words in one regex. Each alternative ends in a marker that says which
    modifiers' cues start there, and how many words long each is (0: as long as the match).
    Where a cue is the start of a longer one ("not" of "not yet"), the longer one carries the
    shorter one's modifiers too, since the regex reports one alternative per place."""

    def __init__(
        self, comp: PatternCompiler, modifiers: list[tuple[Modifier, list[Pattern]]]
    ) -> None:
        self.comp = comp
        self.plain_cues: dict[Words, set[int]] = {}
        self.pattern_cues: list[tuple[Pattern, int]] = []
        for mi, (_, parsed) in enumerate(modifiers):
            for pattern in parsed:
                if len(pattern.steps) == 1 and not pattern.steps[0][2]:
                    for phrase in pattern.steps[0][1]:
                        self.plain_cues.setdefault(phrase, set()).add(mi)
                else:
                    self.pattern_cues.append((pattern, mi))
        self.by_first_key: dict[str, list[Words]] = {}
        for phrase in self.plain_cues:
            for key in comp.key_class(phrase[0]):
                self.by_first_key.setdefault(key, []).append(phrase)
        self.entries: list[tuple[list[PatternStep], int | None]] = []
        self.marks: list[list[Mark]] = []
        self.entry_of: dict[str, int] = {}  # the same cue in several modifiers: one entry

    def prefix_marks(self, classes: Sequence[frozenset[str]]) -> set[Mark]:
        """The plain cues that match wherever a cue starting with these words matches."""
        comp = self.comp
        marks: set[Mark] = set()
        for other in self.by_first_key.get(next(iter(classes[0])), ()) if classes[0] else ():
            if len(other) <= len(classes) and all(
                comp.key_class(a) >= classes[i] for i, a in enumerate(other)
            ):
                marks.update((mi, len(other)) for mi in self.plain_cues[other])
        return marks

    def add(self, steps: list[PatternStep], marks: set[Mark]) -> None:
        key = self.comp.render_steps(steps)
        if key in self.entry_of:
            at = self.entry_of[key]
            self.marks[at] = sorted({*self.marks[at], *marks})
            return
        self.entry_of[key] = len(self.marks)
        self.entries.append((steps, len(self.marks)))
        self.marks.append(sorted(marks))

    def render(self) -> tuple[str, dict[str, tuple[Mark, ...]], dict[str, tuple[Mark, ...]]]:
        """The cue regex, marker name -> marks, and a plain cue's codes -> marks."""
        comp = self.comp
        # A cue with a gap or a list is tried before the plain words it starts with (it is
        # longer), and carries their modifiers too. Where its first step is a choice of
        # words, the cue is split by the plain cues those words are, so that a marker never
        # names a plain cue that is not there.
        for pattern, mi in self.pattern_cues:
            first = pattern.steps[0]
            if first[0] != ALT or first[2]:
                self.add(pattern.steps, {(mi, 0)})
                continue
            split: dict[frozenset[Mark], list[Words]] = {}
            for phrase in first[1]:
                extra = (
                    self.prefix_marks([comp.key_class(phrase[0])]) if len(phrase) == 1 else set()
                )
                split.setdefault(frozenset(extra), []).append(phrase)
            for extra, phrases in sorted(split.items(), key=lambda item: sorted(item[0])):
                self.add([(ALT, frozenset(phrases), False), *pattern.steps[1:]], {(mi, 0), *extra})
        by_marks: dict[frozenset[Mark], list[Words]] = {}
        for phrase in self.plain_cues:
            marks = self.prefix_marks([comp.key_class(a) for a in phrase])
            by_marks.setdefault(frozenset(marks), []).append(phrase)
        # A match's codes name every plain cue that matches them (all of them are there).
        plain_sets: dict[str, set[Mark]] = {}
        for marks, phrases in by_marks.items():
            for sequence in comp.sequences([(ALT, frozenset(phrases), False)]):
                plain_sets.setdefault(sequence, set()).update(marks)
        # Plain cues by their length in words, so that at one place the regex tries every
        # cue, plain or not, longest first.
        by_length: dict[int, list[Words]] = {}
        for phrase in self.plain_cues:
            by_length.setdefault(len(phrase), []).append(phrase)
        for _, phrases in sorted(by_length.items(), reverse=True):
            self.entries.append(([(ALT, frozenset(phrases), False)], None))
        cues = comp.render_alternatives(self.entries) if self.entries else "(?!)"
        markers = {name: tuple(self.marks[i]) for name, i in comp.marker_of.items()}
        plain = {sequence: tuple(sorted(marks)) for sequence, marks in plain_sets.items()}
        return cues, markers, plain
