"""An Atom 1.0 feed of the timeline, so any feed reader can follow strikewatch's tagged stream.

One entry per story (its first report), newest first. Ids are tag URIs derived from the first
report's link, so they stay the same from one export to the next (and from one database to
another); guilds and events are Atom categories with their own schemes; the other outlets'
reports are `related` links and are named in the content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from strikewatch import __version__
from strikewatch.normalize import strip_controls

ATOM_NS = "http://www.w3.org/2005/Atom"
GUILD_SCHEME = "https://strikewatch.invalid/guilds"
EVENT_SCHEME = "https://strikewatch.invalid/events"
ID_PREFIX = "tag:strikewatch.invalid,2023:"


def _text(value: Any) -> str:
    """XML 1.0 cannot carry control characters at all; feed text is kept literal otherwise."""
    return strip_controls(str(value or ""))


def entry_id(entry: dict[str, Any]) -> str:
    key = entry.get("link") or f"{entry['source']}\n{entry['title']}\n{entry['published']}"
    return ID_PREFIX + "story:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def feed_id(description: str) -> str:
    return ID_PREFIX + "timeline:" + hashlib.sha256(description.encode()).hexdigest()[:16]


def write_atom(
    entries: Sequence[dict[str, Any]],
    *,
    title: str = "strikewatch: Hollywood labor timeline",
    description: str = "",
    now: datetime | None = None,
) -> str:
    """The Atom document for timeline entries (as Store.timeline returns them)."""
    ElementTree.register_namespace("", ATOM_NS)

    def element(parent: ElementTree.Element, tag: str, text: str | None = None, **attributes):
        child = ElementTree.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attributes)
        if text is not None:
            child.text = text
        return child

    newest_first = sorted(
        entries, key=lambda entry: (entry["published"], entry["id"]), reverse=True
    )
    root = ElementTree.Element(f"{{{ATOM_NS}}}feed")
    element(root, "id", feed_id(description or title))
    element(root, "title", _text(title))
    if description:
        element(root, "subtitle", _text(description))
    updated = (
        newest_first[0]["published"]
        if newest_first
        else (now or datetime.now(UTC)).isoformat(timespec="seconds")
    )
    element(root, "updated", updated)
    author = element(root, "author")
    element(author, "name", "strikewatch")
    element(root, "generator", "strikewatch", version=__version__)
    for entry in newest_first:
        item = element(root, "entry")
        element(item, "id", entry_id(entry))
        element(item, "title", _text(entry["title"]), type="text")
        if entry.get("link"):
            element(item, "link", rel="alternate", href=_text(entry["link"]))
        element(item, "published", entry["published"])
        element(item, "updated", entry["published"])
        source_author = element(item, "author")
        element(source_author, "name", _text(entry["source"]))
        for guild in entry.get("guilds", ()):
            element(item, "category", term=guild, scheme=GUILD_SCHEME, label=guild.upper())
        for event in entry.get("events", ()):
            element(item, "category", term=event, scheme=EVENT_SCHEME, label=event)
        also = entry.get("also", [])
        for other in also:
            if other.get("link"):
                element(
                    item,
                    "link",
                    rel="related",
                    href=_text(other["link"]),
                    title=_text(f"{other['source']}: {other['title']}"),
                )
        text = _text(entry.get("summary"))
        if also:
            others = "; ".join(f"{_text(o['source'])}: {_text(o['title'])}" for o in also)
            text = f"{text}\n\nAlso reported by {others}".strip()
        if text:
            element(item, "summary", text, type="text")
    ElementTree.indent(root)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        + ElementTree.tostring(root, encoding="unicode")
        + "\n"
    )
