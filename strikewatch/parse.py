"""Where a feed's bytes, or an archive's lines, become items."""

from __future__ import annotations

import calendar
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax import SAXException, SAXParseException

from strikewatch.errors import ParseError
from strikewatch.normalize import (
    SUMMARY_MAX_CHARS,
    canonical_link,
    parse_timestamp,
    plain_text,
    strip_controls,
)
from strikewatch.safexml import use_for_feedparser

TITLE_MAX_CHARS = 500

# Every summary is reduced to plain text (normalize.plain_text), so feedparser's HTML sanitizer
# and relative-URI rewriting only cost time: about a third of the parse on WordPress-style feeds
# (benchmarks/bench_parse.py). tests/test_parse.py checks the items come out identical.
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


def _struct_to_datetime(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, TypeError, OSError):
        return None


def _entry_to_item(entry, base_url: str | None = None) -> Item | None:
    summary_html = entry.get("summary") or ""
    if not summary_html:
        for content in entry.get("content") or ():
            if content.get("value"):
                summary_html = content["value"]
                break
    summary = plain_text(summary_html, SUMMARY_MAX_CHARS)
    title = plain_text(entry.get("title"), TITLE_MAX_CHARS)
    if not title:
        title = plain_text(summary, 120)
    if not title:
        return None
    raw_date = entry.get("published") or entry.get("updated") or entry.get("created")
    published = _struct_to_datetime(
        entry.get("published_parsed") or entry.get("updated_parsed") or entry.get("created_parsed")
    )
    if published is None and raw_date:
        published = parse_timestamp(raw_date)
    guid = entry.get("id") or None
    link = entry.get("link")
    if link and base_url and not _SCHEME_RE.match(link):
        # Not `"://" in link`: a relative share link carries one in its query (/share?u=https://x).
        from urllib.parse import urljoin

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
    # No content-location: feedparser would then resolve every link-like element of every
    # entry against it (a fifth of the parse); only the entry's own link needs it, done below.
    headers = {}
    if content_type:
        headers["content-type"] = content_type
    use_for_feedparser()
    parsed = feedparser.parse(
        io.BytesIO(defuse_xml(body)), response_headers=headers, **FEEDPARSER_OPTIONS
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
    for entry in entries:
        item = _entry_to_item(entry, base_url)
        if item is None:
            skipped += 1
        else:
            items.append(item)
    _drop_unreliable_guids(items)
    if not items:
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
    title = plain_text(parsed.feed.get("title"), 200) or None
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
        try:
            record = json.loads(line)
        except ValueError as error:
            message = getattr(error, "msg", None) or "malformed"
            yield ArchiveLineError(number, f"not valid JSON ({message})")
            continue
        if not isinstance(record, dict):
            yield ArchiveLineError(number, "not a JSON object")
            continue
        yield archive_record_to_item(record, number, default_source)


def archive_record_to_item(
    record: dict, number: int, default_source: str
) -> Item | ArchiveLineError:
    title = record.get("title")
    link = record.get("link")
    if not isinstance(title, str) or not plain_text(title):
        return ArchiveLineError(number, "missing or empty 'title'")
    if not isinstance(link, str) or not link.strip():
        return ArchiveLineError(number, "missing or empty 'link'")
    summary = record.get("summary")
    raw_date = record.get("published")
    published = None
    if raw_date is not None and (
        not isinstance(raw_date, str) or (published := parse_timestamp(raw_date)) is None
    ):
        return ArchiveLineError(number, f"unreadable 'published' date: {str(raw_date)[:60]!r}")
    source = record.get("source")
    guid = record.get("guid")
    return Item(
        title=plain_text(title, TITLE_MAX_CHARS),
        link=canonical_link(link),
        guid=strip_controls(str(guid)).strip()[:1000] or None if guid not in (None, "") else None,
        summary=plain_text(summary, SUMMARY_MAX_CHARS) if isinstance(summary, str) else "",
        published=published,
        published_raw=raw_date,
        source=plain_text(source, 100)
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


def is_html_page(body: bytes) -> bool:
    """True when the document is a web page rather than a feed (by its first root-like tag:
    a feed served as text/html is still a feed, and HTML inside a feed's CDATA comes later)."""
    match = _ROOT_SNIFF_RE.search(body[:4096])
    return match is not None and match.group(1).lower() == b"html"


def find_feed_links(body: bytes, page_url: str) -> list[str]:
    """The feeds a web page announces with <link rel="alternate" type="application/rss+xml">
    (or Atom), in page order, resolved against the page's address (or its <base href>); only
    http(s) ones. Read with the standard library's HTML parser: pages are not XML."""
    from html.parser import HTMLParser
    from urllib.parse import urljoin

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
