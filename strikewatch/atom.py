"""An Atom 1.0 feed of the timeline, so any feed reader can follow strikewatch's tagged stream.

One entry per story (its first report), newest first. Ids are tag URIs derived from the first
report's link, so they stay the same from one export to the next (and from one database to
another); guilds and events are Atom categories with their own schemes; the other outlets'
reports are `related` links and are named in the content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import chain
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

from strikewatch import __version__, taxonomy
from strikewatch.render import batched
from strikewatch.sanitize import strip_controls

ATOM_NS = "http://www.w3.org/2005/Atom"
GUILD_SCHEME = "https://strikewatch.invalid/guilds"
EVENT_SCHEME = "https://strikewatch.invalid/events"
ID_PREFIX = "tag:strikewatch.invalid,2023:"


def _text(value: Any) -> str:
    """XML 1.0 cannot carry control characters at all; feed text is kept literal otherwise."""
    return strip_controls(str(value or ""))


def safe_link(link: Any) -> str | None:
    """The link if a feed reader may offer it to be followed: http(s) with a host. A feed can
    carry javascript:, data: or file: links; those are not passed on."""
    text = _text(link).strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if any(character.isspace() for character in text):
        return None
    return text


def entry_id(entry: dict[str, Any]) -> str:
    key = entry.get("link") or f"{entry['source']}\n{entry['title']}\n{entry['published']}"
    return ID_PREFIX + "story:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def feed_id(description: str) -> str:
    return ID_PREFIX + "timeline:" + hashlib.sha256(description.encode()).hexdigest()[:16]


def write_atom(
    entries: Iterable[dict[str, Any]],
    *,
    title: str = "strikewatch: Hollywood labor timeline",
    description: str = "",
    now: datetime | None = None,
    newest_first: bool = False,
    self_url: str | None = None,
) -> Iterator[str]:
    """The Atom document for timeline entries (as Store.timeline returns them), in pieces:
    the feed's head, then ENTRY_BATCH entries at a time, so a whole archive is never one tree
    in memory. `newest_first` says the entries already come in the feed's order. The rel="self"
    link is `self_url`, where the feed is published; without one, the feed's own id (a tag: URI,
    the one name the feed has before it is put anywhere)."""
    ElementTree.register_namespace("", ATOM_NS)
    if not newest_first:
        entries = sorted(entries, key=lambda entry: (entry["published"], entry["id"]), reverse=True)
    entries = iter(entries)
    newest = next(entries, None)

    root = ElementTree.Element(f"{{{ATOM_NS}}}feed")
    identity = feed_id(description or title)
    _element(root, f"{{{ATOM_NS}}}id", identity)
    _element(root, f"{{{ATOM_NS}}}title", _text(title))
    _element(
        root,
        f"{{{ATOM_NS}}}link",
        rel="self",
        type="application/atom+xml",
        href=self_url or identity,
    )
    if description:
        _element(root, f"{{{ATOM_NS}}}subtitle", _text(description))
    updated = (
        newest["published"] if newest else (now or datetime.now(UTC)).isoformat(timespec="seconds")
    )
    _element(root, f"{{{ATOM_NS}}}updated", updated)
    author = _element(root, f"{{{ATOM_NS}}}author")
    _element(author, f"{{{ATOM_NS}}}name", "strikewatch")
    _element(root, f"{{{ATOM_NS}}}generator", "strikewatch", version=__version__)
    ElementTree.indent(root)
    head = ElementTree.tostring(root, encoding="unicode")
    yield '<?xml version="1.0" encoding="utf-8"?>\n' + head.removesuffix("\n</feed>")
    if newest is not None:
        for batch in batched(chain([newest], entries), ENTRY_BATCH):
            yield _entries_text(batch)
    yield "\n</feed>\n"


# Entries serialised at a time: one tree each time, never the whole archive's.
ENTRY_BATCH = 200


def _entries_text(entries: list[dict[str, Any]]) -> str:
    """Entries as they read inside the feed: each on its own line, indented, after a newline.
    They are built without the namespace: inside the feed, whose default namespace it is, they
    serialise exactly alike, and alone they carry no xmlns of their own."""
    wrapper = ElementTree.Element("batch")
    for entry in entries:
        wrapper.append(_entry_element(entry))
    ElementTree.indent(wrapper)
    text = ElementTree.tostring(wrapper, encoding="unicode")
    return text.removeprefix("<batch>").removesuffix("\n</batch>")


def _element(parent: ElementTree.Element, tag: str, text: str | None = None, **attributes: str):
    child = ElementTree.SubElement(parent, tag, attributes)
    if text is not None:
        child.text = text
    return child


def _entry_element(entry: dict[str, Any]) -> ElementTree.Element:
    item = ElementTree.Element("entry")
    _element(item, "id", entry_id(entry))
    _element(item, "title", _text(entry["title"]), type="text")
    link = safe_link(entry.get("link"))
    if link:
        _element(item, "link", rel="alternate", href=link)
    _element(item, "published", entry["published"])
    _element(item, "updated", entry["published"])
    source_author = _element(item, "author")
    _element(source_author, "name", _text(entry["source"]))
    for guild in entry.get("guilds", ()):
        _element(
            item, "category", term=guild, scheme=GUILD_SCHEME, label=taxonomy.guild_name(guild)
        )
    for event in entry.get("events", ()):
        _element(
            item, "category", term=event, scheme=EVENT_SCHEME, label=taxonomy.event_name(event)
        )
    also = entry.get("also", [])
    for other in also:
        related = safe_link(other.get("link"))
        if related:
            _element(
                item,
                "link",
                rel="related",
                href=related,
                title=_text(f"{other['source']}: {other['title']}"),
            )
    text = _text(entry.get("summary"))
    if also:
        others = "; ".join(f"{_text(o['source'])}: {_text(o['title'])}" for o in also)
        text = f"{text}\n\nAlso reported by {others}".strip()
    if text:
        _element(item, "summary", text, type="text")
    return item
