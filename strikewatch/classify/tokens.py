"""How a text is read: words, and the two-character code each word gets.

Every module of the classifier below the rule book uses these: the compiler to write regexes
over codes, the engine to turn a text into codes. A word is two Latin-1 characters, a high one
in \\xc0-\\xff then a low one in \\x80-\\xbf, so a match can never start in the middle of a
word; punctuation and the special codes are an ASCII character followed by \\x7f.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Bump when the compiled form changes shape (the cache key also covers the package's source).
FORMAT = 6

# A text is split at white space; each chunk is cut into tokens: a word keeps inner hyphens,
# apostrophes, dots, commas, colons, slashes and ampersands ("SAG-AFTRA", "won't", "97.9",
# "90,000", "12:01", "AT&T"), a dotted abbreviation its final full stop ("a.m.", "U.S."), and
# every other mark is a token of its own.
TOKEN_RE = re.compile(r"\w+(?:[-'\u2019.,:/&]\w+)*(?:(?<=\.\w)\.)?|[^\w\s]")
# "May 10" is a date, not the modal "may" (which the speculation modifier looks for).
MAY_DATE_RE = re.compile(r"May\b(?:(?=\.? \d)|(?<=\b[Ii]n May)|(?<=\b[Ss]ince May))")
# Abbreviations whose full stop does not end a sentence ("Oct. 18", "No. 2").
_ABBREVIATIONS = frozenset(
    w + "."
    for w in "Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec No Nos Inc Corp Co Ltd Jr Sr St "
    "Mr Mrs Ms Dr Gov Sen Rep vs Vs Ave Blvd Mt Ft Gen Lt Sgt Capt Prof".split()
)

# Every word is two Latin-1 characters: a high one in \xc0-\xff, then a low one in
# \x80-\xbf, so a match can never start in the middle of a word. Punctuation and the special
# codes are an ASCII character followed by \x7f.
SPECIAL = "\x7f"
OTHER = "x" + SPECIAL  # a word no rule mentions
NUMBER = "0" + SPECIAL  # a number no rule mentions
ORG_MASK = "O" + SPECIAL  # an organisation we do not track, blanked out
SEPARATOR = "S" + SPECIAL  # between the headline and the summary
SEPARATOR_CHUNK = "\x00"  # what stands for it in the text (never in news text)
FF_MASK = "F" + SPECIAL  # a false friend, blanked out
_SENTENCE_ENDERS = ".;:?!|S"  # end a sentence (and a gap); S: between headline and summary
_CLAUSE_ENDERS = ".;?!|S"  # what `$` stops at: not ':' ("Actors' strike: what to know")
_PUNCT: dict[str, str] = {
    ",": ",",
    ".": ".",
    ";": ";",
    ":": ":",
    "?": "?",
    "!": "!",
    "|": "|",
    "\u2014": ";",
    "\u2013": ";",
    "\u2015": ";",
    "-": ";",
    "\u2026": ";",
    "\u2022": ";",
    "\u00b7": ";",
}
PUNCT_CODE = {p: p + SPECIAL for p in set(_PUNCT.values())}
_PUNCT_WORDS: dict[str, str] = {"&": "and", "%": "%", "+": "+", "@": "at"}
HIGH = range(0xC0, 0x100)
LOW = range(0x80, 0xC0)
GAP_RE = "(?:[^" + re.escape(_SENTENCE_ENDERS) + "].)"
END_RE = "(?=[" + re.escape(_CLAUSE_ENDERS) + "]" + SPECIAL + "|$)"
ENDER_RE = re.compile("[" + re.escape(_SENTENCE_ENDERS) + "]" + SPECIAL)

_IRREGULAR_NOT = {"won": "will", "can": "can", "shan": "shall", "ain": "is", "wo": "will"}
_IS_CONTRACTIONS = frozenset(
    "it that there here what who where how he she this everything nothing".split()
)
_CONTRACTIONS = {"re": "are", "ll": "will", "ve": "have", "d": "would", "m": "am"}
_NUMERIC_RE = re.compile(r"^\d[\d.,:]*$")
# What in a regex source could see past a slice of the text: a lookbehind, \A \b \B \Z, ^.
ANCHORED = re.compile(r"\(\?<[=!]|\\[AbBZ]|(?<![\[\\])\^")


def words_of(token: str, acronyms: dict[str, str] | None = None) -> list[str]:
    """The canonical words of one token: lowercase, contractions spelled out, hyphens split."""
    if len(token) == 1 and not token.isalnum() and token != "_":
        if token in _PUNCT:
            return [_PUNCT[token]]
        word = _PUNCT_WORDS.get(token)
        return [word] if word else []
    token = token.replace("\u2019", "'").replace("\u2018", "'")
    tail: list[str] = []
    if "'" in token:
        low = token.lower()
        if low.endswith("n't"):
            stem = token[:-3]
            token = _IRREGULAR_NOT.get(stem.lower(), stem)
            tail = ["not"]
        else:
            head, _, end = token.rpartition("'")
            end = end.lower()
            if end == "s":
                if head.lower() in _IS_CONTRACTIONS:
                    tail = ["is"]
                token = head
            elif end in _CONTRACTIONS:
                tail = [_CONTRACTIONS[end]]
                token = head
        token = token.replace("'", "")
    if _NUMERIC_RE.match(token):
        return [token.rstrip(".,:"), *tail]
    out: list[str] = []
    for part in re.split(r"[-/]+", token):
        if not part:
            continue
        if acronyms and part in acronyms:
            out.append(acronyms[part])
            continue
        if part.endswith(".") and "." not in part[:-1]:
            part = part[:-1]  # "Oct." before a date
        if ("," in part or ":" in part) and not _NUMERIC_RE.match(part):
            for piece in re.split(r"([,:])", part):
                if piece:
                    out.append(piece if piece in ",:" else piece.lower())
            continue
        out.append(part.lower())
    return out + tail


class Lexicon:
    """Chunk of text between spaces -> its codes, worked out once per distinct chunk. The
    vocabulary of the news is small and repeats, so after warm-up reading a text costs one
    C-level dict lookup per chunk."""

    LIMIT = 300_000

    def __init__(
        self, words: dict[str, str], prefixes: dict[str, str], acronyms: dict[str, str]
    ) -> None:
        self.words = words
        self.prefixes = prefixes
        self.acronyms = acronyms
        self.max_prefix = max((len(p) for p in self.prefixes), default=0)
        self.codes: dict[str, str] = {SEPARATOR_CHUNK: SEPARATOR}

    def code(self, word: str) -> str:
        punct = PUNCT_CODE.get(word)
        if punct is not None:
            return punct
        code = self.words.get(word)
        if code is not None:
            return code
        prefixes = self.prefixes
        for k in range(min(len(word), self.max_prefix), 0, -1):
            code = prefixes.get(word[:k])
            if code is not None:
                return code
        return NUMBER if word[:1].isdigit() else OTHER

    def learn(self, chunks: Iterable[str]) -> None:
        codes = self.codes
        if len(codes) >= self.LIMIT:
            codes.clear()
            codes[SEPARATOR_CHUNK] = SEPARATOR
        for chunk in chunks:
            if chunk in codes:
                continue
            if chunk.isalpha() and chunk not in self.acronyms:
                code = self.code(chunk.lower())  # most chunks: one plain word
            else:
                code = "".join(self.code(w) for w in self.words_of(chunk))
            codes[chunk] = code

    def words_of(self, chunk: str) -> list[str]:
        """The canonical words of a chunk ("(UPDATE)", "ends.", "SAG-AFTRA's", "Oct.")."""
        if chunk in _ABBREVIATIONS:
            chunk = chunk[:-1]
        return [w for token in TOKEN_RE.findall(chunk) for w in words_of(token, self.acronyms)]
