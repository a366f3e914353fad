"""Where a feed's bytes, or an archive's lines, become items."""

from __future__ import annotations

import calendar
import codecs
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin
from xml.sax import SAXException, SAXParseException

from strikewatch.dates import parse_timestamp, plausible_date, read_timestamp
from strikewatch.errors import ParseError
from strikewatch.normalize import canonical_link
from strikewatch.safexml import use_for_feedparser
from strikewatch.sanitize import strip_controls
from strikewatch.text import SUMMARY_MAX_CHARS, looks_like_markup, plain_text, read_json_object

TITLE_MAX_CHARS = 500

# Every summary is reduced to plain text (text.plain_text), so feedparser's HTML sanitizer
# and relative-URI rewriting would only cost time (benchmarks/bench_parse.py measures it).
# tests/test_parse.py checks the items come out identical.
FEEDPARSER_OPTIONS = {"sanitize_html": False, "resolve_relative_uris": False}

# A DOCTYPE with an internal subset is how billion-laughs and external-entity attacks arrive.
# feedparser only strips entity declarations that start a line, so a one-line bomb would reach
# expat. Two layers: the DOCTYPE is dropped here, whatever its layout (quoted "]" and ">" in
# entity values included), and strikewatch.safexml refuses any entity that still gets through
# (another encoding, a layout this pattern misses).
_DOCTYPE_RE = re.compile(
    rb"<!DOCTYPE(?:[^\[>\"']|\"[^\"]*\"|'[^']*'|\[(?:[^\]\"']|\"[^\"]*\"|'[^']*')*\])*>",
    re.IGNORECASE,
)
_ENTITY_DECL_RE = re.compile(rb"<!ENTITY(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.IGNORECASE)
_FIRST_ELEMENT_RE = re.compile(rb"<[A-Za-z_]")
_ENTRY_OPEN_RE = re.compile(rb"<(?:item|entry)[\s>]")
_ROOT_CLOSE_RE = re.compile(rb"</\s*(?:[\w.-]+:)?(?:rss|feed|RDF)\s*>\s*\Z")
_SCHEME_RE = re.compile(r"\s*[A-Za-z][A-Za-z0-9+.-]*:")

# Numeric references that may name no character: a surrogate half (D800-DFFF) or beyond
# U+10FFFF. Expat refuses them, and feedparser's loose parser then fails on the whole document
# (chr() of one cannot be encoded); the value is checked in _no_character.
_ODD_CHAR_REF_RE = re.compile(
    rb"&#(?:[xX]0*(?:[dD][89a-fA-F][0-9a-fA-F]{2}|[1-9a-fA-F][0-9a-fA-F]{5,})|0*[1-9][0-9]{4,});"
)
_HTML_SNIFF_RE = re.compile(rb"<(!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.IGNORECASE)


@dataclass
class Item:
    """One story as a feed or archive told it, before it is stored."""

    title: str
    link: str | None
    guid: str | None = None
    summary: str = ""
    published: datetime | None = None
    published_raw: str | None = None
    source: str | None = None


@dataclass
class ParsedFeed:
    title: str | None
    items: list[Item]
    warning: str | None = None
    skipped: int = 0


@dataclass
class ArchiveLineError:
    line_number: int
    message: str


def defuse_xml(body: bytes) -> bytes:
    """Remove the DOCTYPE and any ENTITY declaration that precede the first element."""
    if b"<!" not in body:
        return body
    first = _FIRST_ELEMENT_RE.search(body)
    doctype = _DOCTYPE_RE.search(body)
    # A DOCTYPE after the first element is text (HTML inside CDATA), not a declaration.
    if doctype is not None and (first is None or doctype.start() < first.start()):
        body = body[: doctype.start()] + body[doctype.end() :]
        first = _FIRST_ELEMENT_RE.search(body)
    end = first.start() if first else len(body)
    return _ENTITY_DECL_RE.sub(b"", body[:end]) + body[end:]


def replace_non_characters(body: bytes) -> bytes:
    """Numeric references to no character at all become U+FFFD, as an HTML parser reads them,
    so one such reference costs one character, not the feed."""
    if b"&#" not in body:
        return body
    return _ODD_CHAR_REF_RE.sub(_no_character, body)


def _no_character(match: re.Match[bytes]) -> bytes:
    digits = match.group(0)[2:-1]
    value = int(digits[1:], 16) if digits[:1] in (b"x", b"X") else int(digits)
    return b"&#xFFFD;" if 0xD800 <= value <= 0xDFFF or value > 0x10FFFF else match.group(0)


_UNICODE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_XML_DECL_ENCODING_RE = re.compile(rb"""\A(<\?xml[^>]*?)\s+encoding\s*=\s*(["'])[^"']*\2""")


def tidy_prolog(body: bytes, content_type: str | None) -> tuple[bytes, str | None]:
    """Mend what comes before the root element, so a recoverable oddity reads as a clean feed.

    - A UTF-16 or UTF-32 byte-order mark decides the encoding (as it does in browsers):
      feedparser trusts a missing declaration or the header's charset over it and reads the
      document as UTF-8 full of NUL bytes. The body is given to it as UTF-8, said so.
    - Blank lines or spaces before `<?xml` (a stray newline from a PHP template) make the
      declaration illegal for expat; they are dropped.
    """
    for bom, codec in _UNICODE_BOMS:
        if body.startswith(bom):
            try:
                text = body.decode(codec)
            except UnicodeDecodeError:
                return body, content_type  # not what the mark said: feedparser guesses
            body = text.encode("utf-8")
            body = _XML_DECL_ENCODING_RE.sub(rb'\1 encoding="utf-8"', body.lstrip(), count=1)
            media_type = (content_type or "").split(";", 1)[0].strip()
            return body, f"{media_type or 'application/xml'}; charset=utf-8"
    bom = codecs.BOM_UTF8 if body.startswith(codecs.BOM_UTF8) else b""
    rest = body[len(bom) :]
    stripped = rest.lstrip(b" \t\r\n")
    if len(stripped) != len(rest) and stripped.startswith(b"<?xml"):
        body = bom + stripped
    return body, content_type


def _struct_to_datetime(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, TypeError, OSError):
        return None


def _is_html(detail: dict[str, Any] | None, value: str) -> bool:
    """Whether feedparser's text is HTML: as the feed declared it (Atom's type, or feedparser's
    guess for RSS), or, where it says nothing, as the text looks."""
    kind = (detail or {}).get("type") or ""
    if kind == "text/plain":
        return False
    return "html" in kind or looks_like_markup(value)


def _entry_to_item(
    entry, base_url: str | None = None, unread_zones: list[str] | None = None
) -> Item | None:
    """The entry as an item (None without any text); a date whose zone cannot be read is
    left out and its zone added to `unread_zones`."""
    # dict.get, not feedparser's get(): the keys read here are the ones feedparser stores
    # entries under, which its get() finds the same but through its aliases and, for a missing
    # key, a KeyError (a fifth of this function's time). For "updated" it also differs: it
    # answers a missing one with "published", and a DeprecationWarning.
    get = dict.get
    summary_html = get(entry, "summary") or ""
    summary_detail = get(entry, "summary_detail")
    for content in get(entry, "content") or ():
        if not summary_html and get(content, "value"):
            summary_html, summary_detail = content["value"], content
        if summary_detail is None and get(content, "value") == summary_html:
            summary_detail = content  # content copied to summary: its type says what it is
    summary = plain_text(
        summary_html, SUMMARY_MAX_CHARS, html=_is_html(summary_detail, summary_html)
    )
    raw_title = get(entry, "title") or ""
    title = plain_text(
        raw_title, TITLE_MAX_CHARS, html=_is_html(get(entry, "title_detail"), raw_title)
    )
    if not title:
        title = plain_text(summary, 120, html=False)
    if not title:
        return None
    raw_date = get(entry, "published") or get(entry, "updated") or get(entry, "created")
    ours, unread_zone = read_timestamp(raw_date) if raw_date else (None, None)
    if unread_zone is not None:
        published = None
        if unread_zones is not None:
            unread_zones.append(unread_zone)
    elif ours is not None:
        # Our reader, where it reads the date, knows what feedparser takes for UTC: "UTC+1",
        # "3:15 PM PDT", summer "ET", and zones neither knows (a wrong instant is worse than
        # the time we first saw the story). Where it cannot, feedparser's many formats stand.
        published = ours
    else:
        published = _struct_to_datetime(
            get(entry, "published_parsed")
            or get(entry, "updated_parsed")
            or get(entry, "created_parsed")
        )
    published = plausible_date(published)
    guid = get(entry, "id") or None
    link = get(entry, "link")
    if link and base_url and not _SCHEME_RE.match(link):
        # Not `"://" in link`: a relative share link carries one in its query (/share?u=https://x).
        link = urljoin(base_url, link.strip())
    return Item(
        title=title,
        link=canonical_link(link),
        guid=strip_controls(str(guid)).strip()[:1000] or None if guid else None,
        summary=summary,
        published=published,
        published_raw=raw_date or None,
    )


def looks_like_html(body: bytes, content_type: str | None = None) -> bool:
    if content_type and "html" in content_type.lower() and "xhtml+xml" not in content_type.lower():
        return True
    return bool(_HTML_SNIFF_RE.search(body[:2048]))


def parse_feed(
    body: bytes, *, base_url: str | None = None, content_type: str | None = None
) -> ParsedFeed:
    """Parse RSS or Atom bytes; a malformed feed keeps whatever parsed, an unreadable one raises."""
    import feedparser

    if not body or not body.strip():
        raise ParseError("empty response: no feed in it")
    body, content_type = tidy_prolog(body, content_type)
    # No content-location: feedparser would then resolve every link-like element of every
    # entry against it (a fifth of the parse); only the entry's own link needs it, done below.
    headers = {}
    if content_type:
        headers["content-type"] = content_type
    use_for_feedparser()
    parsed = feedparser.parse(
        io.BytesIO(replace_non_characters(defuse_xml(body))),
        response_headers=headers,
        **FEEDPARSER_OPTIONS,
    )
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    entries = list(parsed.entries)
    notes: list[str] = []
    skipped = 0
    if isinstance(problem, SAXException) and entries and _last_entry_cut_off(body):
        # The loose parser returns the story the document was cut in the middle of, with half
        # a headline; it comes back whole next time.
        entries.pop()
        skipped += 1
        notes.append("dropped the last story, cut off mid-way")
    items: list[Item] = []
    unread_zones: list[str] = []
    for entry in entries:
        item = _entry_to_item(entry, base_url, unread_zones)
        if item is None:
            skipped += 1
        else:
            items.append(item)
    _drop_unreliable_guids(items)
    if not items:
        # OPML's <head>/<body> would pass for HTML, and an archive for broken XML.
        other = other_kind_of_file(body)
        if other is not None:
            raise ParseError(other)
        if looks_like_html(body, content_type) and not parsed.get("version"):
            # A body with a Content-Type, or from an http(s) address, came from a server; any
            # other is a file the user named.
            served = bool(content_type) or (base_url or "").lower().startswith(("http:", "https:"))
            raise ParseError(
                "not a feed: the server sent an HTML page" if served else "not a feed: an HTML file"
            )
        if problem is not None and not _harmless(problem):
            raise ParseError(f"not a readable feed: {_describe(problem)}")
        if not parsed.get("version"):
            raise ParseError("not a feed: no RSS or Atom document found")
    warning = None
    if problem is not None and not _harmless(problem):
        kept = f"kept the {len(items)} {'story' if len(items) == 1 else 'stories'} that parsed"
        what = (
            "feed declares the wrong encoding"
            if type(problem).__name__ == "CharacterEncodingOverride"
            else "feed is malformed"
        )
        warning = f"{what} ({_describe(problem)}); " + "; ".join([kept, *notes])
    raw_title = parsed.feed.get("title") or ""
    title = plain_text(raw_title, 200, html=_is_html(parsed.feed.get("title_detail"), raw_title))
    title = title or None
    if unread_zones:
        zones = ", ".join(
            repr(plain_text(zone, 40, html=False)) for zone in dict.fromkeys(unread_zones)
        )
        count = len(unread_zones)
        note = (
            f"{count} {'story is' if count == 1 else 'stories are'} dated in a time zone "
            f"strikewatch cannot read ({zones}): dated when first seen"
        )
        warning = f"{warning}; {note}" if warning else note
    return ParsedFeed(title=title, items=items, warning=warning, skipped=skipped)


def _harmless(problem: BaseException) -> bool:
    """Problems that cost nothing, not worth a line every poll: a feed served as text/html,
    or as text/xml without a charset (which RFC 3023 reads as US-ASCII, a subset of UTF-8)."""
    name = type(problem).__name__
    if name == "NonXMLContentType":
        return True
    return name == "CharacterEncodingOverride" and "declared as us-ascii" in str(problem)


def _describe(problem: BaseException) -> str:
    if isinstance(problem, SAXParseException):
        message = plain_text(problem.getMessage(), 150) or "not well-formed XML"
        if message in ("no element found", "unclosed token"):
            message = "the document is cut off"
        line = problem.getLineNumber()
        return f"{message} at line {line}" if isinstance(line, int) and line > 0 else message
    name = type(problem).__name__
    if name == "CharacterEncodingOverride":
        return plain_text(str(problem), 150) or "wrong encoding declared"
    if name == "CharacterEncodingUnknown":
        return "unknown character encoding"
    return plain_text(str(problem), 150) or name


def _last_entry_cut_off(body: bytes) -> bool:
    """True when the document ends inside its last <item> or <entry>."""
    tail = body[-(1 << 20) :]
    opened = max(
        (match.start() for match in _ENTRY_OPEN_RE.finditer(tail)),
        default=-1,
    )
    closed = max(tail.rfind(b"</item>"), tail.rfind(b"</entry>"))
    if opened < 0:
        return False
    return opened > closed and not _ROOT_CLOSE_RE.search(tail)


def _drop_unreliable_guids(items: list[Item]) -> None:
    """A guid that one document gives to several different links identifies nothing: forget it
    for those items, so they are told apart (and matched) by their links instead."""
    links_by_guid: dict[str, set[str | None]] = {}
    for item in items:
        if item.guid:
            links_by_guid.setdefault(item.guid, set()).add(item.link)
    for item in items:
        if item.guid and len(links_by_guid[item.guid]) > 1:
            item.guid = None


def looks_like_jsonl(head: bytes) -> bool:
    """An archive starts with a JSON object; a feed starts with markup."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return stripped.startswith(b"{")


def parse_archive_lines(
    lines: Iterable[bytes | str], default_source: str, first_line: int = 1
) -> Iterator[Item | ArchiveLineError]:
    """Read a JSON-lines archive: one item per object, each bad line reported by number
    (`first_line` is the number of the first of `lines`, for an archive read in pieces)."""
    for number, line in enumerate(lines, start=first_line):
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                yield ArchiveLineError(number, "not valid UTF-8")
                continue
        if number == 1:
            line = line.lstrip("\ufeff")
        if not line.strip():
            continue
        record = read_json_object(line)
        if isinstance(record, str):
            yield ArchiveLineError(number, record)
            continue
        yield archive_record_to_item(record, number, default_source)


def archive_record_to_item(
    record: dict, number: int, default_source: str
) -> Item | ArchiveLineError:
    title = record.get("title")
    link = record.get("link")
    if not isinstance(title, str) or not _archive_text(title):
        return ArchiveLineError(number, _missing_or_mistyped(record, "title"))
    if not isinstance(link, str) or not link.strip():
        return ArchiveLineError(number, _missing_or_mistyped(record, "link"))
    summary, raw_date, source, guid = (
        record.get(key) for key in ("summary", "published", "source", "guid")
    )
    # Optional fields are absent, null, or of their type: anything else is the line's error,
    # not silently turned into something the archive did not say.
    for key, value in (("summary", summary), ("published", raw_date), ("source", source)):
        if value is not None and not isinstance(value, str):
            return ArchiveLineError(number, f"{key!r} must be a string, not {_json_type(value)}")
    if guid is not None and (not isinstance(guid, str | int) or isinstance(guid, bool)):
        return ArchiveLineError(
            number, f"'guid' must be a string or an integer, not {_json_type(guid)}"
        )
    published = None
    if raw_date is not None and (published := parse_timestamp(raw_date)) is None:
        return ArchiveLineError(number, f"unreadable 'published' date: {raw_date[:60]!r}")
    return Item(
        title=_archive_text(title, TITLE_MAX_CHARS),
        link=canonical_link(link),
        guid=strip_controls(str(guid)).strip()[:1000] or None if guid not in (None, "") else None,
        summary=_archive_text(summary, SUMMARY_MAX_CHARS) if isinstance(summary, str) else "",
        published=plausible_date(published),  # a placeholder year 1 is no date
        published_raw=raw_date,
        source=plain_text(source, 100, html=False)
        if isinstance(source, str) and source.strip()
        else default_source,
    )


_ROOT_SNIFF_RE = re.compile(
    rb"<(?:!doctype\s+)?(?:[\w.-]+:)?(rss|feed|rdf|html)[\s>]", re.IGNORECASE
)
_OPML_SNIFF_RE = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<[?!][^>]*>\s*)*<opml[\s>]", re.IGNORECASE)
FEED_LINK_TYPES = ("application/rss+xml", "application/atom+xml")


def looks_like_opml(head: bytes) -> bool:
    """An OPML subscription list (what `feeds import` reads), not a feed."""
    match = _OPML_SNIFF_RE.search(head[:4096])
    return match is not None


def other_kind_of_file(head: bytes) -> str | None:
    """What a document that strikewatch reads with another command is, and which command (an
    OPML subscription list, a JSON-lines archive), or None."""
    if looks_like_opml(head):
        return "an OPML list of subscriptions, not a feed: use `strikewatch feeds import`"
    if looks_like_jsonl(head) and _first_line_is_archive_record(head):
        return "a JSON-lines archive, not a feed: use `strikewatch import`"
    return None


def _first_line_is_archive_record(body: bytes) -> bool:
    """Whether the first line is an archive record (an object with a title or link), not some
    other JSON (an API's answer, a JSON Feed)."""
    line = body[:65536].lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0]
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return False
    return (
        isinstance(record, dict)
        and ("title" in record or "link" in record)
        and ("version" not in record)
    )


def is_html_page(body: bytes) -> bool:
    """True when the document is a web page rather than a feed (by its first root-like tag:
    a feed served as text/html is still a feed, and HTML inside a feed's CDATA comes later)."""
    match = _ROOT_SNIFF_RE.search(body[:4096])
    return match is not None and match.group(1).lower() == b"html"


def find_feed_links(body: bytes, page_url: str) -> list[str]:
    """The feeds a web page announces with <link rel="alternate" type="application/rss+xml">
    (or Atom), in page order, resolved against the page's address (or its <base href>); only
    http(s) ones. Read with the standard library's HTML parser: pages are not XML."""
    found: list[str] = []
    base = [page_url]

    class LinkFinder(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            values = {key.lower(): (value or "").strip() for key, value in attrs}
            if tag == "base" and values.get("href"):
                base[0] = urljoin(page_url, values["href"])
            if tag != "link" or not values.get("href"):
                return
            kind = values.get("type", "").split(";")[0].strip().lower()
            if "alternate" in values.get("rel", "").lower().split() and kind in FEED_LINK_TYPES:
                address = urljoin(base[0], values["href"])
                if _SCHEME_RE.match(address) and address.lower().startswith(("http:", "https:")):
                    found.append(address)

    finder = LinkFinder(convert_charrefs=True)
    finder.feed(body.decode("utf-8", "replace"))
    finder.close()
    return list(dict.fromkeys(found))


def _missing_or_mistyped(record: dict, key: str) -> str:
    value = record.get(key)
    if value is None or isinstance(value, str):
        return f"missing or empty {key!r}"
    return f"{key!r} must be a string, not {_json_type(value)}"


def _json_type(value: object) -> str:
    """What JSON calls the type of a decoded value."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "an array" if isinstance(value, list) else "an object"


def _archive_text(value: str, max_chars: int | None = None) -> str:
    """An archive does not say whether a field is HTML: it is when it looks it (a closing tag,
    an entity), so a timeline exported as text ("1 < 2") comes back as it went out."""
    return plain_text(value, max_chars, html=looks_like_markup(value))
