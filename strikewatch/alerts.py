"""Alerts and digests: being told when a story that matters arrives.

A story *arrives* with the first of its reports that strikewatch stores. Item ids are given in
the order reports are stored, so "the stories that arrived after X" are the stories all of whose
reports have ids above X: no clock is compared, and nothing ties within a second.

Everything here is worked out from the database after a poll or an import has stored and
grouped its reports, never from what that run remembers, so a run killed at any point leaves
nothing undone that the next run would not do:

- An alert acts once per story: when a delivery succeeds (or is given up) every report of the
  story is listed in `alert_reports`, and a story with any listed report is done for that alert.
- A delivery is recorded after it succeeds. A run killed between the two delivers again next
  time; a recorded one is never delivered again.
- A failed delivery is tried again on each run, MAX_TRIES in all, then given up.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import signal
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from strikewatch import taxonomy
from strikewatch.dates import to_utc_iso, utcnow
from strikewatch.errors import DeliveryError, StoreError, UsageError
from strikewatch.filters import TimelineFilter
from strikewatch.sanitize import strip_controls
from strikewatch.store import lock_beside, tag_list_json
from strikewatch.stories import parties_of

if TYPE_CHECKING:
    from strikewatch.store import Store

# A report published longer than this before strikewatch first saw it (a new feed's backlog,
# an archive import) is old news: its story never acts, nor shows in a digest.
FRESH = timedelta(hours=48)
MAX_TRIES = 5
EXEC_TIMEOUT = 30.0
# How long one alert may spend starting deliveries in one run: a hanging command (30 s a story)
# must not hold up the poll for minutes. Stories left over wait for the next run, no try counted.
ALERT_BUDGET = 60.0
# A digest's first run covers this much.
FIRST_DIGEST = timedelta(hours=24)
INSTALL_NOTIFY = "Apprise is not installed: pip install 'strikewatch[notify]'"

# SQLite's limit on bound parameters is far above this on any build we support; chunks keep
# each statement short all the same.
_CHUNK = 500


def _chunks(values: Sequence[int]) -> Iterator[tuple[list[int], str]]:
    for start in range(0, len(values), _CHUNK):
        chunk = list(values[start : start + _CHUNK])
        yield chunk, ", ".join("?" for _ in chunk)


# -- which stories arrived -------------------------------------------------------------


def _stories_with_reports_after(store: Store, after_item: int) -> set[int]:
    """Stories with at least one report stored after `after_item` (id order)."""
    return {
        row[0]
        for row in store.conn.execute(
            "SELECT DISTINCT coalesce(story_id, id) FROM items WHERE id > ?", (after_item,)
        )
    }


def _first_report_ids(store: Store, stories: Iterable[int]) -> dict[int, int]:
    """Each story's earliest-stored report id (what tells when the story arrived)."""
    first: dict[int, int] = {}
    for chunk, marks in _chunks(sorted(stories)):
        for story, lowest in store.conn.execute(
            f"SELECT story_id, min(id) FROM items WHERE story_id IN ({marks}) GROUP BY story_id",
            chunk,
        ):
            first[story] = lowest
    return first


def _fresh(store: Store, stories: Iterable[int]) -> set[int]:
    """The stories whose first report was at most FRESH old when strikewatch first saw it. A
    report whose source gave no date (items.undated: dated when first seen) is not known to be
    fresh: an undated archive or feed would otherwise act on every line of its backlog."""
    fresh: set[int] = set()
    for chunk, marks in _chunks(sorted(stories)):
        for story, published, first_seen in store.conn.execute(
            f"SELECT id, published, first_seen FROM items WHERE id IN ({marks}) AND NOT undated",
            chunk,
        ):
            try:
                age = datetime.fromisoformat(first_seen) - datetime.fromisoformat(published)
            except (TypeError, ValueError):  # another tool's row: not ours to judge
                continue
            if age <= FRESH:
                fresh.add(story)
    return fresh


def arrived_stories(
    store: Store, after_item: int, upto_item: int | None = None, *, fresh_only: bool = True
) -> set[int]:
    """The stories that arrived after `after_item` (and, with `upto_item`, by it): all their
    reports were stored after it. `fresh_only` leaves out stories that were old news when
    they arrived (see FRESH)."""
    candidates = _stories_with_reports_after(store, after_item)
    first = _first_report_ids(store, candidates)
    arrived = {
        story
        for story, lowest in first.items()
        if lowest > after_item and (upto_item is None or lowest <= upto_item)
    }
    return _fresh(store, arrived) if fresh_only else arrived


def story_entries(store: Store, stories: set[int], filters: TimelineFilter) -> list[dict[str, Any]]:
    """The timeline entries (each with `also`) of these stories that match `filters`, oldest
    first: the timeline itself, read from the earliest of them on."""
    if not stories:
        return []
    earliest = None
    for chunk, marks in _chunks(sorted(stories)):
        found = store.conn.execute(
            f"SELECT min(published) FROM items WHERE id IN ({marks})", chunk
        ).fetchone()[0]
        if found is not None and (earliest is None or found < earliest):
            earliest = found
    if earliest is None:
        return []
    bounded = TimelineFilter(
        guilds=filters.guilds,
        events=filters.events,
        sources=filters.sources,
        include_untagged=filters.include_untagged,
        since=earliest,
    )
    return [entry for entry in store.iter_timeline(bounded) if entry["story"] in stories]


def new_story_entries(store: Store, before_run: int) -> list[dict[str, Any]]:
    """The stories a run created (`poll --json`): every report stored after `before_run`,
    the last item id before the run. Old news included: scripts judge for themselves."""
    return story_entries(
        store, arrived_stories(store, before_run, fresh_only=False), TimelineFilter()
    )


# -- alerts in the database -------------------------------------------------------------


def _alert(row: sqlite3.Row) -> dict[str, Any]:
    alert = dict(row)
    for key in ("guilds", "events", "sources"):
        alert[key] = json.loads(alert[key])
    return alert


def alert_filter(alert: dict[str, Any]) -> TimelineFilter:
    return TimelineFilter(guilds=alert["guilds"], events=alert["events"], sources=alert["sources"])


def find_alert(store: Store, name: str) -> dict[str, Any] | None:
    row = store.conn.execute("SELECT * FROM alerts WHERE name = ?", (name,)).fetchone()
    return _alert(row) if row is not None else None


def alerts(store: Store) -> list[dict[str, Any]]:
    """Every alert, in the order they were added (the order they act in)."""
    return [_alert(row) for row in store.conn.execute("SELECT * FROM alerts ORDER BY id")]


def check_command(command: str) -> list[str]:
    """The command split as a shell would, or a usage error."""
    try:
        args = shlex.split(command)
    except ValueError as error:
        raise UsageError(
            f"--exec {command!r}: cannot split it like a shell line: {error}"
        ) from None
    if not args:
        raise UsageError("--exec needs a command")
    return args


def check_apprise_url(url: str) -> None:
    """Refuse an address Apprise cannot use, at `alerts add` time rather than at 3 a.m."""
    try:
        import apprise
    except ImportError:
        raise StoreError(f"cannot check --notify {url!r}: {INSTALL_NOTIFY}") from None
    if apprise.Apprise.instantiate(url) is None:
        raise UsageError(
            f"--notify {url!r}: not an Apprise URL it can use"
            " (see https://github.com/caronc/apprise/wiki for the schemes: mailto://, ntfy://,"
            " slack://, json://...)"
        )


def add_alert(
    store: Store,
    name: str,
    *,
    guilds: Sequence[str] = (),
    events: Sequence[str] = (),
    sources: Sequence[str] = (),
    action: str,
    target: str,
) -> dict[str, Any]:
    """Store a new alert; it acts on the stories that arrive from now on."""
    if not name.strip() or strip_controls(name) != name or name != name.strip():
        raise UsageError(f"{name!r} is not a usable alert name (printable, no spaces around)")
    with store.transaction() as conn:
        if conn.execute("SELECT 1 FROM alerts WHERE name = ?", (name,)).fetchone():
            raise UsageError(
                f"there is already an alert named {name!r}; `strikewatch alerts remove {name}` first"
            )
        last = store.last_item_id()
        conn.execute(
            "INSERT INTO alerts (name, guilds, events, sources, action, target, created_at,"
            " after_item, checked_item) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                name,
                tag_list_json(sorted(set(guilds))),
                tag_list_json(sorted(set(events))),
                json.dumps(list(dict.fromkeys(sources))),
                action,
                target,
                to_utc_iso(utcnow()),
                last,
                last,
            ),
        )
    found = find_alert(store, name)
    assert found is not None
    return found


def remove_alert(store: Store, name: str) -> None:
    with store.transaction() as conn:
        if conn.execute("DELETE FROM alerts WHERE name = ?", (name,)).rowcount == 0:
            raise UsageError(f"no alert named {name!r}; `strikewatch alerts list` shows them")


def alert_summaries(store: Store) -> list[dict[str, Any]]:
    """`alerts list`: each alert with its last delivery and what is failing or given up."""
    rows = []
    for alert in alerts(store):
        conn = store.conn
        last = conn.execute(
            "SELECT delivered_at, title FROM alert_deliveries WHERE alert_id = ?"
            " AND state = 'delivered' ORDER BY delivered_at DESC LIMIT 1",
            (alert["id"],),
        ).fetchone()
        counts = dict(
            conn.execute(
                "SELECT state, count(*) FROM alert_deliveries WHERE alert_id = ? GROUP BY state",
                (alert["id"],),
            ).fetchall()
        )
        error = conn.execute(
            "SELECT title, error, tries, state FROM alert_deliveries WHERE alert_id = ?"
            " AND state != 'delivered' ORDER BY last_tried DESC LIMIT 1",
            (alert["id"],),
        ).fetchone()
        rows.append(
            {
                "name": alert["name"],
                "guilds": alert["guilds"],
                "events": alert["events"],
                "sources": alert["sources"],
                "action": alert["action"],
                "target": shown_target(alert["action"], alert["target"]),
                "created": alert["created_at"],
                "delivered": counts.get("delivered", 0),
                "last_delivery": last["delivered_at"] if last else None,
                "last_delivered_title": last["title"] if last else None,
                "failing": counts.get("failing", 0),
                "given_up": counts.get("given-up", 0),
                "last_failure": (
                    f"{error['error']} ({error['state']} after {error['tries']}"
                    f" {'try' if error['tries'] == 1 else 'tries'}: {error['title']})"
                    if error
                    else None
                ),
            }
        )
    return rows


# Apprise schemes whose address holds a token or webhook secret beyond the host: only the scheme
# and host are shown. Telegram's bot token is its host: only the scheme.
_TOKEN_SCHEMES = frozenset(
    {
        "ntfy",
        "ntfys",
        "slack",
        "discord",
        "msteams",
        "gotify",
        "gotifys",
        "pover",
        "pbul",
        "join",
        "ifttt",
        "zulip",
        "rocket",
        "rockets",
        "mmost",
        "mmosts",
        "twilio",
    }
)
_HOST_IS_TOKEN = frozenset({"tgram", "slack", "pbul", "join"})
_SECRET_KEYS = ("pass", "password", "token", "key", "secret", "apikey", "auth")


def shown_target(action: str, target: str) -> str:
    """An alert's target as `alerts list` and `alerts add` show it: an Apprise URL without its
    password or tokens (mailtos://user:***@host), an --exec command as given."""
    if action != "notify":
        return target
    from urllib.parse import parse_qsl, urlencode, urlsplit

    try:
        parts = urlsplit(target)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return target.split("://", 1)[0] + "://***"
    scheme = parts.scheme.lower()
    if scheme in _HOST_IS_TOKEN:
        return f"{scheme}://***"
    if scheme in _TOKEN_SCHEMES:
        return f"{scheme}://{host}{port}" + ("/***" if parts.path.strip("/") else "")
    user = parts.username or ""
    if parts.password is not None:
        user = f"{user}:***"
    query = urlencode(
        [
            (key, "***" if key.lower() in _SECRET_KEYS else value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="@*",
    )
    return f"{scheme}://{user + '@' if user else ''}{host}{port}{parts.path}" + (
        f"?{query}" if query else ""
    )


def describe_filters(alert: dict[str, Any]) -> str:
    parts = [f"--guild {guild}" for guild in alert["guilds"]]
    parts += [f"--event {event}" for event in alert["events"]]
    parts += [f"--source {source}" for source in alert["sources"]]
    return " ".join(parts) or "every tracked story"


# -- delivering ---------------------------------------------------------------------------


def message(entry: dict[str, Any]) -> tuple[str, str]:
    """A notification's title and body, short enough for a phone's lock screen:
    "SAG-AFTRA · deal", then the headline, the link and the other outlets."""
    order = {gid: n for n, gid in enumerate(taxonomy.guild_ids())}
    parties = sorted(parties_of(entry["guilds"]), key=lambda g: (order.get(g, len(order)), g))
    title = " / ".join(taxonomy.guild_name(guild) for guild in parties)
    events = ", ".join(taxonomy.event_name(event) for event in entry["events"])
    if events:
        title = f"{title} · {events}" if title else events
    lines = [f"{_plain(entry['title'])} ({_plain(entry['source'])})"]
    if entry.get("link"):
        lines.append(_plain(entry["link"]))
    others = list(dict.fromkeys(_plain(report["source"]) for report in entry.get("also", [])))
    if others:
        lines.append("Also: " + ", ".join(others))
    return title or "strikewatch", "\n".join(lines)


def _plain(value: Any) -> str:
    return " ".join(strip_controls(str(value or "")).split())


def _environment(entry: dict[str, Any]) -> dict[str, str]:
    return {
        **os.environ,
        "STRIKEWATCH_TITLE": _plain(entry["title"]),
        "STRIKEWATCH_LINK": _plain(entry.get("link")),
        "STRIKEWATCH_GUILDS": ",".join(entry["guilds"]),
        "STRIKEWATCH_EVENTS": ",".join(entry["events"]),
    }


def _last_words(output: bytes) -> str:
    lines = [line for line in output.decode("utf-8", "replace").splitlines() if line.strip()]
    return _plain(lines[-1])[:200] if lines else ""


def run_command(command: str, entry: dict[str, Any], timeout: float | None = None) -> None:
    """Run an --exec command for one story: its entry as JSON on stdin, no shell. Raises
    DeliveryError unless it exits 0 within the timeout."""
    args = check_command(command)
    payload = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
    limit = EXEC_TIMEOUT if timeout is None else timeout
    # Files, not pipes: a background child the command leaves behind (`sleep 45 &`) holds its
    # copies of a pipe open, and waiting for pipes to close would wait for that child. The
    # command's own exit status is what counts.
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as stderr:
        stdin.write(payload)
        stdin.seek(0)
        try:
            process = subprocess.Popen(
                args,
                stdin=stdin,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=_environment(entry),
                start_new_session=True,  # its own process group: a timeout ends all of it
            )
        except OSError as error:
            raise DeliveryError(f"cannot run {args[0]}: {error.strerror or error}") from None
        try:
            process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            _kill_group(process, signal)
            raise DeliveryError(f"{args[0]} did not finish within {limit:g} s (stopped)") from None
        except BaseException:
            _kill_group(process, signal)
            raise
        stderr.seek(0, os.SEEK_END)
        stderr.seek(max(0, stderr.tell() - 65536))  # the tail is what the message shows
        err = stderr.read()
    if process.returncode != 0:
        said = _last_words(err)
        raise DeliveryError(
            f"{args[0]} exited with status {process.returncode}" + (f": {said}" if said else "")
        )


def _kill_group(process: subprocess.Popen[bytes], signal: Any) -> None:
    with contextlib.suppress(OSError):
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    with contextlib.suppress(Exception):
        process.wait(timeout=5)


def send_notification(url: str, entry: dict[str, Any]) -> None:
    """Send one story through Apprise; DeliveryError unless the service accepted it."""
    try:
        import apprise
    except ImportError:
        raise DeliveryError(INSTALL_NOTIFY) from None

    title, body = message(entry)
    sender = apprise.Apprise()
    if not sender.add(url):
        raise DeliveryError(f"not an Apprise URL it can use: {_plain(url)}")
    with apprise.LogCapture(level=logging.WARNING) as log:
        try:
            sent = sender.notify(title=title, body=body)
        except Exception as error:  # a plug-in's own bug must not stop the other alerts
            raise DeliveryError(f"Apprise failed: {_plain(error)}") from None
        said = _last_words(log.getvalue().encode("utf-8"))
    if not sent:
        raise DeliveryError("the service refused the notification" + (f": {said}" if said else ""))


def deliver(alert: dict[str, Any], entry: dict[str, Any]) -> None:
    if alert["action"] == "exec":
        run_command(alert["target"], entry)
    else:
        send_notification(alert["target"], entry)


class Outcome:
    """What one alert did with one story in a run."""

    __slots__ = ("alert", "error", "given_up", "title", "tries")

    def __init__(
        self, alert: str, title: str, tries: int, error: str | None = None, given_up: bool = False
    ) -> None:
        self.alert = alert
        self.title = title
        self.tries = tries
        self.error = error
        self.given_up = given_up

    @property
    def delivered(self) -> bool:
        return self.error is None

    def line(self) -> str:
        """One line for stderr."""
        headline = _plain(self.title)
        if self.delivered:
            return f"alert {self.alert}: delivered {headline!r}"
        if self.given_up:
            return (
                f"error: alert {self.alert}: {self.error}; gave up on {headline!r}"
                f" after {self.tries} tries"
            )
        return (
            f"error: alert {self.alert}: {self.error} (try {self.tries} of {MAX_TRIES} for"
            f" {headline!r}; tried again next run)"
        )


@contextmanager
def delivery_lock(db_path: str) -> Iterator[None]:
    """One delivering run at a time (a poll and an import may end together): the second waits,
    then finds the first one's deliveries recorded. The OS frees it if the holder dies."""
    with lock_beside(db_path, ".alerts-lock", wait=True):
        yield


def act_on_new(store: Store) -> list[Outcome]:
    """Every alert acts once on each new story it matches; called at the end of every poll and
    import. Works from the database alone: what arrived since each alert's last complete pass,
    and the stories whose delivery failed before."""
    if not store.has_alerts():
        return []
    outcomes: list[Outcome] = []
    with delivery_lock(store.path):
        for alert in alerts(store):
            outcomes.extend(_act(store, alert))
    return outcomes


def _reach(store: Store) -> int:
    """How far a pass over new reports can mark itself done: reports stored from now on are the
    next pass's, and a report still waiting for its story (a grouping that failed) holds the
    mark back until it is grouped."""
    reach = store.last_item_id()
    pending = store.conn.execute("SELECT min(id) FROM items WHERE story_id IS NULL").fetchone()[0]
    return reach if pending is None else min(reach, pending - 1)


def _act(store: Store, alert: dict[str, Any]) -> list[Outcome]:
    conn = store.conn
    reach = _reach(store)
    candidates = _stories_with_reports_after(store, max(alert["checked_item"], alert["after_item"]))
    tried: dict[int, tuple[int, int]] = {}  # story -> (delivery row's item, tries so far)
    for item_id, tries, story in conn.execute(
        "SELECT alert_deliveries.item_id, tries, coalesce(items.story_id, items.id)"
        " FROM alert_deliveries JOIN items ON items.id = alert_deliveries.item_id"
        " WHERE alert_id = ? AND state = 'failing'",
        (alert["id"],),
    ):
        tried[story] = (item_id, tries)
    candidates |= set(tried)
    first = _first_report_ids(store, candidates)
    waiting = {story for story, lowest in first.items() if lowest > alert["after_item"]}
    waiting -= _done(store, alert["id"], waiting)
    outcomes = []
    started = time.monotonic()
    left_over = False
    for entry in story_entries(store, _fresh(store, waiting), alert_filter(alert)):
        if time.monotonic() - started >= ALERT_BUDGET:
            left_over = True  # for the next run, no try counted; the mark stays where it was
            break
        row_item, tries = tried.get(entry["story"], (entry["id"], 0))
        tries += 1
        try:
            deliver(alert, entry)
        except DeliveryError as error:
            given_up = tries >= MAX_TRIES
            _record(store, alert, entry, row_item, tries, error=str(error), given_up=given_up)
            outcomes.append(Outcome(alert["name"], entry["title"], tries, str(error), given_up))
            continue
        _record(store, alert, entry, row_item, tries)
        outcomes.append(Outcome(alert["name"], entry["title"], tries))
    if reach > alert["checked_item"] and not left_over:
        with store.transaction() as conn:
            conn.execute("UPDATE alerts SET checked_item = ? WHERE id = ?", (reach, alert["id"]))
    return outcomes


def _done(store: Store, alert_id: int, stories: set[int]) -> set[int]:
    """The stories this alert is done with: one of their reports was delivered or given up."""
    done: set[int] = set()
    for chunk, marks in _chunks(sorted(stories)):
        done.update(
            row[0]
            for row in store.conn.execute(
                "SELECT DISTINCT items.story_id FROM alert_reports JOIN items"
                " ON items.id = alert_reports.item_id"
                f" WHERE alert_reports.alert_id = ? AND items.story_id IN ({marks})",
                [alert_id, *chunk],
            )
        )
    return done


def _record(
    store: Store,
    alert: dict[str, Any],
    entry: dict[str, Any],
    row_item: int,
    tries: int,
    *,
    error: str | None = None,
    given_up: bool = False,
) -> None:
    """Write down what a delivery did, in one transaction: done (delivered or given up) marks
    every report of the story, so no later report of it acts again."""
    now = to_utc_iso(utcnow())
    state = "delivered" if error is None else ("given-up" if given_up else "failing")
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO alert_deliveries (item_id, alert_id, state, tries, title, last_tried,"
            " delivered_at, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (item_id, alert_id) DO UPDATE SET state = excluded.state,"
            " tries = excluded.tries, title = excluded.title, last_tried = excluded.last_tried,"
            " delivered_at = excluded.delivered_at, error = excluded.error",
            (
                row_item,
                alert["id"],
                state,
                tries,
                entry["title"],
                now,
                now if error is None else None,
                error,
            ),
        )
        if state != "failing":
            conn.execute(
                "INSERT OR IGNORE INTO alert_reports (item_id, alert_id)"
                " SELECT id, ? FROM items WHERE story_id = ? OR id = ?",
                (alert["id"], entry["story"], entry["id"]),
            )


def latest_entry(store: Store, alert: dict[str, Any]) -> dict[str, Any] | None:
    """The latest story the alert matches (`alerts test`), new or not."""
    filters = alert_filter(alert)._replace(limit=1)
    return next(iter(store.iter_timeline(filters)), None)


# -- digests ------------------------------------------------------------------------------


def digest_range(store: Store, name: str) -> tuple[int, int]:
    """(after, upto): the item ids a digest covers, from its mark (or, on its first run, the
    last FIRST_DIGEST) to the latest report stored now."""
    row = store.conn.execute(
        "SELECT last_item FROM digest_marks WHERE name = ?", (name,)
    ).fetchone()
    upto = _reach(store)
    if row is not None:
        return row[0], upto
    cutoff = to_utc_iso(utcnow() - FIRST_DIGEST)
    before = store.conn.execute(
        "SELECT coalesce(max(id), 0) FROM items WHERE first_seen < ?", (cutoff,)
    ).fetchone()[0]
    return before, upto


def digest_entries(
    store: Store, name: str, filters: TimelineFilter
) -> tuple[list[dict[str, Any]], int]:
    """The stories that arrived since the last `digest NAME`, oldest first, and the mark to
    move to once they are shown."""
    after, upto = digest_range(store, name)
    return story_entries(store, arrived_stories(store, after, upto), filters), upto


def move_digest_mark(store: Store, name: str, upto: int) -> None:
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO digest_marks (name, last_item, marked_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET last_item = excluded.last_item,"
            " marked_at = excluded.marked_at",
            (name, upto, to_utc_iso(utcnow())),
        )
