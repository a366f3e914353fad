"""Full-text search over stored titles and summaries (SQLite FTS5, table items_fts, kept in step
with items by triggers: see migrations.m005).

What users type is never handed to FTS5 as query syntax: every word becomes a quoted term, so
"sag-aftra deal)" or "wga: strike" cannot produce a syntax error. Kept on purpose: "quoted
phrases", a trailing * for a prefix (strik*), and OR between two terms. Terms are ANDed.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from typing import Any

from strikewatch.errors import UsageError
from strikewatch.filters import TimelineFilter, where
from strikewatch.store import item_dict
from strikewatch.stories import attach_also

# Title matches count five times as much as summary matches.
RANK = "bm25(items_fts, 5.0, 1.0)"


def _quote(tokens: Sequence[str]) -> str:
    return '"' + " ".join(tokens) + '"'


def fts_query(text: str) -> str:
    """A safe FTS5 MATCH expression for what the user typed; UsageError if it has no words."""
    terms: list[str] = []
    for phrase, word in re.findall(r'"([^"]*)"?|(\S+)', text):
        if word == "OR":
            if terms and terms[-1] != "OR":
                terms.append("OR")
            continue
        tokens = re.findall(r"\w+", phrase if phrase else word)
        tokens = [token for token in tokens if token.strip("_")]
        if not tokens:
            continue
        term = _quote(tokens)
        if word and word.endswith("*"):
            term += " *"
        terms.append(term)
    while terms and terms[-1] == "OR":
        terms.pop()
    if not terms:
        raise UsageError(f"nothing to search for in {text!r}: give at least one word")
    return " ".join(terms)


def search(
    conn: sqlite3.Connection,
    query: str,
    *,
    guilds: Sequence[str] = (),
    events: Sequence[str] = (),
    since: str | None = None,
    until: str | None = None,
    sources: Sequence[str] = (),
    limit: int = 20,
) -> list[dict[str, Any]]:
    """Stories whose reports match, best match first: each story once, through its best-matching
    report, with the story's other reports in `also`."""
    filters = TimelineFilter(
        guilds=guilds,
        events=events,
        since=since,
        until=until,
        sources=sources,
        include_untagged=True,  # ranked whether tracked or not
        collapse=False,  # each story is shown once, through its best-matching report
    )
    clauses, params = where(filters)
    sql = (
        "SELECT items.id, items.published, items.title, items.link, items.source, items.summary,"
        f" items.guilds, items.events, items.story_id, {RANK} AS score"
        " FROM items_fts JOIN items ON items.id = items_fts.rowid"
        f" WHERE {' AND '.join(['items_fts MATCH ?', *clauses])}"
        " ORDER BY score, items.published DESC, items.id LIMIT ?"
    )
    params = [fts_query(query), *params]
    fetch = max(limit * 4, 50)
    while True:
        try:
            # Capped: a --limit near 2^63 times four overflows SQLite's integers.
            rows = conn.execute(sql, [*params, min(fetch, 2**63 - 1)]).fetchall()
        except sqlite3.OperationalError as error:
            # Should not happen with quoted terms; still one line, never a traceback.
            raise UsageError(f"cannot search for {query!r}: {error}") from None
        entries: list[dict[str, Any]] = []
        seen: set[int] = set()
        for row in rows:
            story = row["story_id"] if row["story_id"] is not None else row["id"]
            if story in seen:
                continue
            seen.add(story)
            entries.append({**item_dict(row), "score": round(-row["score"], 3)})
            if len(entries) == limit:
                break
        if len(entries) == limit or len(rows) < fetch:
            break
        fetch *= 4
    attach_also(conn, entries)
    return entries
