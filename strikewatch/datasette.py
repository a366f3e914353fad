"""Datasette metadata for a strikewatch database, and the plugin that links the timeline view.

`strikewatch datasette` prints the metadata (titles, the schema's descriptions, facets, newest
first, internal tables hidden, canned queries); `--serve` runs Datasette with it. The column
descriptions are the README's schema table in short; a test keeps the two in step. Datasette
itself is optional (`strikewatch[datasette]`): nothing here imports it except the plugin hook,
which Datasette loads through the `datasette` entry point when both are installed.
"""

from __future__ import annotations

import os
from typing import Any

from strikewatch import taxonomy

TITLE = "strikewatch: Hollywood labor news"
DESCRIPTION = (
    "Trade-press and guild reports tagged with the parties (guilds) and what happened (events)."
    " Start with the timeline view (one row per story, newest first) or the canned queries."
)

TABLES: dict[str, dict[str, Any]] = {
    "timeline": {
        "description": "What `strikewatch timeline` shows: one row per story (its first report), newest first.",
        "columns": {
            "id": "the story's first report (items.id); opens the item",
            "published": "when it was published, UTC ISO 8601",
            "source": "the outlet (feed name)",
            "title": "the headline",
            "link": "the story, canonical (tracking parameters removed)",
            "guilds": "parties involved (JSON array of ids: wga, sag-aftra, amptp, dga, iatse, teamsters)",
            "events": "what happened (JSON array of event ids)",
            "summary": "plain text",
            "also_count": "other outlets that carried the story",
            "also_sources": "their names",
        },
    },
    "items": {
        "description": "One row per item (a report in a feed or archive), tagged by the rules.",
        "columns": {
            "title": "the headline",
            "link": "canonical link (tracking parameters removed)",
            "guid": "the feed's id for the entry",
            "summary": "plain text",
            "published": "UTC ISO 8601; the time first seen when the feed gave no usable date",
            "published_raw": "the date as the feed wrote it",
            "first_seen": "when strikewatch first stored it",
            "updated_at": "when its text last changed",
            "source": "the outlet (feed name or archive source)",
            "feed_id": "the feed it came from (feeds.id)",
            "content_hash": "of title and summary, to notice edits",
            "guilds": "JSON array of guild ids",
            "events": "JSON array of event ids",
            "rules_version": "the rules that tagged it",
            "story_id": "items.id of the story's first report (equal to id for a first report)",
            "effective_day": "for strike reports: the day it takes effect, as status reads it",
            "effective_why": "why that day",
        },
    },
    "feeds": {
        "description": "Subscriptions and their health.",
        "columns": {
            "name": "short name, shown as the source",
            "url": "address (updated after a permanent redirect)",
            "title": "the feed's own title",
            "active": "1 while subscribed (0 after removal or 410 Gone)",
            "etag": "conditional GET state",
            "last_modified": "conditional GET state",
            "last_status": "HTTP status of the last fetch",
            "error": "last error message",
            "error_count": "consecutive failures (backoff)",
            "last_polled": "UTC ISO 8601",
            "last_success": "UTC ISO 8601",
            "next_poll": "held back until then (backoff, Retry-After)",
        },
    },
    "item_sources": {
        "description": "Every feed or file that carried an item.",
        "columns": {},
    },
    "tags": {
        "description": "One row per item and tag, for the timeline filters.",
        "columns": {"kind": "guild or event", "tag": "the id"},
    },
    "alerts": {
        "description": "One row per alert: its filters, its action (exec or notify) and target.",
        "columns": {},
    },
    "alert_deliveries": {
        "description": "One row per alert and story tried: delivered, failing or given up.",
        "columns": {},
    },
    "alert_reports": {
        "description": "Every report of each story an alert is done with, so none acts again.",
        "columns": {},
    },
    "digest_marks": {
        "description": "Each digest name's mark: the last item it covered.",
        "columns": {},
    },
    "poll_log": {
        "description": "One row per feed per poll (the last 90 days or 100 polls of each feed).",
        "columns": {},
    },
}

# SQLite's and the migrations' own tables, the search index's shadow tables, and what status
# stores for itself.
HIDDEN = (
    "_sqlite_migrations",
    "items_fts",
    "items_fts_config",
    "items_fts_data",
    "items_fts_docsize",
    "items_fts_idx",
    "items_fts_replaced",
    "sqlite_stat1",
    "strike_standing",
)

_REPORT_COLUMNS = (
    "items.id, items.published, items.source, items.title, items.link, items.guilds, items.events"
)


def canned_queries() -> dict[str, dict[str, Any]]:
    queries: dict[str, dict[str, Any]] = {
        "search": {
            "title": "Ranked search",
            "description": "Full-text search over titles and summaries, best match first (title words count five times).",
            "sql": (
                f"select {_REPORT_COLUMNS}, items.summary from items_fts"
                " join items on items.id = items_fts.rowid"
                " where items_fts match :query order by bm25(items_fts, 5.0, 1.0) limit 100"
            ),
        },
        "new_since": {
            "title": "New since a date",
            "description": "Stories published on or after :since (YYYY-MM-DD, UTC), newest first.",
            "sql": "select * from timeline where published >= :since order by published desc",
        },
    }
    for guild in taxonomy.guild_ids():
        if not taxonomy.can_strike(guild):  # the studios' side
            continue
        queries[f"strike_reports_{guild.replace('-', '_')}"] = {
            "title": f"{guild}: strike reports",
            "description": (
                f"What `strikewatch status --explain --guild {guild}` reads: every report of a"
                f" {guild} strike starting or ending, with the day it takes effect."
            ),
            "sql": (
                f"select {_REPORT_COLUMNS}, items.effective_day, items.effective_why from items"
                " where exists (select 1 from tags where tags.item_id = items.id"
                f" and tags.tag = '{guild}')"
                " and exists (select 1 from tags where tags.item_id = items.id"
                " and tags.tag in ('strike-started', 'strike-ended'))"
                " order by items.published"
            ),
        }
    return queries


def metadata(db_path: str) -> dict[str, Any]:
    """Datasette metadata for the database at db_path (named as Datasette names it: its stem)."""
    name = os.path.splitext(os.path.basename(db_path))[0]
    tables: dict[str, Any] = {}
    for table, about in TABLES.items():
        tables[table] = {"description": about["description"], "columns": dict(about["columns"])}
    for table in ("timeline", "items"):
        tables[table].update(
            {
                "facets": ["source", {"array": "guilds"}, {"array": "events"}],
                "sort_desc": "published",
                "label_column": "title",
            }
        )
    tables["feeds"]["label_column"] = "name"
    tables["feeds"]["facets"] = ["active", "last_status"]
    tables["poll_log"]["sort_desc"] = "started_at"
    for table in HIDDEN:
        tables[table] = {"hidden": True}
    return {
        "title": TITLE,
        "description": DESCRIPTION,
        "databases": {
            name: {
                "title": TITLE,
                "tables": tables,
                "queries": canned_queries(),
            }
        },
    }


def render_cell(value: Any, column: str, table: str | None, database: str, datasette: Any) -> Any:
    """Datasette plugin hook: in the timeline view, a story's id opens its item."""
    if table != "timeline" or column != "id" or not isinstance(value, int):
        return None
    from markupsafe import Markup, escape

    href = datasette.urls.row(database, "items", str(value))
    return Markup(f'<a href="{escape(href)}">{escape(str(value))}</a>')


def _hook(function: Any) -> Any:
    """Mark render_cell as a Datasette hook implementation when Datasette is installed."""
    try:
        from datasette import hookimpl
    except ImportError:
        return function
    return hookimpl(function)


render_cell = _hook(render_cell)
