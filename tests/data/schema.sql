-- index alert_deliveries_alert
CREATE INDEX alert_deliveries_alert ON alert_deliveries(alert_id, state);
-- index alert_reports_alert
CREATE INDEX alert_reports_alert ON alert_reports(alert_id);
-- index idx__sqlite_migrations_migration_set_name
CREATE UNIQUE INDEX "idx__sqlite_migrations_migration_set_name" ON "_sqlite_migrations" ("migration_set", "name");
-- index item_sources_feed
CREATE INDEX item_sources_feed ON item_sources(feed_id);
-- index item_sources_guid
CREATE INDEX item_sources_guid ON item_sources(source, guid) WHERE guid IS NOT NULL;
-- index items_feed
CREATE INDEX items_feed ON items(feed_id);
-- index items_link
CREATE INDEX items_link ON items(link) WHERE link IS NOT NULL;
-- index items_published
CREATE INDEX items_published ON items(published, id);
-- index items_source_published
CREATE INDEX items_source_published ON items(source COLLATE NOCASE, published);
-- index items_story
CREATE INDEX items_story ON items(story_id, published);
-- index items_tracked_published
CREATE INDEX items_tracked_published ON items(published, id, story_id) WHERE guilds != '[]';
-- index items_unlinked_hash
CREATE INDEX items_unlinked_hash ON items(content_hash) WHERE link IS NULL;
-- index poll_log_feed
CREATE INDEX poll_log_feed ON poll_log(feed_id, started_at);
-- index tags_tag_published
CREATE INDEX tags_tag_published ON tags(tag, published, item_id);
-- table _sqlite_migrations
CREATE TABLE "_sqlite_migrations" ( "id" INTEGER PRIMARY KEY, "migration_set" TEXT, "name" TEXT, "applied_at" TEXT );
-- table alert_deliveries
CREATE TABLE alert_deliveries ( item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE, alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE, state TEXT NOT NULL CHECK (state IN ('failing', 'delivered', 'given-up')), tries INTEGER NOT NULL, title TEXT NOT NULL, last_tried TEXT NOT NULL, delivered_at TEXT, error TEXT, PRIMARY KEY (item_id, alert_id) );
-- table alert_reports
CREATE TABLE alert_reports ( item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE, alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE, PRIMARY KEY (item_id, alert_id) ) WITHOUT ROWID;
-- table alerts
CREATE TABLE alerts ( id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, guilds TEXT NOT NULL DEFAULT '[]', events TEXT NOT NULL DEFAULT '[]', sources TEXT NOT NULL DEFAULT '[]', action TEXT NOT NULL CHECK (action IN ('exec', 'notify')), target TEXT NOT NULL, created_at TEXT NOT NULL, after_item INTEGER NOT NULL, checked_item INTEGER NOT NULL );
-- table digest_marks
CREATE TABLE digest_marks ( name TEXT PRIMARY KEY, last_item INTEGER NOT NULL, marked_at TEXT NOT NULL );
-- table feeds
CREATE TABLE feeds ( id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, url TEXT NOT NULL UNIQUE, title TEXT, active INTEGER NOT NULL DEFAULT 1, added_at TEXT NOT NULL, etag TEXT, last_modified TEXT, last_status INTEGER, error TEXT, error_count INTEGER NOT NULL DEFAULT 0, last_polled TEXT, last_success TEXT, next_poll TEXT );
-- table item_ids
CREATE TABLE item_ids (high INTEGER NOT NULL);
-- table item_sources
CREATE TABLE item_sources ( item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE, feed_id INTEGER REFERENCES feeds(id) ON DELETE SET NULL, source TEXT NOT NULL, guid TEXT, link TEXT, title TEXT NOT NULL, first_seen TEXT NOT NULL, PRIMARY KEY (item_id, source) );
-- table items
CREATE TABLE items ( id INTEGER PRIMARY KEY, title TEXT NOT NULL, link TEXT, guid TEXT, summary TEXT NOT NULL DEFAULT '', published TEXT NOT NULL, published_raw TEXT, first_seen TEXT NOT NULL, updated_at TEXT, source TEXT NOT NULL, feed_id INTEGER REFERENCES feeds(id) ON DELETE SET NULL, content_hash TEXT NOT NULL, guilds TEXT NOT NULL DEFAULT '[]', events TEXT NOT NULL DEFAULT '[]', rules_version TEXT , story_id INTEGER, effective_day TEXT, effective_why TEXT, undated INTEGER NOT NULL DEFAULT 0);
-- table items_fts
CREATE VIRTUAL TABLE items_fts USING FTS5 ( title, summary, content="items", content_rowid="id", tokenize='porter unicode61' );
-- table items_fts_config
CREATE TABLE 'items_fts_config'(k PRIMARY KEY, v) WITHOUT ROWID;
-- table items_fts_data
CREATE TABLE 'items_fts_data'(id INTEGER PRIMARY KEY, block BLOB);
-- table items_fts_docsize
CREATE TABLE 'items_fts_docsize'(id INTEGER PRIMARY KEY, sz BLOB);
-- table items_fts_idx
CREATE TABLE 'items_fts_idx'(segid, term, pgno, PRIMARY KEY(segid, term)) WITHOUT ROWID;
-- table items_fts_replaced
CREATE TABLE items_fts_replaced (id INTEGER PRIMARY KEY, title TEXT, summary TEXT);
-- table poll_log
CREATE TABLE poll_log ( id INTEGER PRIMARY KEY, feed_id INTEGER REFERENCES feeds(id) ON DELETE CASCADE, started_at TEXT NOT NULL, duration_ms INTEGER, status INTEGER, outcome TEXT NOT NULL, new_items INTEGER NOT NULL DEFAULT 0, updated_items INTEGER NOT NULL DEFAULT 0, bytes INTEGER, error TEXT );
-- table strike_standing
CREATE TABLE strike_standing ( guild TEXT PRIMARY KEY, version INTEGER NOT NULL, through TEXT, day TEXT NOT NULL, state TEXT NOT NULL );
-- table tags
CREATE TABLE tags ( item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE, kind TEXT NOT NULL CHECK (kind IN ('guild', 'event')), tag TEXT NOT NULL, published TEXT NOT NULL, PRIMARY KEY (item_id, tag) );
-- trigger item_ids_deleted
CREATE TRIGGER item_ids_deleted AFTER DELETE ON items WHEN old.id > (SELECT high FROM item_ids) BEGIN UPDATE item_ids SET high = old.id; END;
-- trigger items_ad
CREATE TRIGGER items_ad AFTER DELETE ON items BEGIN INSERT INTO items_fts (items_fts, rowid, title, summary) VALUES ('delete', old.id, old.title, old.summary); DELETE FROM items_fts_replaced WHERE id = old.id; END;
-- trigger items_ai
CREATE TRIGGER items_ai AFTER INSERT ON items BEGIN INSERT INTO items_fts (items_fts, rowid, title, summary) SELECT 'delete', id, title, summary FROM items_fts_replaced WHERE id = new.id; DELETE FROM items_fts_replaced WHERE id = new.id; INSERT INTO items_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary); DELETE FROM strike_standing WHERE (new.events LIKE '%"strike-started"%' OR new.events LIKE '%"strike-ended"%' OR new.events LIKE '%"deal"%' OR EXISTS (SELECT 1 FROM tags WHERE item_id = new.id AND tag IN ('strike-started', 'strike-ended', 'deal'))); END;
-- trigger items_au
CREATE TRIGGER items_au AFTER UPDATE OF title, summary ON items BEGIN INSERT INTO items_fts (items_fts, rowid, title, summary) VALUES ('delete', old.id, old.title, old.summary); INSERT INTO items_fts (rowid, title, summary) VALUES (new.id, new.title, new.summary); END;
-- trigger items_bi
CREATE TRIGGER items_bi BEFORE INSERT ON items BEGIN DELETE FROM items_fts_replaced WHERE id = new.id; INSERT INTO items_fts_replaced (id, title, summary) SELECT id, title, summary FROM items WHERE id = new.id; END;
-- trigger items_effective_stale
CREATE TRIGGER items_effective_stale AFTER UPDATE OF title, summary, published ON items BEGIN UPDATE items SET effective_day = NULL, effective_why = NULL WHERE id = new.id; END;
-- trigger standing_items_delete
CREATE TRIGGER standing_items_delete AFTER DELETE ON items WHEN (old.events LIKE '%"strike-started"%' OR old.events LIKE '%"strike-ended"%' OR old.events LIKE '%"deal"%' OR EXISTS (SELECT 1 FROM tags WHERE item_id = old.id AND tag IN ('strike-started', 'strike-ended', 'deal'))) BEGIN DELETE FROM strike_standing; END;
-- trigger standing_items_update
CREATE TRIGGER standing_items_update AFTER UPDATE OF guilds, events, title, summary, link, published, effective_day, effective_why, undated ON items WHEN (old.guilds IS NOT new.guilds OR old.events IS NOT new.events OR old.title IS NOT new.title OR old.summary IS NOT new.summary OR old.link IS NOT new.link OR old.published IS NOT new.published OR old.effective_day IS NOT new.effective_day OR old.effective_why IS NOT new.effective_why OR old.undated IS NOT new.undated) AND ((old.events LIKE '%"strike-started"%' OR old.events LIKE '%"strike-ended"%' OR old.events LIKE '%"deal"%' OR EXISTS (SELECT 1 FROM tags WHERE item_id = old.id AND tag IN ('strike-started', 'strike-ended', 'deal'))) OR (new.events LIKE '%"strike-started"%' OR new.events LIKE '%"strike-ended"%' OR new.events LIKE '%"deal"%' OR EXISTS (SELECT 1 FROM tags WHERE item_id = new.id AND tag IN ('strike-started', 'strike-ended', 'deal')))) BEGIN DELETE FROM strike_standing; END;
-- trigger standing_tags_delete
CREATE TRIGGER standing_tags_delete AFTER DELETE ON tags WHEN old.tag IN ('strike-started', 'strike-ended', 'deal') OR EXISTS (SELECT 1 FROM tags WHERE item_id = old.item_id AND tag IN ('strike-started', 'strike-ended', 'deal')) BEGIN DELETE FROM strike_standing; END;
-- trigger standing_tags_update
CREATE TRIGGER standing_tags_update AFTER UPDATE ON tags WHEN old.tag IN ('strike-started', 'strike-ended', 'deal') OR new.tag IN ('strike-started', 'strike-ended', 'deal') OR EXISTS (SELECT 1 FROM tags WHERE item_id IN (old.item_id, new.item_id) AND tag IN ('strike-started', 'strike-ended', 'deal')) BEGIN DELETE FROM strike_standing; END;
-- view timeline
CREATE VIEW timeline AS SELECT items.id, items.published, items.source, items.title, items.link, items.guilds, items.events, items.summary, (SELECT count(*) FROM items AS report WHERE report.story_id = items.id AND report.id != items.id) AS also_count, (SELECT group_concat(report.source, ', ') FROM items AS report WHERE report.story_id = items.id AND report.id != items.id) AS also_sources FROM items WHERE coalesce(items.story_id, items.id) = items.id AND items.guilds != '[]' ORDER BY items.published DESC, items.id DESC;
