"""The database schema, as the ordered list of changes that build it.

Applied by `Store.open` whenever the database is behind; never edit a migration that has shipped,
add the next `m00N_...` instead and bump SCHEMA_VERSION in store.py.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

from strikewatch.status import save_standings, stored_effective
from strikewatch.stories import regroup_all
from strikewatch.taxonomy import STRIKE_CHANGES

migrations = Migrations("strikewatch")


@migrations()
def m001_initial(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE feeds (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            url TEXT NOT NULL UNIQUE,
            title TEXT,
            active INTEGER NOT NULL DEFAULT 1,
            added_at TEXT NOT NULL,
            etag TEXT,
            last_modified TEXT,
            last_status INTEGER,
            error TEXT,
            error_count INTEGER NOT NULL DEFAULT 0,
            last_polled TEXT,
            last_success TEXT,
            next_poll TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE items (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            link TEXT,
            guid TEXT,
            summary TEXT NOT NULL DEFAULT '',
            published TEXT NOT NULL,
            published_raw TEXT,
            first_seen TEXT NOT NULL,
            updated_at TEXT,
            source TEXT NOT NULL,
            feed_id INTEGER REFERENCES feeds(id) ON DELETE SET NULL,
            content_hash TEXT NOT NULL,
            guilds TEXT NOT NULL DEFAULT '[]',
            events TEXT NOT NULL DEFAULT '[]',
            rules_version TEXT
        )
        """
    )
    db.execute("CREATE UNIQUE INDEX items_link ON items(link) WHERE link IS NOT NULL")
    db.execute("CREATE INDEX items_published ON items(published, id)")
    db.execute("CREATE INDEX items_tracked_published ON items(published, id) WHERE guilds != '[]'")
    db.execute("CREATE INDEX items_source_published ON items(source COLLATE NOCASE, published)")
    db.execute("CREATE INDEX items_unlinked_hash ON items(content_hash) WHERE link IS NULL")
    db.execute("CREATE INDEX items_feed ON items(feed_id)")
    db.execute(
        """
        CREATE TABLE item_sources (
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            feed_id INTEGER REFERENCES feeds(id) ON DELETE SET NULL,
            source TEXT NOT NULL,
            guid TEXT,
            link TEXT,
            title TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            PRIMARY KEY (item_id, source)
        )
        """
    )
    db.execute(
        "CREATE INDEX item_sources_guid ON item_sources(source, guid) WHERE guid IS NOT NULL"
    )
    db.execute("CREATE INDEX item_sources_feed ON item_sources(feed_id)")
    db.execute(
        """
        CREATE TABLE tags (
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('guild', 'event')),
            tag TEXT NOT NULL,
            published TEXT NOT NULL,
            PRIMARY KEY (item_id, tag)
        )
        """
    )
    db.execute("CREATE INDEX tags_tag_published ON tags(tag, published, item_id)")
    db.execute(
        """
        CREATE TABLE poll_log (
            id INTEGER PRIMARY KEY,
            feed_id INTEGER REFERENCES feeds(id) ON DELETE CASCADE,
            started_at TEXT NOT NULL,
            duration_ms INTEGER,
            status INTEGER,
            outcome TEXT NOT NULL,
            new_items INTEGER NOT NULL DEFAULT 0,
            updated_items INTEGER NOT NULL DEFAULT 0,
            bytes INTEGER,
            error TEXT
        )
        """
    )
    db.execute("CREATE INDEX poll_log_feed ON poll_log(feed_id, started_at)")


@migrations()
def m002_stories(db: Database) -> None:
    """Group reports of the same event into stories (see strikewatch/stories.py), and give
    Datasette users a `timeline` view that reads like `strikewatch timeline`.

    story_id holds an items.id but is deliberately not declared a foreign key: SQLite's check of
    a self-reference made every insert markedly slower (about 30 s more for a 200,000-item
    import), and the store keeps it consistent itself (stories.release before deletes)."""
    db.execute("ALTER TABLE items ADD COLUMN story_id INTEGER")
    db.execute("CREATE INDEX items_story ON items(story_id, published)")
    db.execute(
        """
        CREATE VIEW timeline AS
        SELECT
            items.id,
            items.published,
            items.source,
            items.title,
            items.link,
            items.guilds,
            items.events,
            items.summary,
            (SELECT count(*) FROM items AS report
             WHERE report.story_id = items.id AND report.id != items.id) AS also_count,
            (SELECT group_concat(report.source, ', ') FROM items AS report
             WHERE report.story_id = items.id AND report.id != items.id) AS also_sources
        FROM items
        WHERE coalesce(items.story_id, items.id) = items.id AND items.guilds != '[]'
        ORDER BY items.published DESC, items.id DESC
        """
    )
    regroup_all(db.conn)


@migrations()
def m003_search(db: Database) -> None:
    """Full-text search over titles and summaries (FTS5, porter stemming). Named items_fts with
    content="items" so Datasette offers a search box.

    Deletes and text edits are kept in step by triggers (the update trigger fires only when the
    text changes, not when tags or story ids do). New rows were then indexed by the store in one
    INSERT ... SELECT at the end of each batch, and rows appended by other tools caught up before
    each search; m005 replaced both with an insert trigger (an edit inside a batch deleted a
    row the index never had), so every writer's rows are indexed at once."""
    db.execute(
        """
        CREATE VIRTUAL TABLE items_fts USING FTS5 (
            title, summary, content="items", content_rowid="id", tokenize='porter unicode61'
        )
        """
    )
    db.execute("INSERT INTO items_fts (items_fts) VALUES ('rebuild')")
    db.execute(
        """
        CREATE TRIGGER items_ad AFTER DELETE ON items BEGIN
            INSERT INTO items_fts (items_fts, rowid, title, summary)
            VALUES ('delete', old.id, old.title, old.summary);
        END
        """
    )
    db.execute(
        """
        CREATE TRIGGER items_au AFTER UPDATE OF title, summary ON items BEGIN
            INSERT INTO items_fts (items_fts, rowid, title, summary)
            VALUES ('delete', old.id, old.title, old.summary);
            INSERT INTO items_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary);
        END
        """
    )


@migrations()
def m004_effective_days(db: Database) -> None:
    """Keep with each strike report the day it takes effect (status.effective_day) and why, so
    that `status` reads them instead of working every report's day out from its text on every
    call (1.3 s for the 16,839 strike reports of a 200,000-item store).

    The store fills the columns when it saves or re-tags a report as `strike-started` or
    `strike-ended`. A trigger clears them when another tool edits the text or the date they came
    from, and `status` works out the day itself wherever they are empty (or passes over a report
    whose date it cannot read, which only another tool can write). Should the rule in status.py
    ever change, a later migration must work the stored days out again (a test pins the rule)."""
    db.execute("ALTER TABLE items ADD COLUMN effective_day TEXT")
    db.execute("ALTER TABLE items ADD COLUMN effective_why TEXT")
    work_out_strike_days(db)
    db.execute(
        """
        CREATE TRIGGER items_effective_stale AFTER UPDATE OF title, summary, published ON items
        BEGIN
            UPDATE items SET effective_day = NULL, effective_why = NULL WHERE id = new.id;
        END
        """
    )


@migrations()
def m005_identity_and_search_triggers(db: Database) -> None:
    """Within one feed the guid tells entries apart, so one link can be carried by several items
    (a podcast's episodes all linking to the show page): the link index is no longer unique.

    The search index is kept in step by triggers on every insert, update and delete, so rows
    written by any tool (sqlite-utils, sqlite3, Datasette) are searchable at once; it used to be
    filled for new rows only at the end of a batch, and an edit inside that batch deleted a row
    the index never had. Rebuilt once here, which also mends any index left out of step."""
    db.execute("DROP INDEX IF EXISTS items_link")
    db.execute("CREATE INDEX items_link ON items(link) WHERE link IS NOT NULL")
    db.execute(
        """
        CREATE TRIGGER items_ai AFTER INSERT ON items BEGIN
            INSERT INTO items_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary);
        END
        """
    )
    db.execute("INSERT INTO items_fts (items_fts) VALUES ('rebuild')")


@migrations()
def m006_status_days_in_los_angeles(db: Database) -> None:
    """Work the stored strike days out again under the Los Angeles rule: a report with no day of
    its own takes effect on its Los Angeles day (it was the UTC day), and of several days a
    scheduling sentence names the one tied to the start or end wins ("voted on Thursday to strike
    beginning 12:01 a.m. Friday" is Friday). No schema change: only items.effective_day/why."""
    work_out_strike_days(db)


@migrations()
def m007_alerts(db: Database) -> None:
    """Alerts (strikewatch/alerts.py) and digest marks.

    Items are compared by id, not by time: ids are given in the order reports are stored, so
    "arrived after the alert was added" is `id > alerts.after_item` with no clock to tie on.
    `checked_item` is how far a complete pass over new reports got (a killed pass leaves it, and
    the next run looks again). `alert_reports` lists every report of each story an alert is done
    with (delivered or given up), so a later outlet's report of that story, or a regrouping,
    never acts again; `alert_deliveries` keeps one row per story tried, for retries and
    `alerts list`. Both cascade from the item, so a purged item's id, if reused, starts clean."""
    db.execute(
        """
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            guilds TEXT NOT NULL DEFAULT '[]',
            events TEXT NOT NULL DEFAULT '[]',
            sources TEXT NOT NULL DEFAULT '[]',
            action TEXT NOT NULL CHECK (action IN ('exec', 'notify')),
            target TEXT NOT NULL,
            created_at TEXT NOT NULL,
            after_item INTEGER NOT NULL,
            checked_item INTEGER NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE alert_deliveries (
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
            state TEXT NOT NULL CHECK (state IN ('failing', 'delivered', 'given-up')),
            tries INTEGER NOT NULL,
            title TEXT NOT NULL,
            last_tried TEXT NOT NULL,
            delivered_at TEXT,
            error TEXT,
            PRIMARY KEY (item_id, alert_id)
        )
        """
    )
    db.execute("CREATE INDEX alert_deliveries_alert ON alert_deliveries(alert_id, state)")
    db.execute(
        """
        CREATE TABLE alert_reports (
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
            PRIMARY KEY (item_id, alert_id)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX alert_reports_alert ON alert_reports(alert_id)")
    db.execute(
        """
        CREATE TABLE digest_marks (
            name TEXT PRIMARY KEY,
            last_item INTEGER NOT NULL,
            marked_at TEXT NOT NULL
        )
        """
    )


@migrations()
def m008_feed_urls_and_replaced_rows(db: Database) -> None:
    """Two mends for databases written by earlier versions, a mark on undated items, and one
    gap in the search index.

    Feed addresses are stored normalised (normalize.feed_url: scheme, host and default port)
    since this version; older rows are normalised here, except where that would collide with another
    row (subscriptions.find_feed then compares normalised forms).

    `INSERT OR REPLACE` into items by another tool deletes the old row without firing delete
    triggers (unless recursive_triggers is on), which left its words in the search index. The
    old row's text is noted before every insert (items_fts_replaced) and removed from the index
    by the insert trigger, which only runs when the row is really inserted: an `INSERT OR
    IGNORE` or an upsert that keeps the row leaves the index alone, and a stale note is cleared
    by the next insert of that id. The delete trigger drops the note, so with
    recursive_triggers on the old words are not removed twice."""
    from strikewatch.errors import UsageError
    from strikewatch.normalize import feed_url

    # Items whose source gave no usable date are stored on their first-seen time; `undated`
    # says so, and `status` does not count such a strike report (it could put a guild on strike
    # from the day a page happened to be read). Older rows strikewatch wrote (they carry a
    # rules_version; another tool's rarely do) bear the fallback's trace: a date exactly equal
    # to first_seen. Rows of other tools keep the date they were given.
    db.execute("ALTER TABLE items ADD COLUMN undated INTEGER NOT NULL DEFAULT 0")
    db.execute(
        "UPDATE items SET undated = 1 WHERE published = first_seen AND rules_version IS NOT NULL"
    )

    rows = db.execute("SELECT id, url FROM feeds").fetchall()
    taken = {url for _, url in rows}
    for feed_id, url in rows:
        if not url.lower().startswith(("http:", "https:")):
            continue
        try:
            normal = feed_url(url)
        except UsageError:
            continue
        if normal != url and normal not in taken:
            db.execute("UPDATE feeds SET url = ? WHERE id = ?", (normal, feed_id))
            taken.discard(url)
            taken.add(normal)

    db.execute("CREATE TABLE items_fts_replaced (id INTEGER PRIMARY KEY, title TEXT, summary TEXT)")
    db.execute(
        """
        CREATE TRIGGER items_bi BEFORE INSERT ON items BEGIN
            DELETE FROM items_fts_replaced WHERE id = new.id;
            INSERT INTO items_fts_replaced (id, title, summary)
                SELECT id, title, summary FROM items WHERE id = new.id;
        END
        """
    )
    db.execute("DROP TRIGGER items_ai")
    db.execute(
        """
        CREATE TRIGGER items_ai AFTER INSERT ON items BEGIN
            INSERT INTO items_fts (items_fts, rowid, title, summary)
                SELECT 'delete', id, title, summary FROM items_fts_replaced WHERE id = new.id;
            DELETE FROM items_fts_replaced WHERE id = new.id;
            INSERT INTO items_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary);
        END
        """
    )
    db.execute("DROP TRIGGER items_ad")
    db.execute(
        """
        CREATE TRIGGER items_ad AFTER DELETE ON items BEGIN
            INSERT INTO items_fts (items_fts, rowid, title, summary)
            VALUES ('delete', old.id, old.title, old.summary);
            DELETE FROM items_fts_replaced WHERE id = old.id;
        END
        """
    )


def work_out_strike_days(db: Database) -> None:
    """Store every strike report's day and why, as status.stored_effective works them out now
    (for a migration that adds the columns or follows a change of that rule)."""

    marks = ", ".join("?" for _ in STRIKE_CHANGES)
    reports = db.execute(
        "SELECT id, title, summary, published FROM items"
        f" WHERE id IN (SELECT item_id FROM tags WHERE tag IN ({marks}))",
        STRIKE_CHANGES,
    ).fetchall()
    days = [
        (*stored_effective(title, summary, published), item_id)
        for item_id, title, summary, published in reports
    ]
    db.conn.executemany("UPDATE items SET effective_day = ?, effective_why = ? WHERE id = ?", days)


@migrations()
def m009_dates_ahead_and_item_ids_never_reused(db: Database) -> None:
    """Two changes.

    Strike days are worked out again: a date written with its month ("to begin Aug. 1") is now
    read up to status.DATE_HORIZON ahead (it was a week), so such a start stays pending until
    that day instead of starting on the day it was announced.

    Item ids are never given twice. Alerts and digests compare ids ("arrived after item N"), and
    SQLite gives a new row max(id) + 1, so after `feeds remove --purge` deleted the newest items
    their ids came back and the new items under them never alerted. `item_ids.high` keeps the
    highest id ever deleted (an AFTER DELETE trigger, whoever deletes); Store.insert_item gives
    the next id above both it and max(id)."""
    work_out_strike_days(db)
    db.execute("CREATE TABLE item_ids (high INTEGER NOT NULL)")
    db.execute("INSERT INTO item_ids (high) SELECT coalesce(max(id), 0) FROM items")
    db.execute(
        """
        CREATE TRIGGER item_ids_deleted AFTER DELETE ON items
        WHEN old.id > (SELECT high FROM item_ids)
        BEGIN
            UPDATE item_ids SET high = old.id;
        END
        """
    )


@migrations()
def m010_stored_strike_standing(db: Database) -> None:
    """Each guild's strikes replayed, stored (status.save_standings), so that `status` replays
    only what takes effect after the newest report instead of every report on every call. The
    triggers delete it whenever a strike or deal report is added, removed or changed in a way
    status reads (its guilds and events, text, link, dates), whoever makes the change (a tag row
    added on its own, without the item's events, is not seen); the next poll, import or
    reclassify saves it again, and `status` replays everything until then."""
    db.execute(
        """
        CREATE TABLE strike_standing (
            guild TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            through TEXT,
            day TEXT NOT NULL,
            state TEXT NOT NULL
        )
        """
    )

    # A strike or deal report: by its events, or by the tags it still has (an INSERT OR
    # REPLACE from a program without recursive triggers deletes the old row without its delete
    # triggers and leaves its tags).
    def report(row: str, item: str) -> str:
        events = " OR ".join(
            f"{row}.events LIKE '%\"{event}\"%'"
            for event in ("strike-started", "strike-ended", "deal")
        )
        return (
            f"({events} OR EXISTS (SELECT 1 FROM tags WHERE item_id = {item}"
            " AND tag IN ('strike-started', 'strike-ended', 'deal')))"
        )

    # Inserts are seen by items_ai, which every insert runs anyway (one more trigger on items or
    # tags would cost each inserted row as much again; a large import drops items_ai and does
    # its work once at the end: Store.new_items_indexed_at_end).
    db.execute("DROP TRIGGER items_ai")
    db.execute(
        f"""
        CREATE TRIGGER items_ai AFTER INSERT ON items BEGIN
            INSERT INTO items_fts (items_fts, rowid, title, summary)
                SELECT 'delete', id, title, summary FROM items_fts_replaced WHERE id = new.id;
            DELETE FROM items_fts_replaced WHERE id = new.id;
            INSERT INTO items_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary);
            DELETE FROM strike_standing WHERE {report("new", "new.id")};
        END
        """
    )
    read = (
        "guilds",
        "events",
        "title",
        "summary",
        "link",
        "published",
        "effective_day",
        "effective_why",
        "undated",
    )
    changed = " OR ".join(f"old.{column} IS NOT new.{column}" for column in read)
    tag = "tag IN ('strike-started', 'strike-ended', 'deal')"
    for name, clause in (
        ("items_delete", f"AFTER DELETE ON items WHEN {report('old', 'old.id')}"),
        (
            "items_update",
            f"AFTER UPDATE OF {', '.join(read)} ON items"
            f" WHEN ({changed}) AND ({report('old', 'old.id')} OR {report('new', 'new.id')})",
        ),
        # Tags another program deletes or edits on their own (strikewatch rewrites an item's
        # tags with its guilds and events).
        (
            "tags_delete",
            f"AFTER DELETE ON tags WHEN old.{tag} OR EXISTS"
            f" (SELECT 1 FROM tags WHERE item_id = old.item_id AND {tag})",
        ),
        (
            "tags_update",
            f"AFTER UPDATE ON tags WHEN old.{tag} OR new.{tag} OR EXISTS"
            f" (SELECT 1 FROM tags WHERE item_id IN (old.item_id, new.item_id) AND {tag})",
        ),
    ):
        db.execute(
            f"CREATE TRIGGER standing_{name} {clause} BEGIN DELETE FROM strike_standing; END"
        )
    save_standings(db.conn)


@migrations()
def m011_timeline_index_covers_story(db: Database) -> None:
    """The tracked items' index also holds story_id: a timeline or `since` query picks each
    story's first report (story_id is its own id) from the index alone instead of reading
    every tracked item of the period from the table."""
    db.execute("DROP INDEX items_tracked_published")
    db.execute(
        "CREATE INDEX items_tracked_published ON items(published, id, story_id)"
        " WHERE guilds != '[]'"
    )
