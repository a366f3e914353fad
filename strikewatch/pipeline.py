"""How parsed items become timeline entries: each is identified against the store, tagged
(only when new or changed), given its strike day, and stored; grouping them into stories is
then each guild's strike standing is saved for `status`: the last steps, once per run
(`finish`). Poll, import and reclassify all go through here:

    fetch.py (bytes) -> parse.py (items) -> pipeline.py (tags, days) -> store.py (SQLite)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from strikewatch.dates import to_utc_iso, usable_date, utcnow
from strikewatch.status import save_standings, standings_saved, stored_effective
from strikewatch.store import Store, Tagged
from strikewatch.taxonomy import STRIKE_CHANGES
from strikewatch.text import content_hash

if TYPE_CHECKING:
    from strikewatch.classify import Tags
    from strikewatch.parse import Item


class Tagger(Protocol):
    """What the pipeline needs of a classifier: tags for a headline and its summary, and the
    version of the rules, stored with each item."""

    version: str

    def classify(self, title: str, summary: str = "") -> Tags: ...


@dataclass
class SaveResult:
    """What storing one feed's (or one batch's) items did."""

    new_ids: list[int] = field(default_factory=list)
    updated_ids: list[int] = field(default_factory=list)
    unchanged: int = 0


def tag(
    tagger: Tagger,
    title: str,
    summary: str,
    published: str,
    kept: tuple[str | None, str | None] = (None, None),
) -> Tagged:
    """An item's tags and, for a strike report, the day it takes effect and why (`kept`, what
    the store already has for this unchanged text, else worked out by status)."""
    tags = tagger.classify(title, summary)
    day: tuple[str | None, str | None] = (None, None)
    if any(event in STRIKE_CHANGES for event in tags.events):
        day = kept if kept[0] is not None else stored_effective(title, summary, published)
    return Tagged(tags.guilds, tags.events, tagger.version, *day)


def ingest(
    store: Store,
    tagger: Tagger,
    items: Iterable[Item],
    *,
    source: str,
    feed_id: int | None = None,
    seen_at: datetime | None = None,
    bulk: bool = False,
) -> SaveResult:
    """Store one feed's (or one file batch's) items in one transaction, deduplicated and
    tagged. They wait for `store.assign_stories()` to be grouped: once at the end of a run,
    not once per feed, which would sweep the same stretch of time again and again. `bulk` (an
    import's batches of thousands, a feed's first poll): new items are indexed for search in
    one pass at the end; it pays from about ten new items on."""
    seen_at = seen_at or utcnow()
    seen_iso = to_utc_iso(seen_at)
    result = SaveResult()
    counted: set[int] = set()
    # The stored text hash of each item this batch updates, from before the batch.
    before: dict[int, str] = {}
    indexing = store.new_items_indexed_at_end() if bulk else nullcontext()
    with store.transaction(), indexing:
        for item in items:
            carrier = item.source or source
            fingerprint = content_hash(item.title, item.summary)
            stored = store.find_item(item, carrier, fingerprint)
            if stored is None:
                dated = usable_date(item.published, seen_at)
                published = to_utc_iso(seen_at if dated is None else dated)
                item_id = store.insert_item(
                    item,
                    tag(tagger, item.title, item.summary, published),
                    source=carrier,
                    feed_id=feed_id,
                    published=published,
                    seen_iso=seen_iso,
                    fingerprint=fingerprint,
                    undated=dated is None,
                )
                result.new_ids.append(item_id)
                counted.add(item_id)
                continue
            store.record_carrier(
                stored.id, item, source=carrier, feed_id=feed_id, seen_iso=seen_iso
            )
            # Another feed carried it first (its text is the item's), or nothing changed.
            if stored.source != carrier or stored.content_hash == fingerprint:
                result.unchanged += 1
                continue
            before.setdefault(stored.id, stored.content_hash)
            tagged = tag(tagger, item.title, item.summary, stored.published)
            store.update_item(stored.id, item, tagged, fingerprint=fingerprint, seen_iso=seen_iso)
            if stored.id in counted:  # an entry listed twice is one item, counted once
                result.unchanged += 1
            else:
                result.updated_ids.append(stored.id)
                counted.add(stored.id)
        if before:
            # An entry listed twice with different texts (an archive re-imported) may be
            # rewritten and then written back as it was: that item did not change.
            now = store.content_hashes(list(before))
            kept = [item_id for item_id in result.updated_ids if now[item_id] != before[item_id]]
            result.unchanged += len(result.updated_ids) - len(kept)
            result.updated_ids = kept
    return result


def reclassify(
    store: Store,
    tagger: Tagger,
    *,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Re-run the rules over every stored item, then group what changed; returns (items seen,
    items whose tags changed)."""
    seen = changed = 0
    last_id = 0
    while True:
        # Read inside the write transaction: a report edited by a poll between the read and
        # the write would otherwise get its old tags, and its old day, back.
        with store.transaction():
            rows = store.texts_after(last_id, batch_size)
            for row in rows:
                tagged = tag(
                    tagger,
                    row["title"],
                    row["summary"],
                    row["published"],
                    kept=(row["effective_day"], row["effective_why"]),
                )
                changed += store.retag(row["id"], tagged, row["published"])
        if not rows:
            break
        seen += len(rows)
        last_id = rows[-1]["id"]
        if progress is not None:
            progress(len(rows))
    # Also when no tag changed: a reclassify killed before grouping left reports pending.
    finish(store)
    return seen, changed


def finish(store: Store) -> None:
    """The last steps of every poll, import and reclassify, whatever it stored itself (a run
    killed before them leaves them to the next): group the reports waiting for their story,
    then save each guild's strike standing if a strike or deal report changed since."""
    store.assign_stories()
    if not standings_saved(store.conn):  # most runs: no write transaction to wait for
        with store.transaction() as conn:
            save_standings(conn)  # unless another run saved it meanwhile
