"""Polling: every feed fetched (concurrently, politely), parsed, classified and stored."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from strikewatch import fetch as fetching
from strikewatch.errors import FeedError, PollLocked, StoreError
from strikewatch.normalize import to_utc_iso, utcnow
from strikewatch.parse import ParsedFeed, parse_feed

if TYPE_CHECKING:
    import requests

    from strikewatch.classify import Classifier
    from strikewatch.store import Store

MAX_WORKERS = 8
MAX_PER_HOST = 2
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
    retry_until: datetime | None = None
    moved_to: str | None = None
    gone: bool = False
    skipped_until: str | None = None

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
    """A non-blocking lock beside the database; the OS frees it if the holder dies."""
    lock_path = Path(str(db_path) + ".poll-lock")
    try:
        handle = open(lock_path, "a+b")  # noqa: SIM115 - held for the duration of the poll
    except OSError as error:
        raise StoreError(
            f"{lock_path}: cannot create lock file: {error.strerror or error}"
        ) from None
    try:
        if os.name == "nt":
            import msvcrt

            try:
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            except OSError:
                raise PollLocked("another poll is already running; skipping this one") from None
        else:
            import fcntl

            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise PollLocked("another poll is already running; skipping this one") from None
        yield
    finally:
        handle.close()


class _HostLimiter:
    """At most MAX_PER_HOST requests in flight to any one host."""

    def __init__(self, per_host: int):
        self._per_host = per_host
        self._lock = threading.Lock()
        self._semaphores: dict[str, threading.Semaphore] = {}

    def __call__(self, url: str) -> threading.Semaphore:
        host = (urlsplit(url).hostname or "").lower()
        with self._lock:
            if host not in self._semaphores:
                self._semaphores[host] = threading.Semaphore(self._per_host)
            return self._semaphores[host]


def _fetch_and_parse(
    session: requests.Session | None,
    feed: dict[str, Any],
    timeout: float,
    max_bytes: int,
    limiter: _HostLimiter,
) -> tuple[fetching.FetchResult | None, ParsedFeed | None, FeedError | None, float]:
    url = feed["url"]
    started = time.monotonic()
    try:
        if fetching.is_remote(url):
            with limiter(url):
                result = fetching.fetch(
                    session,
                    url,
                    etag=feed.get("etag"),
                    last_modified=feed.get("last_modified"),
                    timeout=timeout,
                    max_bytes=max_bytes,
                )
        else:
            result = fetching.read_local(url, max_bytes=max_bytes)
        if result.body is None:
            return result, None, None, time.monotonic() - started
        parsed = parse_feed(result.body, base_url=result.url, content_type=result.content_type)
        return result, parsed, None, time.monotonic() - started
    except FeedError as error:
        return None, None, error, time.monotonic() - started


def poll_feeds(
    store: Store,
    feeds: Sequence[dict[str, Any]],
    *,
    session: requests.Session | None,
    classifier: Classifier,
    timeout: float = fetching.DEFAULT_TIMEOUT,
    max_bytes: int = fetching.DEFAULT_MAX_BYTES,
    respect_schedule: bool = True,
    on_feed_done: Callable[[FeedOutcome], None] | None = None,
    max_workers: int = MAX_WORKERS,
) -> PollReport:
    """Fetch and parse concurrently; store each feed's items in one transaction as it arrives."""
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
    limiter = _HostLimiter(MAX_PER_HOST)
    workers = max(1, min(max_workers, len(due)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="strikewatch-poll") as pool:
        futures = [
            (feed, pool.submit(_fetch_and_parse, session, feed, timeout, max_bytes, limiter))
            for feed in due
        ]
        for feed, future in futures:
            result, parsed, error, elapsed = future.result()
            outcome = _record(store, feed, result, parsed, error, classifier)
            if feed.get("id") is not None:
                store.log_poll(
                    feed["id"],
                    started_at=now_iso,
                    duration_ms=int(elapsed * 1000),
                    status=outcome.status,
                    outcome=outcome.kind,
                    new_items=len(outcome.new_ids),
                    updated_items=len(outcome.updated_ids),
                    bytes=len(result.body)
                    if result is not None and result.body is not None
                    else None,
                    error=outcome.error,
                )
            report.outcomes.append(outcome)
            if on_feed_done is not None:
                on_feed_done(outcome)
    return report


def _record(
    store: Store,
    feed: dict[str, Any],
    result: fetching.FetchResult | None,
    parsed: ParsedFeed | None,
    error: FeedError | None,
    classifier: Classifier,
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
            error_count = int(feed.get("error_count") or 0) + 1
            state.update(
                error=str(error),
                error_count=error_count,
                next_poll=to_utc_iso(now + backoff_delay(error_count)),
            )
        if feed_id is not None:
            store.update_feed(feed_id, **state)
        return outcome

    assert result is not None
    outcome.status = result.status
    outcome.moved_to = result.moved_to
    state.update(
        last_status=result.status,
        error=None,
        error_count=0,
        next_poll=None,
        last_success=now_iso,
        etag=result.etag,
        last_modified=result.last_modified,
    )
    if result.moved_to and result.moved_to != feed["url"]:
        state["url"] = result.moved_to
    if parsed is None:
        outcome.not_modified = True
    else:
        outcome.warning = parsed.warning
        if parsed.title and not feed.get("title"):
            state["title"] = parsed.title
        saved = store.save_items(
            parsed.items, source=feed["name"], feed_id=feed_id, classifier=classifier, seen_at=now
        )
        outcome.new_ids = saved.new_ids
        outcome.updated_ids = saved.updated_ids
    if feed_id is not None:
        try:
            store.update_feed(feed_id, **state)
        except sqlite3.IntegrityError:  # moved to a URL that another subscribed feed already has
            state.pop("url", None)
            store.update_feed(feed_id, **state)
    return outcome


def default_feeds() -> list[dict[str, str]]:
    """The bundled trade-press list (data/feeds.toml)."""
    import tomllib

    from strikewatch.paths import data_path

    with open(data_path("feeds.toml"), "rb") as handle:
        entries = tomllib.load(handle).get("feed", [])
    return [
        {"name": entry["name"], "url": entry["url"], "title": entry.get("title", entry["name"])}
        for entry in entries
        if entry.get("url") and entry.get("name")
    ]


def ad_hoc_feed(location: str) -> dict[str, Any]:
    """A feed named on the command line but not subscribed: fetched once, no state kept."""
    from strikewatch.store import derive_feed_name, normalize_location

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
