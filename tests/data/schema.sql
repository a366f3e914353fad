-- index idx__sqlite_migrations_migration_set_name
CREATE UNIQUE INDEX "idx__sqlite_migrations_migration_set_name" ON "_sqlite_migrations" ("migration_set", "name");
-- index item_sources_feed
CREATE INDEX item_sources_feed ON item_sources(feed_id);
-- index item_sources_guid
CREATE INDEX item_sources_guid ON item_sources(source, guid) WHERE guid IS NOT NULL;
-- index items_feed
CREATE INDEX items_feed ON items(feed_id);
-- index items_link
CREATE UNIQUE INDEX items_link ON items(link) WHERE link IS NOT NULL;
-- index items_published
CREATE INDEX items_published ON items(published, id);
-- index items_source_published
CREATE INDEX items_source_published ON items(source COLLATE NOCASE, published);
-- index items_tracked_published
CREATE INDEX items_tracked_published ON items(published, id) WHERE guilds != '[]';
-- index items_unlinked_hash
CREATE INDEX items_unlinked_hash ON items(content_hash) WHERE link IS NULL;
-- index poll_log_feed
CREATE INDEX poll_log_feed ON poll_log(feed_id, started_at);
-- index tags_tag_published
CREATE INDEX tags_tag_published ON tags(tag, published, item_id);
-- table _sqlite_migrations
CREATE TABLE "_sqlite_migrations" ( "id" INTEGER PRIMARY KEY, "migration_set" TEXT, "name" TEXT, "applied_at" TEXT );
-- table feeds
CREATE TABLE feeds ( id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, url TEXT NOT NULL UNIQUE, title TEXT, active INTEGER NOT NULL DEFAULT 1, added_at TEXT NOT NULL, etag TEXT, last_modified TEXT, last_status INTEGER, error TEXT, error_count INTEGER NOT NULL DEFAULT 0, last_polled TEXT, last_success TEXT, next_poll TEXT );
-- table item_sources
CREATE TABLE item_sources ( item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE, feed_id INTEGER REFERENCES feeds(id) ON DELETE SET NULL, source TEXT NOT NULL, guid TEXT, link TEXT, title TEXT NOT NULL, first_seen TEXT NOT NULL, PRIMARY KEY (item_id, source) );
-- table items
CREATE TABLE items ( id INTEGER PRIMARY KEY, title TEXT NOT NULL, link TEXT, guid TEXT, summary TEXT NOT NULL DEFAULT '', published TEXT NOT NULL, published_raw TEXT, first_seen TEXT NOT NULL, updated_at TEXT, source TEXT NOT NULL, feed_id INTEGER REFERENCES feeds(id) ON DELETE SET NULL, content_hash TEXT NOT NULL, guilds TEXT NOT NULL DEFAULT '[]', events TEXT NOT NULL DEFAULT '[]', rules_version TEXT );
-- table poll_log
CREATE TABLE poll_log ( id INTEGER PRIMARY KEY, feed_id INTEGER REFERENCES feeds(id) ON DELETE CASCADE, started_at TEXT NOT NULL, duration_ms INTEGER, status INTEGER, outcome TEXT NOT NULL, new_items INTEGER NOT NULL DEFAULT 0, updated_items INTEGER NOT NULL DEFAULT 0, bytes INTEGER, error TEXT );
-- table tags
CREATE TABLE tags ( item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE, kind TEXT NOT NULL CHECK (kind IN ('guild', 'event')), tag TEXT NOT NULL, published TEXT NOT NULL, PRIMARY KEY (item_id, tag) );
