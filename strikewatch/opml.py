"""OPML in and out, as feed readers write and read it.

Reading is defensive: any DOCTYPE (and with it every entity declaration) is removed before the
XML parser sees the document, so no entity can expand and nothing external is fetched; what is
left is parsed by the standard library's expat, which then rejects undefined entities.
Feeds are outlines with an `xmlUrl` (some readers write `url` or another case); category
outlines may nest to any depth; a missing title falls back to the address.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from strikewatch.errors import ImportFileError, UsageError
from strikewatch.ingest import read_file_start
from strikewatch.parse import defuse_xml
from strikewatch.sanitize import strip_controls
from strikewatch.subscriptions import add_feed, find_feed, normalize_location

MAX_OPML_BYTES = 5 * 1024 * 1024
_URL_KEYS = ("xmlurl", "url")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


@dataclass(frozen=True)
class OpmlFeed:
    url: str
    title: str | None
    text: str | None
    category: str | None


def _attribute(element: ElementTree.Element, *names: str) -> str | None:
    lowered = {key.lower(): value for key, value in element.attrib.items()}
    for name in names:
        value = lowered.get(name)
        if value is not None and strip_controls(value).strip():
            return strip_controls(value).strip()
    return None


def read_opml(path: str | Path) -> list[OpmlFeed]:
    """The feeds listed in an OPML file, in document order (duplicates included)."""
    body = read_file_start(path, MAX_OPML_BYTES + 1)
    if len(body) > MAX_OPML_BYTES:
        raise ImportFileError(f"{path}: larger than {MAX_OPML_BYTES // 1024 // 1024} MB")
    return parse_opml(body, str(path))


def parse_opml(body: bytes, name: str = "OPML") -> list[OpmlFeed]:
    try:
        root = ElementTree.fromstring(defuse_xml(body))
    except ElementTree.ParseError as error:
        raise ImportFileError(f"{name}: not valid OPML ({error})") from None
    if root.tag.rsplit("}", 1)[-1].lower() != "opml":
        raise ImportFileError(f"{name}: not an OPML document (root element is <{root.tag}>)")
    body_element = next(
        (child for child in root if child.tag.rsplit("}", 1)[-1].lower() == "body"), None
    )
    if body_element is None:
        return []
    feeds: list[OpmlFeed] = []
    # An explicit stack, not recursion: category outlines may nest as deep as a file likes.
    stack: list[tuple[Any, str | None]] = [(iter(body_element), None)]
    while stack:
        children, category = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            continue
        if child.tag.rsplit("}", 1)[-1].lower() != "outline":
            continue
        url = _attribute(child, *_URL_KEYS)
        label = _attribute(child, "title", "text")
        if url:
            feeds.append(
                OpmlFeed(url, _attribute(child, "title"), _attribute(child, "text"), category)
            )
        stack.append((iter(child), label if not url else category))
    return feeds


def feed_name(feed: OpmlFeed) -> str | None:
    """A short name from the outline's text (what strikewatch writes), if it looks like one."""
    for candidate in (feed.text, feed.title):
        if candidate and _NAME_RE.match(candidate):
            return candidate
    return None


def write_opml(feeds: list[dict[str, Any]], now: datetime | None = None) -> str:
    """OPML 2.0 for the given feeds (as Store.feeds returns them)."""
    now = now or datetime.now(UTC)
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = "strikewatch feeds"
    ElementTree.SubElement(head, "dateCreated").text = format_datetime(now, usegmt=True)
    ElementTree.SubElement(head, "docs").text = "https://opml.org/spec2.opml"
    body = ElementTree.SubElement(root, "body")
    for feed in feeds:
        url = feed["url"]
        if not re.match(r"^https?://", url, re.IGNORECASE):
            url = Path(url).as_uri() if Path(url).is_absolute() else url
        ElementTree.SubElement(
            body,
            "outline",
            type="rss",
            text=feed["name"],
            title=feed.get("title") or feed["name"],
            xmlUrl=url,
        )
    ElementTree.indent(root)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + ElementTree.tostring(root, encoding="unicode")
        + "\n"
    )


@dataclass
class OpmlImport:
    added: list[dict[str, Any]]
    duplicates: int
    skipped: list[tuple[str, str]]  # (url, why)


def import_feeds(store: Any, feeds: list[OpmlFeed], *, allow_files: bool = False) -> OpmlImport:
    """Subscribe to every feed in the list; duplicates (in the file or already subscribed) are
    counted and skipped, unusable addresses reported.

    An OPML file may come from anywhere: a `file://` entry is a local file that every later
    poll would read (and could show), so it is taken only with `allow_files`, and only when
    it is a regular file (never a device, a pipe or a folder)."""
    result = OpmlImport(added=[], duplicates=0, skipped=[])
    seen: set[str] = set()
    for feed in feeds:
        url = feed.url
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "feed":
            url = "http" + url[4:] if url[4:].startswith("://") else url[5:]
            scheme = url.split(":", 1)[0].lower()
        if scheme not in ("http", "https", "file"):
            result.skipped.append((feed.url, "not an http(s) or file address"))
            continue
        if scheme == "file" and not allow_files:
            result.skipped.append((feed.url, "a local file: taken only with --allow-files"))
            continue
        try:
            location = normalize_location(url)
        except UsageError as error:
            result.skipped.append((feed.url, _reason(str(error))))
            continue
        if scheme == "file" and not _regular_file(location):
            result.skipped.append(
                (feed.url, "not a regular file (missing, a folder, device or pipe)")
            )
            continue
        existing = find_feed(store, location)
        if location in seen or (existing is not None and existing["active"]):
            result.duplicates += 1
            continue
        seen.add(location)
        name = feed_name(feed)
        if name is not None and find_feed(store, name) is not None:
            name = None
        added, created = add_feed(store, location, name=name, title=feed.title or feed.text)
        if created:
            result.added.append(added)
        else:
            result.duplicates += 1
    return result


def _reason(message: str) -> str:
    """A usage error about an address, without the address (the warning line names it)."""
    return message.split(": ", 1)[1] if ": " in message else message


def _regular_file(path: str) -> bool:
    try:
        return stat.S_ISREG(Path(path).stat().st_mode)
    except (OSError, ValueError):
        return False
