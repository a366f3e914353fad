"""(b) A first poll of 100 feeds x 50 items over loopback against a naive requests+feedparser
loop, an unchanged re-poll against the first poll, and peak memory as the feed count grows.

    python benchmarks/bench_poll.py [--feeds 100] [--items 50] [--runs 5]

The feeds are spread over ten loopback addresses (127.0.0.2-11), as real feeds are spread over
hosts, so the per-host connection limit applies as it would in real life.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

from common import (
    PYTHON,
    STRIKEWATCH,
    Measurement,
    Ratio,
    breakdown,
    command_output,
    headline,
    interleaved,
    report,
    run_command,
    summary,
    work_dir,
)

HOSTS = [f"127.0.0.{index}" for index in range(2, 12)]

NAIVE_LOOP = """
import sys, requests, feedparser
for url in open(sys.argv[1]).read().split():
    response = requests.get(url, timeout=30)
    feedparser.parse(response.content)
"""


# `strikewatch poll` run as usual, stopped as its first request is about to go out: the time
# before it is the start-up (the interpreter, imports including requests, opening the store),
# which no faster fetching can win back. The hook is on strikewatch's own exchange, so that
# requests is imported where strikewatch imports it.
FIRST_REQUEST = """
import os, runpy, sys, threading, time
import strikewatch.fetch

first = threading.Lock()

def first_request(*args, **kwargs):
    first.acquire()  # the fetching threads after the first wait here until the exit
    print(time.monotonic(), flush=True)
    os._exit(0)

strikewatch.fetch._exchange = first_request
sys.argv = ["strikewatch", *sys.argv[1:]]
runpy.run_module("strikewatch", run_name="__main__")
"""


def until_first_request(db: Path) -> float:
    """Seconds from launching `strikewatch poll` to its first request (the monotonic clock is
    the system's, shared by both processes, on Linux and macOS)."""
    launched = time.monotonic()
    output = command_output([PYTHON, "-c", FIRST_REQUEST, "--db", str(db), "poll", "--quiet"])
    return float(output.split()[0]) - launched


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
    """Serves /feed/N.xml with ETag/Last-Modified and honest 304s, on several loopback hosts."""

    def __init__(self, documents: dict[str, bytes]):
        self.documents = {
            path: (body, '"' + hashlib.sha1(body).hexdigest()[:20] + '"')
            for path, body in documents.items()
        }
        self.servers: list[ThreadingHTTPServer] = []

    def start(self) -> dict[str, int]:
        documents = self.documents

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                body, etag = documents.get(self.path, (None, None))
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", "Wed, 01 Nov 2023 10:00:00 GMT")
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


def subscribed_db(path: Path, urls: list[str]) -> Path:
    from strikewatch.store import Store

    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    with Store.open(path) as store:
        for index, url in enumerate(urls):
            store.add_feed(url, name=f"outlet{index}")
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
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


def main() -> list[Ratio]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(5)
    documents = {
        f"/feed/{index}.xml": feed_document(index, args.items, rng) for index in range(args.feeds)
    }
    server = FeedServer(documents)
    ports = server.start()
    urls = [
        f"http://{HOSTS[index % len(HOSTS)]}:{ports[HOSTS[index % len(HOSTS)]]}/feed/{index}.xml"
        for index in range(args.feeds)
    ]
    folder = work_dir()
    url_file = folder / "poll-urls.txt"
    url_file.write_text("\n".join(urls))
    template = subscribed_db(folder / "poll-template.db", urls)
    size_kb = sum(len(body) for body in documents.values()) / len(documents) / 1024
    try:
        live = folder / "poll-live.db"
        repoll_times: list[float] = []
        start_up_times: list[float] = []

        def first_poll() -> float:
            for suffix in ("-wal", "-shm"):
                Path(str(live) + suffix).unlink(missing_ok=True)
            shutil.copy(template, live)
            elapsed = run_command([*STRIKEWATCH, "--db", str(live), "poll", "--quiet"])
            repoll_times.append(run_command([*STRIKEWATCH, "--db", str(live), "poll", "--quiet"]))
            start_up_times.append(until_first_request(live))
            return elapsed

        results = interleaved(
            args.runs,
            naive=lambda: run_command([PYTHON, "-c", NAIVE_LOOP, str(url_file)]),
            first=first_poll,
        )
        repoll = Measurement("repoll", repoll_times)
        start_up = Measurement("start-up", start_up_times).median
        repoll_ratio = Ratio("unchanged re-poll / first poll", repoll, results["first"], 0.1)
        ratios = [
            Ratio(
                f"first poll ({args.feeds}x{args.items}) / naive loop",
                results["first"],
                results["naive"],
                0.5,
            ),
            repoll_ratio,
        ]
        memory = []
        for count in sorted({max(1, args.feeds // 4), max(1, args.feeds // 2), args.feeds}):
            db = subscribed_db(folder / f"poll-mem-{count}.db", urls[:count])
            memory.append(
                f"  {count:>4} feeds: peak RSS {peak_rss_mb([*STRIKEWATCH, '--db', str(db), 'poll', '--quiet']):6.1f} MB"
            )
        report(
            "poll",
            ratios,
            [
                *breakdown(
                    "where an unchanged re-poll's time goes (medians):",
                    [
                        ("the whole re-poll", repoll.median),
                        ("before its first request (start-up, imports, the store)", start_up),
                        ("the requests and the rest (the difference)", repoll.median - start_up),
                        ("what the target allows for the whole re-poll", repoll_ratio.allowed),
                    ],
                    unit="ms",
                ),
                f"feeds average {size_kb:.0f} KB ({args.items} items each)",
                "peak memory of a first poll:",
                *memory,
            ],
        )
        return ratios
    finally:
        server.stop()


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    main()
