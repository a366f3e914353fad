"""Subscriptions: a feed added, found or matched by what a user typed (an address, a local
path or a name), its address in the one form it is stored under.

The `feeds` commands, `poll URL` and OPML import use it; the store itself only keeps the rows.
Listings never load it: reading an address needs urllib.parse and pathlib, a few milliseconds
of every command's start."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from strikewatch.dates import to_utc_iso, utcnow
from strikewatch.errors import UsageError
from strikewatch.normalize import feed_url
from strikewatch.sanitize import strip_controls

if TYPE_CHECKING:
    from strikewatch.store import Store


def find_feed(store: Store, url_or_name: str) -> dict[str, Any] | None:
    """A feed by name (any case), by URL, or by local path."""
    try:
        location = normalize_location(url_or_name)
    except UsageError:  # not an address: maybe a name
        location = url_or_name
    row = store.conn.execute(
        "SELECT * FROM feeds WHERE name = ? COLLATE NOCASE OR url = ? OR url = ?",
        (url_or_name, url_or_name, location),
    ).fetchone()
    if row is None:
        row = _feed_by_normal_url(store.conn, location)
    return dict(row) if row else None


def feed_with_url(store: Store, url: str, other_than: int | None = None) -> dict[str, Any] | None:
    """The feed (other than `other_than`) at `url`, compared in normalised form."""
    row = store.conn.execute(
        "SELECT * FROM feeds WHERE url = ? AND id IS NOT ?", (url, other_than)
    ).fetchone()
    if row is None:
        row = _feed_by_normal_url(store.conn, url, other_than)
    return dict(row) if row else None


def add_feed(
    store: Store, location: str, name: str | None = None, title: str | None = None
) -> tuple[dict[str, Any], bool]:
    """Subscribe; returns (feed, created). Re-adding a removed feed reactivates it."""
    url = normalize_location(location)
    with store.transaction() as conn:
        existing = conn.execute(
            "SELECT * FROM feeds WHERE url = ?", (url,)
        ).fetchone() or _feed_by_normal_url(conn, url)
        if existing is not None:
            if not existing["active"]:
                conn.execute(
                    "UPDATE feeds SET active = 1, error = NULL, error_count = 0, next_poll = NULL WHERE id = ?",
                    (existing["id"],),
                )
                return dict(
                    conn.execute("SELECT * FROM feeds WHERE id = ?", (existing["id"],)).fetchone()
                ), True
            return dict(existing), False
        if name is not None:
            name = name.strip()
            if not name:
                raise UsageError("a feed name cannot be empty")
            clash = conn.execute(
                "SELECT url FROM feeds WHERE name = ? COLLATE NOCASE", (name,)
            ).fetchone()
            if clash is not None:
                raise UsageError(f"a feed named {name!r} already exists ({clash['url']})")
        else:
            name = _free_name(conn, derive_feed_name(url))
        cursor = conn.execute(
            "INSERT INTO feeds (name, url, title, added_at) VALUES (?, ?, ?, ?)",
            (name, url, title, to_utc_iso(utcnow())),
        )
        return dict(
            conn.execute("SELECT * FROM feeds WHERE id = ?", (cursor.lastrowid,)).fetchone()
        ), True


def _free_name(conn: sqlite3.Connection, base: str) -> str:
    taken = {
        row[0].lower()
        for row in conn.execute("SELECT name FROM feeds WHERE name LIKE ?", (base + "%",))
    }
    if base.lower() not in taken:
        return base
    number = 2
    while f"{base}-{number}".lower() in taken:
        number += 1
    return f"{base}-{number}"


def _feed_by_normal_url(
    conn: sqlite3.Connection, url: str, other_than: int | None = None
) -> sqlite3.Row | None:
    """A feed whose stored address is `url` once normalised: one written by a version that
    stored addresses as typed (HTTPS://DEADLINE.COM:443/feed/), which migration m008 could not
    normalise because the normal form was taken. A handful of rows, read only on a miss."""
    if not url[:8].lower().startswith(("http:", "https:")):
        return None
    try:
        wanted = feed_url(url)
    except UsageError:
        return None
    for row in conn.execute(
        "SELECT * FROM feeds WHERE (url LIKE 'http:%' OR url LIKE 'https:%') AND id IS NOT ?"
        " ORDER BY id",
        (other_than,),
    ):
        try:
            if feed_url(row["url"]) == wanted:
                return row
        except UsageError:
            continue
    return None


def normalize_location(location: str) -> str:
    """A URL in its stored form (normalize.feed_url; UsageError when it is not a usable one), or
    a local path made absolute so it is the same from anywhere."""
    location = strip_controls(location).strip()
    if location[:8].lower().startswith(("http:", "https:")):
        return feed_url(location)
    if location.lower().startswith("file://"):
        location = location[7:]
    return str(Path(location).expanduser().resolve())


def derive_feed_name(url: str) -> str:
    """deadline.com/feed/ -> deadline; /home/me/wga.xml -> wga."""
    parts = urlsplit(url)
    if parts.scheme.lower() in ("http", "https") and parts.hostname:
        host = parts.hostname.lower()
        if host == "localhost" or host.replace(".", "").isdigit() or ":" in host:
            stem = Path(parts.path).stem
            return stem if stem and stem not in ("feed", "rss", "atom", "index") else "localhost"
        labels = [label for label in parts.hostname.lower().split(".") if label]
        while labels and labels[0] in ("www", "feeds", "feed", "rss", "m"):
            labels.pop(0)
        if len(labels) >= 2:
            return labels[-2] if len(labels[-2]) > 3 or len(labels) == 2 else labels[-3]
        return labels[0] if labels else "feed"
    stem = Path(url).stem
    return stem or "feed"
