"""The engine: runs the compiled rule program over a headline and its summary.

Classifying runs over tens of thousands of lines (`classify --jsonl`, `import`,
`reclassify`), so the work is done by the regex engine, in C, not by Python stepping through
words:

* A text is split at white space and each chunk is looked up in a memoized lexicon, so the
  whole text becomes a short string of two-character word codes (see tokens).
* Every rule is compiled once into a regex over codes (see compile).
* A rule is only tried when the text contains its rarest required word: one regex scan of
  the text's codes finds those words, and a table says which rules each one opens. Most
  trade-press items name no tracked party and stop there.
* One scanner finds party names and masks; modifiers (negation, question, speculation...)
  are looked at only around actual event matches.

How a text is read (the same steps are narrated by `explain`):

1. words: lowercase, curly quotes and dashes folded, contractions spelled out ("won't" ->
   "will not"), possessives dropped, hyphenated names split ("SAG-AFTRA" -> "sag aftra");
2. masks: names we must not confuse with a tracked party ("Writers Guild of Canada"),
   untracked organisations ("UAW") and false friends ("overall deal", "in talks to star")
   are blanked out;
3. parties: aliases always count; contextual names ("writers", "the studios") count only in
   a Hollywood labor story, and not when the item names one of the party's look-alike
   organisations or rivals (Equity, game publishers) without naming the party itself;
4. events: pattern matches that no modifier suppresses and that are not about an untracked
   organisation;
5. the headline decides; the summary adds what its sentences assert, never background.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import chain
from typing import Any

from strikewatch import taxonomy
from strikewatch.classify.explain import Explanation, Step, Tags
from strikewatch.classify.program import Mask, ModifierRule, PartyName, Program
from strikewatch.classify.tokens import (
    ANCHORED,
    ENDER_RE,
    FF_MASK,
    MAY_DATE_RE,
    ORG_MASK,
    SEPARATOR,
    SEPARATOR_CHUNK,
    Lexicon,
)

# Positions are offsets in the code string; a word is two characters, so word i is at 2*i.


class _Mention:
    """A party name (or, with party None, an untracked organisation) found in a text."""

    __slots__ = ("contextual", "end", "party", "rule", "start", "valid")

    def __init__(
        self, start: int, end: int, party: str | None, contextual: bool, rule: str
    ) -> None:
        self.start = start
        self.end = end
        self.party = party
        self.contextual = contextual
        self.rule = rule
        self.valid = False


class _Mod:
    """A compiled modifier: what `where` means for it, and why it suppresses."""

    __slots__ = ("question", "rule", "unless", "where", "why", "window")

    def __init__(self, rule: ModifierRule) -> None:
        self.rule = f"modifiers.{rule.id}"
        self.why = rule.why
        self.where = rule.where
        self.question = "question" in rule.where
        self.window = rule.window
        self.unless = rule.unless


class _Text:
    """An item as one string of codes: the headline, then (after a sentence-ending separator
    code) the summary; with its party mentions, and whether it names an organisation the rules
    do not track (only then can an event be someone else's)."""

    __slots__ = (
        "boundary",
        "bounds",
        "codes",
        "cues",
        "mentions",
        "others",
        "rules",
        "shadowed",
        "words",
    )

    def __init__(self, codes: str) -> None:
        self.codes = codes
        boundary = codes.find(SEPARATOR)  # where the summary starts
        self.boundary = boundary if boundary >= 0 else len(codes)
        self.rules: set[int] = set()  # gated rules whose anchor occurs
        self.words: list[str] | None = None  # one word per code, only when explaining
        self.mentions: list[_Mention] = []
        self.others = False  # an organisation the rules do not track is named
        # Parties one of whose look-alike organisations (`not`) or rivals is named, by rule
        # name: their plain words ("actors", "the companies") are that organisation's.
        self.shadowed: dict[str, str] = {}
        self.bounds: list[int] | None = None
        # Per sentence (by its start), every modifier cue in it: (start, end of the longest
        # cue there, ((modifier, words or 0 for that end), ...)).
        self.cues: dict[int, list[tuple[int, int, tuple[tuple[int, int], ...]]]] = {}

    def kind(self, pos: int) -> str:
        return "headline" if pos < self.boundary else "summary"

    def span(self, start: int, end: int) -> str:
        if self.words is None:
            return ""
        return " ".join(self.words[start >> 1 : end >> 1])

    def sentence(self, pos: int) -> tuple[int, int]:
        """Start and end of the sentence around `pos`; its punctuation, if any, is at end."""
        bounds = self.bounds
        if bounds is None:
            bounds = self.bounds = [m.start() for m in ENDER_RE.finditer(self.codes)]
        start = 0
        for b in bounds:
            if b >= pos:
                return start, b
            start = b + 2
        return start, len(self.codes)


_EMPTY = Tags()


class Classifier:
    """Rules compiled for fast tagging. Build one with `load_classifier()`."""

    version: str

    def __init__(self, program: Program) -> None:
        p = self._program = program
        self.version = p.version
        self._lexicon = Lexicon(p.words, p.prefixes, p.acronyms)
        self._sources: dict[str, str] = {}
        self._explain_only: set[str] = set()  # regexes only `explain` uses
        self._regexes: dict[str, re.Pattern[str]] = {}
        self._party_starter = re.compile(p.party_starter)
        # The employers' side (the AMPTP): never a {union}, never a bystander to a guild's news.
        self._employers = frozenset(g.id for g in taxonomy.guilds() if not g.can_strike)
        self._always = p.always
        # Anchor code -> the gated rules it opens (see _decide). An anchor code starts with a
        # high character, which no code has second, so the anchor regex finds whole codes only.
        self._anchor = self._lazy("anchor", p.anchor_class)
        self._code_rules = p.code_rules
        self._scanner = self._lazy("scanner", p.scanner)
        self._scanned = p.scanned
        # (event, regex name, lead, [(number, text, regex name of that pattern alone)])
        self._groups = [
            (
                group.event,
                self._lazy(f"event{i}", group.regex),
                group.lead,
                [
                    (one.number, one.text, self._lazy(f"event{i}.{one.number}", one.regex, True))
                    for one in group.patterns
                ],
            )
            for i, group in enumerate(p.events)
        ]
        n_groups = len(self._groups)
        # The same, by rule id, for the loop in _events (the compiled regexes filled in there).
        self._group_eids = [group[0] for group in self._groups]
        self._group_leads = [group[2] for group in self._groups]
        self._group_rx: list[re.Pattern[str] | None] = [None] * n_groups
        self._gated_masks = {
            n_groups + i: (self._lazy(f"mask{i}", gated.regex), gated.mask)
            for i, gated in enumerate(p.gated_masks)
        }
        self._mask_ids = frozenset(self._gated_masks)
        self._event_ids = frozenset(range(n_groups))
        self._party_context = p.party_context
        self._contexts = {
            name: self._lazy(f"context-{name}", src) for name, src in p.contexts.items()
        }
        self._cues = self._lazy("cues", p.cues)
        # Cues per sentence, by the sentence's codes (see _sentence_cues); only for a cue
        # regex that cannot tell a sentence cut out of its text from one inside it.
        self._cue_memo: dict[str, list[tuple[int, int, tuple[tuple[int, int], ...]]]] = {}
        self._cue_memo_ok = ANCHORED.search(p.cues) is None
        # Cue -> its (modifier number, words) marks.
        self._cue_markers = p.cue_markers
        self._plain_cues = p.plain_cues
        self._modifiers = [_Mod(rule) for rule in p.modifiers]
        for mod, rule in zip(self._modifiers, p.modifiers, strict=True):
            if rule.unless:
                mod.unless = self._lazy(f"unless {rule.id}", rule.unless)
        # (event, headline/summary) -> (its question modifier or None, its modifiers' numbers)
        self._mods_for: dict[tuple[str, str], tuple[_Mod | None, frozenset[int]]] = {}
        for key, indexes in p.mods_for.items():
            question = next(
                (self._modifiers[i] for i in indexes if self._modifiers[i].question), None
            )
            self._mods_for[key] = (question, frozenset(indexes))
        self._passing = self._lazy("passing", p.passing)
        self._clause = self._lazy("clause", p.clause)
        self._with_codes = p.with_codes
        self._counterpart_events = p.counterpart_events
        self._counterparts = p.counterparts
        # event -> the later events whose headline report makes it, in the summary, background
        self._summary_background = p.summary_background
        self._cache: dict[tuple[str, str], Tags] = {}
        self._by_codes: dict[str, Tags] = {}  # the tags of a text's codes (see _run)
        self._tags: dict[tuple[tuple[str, ...], tuple[str, ...]], Tags] = {}  # a few hundred

    @property
    def program(self) -> Program:
        """The compiled rules this classifier runs."""
        return self._program

    def __reduce__(self) -> tuple[Any, ...]:
        """Sent to a worker process as its compiled program, not as its caches."""
        return (Classifier, (self._program,))

    # ---------------------------------------------------------------- regexes, lazily
    def _lazy(self, name: str, source: str, explain_only: bool = False) -> str:
        """Register a regex by name; it is compiled the first time a text needs it."""
        self._sources[name] = source
        if explain_only:
            self._explain_only.add(name)
        return name

    def _rx(self, name: str) -> re.Pattern[str]:
        rx = self._regexes.get(name)
        if rx is None:
            rx = self._regexes[name] = re.compile(self._sources[name])
        return rx

    # ---------------------------------------------------------------- public API
    def classify(self, title: str, summary: str = "") -> Tags:
        """Tags for one item. A small memo serves feeds and archives that repeat a story."""
        key = (title, summary or "")
        tags = self._cache.get(key)
        if tags is None:
            tags = self._run(title, summary or "", None, memo=True)
            if len(self._cache) >= 20_000:
                self._cache.clear()
            self._cache[key] = tags
        return tags

    def classify_uncached(self, title: str, summary: str = "") -> Tags:
        """Tags computed without the per-item memo (for benchmarks and evaluation)."""
        return self._run(title, summary or "", None)

    def explain(self, title: str, summary: str = "") -> Explanation:
        """Tags plus the steps: which rule fired on which words, and what was suppressed."""
        steps: list[Step] = []
        read: dict[str, str] = {}
        tags = self._run(title, summary or "", steps, read)
        return Explanation(tags=tags, steps=steps, version=self.version, read_as=read)

    # ---------------------------------------------------------------- reading
    def _words(self, chunks: list[str]) -> list[str]:
        """One word per code, as the rules see them (for explain); `chunks` are learned."""
        out: list[str] = []
        lex = self._lexicon
        for chunk in chunks:
            n = len(lex.codes[chunk]) >> 1
            if chunk == SEPARATOR_CHUNK:
                out.append("||")
                continue
            words = [
                w.replace("\u00a7", "").replace("maymonth", "May") for w in lex.words_of(chunk)
            ]
            out.extend((words + [chunk] * n)[:n])
        return out

    def _prepare(self, t: _Text, trace: list[Step] | None) -> None:
        """Party mentions found; look-alikes, untracked organisations and false friends
        blanked out (each becomes one code)."""
        codes = t.codes
        found: list[tuple[int, int, PartyName | Mask]] = []
        masked = False
        gated = self._gated_masks
        for rid in t.rules & self._mask_ids:
            regex, mask = gated[rid]
            for m in self._rx(regex).finditer(codes):
                found.append((m.start(), m.end(), mask))
                masked = True
        scanned = self._scanned
        mentions = t.mentions
        for m in self._rx(self._scanner).finditer(codes):
            info = scanned[m.group()]
            start, end = m.span()
            if isinstance(info, PartyName):
                mentions.append(_Mention(start, end, info.party, info.contextual, info.rule))
            else:
                masked = True
            found.append((start, end, info))
        if masked:
            # Overlaps: the earliest start wins, then the longest, then a mask over a name.
            found.sort(key=lambda f: (f[0], -f[1], not isinstance(f[2], Mask)))
            kept: list[tuple[int, int, PartyName | Mask]] = []
            last = 0
            for f in found:
                if f[0] >= last:
                    kept.append(f)
                    last = f[1]
            self._mask(t, kept, trace)

    def _mask(
        self, t: _Text, found: list[tuple[int, int, PartyName | Mask]], trace: list[Step] | None
    ) -> None:
        """Rebuild the text with each mask as one code; the mentions move with it. The rules
        worth trying stay as they were: a masked word may have been one's reason, but that
        only says a regex is worth trying, and the regex will not find the masked word."""
        codes = t.codes
        old_words = t.words
        out: list[str] = []
        words: list[str] = []
        mentions: list[_Mention] = []
        shift = 0
        last = 0
        for start, end, info in found:
            out.append(codes[last:start])
            if old_words is not None:
                words.extend(old_words[last >> 1 : start >> 1])
            if isinstance(info, PartyName):
                out.append(codes[start:end])
                if old_words is not None:
                    words.extend(old_words[start >> 1 : end >> 1])
                mentions.append(
                    _Mention(start - shift, end - shift, info.party, info.contextual, info.rule)
                )
            else:
                span = t.span(start, end)
                if info.rule.startswith("parties.") and info.rule.endswith((".not", ".rivals")):
                    t.shadowed.setdefault(info.rule.split(".")[1], span or info.rule)
                out.append(ORG_MASK if info.organisation else FF_MASK)
                words.append(span)
                if info.organisation:
                    t.others = True
                    mentions.append(
                        _Mention(start - shift, start - shift + 2, None, False, info.rule)
                    )
                if trace is not None:
                    trace.append(
                        Step("ignored", "ignored", span, info.rule, info.why, t.kind(start))
                    )
                shift += end - start - 2
            last = end
        out.append(codes[last:])
        if old_words is not None:
            words.extend(old_words[last >> 1 :])
            t.words = words
        t.codes = "".join(out)
        t.mentions = mentions
        boundary = t.codes.find(SEPARATOR)
        t.boundary = boundary if boundary >= 0 else len(t.codes)
        t.bounds = None

    def _has_context(self, name: str, t: _Text, end: int | None = None) -> str | None:
        """The words that make this item a labor (or Hollywood) story, or None."""
        m = self._rx(self._contexts[name]).search(t.codes, 0, len(t.codes) if end is None else end)
        if m is None:
            return None
        return t.span(m.start(), m.end()) or "?"

    # ---------------------------------------------------------------- the work
    def _run(
        self,
        title: str,
        summary: str,
        trace: list[Step] | None,
        read: dict[str, str] | None = None,
        memo: bool = False,
    ) -> Tags:
        # The item as one text: the headline, the separator, the summary.
        if SEPARATOR_CHUNK in title or SEPARATOR_CHUNK in summary:
            title = title.replace(SEPARATOR_CHUNK, " ")
            summary = summary.replace(SEPARATOR_CHUNK, " ")
        raw = f"{title} {SEPARATOR_CHUNK} {summary}" if summary else title
        if "May" in raw:
            raw = MAY_DATE_RE.sub("Maymonth", raw)
        chunks = raw.split()
        lex = self._lexicon
        try:
            codes = "".join(map(lex.codes.__getitem__, chunks))
        except KeyError:
            lex.learn(chunks)
            codes = "".join(map(lex.codes.__getitem__, chunks))
        party = self._party_starter.search(codes)
        if party is None and trace is None:
            return _EMPTY  # the common case in the trade press: no tracked party is named
        if memo:
            # Everything from here on depends on the codes alone: texts that differ only in
            # words and numbers no rule mentions ("day 12" / "day 97") are tagged alike.
            tags = self._by_codes.get(codes)
            if tags is None:
                tags = self._decide(codes, chunks, party, None, None)
                if len(self._by_codes) >= 20_000:
                    self._by_codes.clear()
                self._by_codes[codes] = tags
            return tags
        return self._decide(codes, chunks, party, trace, read)

    def _decide(
        self,
        codes: str,
        chunks: list[str],
        party: re.Match[str] | None,
        trace: list[Step] | None,
        read: dict[str, str] | None,
    ) -> Tags:
        t = _Text(codes)
        if trace is not None:
            t.words = self._words(chunks)
        if party is not None:
            # The gated rules worth trying: those whose anchor word occurs.
            rules = t.rules
            rules.update(self._always)
            found = self._rx(self._anchor).findall(codes)
            rules.update(chain.from_iterable(map(self._code_rules.__getitem__, found)))
            self._prepare(t, trace)
        if read is not None and t.words is not None:
            cut = t.boundary >> 1
            read["headline"] = " ".join(t.words[:cut])
            if t.boundary < len(t.codes):  # the item has a summary
                read["summary"] = " ".join(t.words[cut + 1 :])
        boundary = t.boundary

        # ---- parties
        head_parties: set[str] = set()
        body_parties: set[str] = set()
        pending: list[_Mention] = []
        for m in t.mentions:
            if m.party is None:
                continue
            if m.contextual:
                pending.append(m)
                continue
            m.valid = True
            (head_parties if m.start < boundary else body_parties).add(m.party)
            if trace is not None:
                words = t.span(m.start, m.end)
                where = t.kind(m.start)
                status = "found" if where == "summary" else "counted"
                trace.append(Step(m.party, status, words, m.rule, "", where))
        if pending:
            self._contextual(t, pending, head_parties, body_parties, trace)
        if not head_parties and not body_parties:
            if trace is not None:
                why = "no tracked party is named, so nothing is tagged"
                trace.append(Step("", "note", why=why))
            return _EMPTY
        if len(head_parties) > 1:
            self._drop_passing(t, head_parties, trace)

        # ---- events: the headline decides, the summary adds what it asserts
        parties = set(head_parties)
        extra = body_parties - parties
        events, asserted = self._events(t, trace, bool(extra))
        for eid, laters in self._summary_background.items():
            if eid in events and not laters.isdisjoint(events):
                self._drop_background(t, eid, laters, events, trace)
        if extra:
            # Summary names count where their sentence asserts an event, or when the headline
            # names no party but is about labor (then the summary says who).
            # The studios' side named by its own name counts when the item reports a
            # negotiation event of a guild: the summary says who sat across the table.
            carry = not parties and self._has_context("labor", t, boundary) is not None
            # A negotiation story: one of its events, or a headline about the bargaining
            # itself ("talks", "contract", "offer"...) that reports no event of its own yet
            # (a strike vote is the members' own act: no side across the table).
            across = bool(parties) and (
                not events.isdisjoint(self._counterpart_events)
                or (
                    not events
                    and "negotiation" in self._contexts
                    and self._has_context("negotiation", t, boundary) is not None
                )
            )
            # The other side: the studios when the headline names a guild, a guild when it
            # names only the studios ("Studios walk away || ... talks with SAG-AFTRA").
            studios_only = parties <= self._counterparts
            for m in t.mentions:
                if m.start < boundary or m.party is None or not m.valid or m.party in parties:
                    continue
                sentence = t.sentence(m.start)
                words = t.span(m.start, m.end)
                if self._in_asserting_clause(t, m, asserted.get(sentence, ())):
                    why = "its sentence reports an event"
                elif carry:
                    why = "the headline names no party; the summary says who"
                elif (
                    across and not m.contextual and (m.party in self._counterparts) != studios_only
                ):
                    why = "named as the other side of the table in a negotiation story"
                else:
                    why = ""
                if why:
                    parties.add(m.party)
                    if trace is not None:
                        trace.append(Step(m.party, "counted", words, m.rule, why, "summary"))
                elif trace is not None:
                    why = f"'{words}' is only mentioned in passing (its sentence reports no event)"
                    trace.append(Step(m.party, "not counted", words, "", why, "summary"))
        if events and not parties:
            if trace is not None:
                why = "no tracked party is involved, so no event is tagged"
                trace.append(Step("", "note", why=why))
            events = set()
        key = (tuple(sorted(parties)), tuple(sorted(events)))
        tags = self._tags.get(key)
        if tags is None:
            tags = self._tags[key] = Tags(*key)
        return tags

    def _contextual(
        self,
        t: _Text,
        pending: list[_Mention],
        head_parties: set[str],
        body_parties: set[str],
        trace: list[Step] | None,
    ) -> None:
        """Decide contextual names ("writers", "the studios"): they need a labor story, and
        for the studios' side a guild across the table."""
        ctx_cache: dict[str, str | None] = {}
        aliased = head_parties | body_parties  # named by an alias (contextual ones are pending)
        for needs_guild in (False, True):
            for m in pending:
                assert m.party is not None
                needs = self._party_context.get(m.party, ("labor",))
                if ("guild" in needs) != needs_guild:
                    continue
                missing = ""
                because: list[str] = []
                if m.party in t.shadowed and m.party not in aliased:
                    # "Actors vote to strike || ... Equity, the UK performers' union": the plain
                    # word is the untracked organisation's, unless the party is named itself.
                    missing = f"the party itself is named beside '{t.shadowed[m.party]}'"
                    needs = ()
                for ctx in needs:
                    if ctx == "guild":
                        others = (head_parties | body_parties) - {m.party}
                        if not others:
                            missing = "a guild is across the table"
                            break
                        because.append("across the table from " + ", ".join(sorted(others)))
                        continue
                    if ctx not in ctx_cache:
                        ctx_cache[ctx] = self._has_context(ctx, t)
                    if ctx_cache[ctx] is None:
                        missing = f"something makes this a {ctx} story"
                        break
                    because.append(f"{ctx} context: '{ctx_cache[ctx]}'")
                if not missing:
                    m.valid = True
                    (head_parties if m.start < t.boundary else body_parties).add(m.party)
                if trace is not None:
                    words = t.span(m.start, m.end)
                    where = t.kind(m.start)
                    if not missing:
                        why = "; ".join(because)
                        status = "found" if where == "summary" else "counted"
                        trace.append(Step(m.party, status, words, m.rule, why, where))
                    else:
                        why = f"'{words}' counts only when {missing}"
                        trace.append(Step(m.party, "not counted", words, m.rule, why, where))

    def _drop_passing(self, t: _Text, parties: set[str], trace: list[Step] | None) -> None:
        """A party named only in a side phrase of the headline ("as writers picket", "joining
        writers", "after WGA and SAG-AFTRA") is not what the item is about, when another party
        is."""
        codes = t.codes
        passing_rx = self._rx(self._passing)
        clause_rx = self._rx(self._clause)
        side: dict[str, bool] = {}
        for m in t.mentions:
            if m.party is None or not m.valid or m.start >= t.boundary:
                continue
            is_side = False
            for cue in passing_rx.finditer(codes, max(0, m.start - 6), m.start):
                if clause_rx.search(codes, cue.end(), m.start) is None:
                    is_side = True
            side[m.party] = side.get(m.party, True) and is_side
        for employer in self._employers:
            side.pop(employer, None)
        if all(side.values()):
            return
        for party, is_side in side.items():
            if is_side and party in parties:
                parties.discard(party)
                if trace is not None:
                    why = "named only in a side phrase of the headline"
                    trace.append(Step(party, "not counted", "", "settings.passing", why))

    def _events(
        self, t: _Text, trace: list[Step] | None, want_sentences: bool
    ) -> tuple[set[str], dict[tuple[int, int], list[tuple[int, int]]]]:
        """Events the item asserts (the headline's, and the summary's sentences'), and the
        summary sentences that assert one with the spans of those matches (when `want_sentences`)."""
        out: set[str] = set()
        asserted: dict[tuple[int, int], list[tuple[int, int]]] = {}
        codes = t.codes
        boundary = t.boundary
        eids, leads, group_rx = self._group_eids, self._group_leads, self._group_rx
        exhaustive = trace is not None or (want_sentences and boundary < len(codes))
        todo = t.rules & self._event_ids
        for rid in sorted(todo) if trace is not None else todo:
            eid = eids[rid]
            if eid in out and not exhaustive:
                continue
            rx = group_rx[rid]
            if rx is None:
                rx = group_rx[rid] = self._rx(self._groups[rid][1])
            lead = leads[rid]
            if lead:
                found = []
                for mention in t.mentions:
                    party = mention.party
                    if party is None or (lead == "union" and party in self._employers):
                        continue
                    m = rx.match(codes, mention.end)
                    if m is not None:
                        found.append((mention.start, m))
            else:
                m = rx.search(codes)
                if m is None:
                    continue
                found = [(m.start(), m)]
            k = 0
            while k < len(found):
                start, m = found[k]
                k += 1
                end = m.end()
                in_summary = start >= boundary
                if eid in out and not (trace is not None or in_summary):
                    reason: tuple[str, str] | None = ("", "")
                else:
                    reason = self._modified(t, eid, start, end, in_summary)
                    if reason is None and t.others:
                        reason = self._about_other(t, start)
                    if trace is not None:
                        words = t.span(start, end)
                        where = "summary" if in_summary else "headline"
                        number, text = self._which(self._groups[rid][3], codes, start, end)
                        if reason is None:
                            rule = f"events.{eid} #{number + 1}"
                            trace.append(Step(eid, "matched", words, rule, text, where))
                        else:
                            why, rule = reason
                            trace.append(Step(eid, "suppressed", words, rule, why, where))
                    if reason is None:
                        out.add(eid)
                        if in_summary:
                            asserted.setdefault(t.sentence(start), []).append((start, end))
                        if not exhaustive:
                            break
                if not lead and k == len(found):
                    # The next match, starting after this one's start, is looked for only
                    # when this one did not count (or every match is wanted).
                    m = rx.search(codes, start + 2)
                    if m is not None:
                        found.append((m.start(), m))
        return out, asserted

    def _in_asserting_clause(self, t: _Text, m: _Mention, spans: Sequence[tuple[int, int]]) -> bool:
        """Whether the summary name `m` is in the clause of one of the event matches `spans`
        of its sentence: "... began bargaining Monday, with THE ACTORS' STRIKE in its third
        week" names the actors only in a side clause of the directors' news."""
        clause = self._rx(self._clause)
        codes = t.codes
        for start, end in spans:
            if m.end <= start:
                if clause.search(codes, m.end, start) is None:
                    return True
            elif m.start >= end:
                if clause.search(codes, end, m.start) is None:
                    return True
            else:
                return True
        return False

    def _drop_background(
        self, t: _Text, eid: str, laters: frozenset[str], events: set[str], trace: list[Step] | None
    ) -> None:
        """Drop `eid` when the summary alone reports it and the headline reports one of
        `laters`: "Talks resume || ... two weeks after the studios broke off talks" is a
        resumption; the breakdown is its background, not news of this report."""
        if self._in_headline(t, eid):
            return
        for later in sorted(laters & events):
            if self._in_headline(t, later):
                events.discard(eid)
                if trace is not None:
                    why = f"the headline reports {later}; the summary's {eid} is its background"
                    rule = "settings.summary_background"
                    trace.append(Step(eid, "not counted", "", rule, why, "summary"))
                return

    def _in_headline(self, t: _Text, eid: str) -> bool:
        """Whether a match of `eid` that no modifier suppresses starts in the headline."""
        codes = t.codes
        boundary = t.boundary
        for rid in t.rules & self._event_ids:
            geid, regex, lead, _ = self._groups[rid]
            if geid != eid:
                continue
            rx = self._rx(regex)
            found: list[tuple[int, re.Match[str]]] = []
            if lead:
                for mention in t.mentions:
                    party = mention.party
                    if (
                        party is None
                        or mention.start >= boundary
                        or (lead == "union" and party in self._employers)
                    ):
                        continue
                    m = rx.match(codes, mention.end)
                    if m is not None:
                        found.append((mention.start, m))
            else:
                m = rx.search(codes, 0, boundary)
                while m is not None:
                    found.append((m.start(), m))
                    m = rx.search(codes, m.start() + 2, boundary)
            for start, m in found:
                reason = self._modified(t, eid, start, m.end(), False)
                if reason is None and t.others:
                    reason = self._about_other(t, start)
                if reason is None:
                    return True
        return False

    def _which(
        self, members: Sequence[tuple[int, str, str]], codes: str, start: int, end: int
    ) -> tuple[int, str]:
        """Which pattern of a group made the match codes[start:end] (for explain)."""
        for number, text, regex in members:
            if self._rx(regex).fullmatch(codes, start, end) is not None:
                return number, text
        number, text, _ = members[0]  # a lead pattern: its text starts with the party
        for number, text, regex in members:
            for pos in range(start + 2, end, 2):
                if self._rx(regex).fullmatch(codes, pos, end) is not None:
                    return number, text
        return number, text

    def _near(self, codes: str, a: int, b: int, window: int) -> bool:
        """At most `window` words between a and b, and no clause break."""
        return (b - a) >> 1 <= window and self._rx(self._clause).search(codes, a, b) is None

    def _modified(
        self, t: _Text, eid: str, start: int, end: int, in_summary: bool
    ) -> tuple[str, str] | None:
        """Which modifier (negation, question...) suppresses the match at codes[start:end]:
        (plain-English reason, rule) or None."""
        codes = t.codes
        s_start, s_end = t.sentence(start)
        question, mine = self._mods_for[(eid, "summary" if in_summary else "headline")]
        if question is not None and s_end < len(codes) and codes[s_end] == "?":
            return f"the sentence ends with '?': {question.why}", question.rule
        cues = t.cues.get(s_start)
        if cues is None:
            cues = t.cues[s_start] = self._sentence_cues(codes[s_start:s_end])
        explaining = t.words is not None
        hits: list[tuple[int, str, str]] = []  # (modifier number, reason, rule)
        modifiers = self._modifiers
        for c_start, c_stop, marks in cues:
            c_start += s_start
            c_stop += s_start
            for mi, words in marks:
                if mi not in mine:
                    continue
                mod = modifiers[mi]
                c_end = c_start + 2 * words if words else c_stop
                hit = self._where(mod, codes, c_start, c_end, start, end, s_start)
                if hit and mod.unless and self._rx(mod.unless).search(codes, s_start, s_end):
                    hit = ""  # its sentence says otherwise ("would end AT 12:01 A.M.")
                if hit:
                    if not explaining:
                        return hit, mod.rule  # no explanation wanted: any reason will do
                    cue = t.span(c_start, c_end)
                    matched = t.span(start, end)
                    hits.append((mi, f"'{cue}' {hit} '{matched}': {mod.why}", mod.rule))
        if not hits:
            return None
        _, why, rule = min(hits)  # the first modifier in rule order
        return why, rule

    def _sentence_cues(self, sentence: str) -> list[tuple[int, int, tuple[tuple[int, int], ...]]]:
        """The cues of a sentence (its codes), left to right, the longest at each place (a cue
        inside a longer one, "again" in "will meet again", is found at its own place); at
        offsets in the sentence. The cue regex looks neither behind nor at the start, so a
        sentence reads the same alone as in its text: the same sentence in many items (a
        wire summary, headlines that differ in names and numbers) is read once."""
        memo = self._cue_memo
        cues = memo.get(sentence)
        if cues is not None:
            return cues
        markers = self._cue_markers
        plain = self._plain_cues
        search = self._rx(self._cues).search
        cues = []
        m = search(sentence)
        while m is not None:
            at = m.start()
            marks = plain[m.group()] if m.lastgroup is None else markers[m.lastgroup]
            cues.append((at, m.end(), marks))
            m = search(sentence, at + 2)
        if self._cue_memo_ok:
            if len(memo) >= 50_000:
                memo.clear()
            memo[sentence] = cues
        return cues

    def _where(
        self, mod: _Mod, codes: str, c_start: int, c_end: int, start: int, end: int, s_start: int
    ) -> str:
        """How a cue at codes[c_start:c_end] stands to the match at codes[start:end], if it
        stands where the modifier looks ("before", "after"...), else ""."""
        for where in mod.where:
            if where == "question":
                if c_start == s_start and c_start <= start:
                    return "opens the question with"
            elif where == "before" or where == "around":
                if c_start < start and (
                    c_end >= start or self._near(codes, c_end, start, mod.window)
                ):
                    return "before"
                if (
                    where == "around"
                    and c_start >= end
                    and self._near(codes, end, c_start, mod.window)
                ):
                    return "after"
            elif where == "after":
                if c_start >= end and self._near(codes, end, c_start, mod.window):
                    return "after"
            elif where == "inside":
                if c_start < end and c_end > start:  # within, or overlapping
                    return "inside"
            elif where == "sentence":
                return "in the same sentence as"
            elif where == "earlier_in_sentence":
                # Starts earlier; it may run into the match ("BACK IN TALKS with studios
                # following impasse": the match starts at "talks").
                if c_start < start:
                    return "earlier in the sentence than"
            elif c_start >= end:  # later_in_sentence
                return "later in the sentence than"
        return ""

    def _about_other(self, t: _Text, start: int) -> tuple[str, str] | None:
        """Whose event is it? The nearest organisation named before the words in the
        sentence, else the first after. If that is one we do not track, the event is theirs,
        unless a tracked party is named with it ("AFM reaches deal WITH THE AMPTP")."""
        s_start, s_end = t.sentence(start)
        before: _Mention | None = None
        after: _Mention | None = None
        for m in t.mentions:
            if m.party is not None and not m.valid:
                continue
            if m.end <= start and m.start >= s_start:
                before = m
            elif start <= m.start < s_end and after is None:
                after = m
        who = before or after
        if who is None or who.party is not None:
            return None
        codes = t.codes
        for m in t.mentions:
            if (
                m.party is not None
                and m.valid
                and who.end <= m.start < s_end
                and codes[m.start - 2 : m.start] in self._with_codes
            ):
                return None
        words = t.span(who.start, who.end)
        return f"it is about '{words}', an organisation we do not track", who.rule
