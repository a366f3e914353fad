"""(b) `strikewatch poll` over loopback, on the default workload (9 feeds x 50 items: the bundled
list has 9 feeds) and on 100 feeds x 50 items, each against a baseline run beside it:

- a first poll (empty database: fetch, parse, tag, store) against the naive loop, a process that
  does `requests.get` + `feedparser.parse` per URL and stores nothing; target at most 0.5x;
- an unchanged re-poll (every feed answers 304 Not Modified) against a bare `requests` process
  that sends the same conditional GETs (the ETag and Last-Modified the server gave) one after
  another; target at most 1.5x.

Also, without a target: where a first poll's time goes (timed from inside the poll by a probe,
FIRST_POLL_PROBE, in runs of their own), and its floor, a process that imports what a poll must
(requests, feedparser, sqlite3) and runs feedparser with strikewatch's options on the same
bodies, already in memory, as a ratio of the naive loop: no poll that parses with feedparser in
one process can be faster than that.

    python benchmarks/bench_poll.py [--feeds 9 100] [--items 50] [--runs 7]

strikewatch is driven only through its command line (feeds are subscribed with `feeds import`
from an OPML file), so the benchmark measures what a user runs, however the inside is built.
The feeds are spread over ten loopback addresses (127.0.0.2-11), as real feeds are spread over
hosts, so a per-host connection limit applies as it would in real life. The server counts its
answers: a first poll that is not all 200s, or a re-poll that is not all 304s, stops the run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from common import (
    PYTHON,
    STRIKEWATCH,
    Measurement,
    Ratio,
    breakdown,
    command_output,
    headline,
    interleaved,
    print_header,
    report,
    run_command,
    summary,
    work_dir,
)

HOSTS = [f"127.0.0.{index}" for index in range(2, 12)]
LAST_MODIFIED = "Wed, 01 Nov 2023 10:00:00 GMT"

NAIVE_LOOP = """
import sys, requests, feedparser
for url in open(sys.argv[1]).read().split():
    response = requests.get(url, timeout=30)
    feedparser.parse(response.content)
"""

# The least a first poll must do, however fast the rest: start Python, import what a poll needs,
# and parse every body (already in memory: no fetching) with the options strikewatch uses
# (strikewatch.parse.FEEDPARSER_OPTIONS, spelled out as bench_parse.py does).
FLOOR = """
import sys, requests, feedparser, sqlite3
bodies = [open(path, "rb").read() for path in sys.argv[1:]]
for body in bodies:
    feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
"""

# A first poll run through the CLI, timed from inside: the functions each step goes through are
# wrapped, and the time spent in each (on the monotonic clock, shared with the benchmark, which
# notes when it launched the process) is printed as JSON. A renamed function fails loudly here.
FIRST_POLL_PROBE = """
import json, sys, time
import feedparser
import strikewatch.fetch, strikewatch.parse, strikewatch.pipeline, strikewatch.poll
from strikewatch.cli import main
spent = {"imported": time.monotonic()}

def timed(owner, name, key):
    original = getattr(owner, name)
    def wrapper(*args, **kwargs):
        start = time.monotonic()
        spent.setdefault(key + "_began", start)  # when it was first called
        try:
            return original(*args, **kwargs)
        finally:
            spent[key] = spent.get(key, 0.0) + time.monotonic() - start
    setattr(owner, name, wrapper)

timed(feedparser, "parse", "feedparser")
timed(strikewatch.parse, "parse_feed", "parse")
timed(strikewatch.pipeline, "tag", "tag")
timed(strikewatch.pipeline, "finish", "finish")
timed(strikewatch.poll, "poll_feeds", "poll")
fetch_all = strikewatch.fetch.fetch_all

def waited_for(*args, **kwargs):
    # The time the poll waits for the next download: fetching that parsing did not hide.
    downloads = fetch_all(*args, **kwargs)
    while True:
        start = time.monotonic()
        fetched = next(downloads, None)
        spent["fetch"] = spent.get("fetch", 0.0) + time.monotonic() - start
        if fetched is None:
            return
        yield fetched

strikewatch.fetch.fetch_all = waited_for
sys.argv = ["strikewatch", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    if exit.code:
        raise
print(json.dumps(spent))
"""

# The least a re-poll must do: start Python, import requests, ask each feed "changed since?".
BARE_CONDITIONAL = """
import sys, requests
session = requests.Session()
for line in open(sys.argv[1], encoding="utf-8"):
    url, etag, modified = line.rstrip("\\n").split("\\t")
    headers = {"If-None-Match": etag, "If-Modified-Since": modified}
    response = session.get(url, headers=headers, timeout=30)
    if response.status_code != 304:
        sys.exit(f"{url}: {response.status_code}, not 304")
"""


def feed_document(feed_index: int, items: int, rng: random.Random) -> bytes:
    entries = []
    for item_index in range(items):
        paragraphs = "".join(
            f'<p>{escape(summary(rng, 4))} <a href="/related/{rng.randrange(10**6)}">Related</a> <em>{escape(headline(rng))}</em></p>'
            for _ in range(6)
        )
        published = formatdate(time.time() - rng.randrange(90 * 86400), usegmt=True)
        link = f"https://outlet{feed_index}.example/2023/{item_index}/story-{rng.randrange(10**9)}/"
        entries.append(
            f"<item><title>{escape(headline(rng))}</title><link>{link}?utm_source=rss</link>"
            f'<pubDate>{published}</pubDate><guid isPermaLink="false">{link}</guid>'
            f"<description><![CDATA[<p>{escape(summary(rng))}</p>]]></description>"
            f'<content:encoded><![CDATA[{paragraphs}<img src="/img/{item_index}.jpg"/>]]></content:encoded></item>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>Outlet {feed_index}</title><link>https://outlet{feed_index}.example/</link>"
        f"{''.join(entries)}</channel></rss>"
    ).encode()


class FeedServer:
    """Serves /feed/N.xml with ETag/Last-Modified and honest 304s, on several loopback hosts.

    It counts its answers by status and notes when the first request of a run arrived (on the
    monotonic clock of this process, which also launches the commands)."""

    def __init__(self, documents: dict[str, bytes]):
        self.documents = {
            path: (body, '"' + hashlib.sha1(body).hexdigest()[:20] + '"')
            for path, body in documents.items()
        }
        self.servers: list[ThreadingHTTPServer] = []
        self.lock = threading.Lock()
        self.answers: Counter[int] = Counter()
        self.first_request: float | None = None

    def reset(self) -> None:
        with self.lock:
            self.answers.clear()
            self.first_request = None

    def answered(self, status: int) -> None:
        with self.lock:
            self.answers[status] += 1

    def start(self) -> dict[str, int]:
        documents = self.documents
        feed_server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                with feed_server.lock:
                    if feed_server.first_request is None:
                        feed_server.first_request = time.monotonic()
                body, etag = documents.get(self.path, (None, None))
                if body is None:
                    feed_server.answered(404)
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.headers.get("If-None-Match") == etag:
                    feed_server.answered(304)
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Last-Modified", LAST_MODIFIED)
                    self.end_headers()
                    return
                feed_server.answered(200)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", LAST_MODIFIED)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        ports = {}
        for host in HOSTS:
            server = ThreadingHTTPServer((host, 0), Handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.servers.append(server)
            ports[host] = server.server_address[1]
        return ports

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def copy_db(source: Path, target: Path) -> None:
    remove_db(target)
    for suffix in ("", "-wal", "-shm"):
        if Path(str(source) + suffix).exists():
            shutil.copy(str(source) + suffix, str(target) + suffix)


def subscribed_db(path: Path, urls: list[str]) -> Path:
    """A database subscribed to `urls`, made as a user would: `feeds import` of an OPML file."""
    outlines = "\n".join(
        f'    <outline type="rss" text={quoteattr(f"outlet{index}")} '
        f"title={quoteattr(f'outlet{index}')} xmlUrl={quoteattr(url)}/>"
        for index, url in enumerate(urls)
    )
    opml = path.with_suffix(".opml")
    opml.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head><title>bench</title>'
        f"</head><body>\n{outlines}\n</body></opml>\n",
        encoding="utf-8",
    )
    remove_db(path)
    run_command([*STRIKEWATCH, "--db", str(path), "feeds", "import", str(opml)])
    return path


def validators(urls: list[str], path: Path) -> Path:
    """One line per feed, `url<TAB>ETag<TAB>Last-Modified`, as the server gave them."""
    lines = []
    for url in urls:
        with urllib.request.urlopen(url, timeout=30) as response:
            lines.append(f"{url}\t{response.headers['ETag']}\t{response.headers['Last-Modified']}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def peak_rss_mb(command: list[str]) -> float:
    """Peak resident memory of one child process, from the kernel's own accounting."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
    )
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return usage.ru_maxrss / 1024


def stored(db: Path) -> tuple[int, int]:
    """(items stored, items tagged with a guild), as `timeline --all --json` shows them."""
    entries = json.loads(
        command_output([*STRIKEWATCH, "--db", str(db), "timeline", "--all", "--json"])
    )
    items = sum(1 + len(entry.get("also") or []) for entry in entries)
    tagged = sum(1 + len(entry.get("also") or []) for entry in entries if entry["guilds"])
    return items, tagged


def workload(feeds: int, items: int, runs: int) -> tuple[list[Ratio], list[str]]:
    """The ratios and report lines of one workload: `feeds` feeds of `items` items each."""
    rng = random.Random(5 + feeds)
    documents = {f"/feed/{index}.xml": feed_document(index, items, rng) for index in range(feeds)}
    server = FeedServer(documents)
    ports = server.start()
    try:
        urls = [
            f"http://{HOSTS[index % len(HOSTS)]}:{ports[HOSTS[index % len(HOSTS)]]}/feed/{index}.xml"
            for index in range(feeds)
        ]
        folder = work_dir()
        url_file = folder / f"poll-{feeds}-urls.txt"
        url_file.write_text("\n".join(urls))
        validator_file = validators(urls, folder / f"poll-{feeds}-validators.tsv")
        bodies = []
        for index, body in enumerate(documents.values()):
            bodies.append(folder / f"poll-{feeds}-body-{index}.xml")
            bodies[-1].write_bytes(body)
        template = subscribed_db(folder / f"poll-{feeds}-template.db", urls)
        live = folder / f"poll-{feeds}-live.db"
        poll = [*STRIKEWATCH, "--db", str(live), "poll", "--quiet"]
        start_ups: dict[str, list[float]] = {"repoll": [], "bare": []}

        def timed(command: list[str], status: int, start_up: str | None = None) -> float:
            """One run's wall time; checks the server answered every feed with `status`."""
            server.reset()
            launched = time.monotonic()
            elapsed = run_command(command)
            if server.answers != Counter({status: feeds}):
                raise SystemExit(
                    f"{' '.join(command)}: the server answered {dict(server.answers)}, "
                    f"expected {feeds} x {status}"
                )
            if start_up:
                assert server.first_request is not None
                start_ups[start_up].append(server.first_request - launched)
            return elapsed

        def first_poll() -> float:
            copy_db(template, live)
            return timed(poll, 200)

        probes: list[dict[str, float]] = []

        def probed_first_poll() -> float:
            """A first poll that says where its time went (see FIRST_POLL_PROBE)."""
            copy_db(template, live)
            server.reset()
            launched = time.monotonic()
            spent = json.loads(
                command_output([PYTHON, "-c", FIRST_POLL_PROBE, "--db", str(live), "poll", "-q"])
            )
            spent["wall"] = time.monotonic() - launched
            if server.answers != Counter({200: feeds}):
                raise SystemExit(f"probed first poll: the server answered {dict(server.answers)}")
            spent["start_up"] = spent["imported"] - launched
            spent["setup"] = spent["poll_began"] - spent["imported"]
            spent["after"] = launched + spent["wall"] - spent["poll_began"] - spent["poll"]
            probes.append(spent)
            return spent["wall"]

        # In each round the re-poll follows the first poll, on the database it filled.
        results = interleaved(
            runs,
            naive=lambda: timed([PYTHON, "-c", NAIVE_LOOP, str(url_file)], 200),
            first=first_poll,
            bare=lambda: timed([PYTHON, "-c", BARE_CONDITIONAL, str(validator_file)], 304, "bare"),
            repoll=lambda: timed(poll, 304, "repoll"),
            probed=probed_first_poll,
            floor=lambda: run_command([PYTHON, "-c", FLOOR, *map(str, bodies)]),
        )
        items_stored, items_tagged = stored(live)
        copy_db(template, live)
        peak = peak_rss_mb(poll)
    finally:
        server.stop()

    size_kb = sum(len(body) for body in documents.values()) / len(documents) / 1024
    label = f"{feeds}x{items}"
    first_ratio = Ratio(
        f"first poll ({label}) / naive loop", results["first"], results["naive"], 0.5
    )
    repoll_ratio = Ratio(
        f"unchanged re-poll ({label}) / bare conditional GETs",
        results["repoll"],
        results["bare"],
        1.5,
    )
    floor_ratio = Ratio(
        f"floor ({label}): imports + feedparser on the bodies / naive loop",
        results["floor"],
        results["naive"],
        None,
    )

    def part(*keys: str) -> float:
        """The median over the probed polls of the first key's time less the others'."""
        return Measurement(
            keys[0],
            [
                probe.get(keys[0], 0.0) - sum(probe.get(key, 0.0) for key in keys[1:])
                for probe in probes
            ],
        ).median

    repoll_start = Measurement("repoll start-up", start_ups["repoll"]).median
    bare_start = Measurement("bare start-up", start_ups["bare"]).median
    lines = [
        *breakdown(
            f"{label}: where a first poll's time goes (medians of polls timed from inside):",
            [
                ("the whole first poll (not probed)", first_ratio.subject.median),
                ("the whole probed poll", part("wall")),
                ("  start-up, imports (Python, requests, feedparser, ours)", part("start_up")),
                ("  opening the store, reading the rules", part("setup")),
                ("  waiting for downloads (fetching parsing did not hide)", part("fetch")),
                ("  feedparser", part("feedparser")),
                ("  our parse work (plain text, dates, links)", part("parse", "feedparser")),
                ("  tagging", part("tag")),
                (
                    "  storing: items, search index, health, log, stories",
                    part("poll", "fetch", "parse", "tag"),
                ),
                ("    of which grouping stories, saving standings", part("finish")),
                ("  after the poll: alerts, closing, exit", part("after")),
                ("the naive loop", first_ratio.baseline.median),
                (
                    "the floor: imports + feedparser (our options), no fetching",
                    floor_ratio.subject.median,
                ),
                ("what the target allows for the whole first poll", first_ratio.allowed),
                (
                    "  of which left beside the floor (fetch, ours, tag, store)",
                    first_ratio.allowed - floor_ratio.subject.median,
                ),
            ],
            unit="ms",
        ),
        *breakdown(
            f"{label}: where an unchanged re-poll's time goes (medians; the first request as the server saw it):",
            [
                ("the whole re-poll", repoll_ratio.subject.median),
                ("  before its first request (start-up, imports, the store)", repoll_start),
                (
                    "  its requests and the rest (the difference)",
                    repoll_ratio.subject.median - repoll_start,
                ),
                ("the bare conditional GETs", repoll_ratio.baseline.median),
                ("  before their first request (Python, import requests)", bare_start),
                ("what the target allows for the whole re-poll", repoll_ratio.allowed),
            ],
            unit="ms",
        ),
        f"{label}: feeds average {size_kb:.0f} KB; a first poll stored {items_stored:,} items "
        f"({items_tagged:,} tagged with a guild); info: re-poll / first poll "
        f"{repoll_ratio.subject.median / first_ratio.subject.median:.3f}x",
        f"{label}: peak memory of a first poll {peak:.1f} MB",
    ]
    return [first_ratio, floor_ratio, repoll_ratio], lines


def main() -> list[Ratio]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--feeds",
        type=int,
        nargs="+",
        default=[9, 100],
        help="one workload per count (default: 9 100)",
    )
    parser.add_argument("--items", type=int, default=50, help="items per feed (default: 50)")
    parser.add_argument("--runs", type=int, default=7, help="interleaved rounds (default: 7)")
    args = parser.parse_args()
    print_header()
    ratios: list[Ratio] = []
    lines: list[str] = []
    for feeds in args.feeds:
        workload_ratios, workload_lines = workload(feeds, args.items, args.runs)
        ratios += workload_ratios
        lines += workload_lines
    report("poll", ratios, lines)
    return ratios


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    main()
