"""Feed text made plain: HTML reduced to the words a reader sees, an item's text
fingerprinted, an archive's JSON line read. What the fetch, parse and tag steps need; listings
never load it (html.parser and hashlib cost a command's start-up)."""

from __future__ import annotations

import hashlib
import json
import re
from html import unescape
from html.parser import HTMLParser
from typing import Any

from strikewatch.sanitize import strip_controls

SUMMARY_MAX_CHARS = 2000


_SPACE_RE = re.compile(r"\s+")


# What text that is really HTML carries: a closing tag, a line break, or an entity.
_MARKUP_HINT_RE = re.compile(
    r"</[A-Za-z][\w-]*\s*>|<br\s*/?>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z]\w*);"
)


# Elements whose edges separate words (a browser would start a new line or cell there).
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br caption dd details dialog div dl dt fieldset figcaption "
    "figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table "
    "tbody td tfoot th thead tr ul".split()
)
# Elements whose content a reader never sees.
_HIDDEN_TAGS = frozenset({"script", "style", "template", "noscript", "head", "title"})


def looks_like_markup(text: str) -> bool:
    """Whether text that does not say what it is (an archive's field) is HTML: a closing tag,
    a <br> or an entity reference. "1 < 2" and "RSS <<<Tutorial>>>" are text."""
    return ("<" in text or "&" in text) and _MARKUP_HINT_RE.search(text) is not None


class _TextOf(HTMLParser):
    """Collects the text a reader of some HTML sees."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)

    def unknown_decl(self, data: str) -> None:
        if data.startswith("CDATA["):  # CDATA left inside HTML: its text is text
            self.handle_data(data[6:])


def html_to_text(markup: str, enough: int | None = None) -> str:
    """The text a reader of this HTML sees, by a real HTML parser: tags go whole (an attribute
    holding ">" included), block edges become spaces, script and style go with their content,
    entities are decoded once. A "<" that no ">" follows cannot start a tag, so it is text,
    whatever the Python version's parser would do with an unfinished tag at the end.

    With `enough`, reading stops once that many characters of text (spaces collapsed) are in
    hand: a summary keeps its first 2,000, and an article's full HTML can be ten times that."""
    last_close = markup.rfind(">")
    if markup.find("<", last_close + 1) >= 0:
        markup = markup[: last_close + 1] + markup[last_close + 1 :].replace("<", "&lt;")
    parser = _TextOf()
    start, piece = 0, 8192 if enough is not None else len(markup)
    while start < len(markup):
        parser.feed(markup[start : start + piece])
        # Pieces double: a tag left open across them is scanned again on each feed, which
        # stays linear only if the pieces grow.
        start, piece = start + piece, piece * 2
        if enough is not None and sum(map(len, parser.parts)) > enough:
            text = " ".join("".join(parser.parts).split())
            if len(text) > enough:
                return text
    parser.close()
    return "".join(parser.parts)


def plain_text(value: str | None, max_chars: int | None = None, *, html: bool = True) -> str:
    """One line of plain, printable text. With `html` (the default), `value` is HTML, reduced
    to its text; without, it is already text and keeps its "<", "&" and ">" as written."""
    if not value:
        return ""
    text = value
    if html and ("<" in text or "&" in text):
        text = html_to_text(text, max_chars) if "<" in text else unescape(text)
    # Most headlines are already clean: isprintable() rules out controls, bidi marks, tabs,
    # newlines and odd spaces in one C call, and saves two regex passes per field.
    if not text.isprintable() or "  " in text:
        text = _SPACE_RE.sub(" ", strip_controls(text))
    text = text.strip()
    if max_chars is not None and len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return text


def content_hash(*fields: str | None) -> str:
    """A stable fingerprint of an item's text, to spot edits and items without guid or link."""
    text = "".join(f"{field or ''}\x1f" for field in fields)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def read_json_object(line: str) -> dict[str, Any] | str:
    """One JSON-lines record, or why it is not one (for the caller to report by line number):
    not JSON, nested past what the parser can follow, not an object, or holding a lone
    surrogate ("\\ud800"), which is no character: it could be neither stored nor printed."""
    try:
        record = json.loads(line)
    except RecursionError:
        return "not valid JSON (nested too deeply)"
    except ValueError as error:
        return f"not valid JSON ({getattr(error, 'msg', None) or 'malformed'})"
    if not isinstance(record, dict):
        return "not a JSON object"
    # Only a \u escape can write one (the line itself was valid UTF-8); pairs are fine.
    if "\\u" in line and _SURROGATE_ESCAPE_RE.search(line):
        for key, value in record.items():
            if _holds_lone_surrogate(key):
                return "a key holds a lone surrogate (a \\ud800-\\udfff escape), not text"
            if _holds_lone_surrogate(value):
                return f"{key[:40]!r} holds a lone surrogate (a \\ud800-\\udfff escape), not text"
    return record


_SURROGATE_ESCAPE_RE = re.compile(r"\\u[dD][89a-fA-F]")


def _holds_lone_surrogate(value: Any) -> bool:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
