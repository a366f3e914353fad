"""Where a feed's bytes, or an archive's lines, become items."""

from __future__ import annotations

import calendar
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from strikewatch.errors import ParseError
from strikewatch.normalize import (
    SUMMARY_MAX_CHARS,
    canonical_link,
    parse_timestamp,
    plain_text,
    strip_controls,
)

TITLE_MAX_CHARS = 500

# A DOCTYPE with an internal subset is how billion-laughs and external-entity attacks arrive.
# feedparser only strips entity declarations that start a line, so a one-line bomb would reach
# expat; we drop every DOCTYPE, whatever its layout, before feedparser sees the document.
_DOCTYPE_RE = re.compile(rb"<!DOCTYPE(?:[^\[>]|\[.*?\])*>", re.IGNORECASE | re.DOTALL)
_ENTITY_DECL_RE = re.compile(rb"<!ENTITY.*?>", re.IGNORECASE | re.DOTALL)
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


@dataclass
class ParsedArchive:
    items: list[Item] = field(default_factory=list)
    errors: list[ArchiveLineError] = field(default_factory=list)


def defuse_xml(body: bytes) -> bytes:
    """Remove DOCTYPE and ENTITY declarations so no entity is ever expanded."""
    head = body[:65536]
    if b"<!" not in head:
        return body
    if b"<!DOCTYPE" in head.upper() or b"<!ENTITY" in head.upper():
        body = _DOCTYPE_RE.sub(b"", body, count=1)
        body = _ENTITY_DECL_RE.sub(b"", body)
    return body


def _struct_to_datetime(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, TypeError, OSError):
        return None


def _entry_to_item(entry) -> Item | None:
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
    return Item(
        title=title,
        link=canonical_link(entry.get("link")),
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
    headers = {}
    if base_url:
        headers["content-location"] = base_url
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(
        io.BytesIO(defuse_xml(body)),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    items: list[Item] = []
    skipped = 0
    for entry in parsed.entries:
        item = _entry_to_item(entry)
        if item is None:
            skipped += 1
        else:
            items.append(item)
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not items:
        if looks_like_html(body, content_type) and not parsed.get("version"):
            raise ParseError("not a feed: the server sent an HTML page")
        if problem is not None:
            raise ParseError(f"not a readable feed: {_describe(problem)}")
        if not parsed.get("version"):
            raise ParseError("not a feed: no RSS or Atom document found")
    warning = f"feed is malformed, kept what parsed: {_describe(problem)}" if problem else None
    title = plain_text(parsed.feed.get("title"), 200) or None
    return ParsedFeed(title=title, items=items, warning=warning, skipped=skipped)


def _describe(problem: BaseException) -> str:
    text = plain_text(str(problem), 200) or type(problem).__name__
    return text


def looks_like_jsonl(head: bytes) -> bool:
    """An archive starts with a JSON object; a feed starts with markup."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return stripped.startswith(b"{")


def parse_archive_lines(
    lines: Iterable[bytes | str], default_source: str
) -> Iterator[Item | ArchiveLineError]:
    """Read a JSON-lines archive: one item per object, each bad line reported by number."""
    for number, line in enumerate(lines, start=1):
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
