"""Polling: every feed fetched (concurrently, politely), parsed, classified and stored."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strikewatch import fetch as fetching
from strikewatch.errors import (
    FeedError,
    ParseError,
    PollLocked,
    StoreError,
    unexpected_parse_error,
)
from strikewatch.normalize import to_utc_iso, utcnow
from strikewatch.workers import LazyPool, usable_cores

if TYPE_CHECKING:
    from concurrent.futures import Future

    import requests

    from strikewatch.classify import Classifier
    from strikewatch.parse import ParsedFeed
    from strikewatch.store import Store

MAX_WORKERS = 8
MAX_PER_HOST = 2
BACKOFF_BASE = timedelta(minutes=10)
BACKOFF_CAP = timedelta(hours=12)
# How long past its own deadline a download may take before it is abandoned (only a DNS
# lookup, which no socket timeout bounds, can get there).
HARD_DEADLINE_GRACE = 2.0


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
    grouping_error: str | None = None  # the stored items could not be grouped into stories

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


@dataclass
class _Fetched:
    """One feed's download as the main thread receives it."""

    feed: dict[str, Any]
    result: fetching.FetchResult | None
    error: FeedError | None
    elapsed: float


def _fetch_one(
    session: requests.Session | None, feed: dict[str, Any], timeout: float, max_bytes: int
) -> fetching.FetchResult:
    url = feed["url"]
    if fetching.is_remote(url):
        if session is None:
            session = fetching.new_session()
        return fetching.fetch(
            session,
            url,
            etag=feed.get("etag"),
            last_modified=feed.get("last_modified"),
            timeout=timeout,
            max_bytes=max_bytes,
        )
    # Only a file named on this command line may be a pipe or a device (read up to the cap).
    return fetching.read_local(url, max_bytes=max_bytes, regular_only=feed.get("id") is not None)


def fetch_all(
    session: requests.Session | None,
    feeds: Sequence[dict[str, Any]],
    *,
    timeout: float,
    max_bytes: int,
    max_workers: int = MAX_WORKERS,
    per_host: int = MAX_PER_HOST,
) -> Iterator[_Fetched]:
    """Download feeds concurrently, yielding each as it completes.

    A feed is started only when its host has a free slot, so feeds stuck on one slow host
    never occupy the workers that other hosts' feeds need. Each download enforces its own
    deadline; should a worker still hang past it (a DNS lookup cannot be interrupted), the
    feed is reported as timed out and the worker, a daemon thread, is left behind.
    """
    queues: dict[str, deque[dict[str, Any]]] = {}
    for feed in feeds:
        queues.setdefault(fetching.host_key(feed["url"]), deque()).append(feed)
    hosts = deque(queues)
    busy: dict[str, int] = dict.fromkeys(queues, 0)
    results: queue.SimpleQueue[tuple[int, fetching.FetchResult | None, FeedError | None]] = (
        queue.SimpleQueue()
    )
    # Threads are kept for the whole poll: starting one per feed made the main thread wait
    # for each new thread to get the GIL from the busy ones (a fifth of a 100-feed re-poll).
    tasks: queue.SimpleQueue[tuple[int, dict[str, Any]] | None] = queue.SimpleQueue()
    threads: list[threading.Thread] = []
    abandoned = 0  # threads still stuck in a download given up on
    in_flight: dict[int, tuple[dict[str, Any], float, float]] = {}
    next_task = 0
    workers = max(1, max_workers)

    def work() -> None:
        while (next_one := tasks.get()) is not None:
            task, feed = next_one
            try:
                outcome = (task, _fetch_one(session, feed, timeout, max_bytes), None)
            except FeedError as error:
                outcome = (task, None, error)
            except Exception as error:  # a bug or a library surprise must not take the poll down
                outcome = (task, None, FeedError(f"unexpected error: {type(error).__name__}"))
            results.put(outcome)

    def start_more() -> None:
        nonlocal next_task
        idle_rounds = 0
        while len(in_flight) < workers and hosts and idle_rounds < len(hosts):
            host = hosts[0]
            hosts.rotate(-1)
            limit = per_host if host else workers  # local files: no politeness needed
            if not queues[host] or busy[host] >= limit:
                idle_rounds += 1
                continue
            idle_rounds = 0
            feed = queues[host].popleft()
            busy[host] += 1
            started = time.monotonic()
            in_flight[next_task] = (feed, started, started + timeout + HARD_DEADLINE_GRACE)
            tasks.put((next_task, feed))
            if len(threads) - abandoned < len(in_flight):
                thread = threading.Thread(
                    target=work, name=f"strikewatch-fetch-{len(threads)}", daemon=True
                )
                thread.start()
                threads.append(thread)
            next_task += 1

    def finish(task: int) -> tuple[dict[str, Any], float]:
        feed, started, _ = in_flight.pop(task)
        busy[fetching.host_key(feed["url"])] -= 1
        return feed, time.monotonic() - started

    try:
        start_more()
        while in_flight:
            wait = max(0.0, min(hard for _, _, hard in in_flight.values()) - time.monotonic())
            try:
                task, result, error = results.get(timeout=wait)
            except queue.Empty:
                now = time.monotonic()
                for task in [t for t, (_, _, hard) in in_flight.items() if hard <= now]:
                    feed, elapsed = finish(task)
                    abandoned += 1
                    error = fetching.FetchError(
                        f"timed out after {timeout:g}s (no answer; the request was abandoned)"
                    )
                    yield _Fetched(feed, None, error, elapsed)
            else:
                if task in in_flight:
                    feed, elapsed = finish(task)
                    yield _Fetched(feed, result, error, elapsed)
                else:  # a late answer for a feed already reported: its thread is free again
                    abandoned -= 1
            start_more()
    finally:
        for _ in threads:
            tasks.put(None)


PARSE_WORKERS = min(2, usable_cores())
# Below this many feeds, starting worker processes costs more than parsing in place saves.
PARALLEL_PARSE_MIN_FEEDS = 8


class _Parsers(LazyPool):
    """Parses feed bodies in worker processes, so a large poll uses more than one core
    (feedparser is pure Python: threads would all wait on one). With no workers asked for, or
    should the workers fail to start or die, bodies are parsed in place, in this process."""

    def __init__(self, workers: int):
        # Download threads are running and the database is open: never fork.
        super().__init__(workers if workers > 1 else 0, preload=["strikewatch.parse"])
        self.backlog = 2 * self.workers + 2  # downloads held while waiting for a parse

    def start(self, result: fetching.FetchResult) -> Future[ParsedFeed] | None:
        """Start parsing `result` in a worker; None means: parse it in place when recorded."""
        from strikewatch.parse import parse_feed

        return self.submit(
            parse_feed, result.body, base_url=result.url, content_type=result.content_type
        )

    def parsed(
        self, parsing: Future[ParsedFeed] | None, result: fetching.FetchResult
    ) -> ParsedFeed:
        """The parsed feed, from its worker or parsed here."""
        from strikewatch.parse import parse_feed

        assert result.body is not None
        return self.result(
            parsing, parse_feed, result.body, base_url=result.url, content_type=result.content_type
        )


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
    per_host: int = MAX_PER_HOST,
    parse_workers: int = 0,
) -> PollReport:
    """Fetch concurrently; parse and store each feed (one transaction) as it arrives.

    Threads only download. With `parse_workers` > 1, a large poll's bodies are parsed by that
    many worker processes (the CLI asks for PARSE_WORKERS; a script that does must guard its
    entry point with `if __name__ == "__main__":`, as multiprocessing requires). Every database
    write happens here, in the calling thread: the store has one writer.
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

    # Connection-level failures are recorded last: if nothing at all could be reached, the
    # network is down, not the feeds, and they must not be pushed into backoff for it.
    unreachable: list[_Fetched] = []
    answered = 0
    remote = sum(1 for feed in due if fetching.is_remote(feed["url"]))
    parsers = _Parsers(parse_workers if remote >= PARALLEL_PARSE_MIN_FEEDS else 0)
    # Downloads are parsed (in worker processes when there are enough of them) while the next
    # ones arrive; each feed is recorded in arrival order once its parse is done.
    waiting: deque[tuple[_Fetched, Future[ParsedFeed] | None]] = deque()
    # Unchanged feeds (a plain 304) are recorded together once the downloads are done: each
    # database call gives up the GIL and waits for it behind busy download threads, which made
    # recording 100 unchanged feeds one by one cost a third of a re-poll. A poll killed before
    # then only forgets that they were checked. Anything that changes a feed's state (an
    # error, a Retry-After, a 410, a move) is recorded at once.
    unchanged: deque[_Fetched] = deque()

    def record_unchanged() -> None:
        batch = list(unchanged)
        unchanged.clear()
        try:
            with store.transaction():
                outcomes = [process(fetched) for fetched in batch]
        except sqlite3.Error:  # the batch would not commit: each feed on its own
            outcomes = [process(fetched) for fetched in batch]
        for outcome in outcomes:
            done(outcome)

    def process(
        fetched: _Fetched, parsing: Future[ParsedFeed] | None = None, backoff: bool = True
    ) -> FeedOutcome:
        return _process(
            store, fetched, classifier, now_iso, parsers, parsing=parsing, backoff=backoff
        )

    def done(outcome: FeedOutcome) -> None:
        report.outcomes.append(outcome)
        if on_feed_done is not None:
            on_feed_done(outcome)

    def record(
        fetched: _Fetched, parsing: Future[ParsedFeed] | None = None, backoff: bool = True
    ) -> None:
        done(process(fetched, parsing, backoff))

    def record_ready(all_of_them: bool = False) -> None:
        while waiting:
            fetched, parsing = waiting[0]
            ready = parsing is None or parsing.done() or len(waiting) > parsers.backlog
            if not (ready or all_of_them):
                return
            waiting.popleft()
            record(fetched, parsing)

    try:
        for fetched in fetch_all(
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
            if fetched.error is None and result is not None and result.body is not None:
                waiting.append((fetched, parsers.start(result)))
            elif fetched.error is None and result is not None and not result.moved_to:
                unchanged.append(fetched)
            else:
                waiting.append((fetched, None))
            record_ready()
        record_ready(all_of_them=True)
    except BaseException:
        with contextlib.suppress(Exception):  # the error on its way out is the one to report
            record_unchanged()
        raise
    finally:
        parsers.close()
    record_unchanged()
    hosts = {fetching.host_key(fetched.feed["url"]) for fetched in unreachable}
    report.offline = answered == 0 and len(hosts) >= 2
    for fetched in unreachable:
        record(fetched, backoff=not report.offline)
    # Each feed's items were committed as they came; a poll killed before this point leaves
    # them pending, and the next poll, import or reclassify groups them, even an unchanged one.
    try:
        store.assign_stories()
    except sqlite3.Error as error:  # a full disk: what was stored stays, grouped next time
        report.grouping_error = store.describe_error(error)
    return report


def _process(
    store: Store,
    fetched: _Fetched,
    classifier: Classifier,
    started_iso: str,
    parsers: _Parsers,
    backoff: bool = True,
    parsing: Future[ParsedFeed] | None = None,
) -> FeedOutcome:
    """Parse (if there is a body; `parsing` when a worker already started on it) and record one
    feed: items, health and log in one transaction."""
    parsed: ParsedFeed | None = None
    error = fetched.error
    result = fetched.result
    if error is None and result is not None and result.body is not None:
        try:
            parsed = parsers.parsed(parsing, result)
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


def _log(store: Store, fetched: _Fetched, started_iso: str, outcome: FeedOutcome) -> None:
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
    classifier: Classifier,
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
        elif store.feed_with_url(moved_to, other_than=feed_id) is None:
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
        saved = store.save_items(
            parsed.items,
            source=feed["name"],
            feed_id=feed_id,
            classifier=classifier,
            seen_at=now,
            group_stories=False,  # once for the whole poll, in poll_feeds
        )
        outcome.new_ids = saved.new_ids
        outcome.updated_ids = saved.updated_ids
    if feed_id is not None:
        store.update_feed(feed_id, **state)
    return outcome


def _stored_form(url: str) -> str:
    """A redirect's target as `feeds add` would store it, so that the feed it moved to is
    recognised when already subscribed (HTTPS://Host:443/feed/ is https://host/feed/)."""
    from strikewatch.errors import UsageError
    from strikewatch.normalize import feed_url

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
