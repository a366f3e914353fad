"""The SQLite store: one file holding feeds, items, their tags and the poll history.

It stores what the pipeline (strikewatch/pipeline.py) gives it, already tagged, and answers
the listings. Reads and writes go through plain sqlite3; schema changes through sqlite-utils'
Migrations (strikewatch/migrations.py), applied when a database is opened.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from strikewatch.dates import to_utc_iso, utcnow
from strikewatch.errors import StoreError
from strikewatch.filters import TimelineFilter, where
from strikewatch.stories import (
    assign_pending,
    attach_also,
    headline_words,
    release,
    word_similarity,
)

if TYPE_CHECKING:
    from strikewatch.parse import Item

SCHEMA_VERSION = 11  # one per migration
BUSY_TIMEOUT_SECONDS = 30.0
# poll_log keeps each feed's last POLL_LOG_DAYS days or last POLL_LOG_KEEP polls, whichever
# is more.
POLL_LOG_DAYS = 90
POLL_LOG_KEEP = 100


# The store's records are NamedTuples, not frozen dataclasses: every command loads this module,
# and a frozen dataclass costs half a millisecond to define.


class Tagged(NamedTuple):
    """An item's tags as the store keeps them: its guilds and events, the version of the rules
    that found them, and for a strike report the day it takes effect and why."""

    guilds: tuple[str, ...]
    events: tuple[str, ...]
    rules_version: str
    effective_day: str | None = None
    effective_why: str | None = None


class StoredItem(NamedTuple):
    """The stored item an entry was identified as (Store.find_item)."""

    id: int
    source: str  # the feed or file that carried it first: its text is the item's
    content_hash: str
    published: str


# Timeline entries read (and their `also` attached) at a time when a listing is streamed.
LISTING_BATCH = 500


@contextmanager
def lock_beside(db_path: str | os.PathLike[str], suffix: str, *, wait: bool) -> Iterator[Any]:
    """An exclusive lock on the file `db_path + suffix`, which the OS frees if its holder dies.
    Yields the open lock file and whether it is held: without `wait`, a lock another process
    holds (or one the system cannot take) is `(file, False)`; with `wait`, it waits its turn."""
    lock_path = str(db_path) + suffix
    try:
        handle = open(lock_path, "a+b")  # noqa: SIM115 - held for the caller's whole block
    except OSError as error:
        raise StoreError(
            f"{lock_path}: cannot create lock file: {error.strerror or error}"
        ) from None
    try:
        held = True
        try:
            if os.name == "nt":
                import msvcrt

                msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK if wait else msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError:
            if wait:
                raise
            held = False
        yield handle, held
    finally:
        handle.close()


def describe_sqlite_error(error: sqlite3.Error, path: str | None = None) -> str:
    """One true line for what SQLite said. The database is called damaged only when `PRAGMA
    quick_check` on `path` says so: SQLite's own words otherwise."""
    text = str(error)
    # By SQLite's result code (Python 3.11+ gives it); the words only when there is none, and
    # then as SQLite's whole messages: a trigger's "grouping blocked" is no busy database.
    code = getattr(error, "sqlite_errorcode", None)
    code = code & 0xFF if isinstance(code, int) else None
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or (
        code is None and text in ("database is locked", "database table is locked")
    ):
        return (
            f"the database is busy: another program has been writing to it for over"
            f" {BUSY_TIMEOUT_SECONDS:g} s; try again in a moment"
        )
    if code == sqlite3.SQLITE_FULL or (code is None and text == "database or disk is full"):
        return "the disk is full: the write in progress was undone"
    if code == sqlite3.SQLITE_IOERR or (code is None and text == "disk I/O error"):
        return "the disk failed to read or write (I/O error): the write in progress was undone"
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or (
        code is None
        and (
            text == "file is not a database" or text.startswith("database disk image is malformed")
        )
    ):
        if path is not None and database_is_damaged(path):
            return "the file is not a strikewatch database, or it is damaged"
        if path is not None:
            return f"{text} (yet PRAGMA quick_check finds the database sound; try again)"
        return text
    if code == sqlite3.SQLITE_READONLY or (
        code is None and text.startswith("attempt to write a readonly database")
    ):
        return "the database is read-only"
    return text


def sqlite_uri_path(path: str) -> str:
    """A file path as the path of an SQLite URI (file:PATH?mode=ro): "%", "?" and "#" escaped,
    which is all SQLite decodes (no urllib.parse: every command loads this module)."""
    return path.replace("%", "%25").replace("?", "%3F").replace("#", "%23")


def database_is_damaged(path: str) -> bool:
    """Whether the file at `path` is not an SQLite database or fails `PRAGMA quick_check`
    (False when that cannot be told: the file is missing, busy or unreadable)."""
    try:
        conn = sqlite3.connect(f"file:{sqlite_uri_path(path)}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return False
    try:
        return conn.execute("PRAGMA quick_check").fetchall() != [("ok",)]
    except sqlite3.Error as error:
        code = getattr(error, "sqlite_errorcode", 0) & 0xFF
        return code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
    finally:
        conn.close()


class Store:
    """A strikewatch database. Open it with `Store.open(path)`."""

    def __init__(self, conn: sqlite3.Connection, path: str):
        self.conn = conn
        self.path = path
        self._depth = 0
        # While new_items_indexed_at_end runs: the last item id in the search index.
        self._indexed_through: int | None = None

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Store:
        """Open (creating if needed) and migrate the database at `path`."""
        location = _local_path(os.fspath(path))
        if not location:
            raise StoreError("no database file given (the path is empty)")
        if os.path.isdir(location):
            raise StoreError(f"{location}: is a directory, not a database file")
        if os.path.exists(location) and not os.path.isfile(location):
            # /dev/null, a FIFO, a terminal: SQLite fails on them with a misleading I/O error.
            raise StoreError(
                f"{location}: is not a regular file (a device or pipe) and cannot hold a"
                " database; give the path of a database file"
            )
        folder = os.path.dirname(location)
        try:
            if folder:
                os.makedirs(folder, exist_ok=True)
        except OSError as error:
            raise StoreError(f"{folder}: cannot create folder: {error.strerror or error}") from None
        try:
            conn = sqlite3.connect(
                location,
                timeout=BUSY_TIMEOUT_SECONDS,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as error:
            raise StoreError(
                f"{location}: cannot open database: {describe_sqlite_error(error, location)}"
            ) from None
        store = cls(conn, location)
        try:
            store._prepare()
        except sqlite3.Error as error:
            conn.close()
            raise StoreError(f"{location}: {describe_sqlite_error(error, location)}") from None
        except BaseException:
            conn.close()
            raise
        return store

    def _prepare(self) -> None:
        conn = self.conn
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version < SCHEMA_VERSION:
            self._migrate()
        conn.execute("PRAGMA synchronous = NORMAL")

    def _migrate(self) -> None:
        from sqlite_utils import Database

        from strikewatch.migrations import migrations

        conn = self.conn
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("BEGIN IMMEDIATE")
            # Another process may have migrated while we waited for the write lock.
            if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                migrations.apply(Database(conn))
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if (
                isinstance(error, sqlite3.Error)
                and getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_READONLY
            ):
                raise StoreError(
                    f"{self.path}: the database is read-only, and this version of strikewatch"
                    f" must first upgrade it (to schema {SCHEMA_VERSION}): run any strikewatch"
                    " command on it once with write access"
                ) from None
            raise

    def prepare_for_bulk_writes(self) -> None:
        """Room for the indexes a large import updates, and checkpoints every 100 MB of WAL
        rather than every 4 MB (see benchmarks/bench_store.py); a poll keeps SQLite's small
        defaults so its memory and WAL stay small."""
        self.conn.execute("PRAGMA cache_size = -65536")
        self.conn.execute("PRAGMA wal_autocheckpoint = 25000")

    def finish_bulk_writes(self) -> None:
        """Back to the defaults, and the WAL folded into the database and truncated, so a large
        import does not leave a 100 MB WAL behind while another connection keeps it open."""
        self.conn.execute("PRAGMA wal_autocheckpoint = 1000")
        self.conn.execute("PRAGMA cache_size = -2000")
        if not self.conn.in_transaction:
            # Best effort: a reader in the middle of the WAL only delays the truncation.
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def close(self) -> None:
        self.conn.close()

    def describe_error(self, error: sqlite3.Error) -> str:
        """describe_sqlite_error for this database."""
        return describe_sqlite_error(error, self.path)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE so a busy database waits instead of failing.

        Nested use joins the outer transaction, so a caller can make several writes (a feed's
        items, its health, its log line) commit or vanish together.
        """
        conn = self.conn
        if self._depth:
            # A savepoint: a caller that catches an error (one feed's, in a batch of feeds)
            # goes on with the outer transaction as it was before this part began.
            self._depth += 1
            savepoint = f"part_{self._depth}"
            conn.execute(f"SAVEPOINT {savepoint}")
            try:
                yield conn
                conn.execute(f"RELEASE {savepoint}")
            except BaseException:
                if conn.in_transaction:  # SQLite may have rolled all of it back (a full disk)
                    conn.execute(f"ROLLBACK TO {savepoint}")
                    conn.execute(f"RELEASE {savepoint}")
                raise
            finally:
                self._depth -= 1
            return
        conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0

    @contextmanager
    def new_items_indexed_at_end(self) -> Iterator[None]:
        """Within a transaction: the items inserted here reach the search index in one
        statement at the end, instead of through the insert triggers one row at a time. FTS5
        writes out its pending words at every statement that fires them, which made indexing
        most of a large import's time. The two insert triggers are dropped and put back as they
        were inside the transaction, so every other writer still finds them; an error rolls
        both back with the rest. Only for plain inserts of new items (the pipeline's)."""
        conn = self.conn
        assert self._depth, "new_items_indexed_at_end needs an open transaction"
        self._indexed_through = conn.execute("SELECT coalesce(max(id), 0) FROM items").fetchone()[0]
        triggers = conn.execute(
            "SELECT name, sql FROM sqlite_master"
            " WHERE type = 'trigger' AND name IN ('items_bi', 'items_ai') ORDER BY name"
        ).fetchall()
        for name, _ in triggers:
            conn.execute(f"DROP TRIGGER {name}")
        try:
            yield
            self._index_new_items()
        finally:
            self._indexed_through = None
        for _, sql in triggers:
            conn.execute(sql)

    def _index_new_items(self) -> None:
        """What items_ai does for each row (items_bi does nothing for a new id), for every item
        inserted since new_items_indexed_at_end began or last called this: index it for search,
        and drop the strike standing if one is a strike or deal report."""
        conn, last_id = self.conn, self._indexed_through
        conn.execute(
            "INSERT INTO items_fts (items_fts, rowid, title, summary)"
            " SELECT 'delete', id, title, summary FROM items_fts_replaced WHERE id > ?",
            (last_id,),
        )
        conn.execute("DELETE FROM items_fts_replaced WHERE id > ?", (last_id,))
        conn.execute(
            "INSERT INTO items_fts (rowid, title, summary)"
            " SELECT id, title, summary FROM items WHERE id > ?",
            (last_id,),
        )
        conn.execute(
            "DELETE FROM strike_standing WHERE EXISTS (SELECT 1 FROM items WHERE id > ? AND"
            " (events LIKE '%\"strike-started\"%' OR events LIKE '%\"strike-ended\"%'"
            " OR events LIKE '%\"deal\"%'))",
            (last_id,),
        )
        self._indexed_through = conn.execute("SELECT coalesce(max(id), 0) FROM items").fetchone()[0]

    # -- feeds ---------------------------------------------------------------------------

    def feeds(self, active_only: bool = False) -> list[dict[str, Any]]:
        """Every feed by name; `active_only` leaves out removed and gone ones."""
        sql = "SELECT * FROM feeds"
        if active_only:
            sql += " WHERE active = 1"
        return [dict(row) for row in self.conn.execute(sql + " ORDER BY name COLLATE NOCASE")]

    def feed_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM feeds").fetchone()[0]

    def remove_feed(self, feed_id: int, purge: bool = False) -> int:
        """Unsubscribe. With purge, drop the feed and the items no other source carried."""
        with self.transaction() as conn:
            if not purge:
                conn.execute(
                    "UPDATE feeds SET active = 0, next_poll = NULL WHERE id = ?", (feed_id,)
                )
                return 0
            doomed = [
                row[0]
                for row in conn.execute(
                    """
                    SELECT items.id FROM items
                    WHERE items.id IN (SELECT item_id FROM item_sources WHERE feed_id = :feed)
                      AND NOT EXISTS (
                        SELECT 1 FROM item_sources other
                        WHERE other.item_id = items.id AND (other.feed_id IS NOT :feed)
                      )
                    """,
                    {"feed": feed_id},
                )
            ]
            release(conn, doomed)
            conn.executemany("DELETE FROM items WHERE id = ?", [(item_id,) for item_id in doomed])
            conn.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))
            assign_pending(conn)
            return len(doomed)

    def update_feed(self, feed_id: int, **values: Any) -> None:
        if not values:
            return
        unknown = set(values) - FEED_STATE_COLUMNS
        if unknown:
            raise ValueError(f"not feed state columns: {sorted(unknown)}")
        assignments = ", ".join(f"{column} = :{column}" for column in values)
        with self.transaction() as conn:
            conn.execute(
                f"UPDATE feeds SET {assignments} WHERE id = :id", {**values, "id": feed_id}
            )

    def log_poll(self, feed_id: int | None, **values: Any) -> None:
        """One poll_log row, and the feed's history pruned as it goes: the last POLL_LOG_DAYS
        days or the last POLL_LOG_KEEP polls, whichever is more."""
        columns = ["feed_id", *values]
        with self.transaction() as conn:
            conn.execute(
                f"INSERT INTO poll_log ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                (feed_id, *values.values()),
            )
            if feed_id is not None:
                cutoff = to_utc_iso(utcnow() - timedelta(days=POLL_LOG_DAYS))
                # Only rows older than the cutoff are looked at (index poll_log_feed).
                conn.execute(
                    "DELETE FROM poll_log WHERE feed_id = :feed AND started_at < :cutoff"
                    " AND id NOT IN (SELECT id FROM poll_log WHERE feed_id = :feed"
                    " ORDER BY started_at DESC, id DESC LIMIT :keep)",
                    {"feed": feed_id, "cutoff": cutoff, "keep": POLL_LOG_KEEP},
                )

    def last_warning(self, feed_id: int) -> str | None:
        """The warning (or None) of the feed's last poll that read a document."""
        row = self.conn.execute(
            "SELECT error FROM poll_log WHERE feed_id = ? AND outcome = 'ok' "
            "ORDER BY id DESC LIMIT 1",
            (feed_id,),
        ).fetchone()
        return row[0] if row else None

    # -- items ---------------------------------------------------------------------------

    # Writing items: the pipeline (strikewatch/pipeline.py) calls these inside one transaction.

    def find_item(self, item: Item, source: str, fingerprint: str) -> StoredItem | None:
        """The stored item this entry of `source` is, or None for a new one (the identity rule
        of the README's "The database" section; `fingerprint` is its content_hash)."""
        row = _find_existing(self.conn, item, source, fingerprint)
        if row is None:
            return None
        return StoredItem(row["id"], row["source"], row["content_hash"], row["published"])

    def insert_item(
        self,
        item: Item,
        tagged: Tagged,
        *,
        source: str,
        feed_id: int | None,
        published: str,
        seen_iso: str,
        fingerprint: str,
        undated: bool = False,
    ) -> int:
        """Store a new item, pending its story (story_id NULL until assign_stories). `undated`:
        the source gave no usable date, so `published` is when it was first seen."""
        cursor = self.conn.execute(
            """
            INSERT INTO items (id, title, link, guid, summary, published, published_raw,
                               first_seen, source, feed_id, content_hash, guilds, events,
                               rules_version, effective_day, effective_why, undated)
            VALUES ((SELECT max(high, coalesce((SELECT max(id) FROM items), 0)) + 1
                     FROM item_ids),
                    ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            (
                item.title,
                item.link,
                item.guid,
                item.summary,
                published,
                item.published_raw,
                seen_iso,
                source,
                feed_id,
                fingerprint,
                tag_list_json(tagged.guilds),
                tag_list_json(tagged.events),
                tagged.rules_version,
                tagged.effective_day,
                tagged.effective_why,
                int(undated),
            ),
        )
        item_id = cursor.lastrowid
        assert item_id is not None
        _write_tags(self.conn, item_id, tagged.guilds, tagged.events, published)
        self.record_carrier(item_id, item, source=source, feed_id=feed_id, seen_iso=seen_iso)
        return item_id

    def record_carrier(
        self, item_id: int, item: Item, *, source: str, feed_id: int | None, seen_iso: str
    ) -> None:
        """That `source` carries the item, with its own guid, link and headline for it."""
        _record_source(self.conn, item_id, feed_id, source, item, seen_iso)

    def update_item(
        self, item_id: int, item: Item, tagged: Tagged, *, fingerprint: str, seen_iso: str
    ) -> None:
        """The item's new text and tags (its first link and date stay). New tags take it out of
        its story until assign_stories."""
        conn = self.conn
        if self._indexed_through is not None and item_id > self._indexed_through:
            # Inserted in this bulk transaction and not indexed yet: the update trigger takes
            # its old words out of the index, so they must be in it first.
            self._index_new_items()
        old = conn.execute("SELECT guilds, events FROM items WHERE id = ?", (item_id,)).fetchone()
        guilds, events = tag_list_json(tagged.guilds), tag_list_json(tagged.events)
        if (old[0], old[1]) != (guilds, events):
            release(conn, [item_id])
        conn.execute(
            "UPDATE items SET title = ?, summary = ?, content_hash = ?, updated_at = ?,"
            " guilds = ?, events = ?, rules_version = ? WHERE id = ?",
            (
                item.title,
                item.summary,
                fingerprint,
                seen_iso,
                guilds,
                events,
                tagged.rules_version,
                item_id,
            ),
        )
        # After the text: the new text cleared the stored day (trigger items_effective_stale).
        conn.execute(
            "UPDATE items SET effective_day = ?, effective_why = ? WHERE id = ?",
            (tagged.effective_day, tagged.effective_why, item_id),
        )
        published = conn.execute("SELECT published FROM items WHERE id = ?", (item_id,)).fetchone()
        conn.execute("DELETE FROM tags WHERE item_id = ?", (item_id,))
        _write_tags(conn, item_id, tagged.guilds, tagged.events, published[0])

    def content_hashes(self, ids: Sequence[int]) -> dict[int, str]:
        marks = ", ".join("?" for _ in ids)
        return dict(
            self.conn.execute(
                f"SELECT id, content_hash FROM items WHERE id IN ({marks})", list(ids)
            ).fetchall()
        )

    def texts_after(self, last_id: int, limit: int) -> list[sqlite3.Row]:
        """The next `limit` items after `last_id`, as reclassify reads them."""
        return self.conn.execute(
            "SELECT id, title, summary, published, guilds, events, effective_day, effective_why"
            " FROM items WHERE id > ? ORDER BY id LIMIT ?",
            (last_id, limit),
        ).fetchall()

    def retag(self, item_id: int, tagged: Tagged, published: str) -> bool:
        """New tags for an unchanged item; whether they differ from the stored ones (the item
        then leaves its story until assign_stories)."""
        conn = self.conn
        if self._indexed_through is not None and item_id > self._indexed_through:
            # Inserted in this bulk transaction and not indexed yet: the update trigger takes
            # its old words out of the index, so they must be in it first.
            self._index_new_items()
        old = conn.execute("SELECT guilds, events FROM items WHERE id = ?", (item_id,)).fetchone()
        guilds, events = tag_list_json(tagged.guilds), tag_list_json(tagged.events)
        changed = (old[0], old[1]) != (guilds, events)
        if changed:
            release(conn, [item_id])
            conn.execute("DELETE FROM tags WHERE item_id = ?", (item_id,))
            _write_tags(conn, item_id, tagged.guilds, tagged.events, published)
        conn.execute(
            "UPDATE items SET guilds = ?, events = ?, rules_version = ?,"
            " effective_day = ?, effective_why = ? WHERE id = ?",
            (
                guilds,
                events,
                tagged.rules_version,
                tagged.effective_day,
                tagged.effective_why,
                item_id,
            ),
        )
        return changed

    def assign_stories(self) -> int:
        """Place the pending reports (newly stored, or released by new tags) in their stories; returns how many reports changed story. Every poll, import and reclassify ends
        with it, whatever it did itself, so reports a killed run left pending are grouped by the
        next; with none pending (the items_story index answers) it writes nothing."""
        if not self._depth and not self.has_pending_stories():
            return 0
        with self.transaction() as conn:
            return assign_pending(conn)

    def has_pending_stories(self) -> bool:
        """Whether some report waits for its story (story_id NULL)."""
        return (
            self.conn.execute("SELECT 1 FROM items WHERE story_id IS NULL LIMIT 1").fetchone()
            is not None
        )

    def item_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM items").fetchone()[0]

    def last_item_id(self) -> int:
        """The id of the latest stored report (0 for an empty database)."""
        return self.conn.execute("SELECT coalesce(max(id), 0) FROM items").fetchone()[0]

    def has_alerts(self) -> bool:
        """Whether any alert is set: a poll or import without one never loads alerts.py (its
        delivery needs subprocess and an HTTP client)."""
        return self.conn.execute("SELECT 1 FROM alerts LIMIT 1").fetchone() is not None

    def items_by_id(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows.extend(
                item_dict(row)
                for row in self.conn.execute(
                    f"SELECT {ITEM_COLUMNS} FROM items WHERE id IN ({marks})", chunk
                )
            )
        rows.sort(key=lambda row: (row["published"], row["id"]))
        return rows

    def _items_in_order(self, filters: TimelineFilter, ids: Sequence[int]) -> list[dict[str, Any]]:
        """The items with these ids that still match `filters`, in the order of `ids`."""
        sql, params = self.timeline_sql(filters, ids=ids)
        found = {row[0]: item_dict(row) for row in self.conn.execute(sql, params)}
        return [found[item_id] for item_id in ids if item_id in found]

    def timeline(self, filters: TimelineFilter) -> list[dict[str, Any]]:
        """Timeline entries matching the filters, oldest first; with a limit, the most recent N.

        Collapsed (the default), an entry is a story: its first report, with the other outlets'
        reports in `also`. The guild, event and date filters apply to that first report; with
        --source, a story is shown through the earliest report from those sources."""
        return list(self.iter_timeline(filters))

    def iter_timeline(
        self, filters: TimelineFilter, newest_first: bool = False
    ) -> Iterator[dict[str, Any]]:
        """`timeline`'s entries as they are read, a few hundred at a time, so that listing a
        whole archive never holds all of it. The latest N (--limit) and stories seen through
        --source are put in order first, and so are read whole. `newest_first` reverses the
        order (an Atom feed's)."""
        batches: Iterable[list[dict[str, Any]]]
        if filters.limit is not None or (filters.collapse and filters.sources):
            sql, params = self.timeline_sql(filters)
            rows = [item_dict(row) for row in self.conn.execute(sql, params)]
            if filters.limit is not None:
                rows.reverse()
            if filters.collapse and filters.sources:
                rows = self._through_sources(rows, filters.sources)
            if newest_first:
                rows.reverse()
            batches = [rows]
        else:
            # The ids in one short statement, then each batch by id: a cursor kept open while
            # the output is written (into `less`, say) would hold a read snapshot, and no
            # checkpoint could shrink the write-ahead log a poll writes meanwhile. Each batch
            # is read through the filters again, so an item changed in between (re-tagged,
            # regrouped, deleted) is left out rather than shown against them.
            id_sql, params = self.timeline_sql(filters, columns="id")
            ids = [row[0] for row in self.conn.execute(id_sql, params)]
            if newest_first:
                ids.reverse()
            batches = (
                self._items_in_order(filters, ids[start : start + LISTING_BATCH])
                for start in range(0, len(ids), LISTING_BATCH)
            )
        for rows in batches:
            if filters.collapse:
                attach_also(self.conn, rows)
            else:
                for row in rows:
                    row["also"] = []
            yield from rows

    def _through_sources(
        self, rows: list[dict[str, Any]], sources: Sequence[str]
    ) -> list[dict[str, Any]]:
        wanted = {source.lower() for source in sources}
        marks = ", ".join("?" for _ in sources)
        shown = []
        for row in rows:
            if row["source"].lower() not in wanted:
                replacement = self.conn.execute(
                    f"SELECT {ITEM_COLUMNS} FROM items WHERE story_id = ?"
                    f" AND source COLLATE NOCASE IN ({marks}) ORDER BY published, id LIMIT 1",
                    (row["story"], *sources),
                ).fetchone()
                if replacement is not None:
                    row = item_dict(replacement)
            shown.append(row)
        shown.sort(key=lambda row: (row["published"], row["id"]))
        return shown

    def _probe_plan(self, groups: Sequence[Sequence[str]], limit: int | None) -> list[bool]:
        """Which tag groups (--guild, --event) to check item by item (filters.where). For "the
        latest N" when matches are common, walking the items newest first and probing each
        one's tags stops after N stories; otherwise the rarest group's tag index drives the
        query (no limit: every match is wanted anyway)."""
        if limit is None or not groups:
            return [False] * len(groups)
        counts = [
            self.conn.execute(
                f"SELECT count(*) FROM tags WHERE tag IN ({', '.join('?' for _ in group)})",
                list(group),
            ).fetchone()[0]
            for group in groups
        ]
        total = self.conn.execute("SELECT coalesce(max(id), 0) FROM items").fetchone()[0] or 1
        share = 1.0
        for count in counts:
            share *= count / total
        rarest = min(range(len(groups)), key=counts.__getitem__)
        # Items the walk expects to probe, against index entries the other plan reads (each
        # of which costs a row lookup and a sort: about four probes' worth).
        if share > 0 and limit / share < 4 * counts[rarest]:
            return [True] * len(groups)
        return [i != rarest for i in range(len(groups))]

    def timeline_sql(
        self, filters: TimelineFilter, columns: str | None = None, ids: Sequence[int] = ()
    ) -> tuple[str, list[Any]]:
        """The query behind timeline (public so tests can EXPLAIN it); `columns` defaults to
        ITEM_COLUMNS. With `ids`, only those items, unordered: a streamed listing's batch,
        checked against the filters again (each item's tags probed)."""
        groups = [group for group in (filters.guilds, filters.events) if group]
        probe = [True] * len(groups) if ids else self._probe_plan(groups, filters.limit)
        clauses, params = where(filters, probe)
        if ids:
            clauses.append(f"items.id IN ({', '.join('?' for _ in ids)})")
            params.extend(ids)
        sql = f"SELECT {columns or ITEM_COLUMNS} FROM items"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        if ids:
            return sql, params
        if filters.limit is not None:
            sql += " ORDER BY published DESC, id DESC LIMIT ?"
            params.append(filters.limit)
        else:
            sql += " ORDER BY published, id"
        return sql, params


FEED_STATE_COLUMNS = {
    "url",
    "title",
    "active",
    "etag",
    "last_modified",
    "last_status",
    "error",
    "error_count",
    "last_polled",
    "last_success",
    "next_poll",
}


# The order item_dict reads them in.
ITEM_COLUMNS = "id, published, title, link, source, summary, guilds, events, story_id"


def item_dict(row: Sequence[Any]) -> dict[str, Any]:
    """An items row selected as ITEM_COLUMNS (in that order) as listings show it: the
    README's JSON shape, plus its story. Positional access: this runs once per listed row."""
    item_id, published, title, link, source, summary, guilds, events, story_id = row[:9]
    return {
        "id": item_id,
        "published": published,
        "title": title,
        "link": link,
        "source": source,
        "summary": summary,
        "guilds": tag_list(guilds),
        "events": tag_list(events),
        "story": story_id if story_id is not None else item_id,
    }


_TAG_LISTS: dict[str, list[str]] = {}


def tag_list(stored: str) -> list[str]:
    """A stored JSON tag list as a list; the few distinct combinations are parsed once each."""
    parsed = _TAG_LISTS.get(stored)
    if parsed is None:
        parsed = _TAG_LISTS[stored] = json.loads(stored)
    return list(parsed)


def tag_list_json(ids: Sequence[str]) -> str:
    """Tag ids as items.guilds and items.events hold them: a JSON array."""
    return json.dumps(list(ids))


# What _find_existing reads of a stored item: its identity and text, and how the source being
# saved carries it (its guid, link and headline there; NULL when it does not carry it).
_CANDIDATE = (
    "SELECT items.id, items.content_hash, items.source, items.link, items.published,"
    " mine.guid AS my_guid, mine.link AS my_link, mine.title AS my_title FROM items"
)


def _find_existing(
    conn: sqlite3.Connection, item: Item, source: str, fingerprint: str
) -> sqlite3.Row | None:
    """The stored item this entry of `source` is, or None for a new one (the identity rule the
    README's "The database" section states).

    - Within one source the guid tells entries apart. The same guid again is the same item (an
      edit, the later text winning) unless both its link and its headline differ from what the
      source said under it before (the headlines share less than half their words): then the
      source reused the guid for another story, which is a new item.
    - An entry whose guid is new to its source is identified by its canonical link: an item
      this source carries with that link is the same one if the source gave it no guid, or if
      the entry re-lists it exactly (same title and summary: the feed changed its guid scheme);
      any other entry under another guid is another item that shares the link (a podcast's
      episodes linking to the show page, a guild's weekly "Member update" posts).
    - Across sources the canonical link makes one item of one story, but only while one item
      holds that link: a link that some source uses for several items (a show page, a guild's
      news page) says nothing about which story another outlet's entry is.
    - An entry without a link is identified within its source by its text (content hash).
    - An entry without a guid whose link has a `#fragment` and matches nothing is the item this
      source stored with the link without it and the same text, if there is one (stored before
      fragments were kept); that item takes the new link."""
    if item.guid:
        for row in conn.execute(
            f"{_CANDIDATE} JOIN item_sources AS mine ON mine.item_id = items.id"
            " WHERE mine.source = ? AND mine.guid = ? ORDER BY items.id DESC",
            (source, item.guid),
        ):
            if row["my_link"] == item.link or _same_headline(row["my_title"], item.title):
                return row
    if not item.link:
        return conn.execute(
            f"{_CANDIDATE} LEFT JOIN item_sources AS mine ON 0"
            " WHERE items.link IS NULL AND items.content_hash = ? AND items.source = ?",
            (fingerprint, source),
        ).fetchone()
    candidates = conn.execute(
        f"{_CANDIDATE} LEFT JOIN item_sources AS mine"
        " ON mine.item_id = items.id AND mine.source = ?"
        " WHERE items.link = ? ORDER BY items.id",
        (source, item.link),
    ).fetchall()
    carried = [row for row in candidates if row["my_title"] is not None]
    if carried:
        for row in carried:
            if not item.guid or row["my_guid"] is None or row["content_hash"] == fingerprint:
                return row
        return None
    if not candidates and not item.guid and "#" in item.link:
        return _stored_without_fragment(conn, item.link, source, fingerprint)
    return candidates[0] if len(candidates) == 1 else None


def _stored_without_fragment(
    conn: sqlite3.Connection, link: str, source: str, fingerprint: str
) -> sqlite3.Row | None:
    """The item a database from before fragments were kept stored for this entry: same source,
    same text, its link without the `#fragment` (a day-page blog's /2023/07/14 for the post
    /2023/07/14#post-1). Its link becomes the entry's, so the day's next post is an item of its
    own and this one is found by its own link from now on."""
    bare = link.split("#", 1)[0]
    row = conn.execute(
        f"{_CANDIDATE} LEFT JOIN item_sources AS mine"
        " ON mine.item_id = items.id AND mine.source = ?"
        " WHERE items.link = ? AND items.source = ? AND items.content_hash = ?"
        " ORDER BY items.id LIMIT 1",
        (source, bare, source, fingerprint),
    ).fetchone()
    if row is not None:
        conn.execute("UPDATE items SET link = ? WHERE id = ?", (link, row["id"]))
    return row


def _same_headline(before: str, now: str) -> bool:
    """An edited headline keeps most of its words; another story's does not."""
    return before == now or word_similarity(headline_words(before), headline_words(now)) >= 0.5


def _write_tags(
    conn: sqlite3.Connection,
    item_id: int,
    guilds: Sequence[str],
    events: Sequence[str],
    published: str,
) -> None:
    rows = [(item_id, "guild", tag, published) for tag in guilds]
    rows += [(item_id, "event", tag, published) for tag in events]
    if rows:
        conn.executemany(
            "INSERT OR IGNORE INTO tags (item_id, kind, tag, published) VALUES (?, ?, ?, ?)", rows
        )


def _record_source(
    conn: sqlite3.Connection,
    item_id: int,
    feed_id: int | None,
    source: str,
    item: Item,
    seen_iso: str,
) -> None:
    conn.execute(
        "INSERT INTO item_sources (item_id, feed_id, source, guid, link, title, first_seen)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (item_id, source) DO UPDATE SET"
        " feed_id = coalesce(excluded.feed_id, feed_id), guid = excluded.guid,"
        " link = excluded.link, title = excluded.title"
        # Re-polling an unchanged story must not rewrite its row.
        " WHERE guid IS NOT excluded.guid OR link IS NOT excluded.link"
        " OR title IS NOT excluded.title OR (feed_id IS NULL AND excluded.feed_id IS NOT NULL)",
        (item_id, feed_id, source, item.guid, item.link, item.title, seen_iso),
    )


def _local_path(text: str) -> str:
    """A path as typed, with ~ expanded and any trailing separator dropped (as pathlib does):
    "data/" must not become a folder the database is then put in."""
    expanded = os.path.expanduser(text)
    return expanded.rstrip(os.sep + (os.altsep or "")) or expanded


def feed_summary(feed: dict[str, Any]) -> dict[str, Any]:
    """A feed as `feeds list` shows it: the README's keys plus a one-word health."""
    if not feed["active"]:
        health = "gone" if feed.get("last_status") == 410 else "removed"
    elif feed.get("error_count"):
        health = f"failing ({feed['error_count']}x)"
    elif feed.get("next_poll"):
        health = "waiting"
    elif feed.get("last_polled") is None:
        health = "new"
    elif feed.get("error"):
        # Polled, failed, but not counted: no feed could be reached (the network was down).
        health = "failing"
    else:
        health = "ok"
    return {
        "name": feed["name"],
        "url": feed["url"],
        "title": feed.get("title"),
        "active": bool(feed["active"]),
        "health": health,
        "last_status": feed.get("last_status"),
        "error": feed.get("error"),
        "error_count": feed.get("error_count") or 0,
        "last_polled": feed.get("last_polled"),
        "last_success": feed.get("last_success"),
        "next_poll": feed.get("next_poll"),
        "added_at": feed.get("added_at"),
    }
