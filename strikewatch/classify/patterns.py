"""Phrases and patterns as regexes over word codes.

An atom is one word position: an exact word ("strike"), a prefix ("negotiat*") or any number
("#"). A phrase is a tuple of atoms; a step of a pattern is a set of phrases (its
alternatives), optional or not; "..." is a gap step and "$" the end of a clause. The
`PatternCompiler` parses the rule book's text into steps, gives every word its code and
renders regexes that the engine runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from strikewatch.classify.book import NAME_RE, Origin, Phrase
from strikewatch.classify.tokens import END_RE, GAP_RE, HIGH, LOW, NUMBER, TOKEN_RE, words_of
from strikewatch.errors import RulesError

Atom = str
Words = tuple[Atom, ...]
CodeSeq = tuple[frozenset[str], ...]  # a phrase as the codes each of its words can have
# (kind, phrases or gap size, optional)
PatternStep = tuple[str, Any, bool]
GAP = "gap"
END = "end"
ALT = "alt"
PATTERN_CHARS_RE = re.compile(r"[{}|?$]|\.\.\.")
_WORD_CHARS_RE = re.compile(r"^[\w.'&%+@,:]+$")
# How much trying one pattern at one place may cost. Each gap of N words can be tried N+1
# ways and each optional word two, and the regex engine may try every combination, so the
# ways multiply: a pattern with many optional words or long gaps in a row can take seconds
# on one long sentence. The bundled rules need at most 45 ways, gaps of 8, 2 optional words.
MAX_GAP = 10
MAX_OPTIONAL = 4
MAX_WAYS = 1000
# For choosing the word that gates a pattern (see PatternCompiler.gate): English words found in
# most texts, and words found in most labor stories. Only speed depends on these lists.
COMMON = frozenset(
    "the to a an and of in on for with is are was were will at as by from it its his her their "
    "has have had be new that this says said".split()
)
FREQUENT = frozenset(
    "talks negotiations negotiators bargaining strike strikes striking deal contract agreement "
    "union unions guild members writers actors performers studios studio producers vote votes "
    "voted offer proposal table meeting session sessions week day year time first last back "
    "up out over after more set says would could will may can not no".split()
)


def _atoms(text: str, origin: Origin) -> list[Atom]:
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
        words = [w for tok in TOKEN_RE.findall(stem) for w in words_of(tok)]
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


def _variants(atoms: list[Atom]) -> set[Words]:
    """A phrase and, for two words, the same words run together ("walk out" also matches
    "walkout", "sag aftra" also "SAGAFTRA")."""
    out = {tuple(atoms)}
    if len(atoms) == 2 and all(re.match(r"^[a-z0-9]+$", a) for a in atoms):
        joined = "".join(atoms)
        if len(joined) <= 24:
            out.add((joined,))
    return out


@dataclass
class Pattern:
    """A parsed pattern: steps of (kind, phrases or gap size, optional)."""

    steps: list[PatternStep]
    text: str
    origin: Origin
    lead: str = ""  # "party"/"union": starts with that list, matched from the party mentions


def without_optional_start(
    steps: list[PatternStep],
) -> list[list[PatternStep]]:
    """A pattern whose first word is optional, as the patterns with and without it."""
    if steps and steps[0][0] == ALT and steps[0][2]:
        rest = steps[1:]
        while rest and rest[0][0] == GAP:
            rest = rest[1:]
        with_first = [(ALT, steps[0][1], False), *steps[1:]]
        return [with_first, *without_optional_start(rest)] if rest else [with_first]
    return [steps]


def _check_cost(text: str, steps: Sequence[PatternStep], origin: Origin) -> None:
    """Refuse a pattern whose matching cost can explode (see MAX_WAYS)."""
    optional = sum(1 for kind, _, is_optional in steps if kind == ALT and is_optional)
    if optional > MAX_OPTIONAL:
        raise origin.error(
            f"'{text}': {optional} optional words make matching slow (at most "
            f"{MAX_OPTIONAL}); write two patterns instead"
        )
    ways = 2**optional
    for kind, arg, _ in steps:
        if kind == GAP:
            ways *= arg + 1
    if ways > MAX_WAYS:
        raise origin.error(
            f"'{text}': its gaps and optional words can be tried {ways:,} ways at every word "
            f"(at most {MAX_WAYS:,}), which makes matching slow; use fewer or shorter gaps"
        )


def _optional(regex: str) -> str:
    return f"(?:{regex})?"


class PatternCompiler:
    """Parses phrases and patterns into atoms, gives each word a code, renders regexes."""

    def __init__(self, lists: dict[str, list[Phrase]], gap: int) -> None:
        self.raw_lists = lists
        self.gap = gap
        self.lists: dict[str, frozenset[Words]] = {}
        self.words: dict[str, str] = {}
        self.prefixes: dict[str, str] = {}
        self.acronym_words: dict[str, str] = {}  # "sag" -> "§sag" (its capitals-only twin)
        self.weight: dict[str, float] = {}  # word key -> how common (see score)
        self._key_classes: dict[Atom, frozenset[str]] = {}
        self.marker_of: dict[str, int] = {}
        self._markers_made = 0
        self._classes: dict[Atom, frozenset[str]] = {}
        self._sorted_words: list[str] | None = None
        self.end_re = END_RE  # what "$" renders to (see compile.compile_book)

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

    def step_keys(self, phrases: Iterable[Words]) -> frozenset[str]:
        """Words one of which a text must have for a step to match: for each alternative,
        those of its rarest word ("on hold" needs "hold")."""
        keys: set[str] = set()
        for phrase in phrases:
            keys |= min((self.key_class(a) for a in phrase), key=self.score)
        return frozenset(keys)

    def anchor(self, steps: Sequence[PatternStep]) -> frozenset[str]:
        """The words of a pattern's rarest required step: the text must have one of them for
        the pattern to be tried at all (empty: the pattern cannot be gated)."""
        required = [
            self.step_keys(arg) for kind, arg, optional in steps if kind == ALT and not optional
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
        sizes = [max(1, -(-len(pool) // len(LOW))) for pool in pools]
        if sum(sizes) > len(HIGH):
            raise RulesError(f"rules: {len(keys)} different words and prefixes; that is too many")
        sizes[-1] += len(HIGH) - sum(sizes)  # spare high characters go to the last pool
        first_high = 0
        for pool, size in zip(pools, sizes, strict=True):
            for n, key in enumerate(pool):
                code = chr(HIGH[first_high + n // len(LOW)]) + chr(LOW[n % len(LOW)])
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
            codes.add(NUMBER)
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
    def plain(self, text: str, origin: Origin) -> set[Words]:
        phrases = _variants(_atoms(text, origin))
        for phrase in phrases:
            for atom in phrase:
                self.register(atom)
        return phrases

    def expand_lists(self) -> None:
        """Word lists with {other} entries replaced by the other list's phrases."""
        done: dict[str, frozenset[Words]] = {}
        raw = self.raw_lists

        def expand(name: str, trail: tuple[str, ...]) -> frozenset[Words]:
            if name in done:
                return done[name]
            out: set[Words] = set()
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
                if PATTERN_CHARS_RE.search(text):
                    raise p.origin.error(f"'{p.text}': a list entry is plain words (no | ... ? $)")
                out |= self.plain(text, p.origin)
            done[name] = frozenset(out)
            return done[name]

        for name in raw:
            expand(name, (name,))
        self.lists.update(done)

    def pattern(self, text: str, origin: Origin) -> Pattern:
        """'{reach} ...4 {deal}' as steps."""
        steps: list[PatternStep] = []
        for raw in text.split():
            if raw == "$":
                if not steps or steps[-1][0] != ALT:
                    raise origin.error("'$' (end of clause) must follow a word")
                steps.append((END, None, False))
                continue
            if raw.startswith("..."):
                n_text = raw[3:]
                if n_text and not n_text.isdigit():
                    raise origin.error(f"'{raw}': a gap is '...' or '...N' with N a number")
                if not steps:
                    raise origin.error("a pattern cannot start with '...'")
                if steps[-1][0] == GAP:
                    raise origin.error("two gaps in a row")
                size = int(n_text) if n_text else self.gap
                if size > MAX_GAP:
                    raise origin.error(
                        f"'{raw}': a gap is at most {MAX_GAP} words (a longer one makes "
                        "matching slow; write two patterns)"
                    )
                steps.append((GAP, size, False))
                continue
            optional = raw.endswith("?") and len(raw) > 1
            word = raw[:-1] if optional else raw
            phrases: set[Words] = set()
            for alt in word.split("|"):
                if not alt:
                    raise origin.error(f"'{raw}': empty alternative")
                if alt.startswith("{") or alt.endswith("}"):
                    name = alt[1:-1] if alt.startswith("{") and alt.endswith("}") else ""
                    if not NAME_RE.match(name):
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
            steps.append((ALT, frozenset(phrases), optional))
        words = [s for s in steps if s[0] == ALT]
        if not words:
            raise origin.error("empty pattern")
        if steps[-1][0] == GAP:
            raise origin.error("a pattern cannot end with '...'")
        if all(s[2] for s in words):
            raise origin.error("a pattern needs at least one word that is not optional")
        _check_cost(text, steps, origin)
        first = text.split()[0]
        lead = first[1:-1] if first in ("{party}", "{union}") else ""
        return Pattern(steps, text, origin, lead)

    def phrase_or_pattern(self, p: Phrase) -> Pattern:
        text = p.text.strip()
        if PATTERN_CHARS_RE.search(text):
            return self.pattern(text, p.origin)
        return Pattern([(ALT, frozenset(self.plain(text, p.origin)), False)], text, p.origin)

    # ---- rendering
    def _classes_of(self, phrases: Iterable[Words]) -> set[CodeSeq]:
        return {tuple(self.atom_class(a) for a in phrase) for phrase in phrases}

    def render_codes(self, codes: Iterable[str]) -> str:
        """A set of codes: one branch per high character, a class of low characters."""
        by_high: dict[str, set[str]] = {}
        for code in codes:
            by_high.setdefault(code[0], set()).add(code[1])
        branches = [re.escape(h) + _char_class(by_high[h]) for h in sorted(by_high)]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    def render_seqs(self, seqs: Iterable[CodeSeq]) -> str:
        """Alternatives as a regex in which every branch starts with a plain character (the
        high character of its first code), so that the engine picks a branch with one
        comparison, and where alternatives with the same continuation share one class for
        their first word. Longer alternatives are tried first."""
        by_high: dict[str, set[CodeSeq]] = {}
        for seq in seqs:
            for high, codes in _by_high(seq[0]).items():
                by_high.setdefault(high, set()).add((codes, *seq[1:]))
        branches = [re.escape(h) + self._render_lows(by_high[h]) for h in sorted(by_high)]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    def _render_lows(self, seqs: Iterable[CodeSeq]) -> str:
        """Alternatives whose first codes all share one high character, without it."""
        by_tail: dict[CodeSeq, set[str]] = {}
        for seq in seqs:
            by_tail.setdefault(seq[1:], set()).update(code[1] for code in seq[0])
        by_lows: dict[frozenset[str], list[CodeSeq]] = {}
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

    def render_phrases(self, phrases: Iterable[Words]) -> str:
        return self.render_seqs(self._classes_of(phrases))

    def render_steps(self, steps: Sequence[PatternStep]) -> str:
        out: list[str] = []
        for kind, arg, optional in steps:
            if kind == GAP:
                out.append(f"{GAP_RE}{{0,{arg}}}?")
            elif kind == END:
                out.append(self.end_re)
            else:
                piece = self.render_phrases(arg)
                out.append(_optional(piece) if optional else piece)
        return "".join(out)

    def render_alternatives(
        self,
        entries: Sequence[tuple[list[PatternStep], int | None]],
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
            and next(iter(firsts))[0] == ALT
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
            for variant in without_optional_start(steps) if steps else [steps]:
                if not variant or variant[0][0] != ALT:
                    loose.append(self.render_steps(variant) + self._marker(entry))  # type: ignore[arg-type]
                    continue
                rest = self.render_steps(variant[1:])
                extra = len(variant) - 1  # a pattern counts as longer than its first words
                by_first: dict[str, set[CodeSeq]] = {}
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

    def sequences(self, steps: Sequence[PatternStep]) -> set[str]:
        """Every code string a gap-free pattern can match (to tell from a match's codes
        which pattern it was)."""
        out = {""}
        for kind, arg, optional in steps:
            if kind != ALT:
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

    def first_codes(self, phrases: Iterable[Words]) -> frozenset[str]:
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
