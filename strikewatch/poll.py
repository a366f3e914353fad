"""`poll`: which feeds are due; each one fetched (fetch.fetch_all, concurrently and politely),
parsed and run through the pipeline as it arrives, its health, backoff and poll log recorded.

An unchanged re-poll (every feed answers 304) is the common run, from cron every few minutes:
what only a body needs, the feed parser and the classifier, is loaded when the first body
arrives (see DeferredClassifier), so that run pays for neither."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strikewatch import fetch as fetching
from strikewatch import pipeline
from strikewatch.bundled import data_path
from strikewatch.dates import to_utc_iso, utcnow
from strikewatch.errors import (
    FeedError,
    ParseError,
    PollLocked,
    StoreError,
    UsageError,
    unexpected_parse_error,
)
from strikewatch.normalize import feed_url
from strikewatch.rulefiles import RuleFiles
from strikewatch.store import Store, lock_beside
from strikewatch.subscriptions import derive_feed_name, feed_with_url, normalize_location

if TYPE_CHECKING:
    import requests

    from strikewatch.classify import Classifier, Tags
    from strikewatch.parse import ParsedFeed

BACKOFF_BASE = timedelta(minutes=10)
BACKOFF_CAP = timedelta(hours=12)


@dataclass
class FeedOutcome:
    """What happened to one feed in one poll, for the summary and the exit code."""

    name: str
    url: str
    status: int | None = None
    new_ids: list[int] = field(default_factory=list)
    updated_ids: list[int] = field(default_factory=list)
    not_modified: bool = False
    error: str | None = None
    warning: str | None = None
    # The same warning was given the last time this feed's document was read: a recoverable
    # oddity is said once, not on every poll (it stays in the poll log).
    warned_before: bool = False
    retry_until: datetime | None = None
    moved_to: str | None = None
    moved_note: str | None = None
    gone: bool = False
    skipped_until: str | None = None
    store_failed: bool = False  # fetched and parsed, but the database would not take it

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def kind(self) -> str:
        """One word for the poll log: error, gone, retry-later, not-modified, skipped or ok."""
        if self.gone:
            return "gone"
        if self.failed:
            return "error"
        if self.retry_until is not None:
            return "retry-later"
        if self.skipped_until is not None:
            return "skipped"
        return "not-modified" if self.not_modified else "ok"


@dataclass
class PollReport:
    outcomes: list[FeedOutcome] = field(default_factory=list)
    offline: bool = False  # no feed could be reached at all: backoff was not applied
    grouping_error: str | None = None  # the run's last steps (pipeline.finish) failed

    @property
    def failures(self) -> list[FeedOutcome]:
        return [outcome for outcome in self.outcomes if outcome.failed]

    @property
    def new_ids(self) -> list[int]:
        return [item_id for outcome in self.outcomes for item_id in outcome.new_ids]


def backoff_delay(error_count: int) -> timedelta:
    """10 min, 20, 40... capped at 12 hours: a broken feed is retried, never dropped."""
    if error_count <= 0:
        return timedelta(0)
    return min(BACKOFF_BASE * (2 ** min(error_count - 1, 16)), BACKOFF_CAP)


@contextmanager
def poll_lock(db_path: Path):
    """A non-blocking lock beside the database; the OS frees it if the holder dies. The holder
    writes its PID and start time into the file, so an overlapping run can say who holds it."""
    with lock_beside(db_path, ".poll-lock", wait=False) as (handle, held):
        if not held:
            if os.name == "nt":  # the locked byte cannot be read there
                raise PollLocked("another poll is already running; skipping this one")
            raise _locked_by(handle)
        if os.name != "nt":
            with contextlib.suppress(OSError):  # the PID is a courtesy, not the lock
                handle.truncate(0)
                handle.write(
                    f"{os.getpid()} {datetime.now(UTC).isoformat(timespec='seconds')}\n".encode()
                )
                handle.flush()
        yield


STALE_LOCK_SECONDS = 3600  # a poll holding on this long is probably stuck: worth a cron mail


def _locked_by(handle: Any) -> PollLocked:
    """The overlapping run's message: who holds the poll, since when, and whether that is long."""
    try:
        handle.seek(0)
        pid_text, _, since_text = handle.read(200).decode("ascii", "replace").strip().partition(" ")
        pid = int(pid_text)
        since = datetime.fromisoformat(since_text)
    except (OSError, ValueError):
        return PollLocked("another poll is already running; skipping this one")
    age = (datetime.now(UTC) - since).total_seconds()
    stale = age > STALE_LOCK_SECONDS
    held = f"pid {pid}, since {since.strftime('%Y-%m-%d %H:%M')} UTC"
    if stale:
        return PollLocked(
            f"another poll has been running for over an hour ({held}): is it stuck?"
            " skipping this one",
            pid=pid,
            stale=True,
        )
    return PollLocked(f"another poll is already running ({held}); skipping this one", pid=pid)


def poll_feeds(
    store: Store,
    feeds: Sequence[dict[str, Any]],
    *,
    session: requests.Session | None,
    classifier: pipeline.Tagger,
    timeout: float = fetching.DEFAULT_TIMEOUT,
    max_bytes: int = fetching.DEFAULT_MAX_BYTES,
    respect_schedule: bool = True,
    on_feed_done: Callable[[FeedOutcome], None] | None = None,
    max_workers: int = fetching.MAX_WORKERS,
    per_host: int = fetching.MAX_PER_HOST,
) -> PollReport:
    """Fetch concurrently; parse and store each feed (one transaction) as it arrives.

    Threads only download: parsing, tagging and every database write happen here, in the
    calling thread, so the store has one writer.
    """
    report = PollReport()
    now_iso = to_utc_iso(utcnow())
    due: list[dict[str, Any]] = []
    for feed in feeds:
        if respect_schedule and feed.get("next_poll") and feed["next_poll"] > now_iso:
            outcome = FeedOutcome(
                name=feed["name"], url=feed["url"], skipped_until=feed["next_poll"]
            )
            report.outcomes.append(outcome)
            if on_feed_done is not None:
                on_feed_done(outcome)
        else:
            due.append(feed)
    if not due:
        return report

    def process(fetched: fetching.Fetched, backoff: bool = True) -> FeedOutcome:
        return _process(store, fetched, classifier, now_iso, backoff=backoff)

    def done(outcome: FeedOutcome) -> None:
        report.outcomes.append(outcome)
        if on_feed_done is not None:
            on_feed_done(outcome)

    # Unchanged feeds (a plain 304) change nothing but their check time: they are recorded
    # together, in one transaction, once the downloads are done.
    unchanged: list[fetching.Fetched] = []
    # Connection-level failures are recorded last: if nothing at all could be reached, the
    # network is down, not the feeds, and they must not be pushed into backoff for it.
    unreachable: list[fetching.Fetched] = []
    answered = 0
    for fetched in fetching.fetch_all(
        session,
        due,
        timeout=timeout,
        max_bytes=max_bytes,
        max_workers=max_workers,
        per_host=per_host,
    ):
        if fetching.is_remote(fetched.feed["url"]):
            if isinstance(fetched.error, fetching.Unreachable):
                unreachable.append(fetched)
                continue
            answered += 1
        result = fetched.result
        if fetched.error is None and result and result.body is None and not result.moved_to:
            unchanged.append(fetched)
        else:
            done(process(fetched))
    try:
        with store.transaction():
            outcomes = [process(fetched) for fetched in unchanged]
    except sqlite3.Error:  # the batch would not commit: each feed on its own
        outcomes = [process(fetched) for fetched in unchanged]
    for outcome in outcomes:
        done(outcome)
    hosts = {fetching.host_key(fetched.feed["url"]) for fetched in unreachable}
    report.offline = answered == 0 and len(hosts) >= 2
    for fetched in unreachable:
        done(process(fetched, backoff=not report.offline))
    # Each feed's items were committed as they came; a poll killed before this point leaves
    # them pending, and the next poll, import or reclassify groups them, even an unchanged one.
    try:
        pipeline.finish(store)
    except sqlite3.Error as error:  # a full disk: what was stored stays, grouped next time
        report.grouping_error = store.describe_error(error)
    return report


def _process(
    store: Store,
    fetched: fetching.Fetched,
    classifier: pipeline.Tagger,
    started_iso: str,
    backoff: bool = True,
) -> FeedOutcome:
    """Parse (if there is a body) and record one feed: items, health and log in one
    transaction."""
    parsed: ParsedFeed | None = None
    error = fetched.error
    result = fetched.result
    if error is None and result is not None and result.body is not None:
        from strikewatch.parse import parse_feed  # feedparser and its XML: only for a body

        try:
            parsed = parse_feed(result.body, base_url=result.url, content_type=result.content_type)
        except FeedError as parse_error:
            error, result = parse_error, None
        except Exception as parse_error:  # hostile input can surprise any parser
            error, result = ParseError(unexpected_parse_error(parse_error)), None
    feed = fetched.feed
    try:
        with store.transaction():
            outcome = _record(store, feed, result, parsed, error, classifier, backoff=backoff)
            _log(store, fetched, started_iso, outcome)
    except Exception as store_error:  # a constraint, a full disk, a bug: this feed's error only
        outcome = FeedOutcome(name=feed["name"], url=feed["url"], store_failed=True)
        outcome.status = result.status if result is not None else None
        if isinstance(store_error, sqlite3.Error):
            why = store.describe_error(store_error)
        elif isinstance(store_error, StoreError):
            why = str(store_error)
        else:
            why = f"unexpected error: {type(store_error).__name__}"
        outcome.error = f"{'its items' if parsed else 'its state'} could not be stored: {why}"
        if feed.get("id") is not None:
            # Its health, if the database takes it (not on a full disk); no backoff: the feed
            # itself answered.
            with contextlib.suppress(sqlite3.Error), store.transaction():
                store.update_feed(
                    feed["id"],
                    last_polled=to_utc_iso(utcnow()),
                    last_status=outcome.status,
                    error=outcome.error,
                    error_count=int(feed.get("error_count") or 0) + 1,
                )
                _log(store, fetched, started_iso, outcome)
    return outcome


def _log(store: Store, fetched: fetching.Fetched, started_iso: str, outcome: FeedOutcome) -> None:
    """The feed's poll_log row for this poll."""
    feed_id = fetched.feed.get("id")
    if feed_id is None:
        return
    store.log_poll(
        feed_id,
        started_at=started_iso,
        duration_ms=int(fetched.elapsed * 1000),
        status=outcome.status,
        outcome=outcome.kind,
        new_items=len(outcome.new_ids),
        updated_items=len(outcome.updated_ids),
        bytes=len(fetched.result.body)
        if fetched.result is not None and fetched.result.body is not None
        else None,
        error=outcome.error or outcome.warning,
    )


def _record(
    store: Store,
    feed: dict[str, Any],
    result: fetching.FetchResult | None,
    parsed: ParsedFeed | None,
    error: FeedError | None,
    classifier: pipeline.Tagger,
    backoff: bool = True,
) -> FeedOutcome:
    """Store the items and the feed's new health, whatever happened."""
    now = utcnow()
    now_iso = to_utc_iso(now)
    outcome = FeedOutcome(name=feed["name"], url=feed["url"])
    feed_id = feed.get("id")
    state: dict[str, Any] = {"last_polled": now_iso}
    if error is not None:
        outcome.status = error.status if isinstance(error, fetching.FetchError) else None
        state["last_status"] = outcome.status
        if isinstance(error, fetching.RetryLater):
            outcome.retry_until = error.until
            outcome.warning = str(error)
            state["next_poll"] = to_utc_iso(error.until) if error.until else None
            state["error"] = str(error)
        elif isinstance(error, fetching.Gone):
            outcome.gone = True
            outcome.error = str(error)
            state.update(active=0, error=str(error), next_poll=None)
        else:
            outcome.error = str(error)
            state["error"] = str(error)
            if backoff:
                error_count = int(feed.get("error_count") or 0) + 1
                state.update(
                    error_count=error_count,
                    next_poll=to_utc_iso(now + backoff_delay(error_count)),
                )
        if feed_id is not None:
            store.update_feed(feed_id, **state)
        return outcome

    assert result is not None
    outcome.status = result.status
    state.update(
        last_status=result.status,
        error=None,
        error_count=0,
        next_poll=None,
        last_success=now_iso,
        etag=result.etag,
        last_modified=result.last_modified,
    )
    moved_to = _stored_form(result.moved_to) if result.moved_to else None
    if moved_to and moved_to != feed["url"]:
        outcome.moved_to = moved_to
        if feed_id is None:
            outcome.moved_note = "not subscribed, so nothing was updated"
        elif feed_with_url(store, moved_to, other_than=feed_id) is None:
            state["url"] = moved_to
            outcome.moved_note = "address updated"
        else:
            outcome.moved_note = "another subscribed feed already has that address; kept this one"
    if parsed is None:
        outcome.not_modified = True
    else:
        outcome.warning = parsed.warning
        if parsed.warning and feed_id is not None:
            outcome.warned_before = oddity(store.last_warning(feed_id)) == oddity(parsed.warning)
        if parsed.title and not feed.get("title"):
            state["title"] = parsed.title
        # A feed read for the first time brings its whole backlog, all new: indexed for search
        # in one pass (a fifth of storing 50 items); later polls bring a few, which the
        # triggers index for less than the pass's fixed cost.
        saved = pipeline.ingest(
            store,
            classifier,
            parsed.items,
            source=feed["name"],
            feed_id=feed_id,
            seen_at=now,
            bulk=not feed.get("last_success"),
        )
        outcome.new_ids = saved.new_ids
        outcome.updated_ids = saved.updated_ids
    if feed_id is not None:
        store.update_feed(feed_id, **state)
    return outcome


def _stored_form(url: str) -> str:
    """A redirect's target as `feeds add` would store it, so that the feed it moved to is
    recognised when already subscribed (HTTPS://Host:443/feed/ is https://host/feed/)."""
    try:
        return feed_url(url)
    except UsageError:
        return url


def oddity(warning: str | None) -> str | None:
    """What a warning is about, without what changes from poll to poll as the feed moves on
    (line numbers, counts, how many stories were kept)."""
    if warning is None:
        return None
    parts = [part for part in warning.split("; ") if not part.startswith("kept the ")]
    return re.sub(r"\d+", "#", "; ".join(parts))


def default_feeds() -> list[dict[str, str]]:
    """The bundled trade-press list (data/feeds.toml), read once, on a first poll."""
    import tomllib  # no TOML parser at every poll's start

    with open(data_path("feeds.toml"), "rb") as handle:
        entries = tomllib.load(handle).get("feed", [])
    return [
        {"name": entry["name"], "url": entry["url"], "title": entry.get("title", entry["name"])}
        for entry in entries
        if entry.get("url") and entry.get("name")
    ]


class DeferredClassifier:
    """What storing items needs of a Classifier (`classify`, `version`), loading it on the
    first `classify`: a poll whose feeds bring no new or changed items never loads the rule
    engine nor reads its compiled program."""

    def __init__(self, rule_files: RuleFiles) -> None:
        self.version = rule_files.version
        self._rule_files = rule_files
        self._loaded: Classifier | None = None

    def classify(self, title: str, summary: str = "") -> Tags:
        if self._loaded is None:
            from strikewatch.classify import load_rules  # the rule engine

            self._loaded = load_rules(self._rule_files)
        return self._loaded.classify(title, summary)


def deferred_classifier(extra_rules: Sequence[str]) -> Classifier | DeferredClassifier:
    """The classifier for a poll, which may have nothing to tag: the rules are read now, and
    compiled now unless a compiled copy is cached, so a mistake in them is reported before any
    feed is fetched, either way; the cached copy is read only when the first item is tagged."""
    rule_files = RuleFiles(extra_rules)
    if rule_files.cached:
        return DeferredClassifier(rule_files)
    from strikewatch.classify import load_rules  # the rule compiler

    return load_rules(rule_files)


def ad_hoc_feed(location: str) -> dict[str, Any]:
    """A feed named on the command line but not subscribed: fetched once, no state kept."""
    url = normalize_location(location)
    return {"id": None, "name": derive_feed_name(url), "url": url}


def summarize(report: PollReport) -> str:
    """One line for humans: what the poll did."""
    outcomes = report.outcomes
    polled = [outcome for outcome in outcomes if outcome.skipped_until is None]
    new = sum(len(outcome.new_ids) for outcome in outcomes)
    updated = sum(len(outcome.updated_ids) for outcome in outcomes)
    parts = [f"{new} new item{'s' if new != 1 else ''}"]
    if updated:
        parts.append(f"{updated} updated")
    not_modified = sum(1 for outcome in outcomes if outcome.not_modified)
    if not_modified:
        parts.append(f"{not_modified} unchanged (304)")
    waiting = sum(1 for outcome in outcomes if outcome.retry_until is not None)
    if waiting:
        parts.append(f"{waiting} asked us to wait")
    skipped = len(outcomes) - len(polled)
    if skipped:
        parts.append(f"{skipped} backing off")
    failed = len(report.failures)
    if failed:
        parts.append(f"{failed} failed")
    return f"Polled {len(polled)} feed{'s' if len(polled) != 1 else ''}: " + ", ".join(parts) + "."
