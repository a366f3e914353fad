"""A poller that survives anything a feed or a network can do.

Every fault is served over loopback beside one good feed, through a real `strikewatch poll`
subprocess: the good feed's items are stored, the poll ends within a few seconds of --timeout,
memory stays bounded, each failure is one line on stderr, and the exit code follows the contract.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from strikewatch import fetch as fetching
from strikewatch.errors import ParseError
from strikewatch.fetch import fetch_all
from strikewatch.parse import parse_feed
from strikewatch.poll import backoff_delay
from tests import faultserver as fs
from tests.feeds import Story, rss

TIMEOUT = 2.0
# Each fault server is its own host (127.0.0.N), or the per-host limit would queue them.
needs_many_hosts = pytest.mark.skipif(
    not fs.DISTINCT_HOSTS, reason="needs all of 127.0.0.0/8 routed to loopback"
)
ESCAPES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

GOOD = [
    Story(
        "WGA and AMPTP reach tentative agreement",
        "https://good.example/wga-deal",
        "2023-09-25T04:10:00+00:00",
        "Writers have a deal.",
    ),
    Story(
        "SAG-AFTRA members vote to authorize strike",
        "https://good.example/sag-vote",
        "2023-06-05T17:45:00-07:00",
        "Nearly 98% voted yes.",
    ),
]
MOVED = [
    Story(
        "DGA reaches tentative deal with AMPTP",
        "https://moved.example/dga-deal",
        "2023-06-04T06:00:00Z",
    )
]


def stories(prefix: str, count: int, host: str = "fault.example") -> list[Story]:
    return [
        Story(
            f"{prefix} story {number}: WGA talks continue",
            f"https://{host}/{prefix}/{number}",
            "2023-07-01T12:00:00+00:00",
        )
        for number in range(count)
    ]


def entity_bomb(one_line: bool) -> bytes:
    """Billion laughs, plus an external entity naming a local file, in either layout."""
    declarations = ['<!ENTITY lol "lol">']
    declarations += [
        f'<!ENTITY lol{level} "{("&lol;" if level == 1 else f"&lol{level - 1};") * 10}">'
        for level in range(1, 10)
    ]
    declarations.append('<!ENTITY xxe SYSTEM "file:///etc/passwd">')
    glue = "" if one_line else "\n  "
    doctype = f"<!DOCTYPE rss [{glue}{glue.join(declarations)}{glue}]>"
    body = rss(
        [
            *stories("bomb", 1),
            Story("WGA lol ENTITIES", "https://bomb.example/x", "2023-07-01T12:00:00Z"),
        ]
    ).replace(b"ENTITIES", b"&lol9; &xxe;")
    return body.replace(b"?>", b"?>" + ("" if one_line else "\n").encode() + doctype.encode(), 1)


def strikewatch_command() -> list[str]:
    """The CLI as a subprocess (with the stand-in classifier while the real one is not merged)."""
    if "stubplugin" in sys.modules:
        return [
            sys.executable,
            "-c",
            "import stubplugin; from strikewatch.cli import cli; cli(prog_name='strikewatch')",
        ]
    return [sys.executable, "-m", "strikewatch"]


def cli_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("STRIKEWATCH")}
    env.update(NO_COLOR="1", COLUMNS="200", PYTHONUNBUFFERED="1")
    return env


def run_poll(db: Path, *args: str) -> tuple[int, str, str, float, int]:
    """Run `poll` in a subprocess: (exit code, stdout, stderr, wall seconds, peak RSS in KB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(
            [*strikewatch_command(), "--db", str(db), "poll", *args],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=cli_env(),
        )
        _, wait_status, usage = os.wait4(process.pid, 0)
        elapsed = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(wait_status)
        out.seek(0)
        err.seek(0)
        return (
            process.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            elapsed,
            usage.ru_maxrss,
        )


def feeds_state(db: Path) -> dict[str, dict]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return {row["name"]: dict(row) for row in conn.execute("SELECT * FROM feeds")}


def links(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT link FROM items ORDER BY link")]


@pytest.fixture
def servers():
    started: list[fs.FaultServer] = []

    def new() -> fs.FaultServer:
        server = fs.FaultServer()
        started.append(server)
        return server

    yield new
    for server in started:
        server.stop()


# -- the whole gauntlet ---------------------------------------------------------------------


@pytest.fixture
def gauntlet(servers, run, db_path):
    """One good feed and every fault, each on its own loopback host, all subscribed."""
    urls: dict[str, str] = {}
    good = servers()
    urls["good"] = good.route("/feed.xml", fs.static(rss(GOOD, title="Good")))
    urls["e500"] = servers().route("/feed", fs.status("500 Internal Server Error", b"oops"))
    urls["e404"] = servers().route("/feed", fs.status("404 Not Found"))
    urls["gone"] = servers().route("/feed", fs.status("410 Gone"))
    urls["limited"] = servers().route(
        "/feed", fs.status("429 Too Many Requests", **{"Retry-After": "120"})
    )
    moved = servers()
    new_home = moved.route("/new.xml", fs.static(rss(MOVED, title="Moved")))
    urls["moved"] = moved.route("/old.xml", fs.status("301 Moved Permanently", Location=new_home))
    urls["html"] = servers().route(
        "/feed",
        fs.static(
            b"<!DOCTYPE html><html><head><title>Welcome</title></head><body>Hi</body></html>",
            "text/html; charset=utf-8",
        ),
    )
    whole = rss(stories("cut", 3))
    cut_at = whole.index(b"cut story 2") + 5
    urls["truncated"] = servers().route("/feed", fs.static(whole[:cut_at]))
    urls["bomb1"] = servers().route("/feed", fs.static(entity_bomb(one_line=True)))
    urls["bomb2"] = servers().route("/feed", fs.static(entity_bomb(one_line=False)))
    urls["huge"] = servers().route("/feed", fs.huge(200 * 1024 * 1024))
    urls["gzipbomb"] = servers().route("/feed", fs.gzip_bomb(64 * 1024 * 1024))
    urls["trickle"] = servers().route("/feed", fs.trickle_body(rss(GOOD), interval=0.2))
    urls["slowheaders"] = servers().route("/feed", fs.trickle_headers(interval=0.2))
    urls["silent"] = servers().route("/feed", fs.silent())
    hostile = [
        Story(
            "[bold red]WGA[/bold red] strike \x1b]0;pwned\x07 \x1b[2J\x9b31m begins [link=x]",
            "https://hostile.example/1",
            "2023-05-02T07:05:00+00:00",
            "\x1b[31mred\x1b[0m summary",
        )
    ]
    urls["hostile"] = servers().route("/feed", fs.static(rss(hostile, title="\x1b]0;x\x07Evil")))
    urls["badreason"] = servers().route("/feed", fs.status("500 \x1b]0;owned\x07\x1b[31mOops"))
    for name, url in urls.items():
        result = run("feeds", "add", url, "--name", name, "--no-check")
        assert result.exit_code == 0, result.output
    return urls


@needs_many_hosts
def test_gauntlet_poll_survives_every_fault(gauntlet, db_path, run_json):
    code, out, err, elapsed, peak_kb = run_poll(db_path, "--timeout", str(TIMEOUT))
    print(
        f"\npoll wall time {elapsed:.2f}s with --timeout {TIMEOUT}; peak RSS {peak_kb / 1024:.0f} MB"
    )
    print(err)

    assert code == 1  # some feeds failed this run; the others' items are stored
    assert "Traceback" not in err and "Traceback" not in out
    assert elapsed < TIMEOUT + 4, f"poll took {elapsed:.1f}s"
    assert peak_kb < 300 * 1024, f"peak RSS {peak_kb / 1024:.0f} MB"
    assert not ESCAPES.search(out.replace("\n", "").replace("\t", ""))
    assert not ESCAPES.search(err.replace("\n", "").replace("\t", ""))

    lines = err.strip().splitlines()
    by_feed: dict[str, list[str]] = {}
    for line in lines:
        match = re.match(r"(error|warning|note): (\w+) \((http://[^ )]+)\): (.+)$", line)
        assert match, f"not a one-line message naming the feed: {line!r}"
        _kind, name, url, _ = match.groups()
        assert gauntlet[name] == url
        by_feed.setdefault(name, []).append(line)

    def only(name: str, kind: str, *fragments: str) -> None:
        [line] = by_feed[name]
        assert line.startswith(kind + ":"), line
        for fragment in fragments:
            assert fragment in line, line

    only("e500", "error", "HTTP 500 Internal Server Error")
    only("e404", "error", "HTTP 404 Not Found")
    only("gone", "error", "HTTP 410 Gone", "unsubscribed")
    only("limited", "warning", "HTTP 429", "asked to wait")
    only("moved", "note", "moved permanently to", "/new.xml", "address updated")
    only("html", "error", "not a feed: the server sent an HTML page")
    only("truncated", "warning", "cut off", "kept the 2 stories")
    only("bomb1", "warning", "kept the 2 stories")
    only("bomb2", "warning", "kept the 2 stories")
    only("huge", "error", "too large", "20 MB")
    only("gzipbomb", "error", "too large", "decompressed")
    only("trickle", "error", f"timed out after {TIMEOUT:g}s", "body still arriving")
    only("slowheaders", "error", f"timed out after {TIMEOUT:g}s")
    only("silent", "error", f"timed out after {TIMEOUT:g}s")
    only("hostile", "warning", "malformed")  # raw ESC is not XML: kept what parsed
    only("badreason", "error", "HTTP 500 ", "Oops")  # its escapes are gone (checked above)
    assert "good" not in by_feed

    everything = {entry["link"]: entry for entry in run_json("timeline", "--all", "--no-collapse")}
    for story in GOOD + MOVED:
        assert story.link in everything
    assert {f"https://fault.example/cut/{n}" for n in (0, 1)} <= set(everything)
    assert "https://fault.example/cut/2" not in everything  # half a story is not a story
    bombs = [entry for entry in everything.values() if entry["link"].startswith("https://bomb")]
    assert bombs and all("root:" not in entry["title"] for entry in bombs)  # /etc/passwd
    assert all(len(entry["title"]) < 100 for entry in bombs)  # nothing expanded
    hostile = everything["https://hostile.example/1"]
    assert hostile["title"].startswith("[bold red]WGA[/bold red] strike")
    assert not ESCAPES.search(hostile["title"] + hostile["summary"])
    assert "[bold red]WGA[/bold red]" in out  # the new-items table shows markup literally

    health = {feed["name"]: feed for feed in run_json("feeds", "list", "--all")}
    assert health["good"]["error"] is None and health["good"]["next_poll"] is None
    assert health["moved"]["url"].endswith("/new.xml") and health["moved"]["error"] is None
    assert health["gone"]["active"] is False and health["gone"]["last_status"] == 410
    assert health["limited"]["error_count"] == 0 and health["limited"]["last_status"] == 429
    wait = datetime.fromisoformat(health["limited"]["next_poll"]) - datetime.now(UTC)
    assert timedelta(seconds=60) < wait <= timedelta(seconds=121)
    for name in ("e500", "e404", "html", "huge", "gzipbomb", "trickle", "slowheaders", "silent"):
        assert health[name]["error_count"] == 1, name
        assert health[name]["active"] is True
        assert health[name]["next_poll"] is not None
    assert health["e500"]["last_status"] == 500


@needs_many_hosts
def test_second_run_polls_healthy_feeds_and_holds_back_the_rest(gauntlet, db_path, run):
    """A healthy feed is fetched on every poll; only backoff and Retry-After hold one back."""
    assert run_poll(db_path, "--timeout", str(TIMEOUT))[0] == 1
    before = feeds_state(db_path)
    result = run("poll", "--timeout", str(TIMEOUT))
    assert result.exit_code == 0, result.output  # every failing feed is backing off
    assert "backing off" in result.stdout
    after = feeds_state(db_path)
    for name in ("good", "moved", "truncated", "bomb1", "bomb2", "hostile"):
        assert after[name]["last_polled"] >= before[name]["last_polled"]
        assert after[name]["next_poll"] is None
    for name in ("e500", "limited", "trickle", "huge"):
        assert after[name]["last_polled"] == before[name]["last_polled"], name
    assert after["gone"]["active"] == 0


# -- time ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "handler, phase",
    [
        (fs.trickle_body(b"x" * 10000, 0.1), "body still arriving"),
        (fs.silent(), "waiting for the response"),
    ],
    ids=["body", "silent"],
)
def test_the_deadline_bounds_every_read(servers, handler, phase):
    """fetch alone owns the deadline: each read gets only the time left, so a trickled body
    and a silent server end at the deadline, saying where they stalled."""
    url = servers().route("/feed", handler)
    started = time.monotonic()
    with pytest.raises(fetching.FetchError, match=re.escape(f"timed out after 1s ({phase}")):
        fetching.fetch(fetching.new_session(), url, timeout=1.0)
    assert time.monotonic() - started < 1.6


def test_headers_trickled_past_the_deadline_are_abandoned(servers):
    """No socket timeout reaches headers sent a byte at a time: fetch_all gives up on such a
    download `grace` seconds after its deadline and leaves its thread behind."""
    url = servers().route("/feed", fs.trickle_headers(0.1))
    started = time.monotonic()
    [fetched] = fetch_all(
        fetching.new_session(),
        [{"name": "slow", "url": url}],
        timeout=1.0,
        max_bytes=10**6,
        grace=0.3,
    )
    assert "timed out after 1s" in str(fetched.error)
    assert time.monotonic() - started < 1.9


@needs_many_hosts
def test_slow_host_does_not_block_the_pool(servers):
    """Feeds stuck on one host take at most per_host workers; other hosts go ahead."""
    slow, fast = servers(), servers()
    feeds = [
        {"name": f"slow{n}", "url": slow.route(f"/{n}", fs.delayed(1.0, fs.static(rss(GOOD))))}
        for n in range(5)
    ]
    feeds += [
        {"name": f"fast{n}", "url": fast.route(f"/{n}", fs.static(rss(GOOD)))} for n in range(4)
    ]
    started = time.monotonic()
    finished: dict[str, float] = {}
    for fetched in fetch_all(
        fetching.new_session(), feeds, timeout=5, max_bytes=10**6, max_workers=3, per_host=2
    ):
        assert fetched.error is None, fetched.error
        finished[fetched.feed["name"]] = time.monotonic() - started
    assert max(finished[f"fast{n}"] for n in range(4)) < 0.8
    assert slow.max_active == 2  # never more than two connections to one host
    assert max(finished.values()) < 3.6  # five 1 s feeds, two at a time


def test_hung_worker_is_abandoned_at_the_hard_deadline(monkeypatch):
    """A worker stuck where no socket timeout reaches (a DNS lookup) cannot hold the poll."""
    release = threading.Event()

    def stuck(*_args, **_kwargs):
        release.wait(30)
        raise fetching.FetchError("late")

    monkeypatch.setattr(fetching, "fetch", stuck)
    started = time.monotonic()
    [fetched] = list(
        fetch_all(
            None,
            [{"name": "dns", "url": "http://dns.invalid/"}],
            timeout=0.5,
            max_bytes=1,
            grace=0.3,
        )
    )
    release.set()
    assert time.monotonic() - started < 1.5
    assert "timed out after 0.5s" in str(fetched.error)


# -- size ----------------------------------------------------------------------------------


def test_gzip_and_deflate_bodies_are_read(servers):
    import zlib

    body = rss(GOOD)
    server = servers()
    gzip_url = server.route(
        "/gz",
        fs.static(zlib.compress(body, wbits=zlib.MAX_WBITS | 16), **{"Content-Encoding": "gzip"}),
    )
    raw = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflate_url = server.route(
        "/deflate",
        fs.static(raw.compress(body) + raw.flush(), **{"Content-Encoding": "deflate"}),
    )
    session = fetching.new_session()
    assert fetching.fetch(session, gzip_url).body == body
    assert fetching.fetch(session, deflate_url).body == body
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


def test_size_cap_applies_to_declared_streamed_and_decompressed_bytes(servers):
    server = servers()
    session = fetching.new_session()
    declared = server.route("/declared", fs.static(b"x" * 5000))
    streamed = server.route("/streamed", fs.huge(10**7))
    bomb = server.route("/bomb", fs.gzip_bomb(4 * 1024 * 1024))
    with pytest.raises(fetching.FetchError, match=r"too large \(4 KB, the limit is 1 KB\)"):
        fetching.fetch(session, declared, max_bytes=1024)
    with pytest.raises(fetching.FetchError, match=r"over the 1 KB limit\)"):
        fetching.fetch(session, streamed, max_bytes=1024)
    with pytest.raises(fetching.FetchError, match="once decompressed"):
        fetching.fetch(session, bomb, max_bytes=1024 * 1024)


def test_unsupported_or_corrupt_encoding_is_one_clear_error(servers):
    server = servers()
    session = fetching.new_session()
    brotli = server.route("/br", fs.static(b"\x0b\x02\x80hello\x03", **{"Content-Encoding": "br"}))
    # A gzip header followed by garbage, and a zlib header followed by garbage.
    corrupt = server.route(
        "/bad", fs.static(b"\x1f\x8b\x08\x00" + b"\xff" * 600, **{"Content-Encoding": "gzip"})
    )
    corrupt_deflate = server.route(
        "/bad-deflate", fs.static(b"\x78\x9c" + b"\xff" * 600, **{"Content-Encoding": "deflate"})
    )
    with pytest.raises(fetching.FetchError, match="unsupported Content-Encoding 'br'"):
        fetching.fetch(session, brotli)
    with pytest.raises(fetching.FetchError, match="gzip-compressed body is corrupt"):
        fetching.fetch(session, corrupt)
    with pytest.raises(fetching.FetchError, match="deflate-compressed body is corrupt"):
        fetching.fetch(session, corrupt_deflate)


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "deflate"])
@pytest.mark.parametrize("size", ["short", "long"])
def test_a_plain_body_labelled_compressed_is_read_as_it_is(servers, encoding, size):
    """Issue 14 point 7: some servers say gzip and send the document itself."""
    body = rss(GOOD) if size == "long" else b"<rss/>"
    url = servers().route("/plain", fs.static(body, **{"Content-Encoding": encoding}))
    assert fetching.fetch(fetching.new_session(), url).body == body
    # Leading blank lines or a byte-order mark still read as a document, not as raw deflate.
    for prefix in (b"\n\n", b"\xef\xbb\xbf", b"  \r\n"):
        url = servers().route(
            "/prefixed", fs.static(prefix + body, **{"Content-Encoding": encoding})
        )
        assert fetching.fetch(fetching.new_session(), url).body == prefix + body


def test_connection_dropped_mid_body_is_an_error_not_a_short_feed(servers):
    def drop(exchange: fs.Exchange) -> None:
        body = rss(GOOD)
        exchange.send(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:100]
        )

    url = servers().route("/feed", drop)
    with pytest.raises(fetching.FetchError, match="download interrupted"):
        fetching.fetch(fetching.new_session(), url)


# -- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize("one_line", [True, False], ids=["one-line", "multi-line"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_entity_bombs_are_never_expanded_whatever_the_layout_or_encoding(one_line, encoding):
    body = entity_bomb(one_line)
    if encoding == "utf-16":  # feedparser re-encodes this before its own DOCTYPE filter
        body = body.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    started = time.monotonic()
    parsed = parse_feed(body)
    assert time.monotonic() - started < 1
    assert len(parsed.items) == 2
    titles = " ".join(item.title for item in parsed.items)
    assert "lollol" not in titles and "root:" not in titles
    assert parsed.warning and "kept the 2 stories" in parsed.warning


def test_safe_driver_refuses_entities_that_reach_expat():
    import xml.sax

    from strikewatch.safexml import EntitiesForbidden, create_parser

    parser = create_parser()
    parser.setContentHandler(xml.sax.ContentHandler())
    with pytest.raises(EntitiesForbidden, match="entity declaration 'a' refused"):
        parser.feed(b'<!DOCTYPE r [<!ENTITY a "x">]><r>&a;</r>')
    parser = create_parser()
    parser.setContentHandler(xml.sax.ContentHandler())
    parser.feed(b"<r>plain &amp; simple</r>")  # ordinary documents pass
    parser.close()


@pytest.mark.parametrize(
    "body, content_type, message",
    [
        (b"", None, "empty response: no feed in it"),
        (b"<html><body>Sign in</body></html>", "text/html", "the server sent an HTML page"),
        (b'{"items": []}', "application/json", "not a readable feed"),
        (rss(GOOD)[:120], None, "the document is cut off"),
    ],
    ids=["empty", "html", "json", "cut-in-first-story"],
)
def test_unreadable_bodies_are_one_clear_error(body, content_type, message):
    with pytest.raises(ParseError, match=message):
        parse_feed(body, content_type=content_type)


def test_wrong_encodings_keep_the_text_and_say_so_once():
    latin = rss([Story("Caf\u00e9 talks resume", "https://e.example/1", "2023-07-01T00:00:00Z")])
    latin = latin.decode().encode("latin-1")  # still declares UTF-8
    parsed = parse_feed(latin, content_type="application/rss+xml; charset=utf-8")
    assert parsed.items[0].title == "Caf\u00e9 talks resume"
    assert parsed.warning.startswith("feed declares the wrong encoding")
    assert "\n" not in parsed.warning
    # A charset header disagreeing with the XML declaration: the header wins, silently right.
    utf8 = rss([Story("Caf\u00e9 talks resume", "https://e.example/1", "2023-07-01T00:00:00Z")])
    header_wins = parse_feed(utf8, content_type="text/xml; charset=utf-8")
    assert header_wins.items[0].title == "Caf\u00e9 talks resume"
    # text/xml without a charset means US-ASCII by the RFC; not worth a warning every poll
    assert parse_feed(rss(GOOD), content_type="text/xml").warning is None


def test_cut_off_document_keeps_whole_stories_only():
    whole = rss(stories("cut", 3))
    for cut in (whole.index(b"cut story 2"), whole.index(b"</guid>", whole.index(b"cut story 2"))):
        parsed = parse_feed(whole[:cut])
        assert [item.link for item in parsed.items] == [
            "https://fault.example/cut/0",
            "https://fault.example/cut/1",
        ]
        assert "dropped the last story" in parsed.warning


# -- HTTP semantics ------------------------------------------------------------------------


def subscribe(run, url: str, name: str) -> None:
    result = run("feeds", "add", url, "--name", name, "--no-check")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "chain, moves_to",
    [
        (["301"], "/final"),
        (["308"], "/final"),
        (["302"], None),
        (["307"], None),
        (["301", "302"], "/hop1"),  # the permanent hop is still permanent
        (["302", "301"], None),  # a temporary hop first: the subscription stays
        (["301", "308"], "/final"),
    ],
)
def test_only_permanent_redirects_move_the_subscription(servers, run, run_json, chain, moves_to):
    server = servers()
    final = server.route("/final", fs.static(rss(GOOD)))
    targets = [server.url(f"/hop{index}") for index in range(1, len(chain))] + [final]
    for index, code in enumerate(chain):
        reason = {"301": "Moved Permanently", "302": "Found", "307": "Temporary Redirect"}
        server.route(
            f"/hop{index}",
            fs.status(f"{code} {reason.get(code, 'Permanent Redirect')}", Location=targets[index]),
        )
    start = server.url("/hop0")
    subscribe(run, start, "redirected")
    result = run("poll")
    assert result.exit_code == 0, result.output
    [feed] = run_json("feeds", "list")
    expected = server.url(moves_to) if moves_to else start
    assert feed["url"] == expected
    assert ("moved permanently" in result.stderr) == bool(moves_to)
    assert len(run_json("timeline", "--all")) == 2
    assert run("poll").exit_code == 0  # and the next poll starts from the stored address
    assert len(server.hits("/hop0")) == (1 if moves_to else 2)


def test_redirect_to_an_address_already_subscribed_keeps_both(servers, run, run_json):
    server = servers()
    target = server.route("/b", fs.static(rss(GOOD)))
    server.route("/a", fs.status("301 Moved Permanently", Location=target))
    subscribe(run, server.url("/a"), "a")
    subscribe(run, target, "b")
    result = run("poll")
    assert result.exit_code == 0, result.output
    assert "already has that address" in result.stderr
    assert {feed["url"] for feed in run_json("feeds", "list")} == {server.url("/a"), target}


def test_redirect_loop_is_one_error(servers, run):
    server = servers()
    server.route("/loop", fs.status("302 Found", Location="/loop"))
    subscribe(run, server.url("/loop"), "loop")
    result = run("poll")
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        == f"error: loop ({server.url('/loop')}): too many redirects (more than 5)"
    )


def test_gone_deactivates_and_is_never_polled_again(servers, run, run_json):
    server = servers()
    subscribe(run, server.route("/feed", fs.status("410 Gone")), "gone")
    first = run("poll")
    assert first.exit_code == 1 and "410 Gone" in first.stderr
    [feed] = run_json("feeds", "list", "--all")
    assert feed["active"] is False and feed["health"] == "gone"
    second = run("poll")
    assert second.exit_code == 0
    assert "No active feeds" in second.stderr
    assert len(server.hits("/feed")) == 1


@pytest.mark.parametrize(
    "status_line, retry_after, wait",
    [
        ("429 Too Many Requests", "600", timedelta(minutes=10)),
        ("503 Service Unavailable", "120", timedelta(minutes=2)),
        ("429 Too Many Requests", None, fetching.DEFAULT_RETRY_AFTER),
        ("503 Service Unavailable", "http-date", timedelta(hours=1)),
        ("429 Too Many Requests", "99999999", fetching.MAX_RETRY_AFTER),
    ],
)
def test_retry_after_holds_the_feed_without_counting_a_failure(
    servers, run, run_json, status_line, retry_after, wait
):
    headers = {}
    if retry_after == "http-date":
        headers["Retry-After"] = format_datetime(datetime.now(UTC) + wait, usegmt=True)
    elif retry_after:
        headers["Retry-After"] = retry_after
    server = servers()
    subscribe(run, server.route("/feed", fs.status(status_line, **headers)), "busy")
    result = run("poll")
    assert result.exit_code == 0, result.output
    assert "asked to wait" in result.stderr
    [feed] = run_json("feeds", "list")
    assert feed["error_count"] == 0 and feed["health"] == "waiting"
    held = datetime.fromisoformat(feed["next_poll"]) - datetime.now(UTC)
    assert wait - timedelta(seconds=5) < held <= wait + timedelta(seconds=1)
    assert run("poll").exit_code == 0
    assert len(server.hits("/feed")) == 1  # held back, as asked


def test_503_without_retry_after_is_a_failure(servers, run, run_json):
    server = servers()
    subscribe(run, server.route("/feed", fs.status("503 Service Unavailable")), "down")
    result = run("poll")
    assert result.exit_code == 1
    [feed] = run_json("feeds", "list")
    assert feed["error_count"] == 1 and feed["health"] == "failing (1x)"


def test_errors_back_off_exponentially_with_a_cap_and_recover(servers, run, run_json, db_path):
    server = servers()
    failing = {"on": True}

    def flaky(exchange: fs.Exchange) -> None:
        if failing["on"]:
            exchange.respond("500 Internal Server Error", b"")
        else:
            exchange.respond(200, rss(GOOD), {"Content-Type": "application/rss+xml"})

    subscribe(run, server.route("/feed", flaky), "flaky")
    delays = []
    for _ in range(8):
        assert run("poll").exit_code == 1
        [feed] = run_json("feeds", "list")
        delays.append(datetime.fromisoformat(feed["next_poll"]) - datetime.now(UTC))
        with sqlite3.connect(db_path) as conn:  # let the backoff run out
            conn.execute("UPDATE feeds SET next_poll = '2000-01-01T00:00:00+00:00'")
    assert feed["error_count"] == 8 and feed["active"] is True
    minutes = [round(delay.total_seconds() / 60) for delay in delays]
    assert minutes == [10, 20, 40, 80, 160, 320, 640, 720]
    assert backoff_delay(1000) == timedelta(hours=12)
    failing["on"] = False
    assert run("poll").exit_code == 0
    [feed] = run_json("feeds", "list")
    assert feed["error_count"] == 0 and feed["next_poll"] is None and feed["health"] == "ok"
    assert feed["error"] is None


@needs_many_hosts
def test_network_down_does_not_push_feeds_into_backoff(run, run_json):
    """Nothing reachable at all: report it, but retry everything next run (miniflux gives up)."""
    for index, host in enumerate(("127.0.0.2", "127.0.0.3")):
        subscribe(run, f"http://{host}:9/feed", f"dead{index}")
    result = run("poll", "--timeout", "1")
    assert result.exit_code == 1
    assert "is the network down?" in result.stderr
    assert all(
        "cannot connect: connection refused" in line for line in result.stderr.splitlines()[:2]
    )
    for feed in run_json("feeds", "list"):
        assert feed["error_count"] == 0 and feed["next_poll"] is None
        assert feed["error"] == "cannot connect: connection refused"

    # cron: under --quiet, one line for the whole run, not one per feed
    quiet = run("poll", "--timeout", "1", "--quiet")
    assert quiet.exit_code == 1
    [line] = quiet.stderr.strip().splitlines()
    assert "no feed could be reached at all (is the network down?): 2 feed(s) failed" in line


def test_fresh_validators_replace_stale_ones(servers, run):
    """newsboat kept sending an old ETag after the server sent a new one, ending in 429s."""
    counter = {"n": 0}

    def rotating(exchange: fs.Exchange) -> None:
        counter["n"] += 1
        exchange.respond(
            200, rss(GOOD), {"Content-Type": "application/rss+xml", "ETag": f'"v{counter["n"]}"'}
        )

    server = servers()
    subscribe(run, server.route("/feed", rotating), "rotating")
    for _ in range(3):
        assert run("poll").exit_code == 0
    sent = [request.headers.get("if-none-match") for request in server.hits("/feed")]
    assert sent == [None, '"v1"', '"v2"']


def test_usage_errors_exit_2(run):
    for args in (["poll", "--timeout", "0"], ["poll", "--timeout", "soon"]):
        result = run(*args)
        assert result.exit_code == 2
        assert "Traceback" not in result.output


# -- concurrency and crashes ---------------------------------------------------------------


def test_second_poll_while_one_runs_exits_0(servers, run, db_path):
    server = servers()
    subscribe(run, server.route("/feed", fs.delayed(1.5, fs.static(rss(GOOD)))), "slow")
    first = subprocess.Popen(
        [*strikewatch_command(), "--db", str(db_path), "poll"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    deadline = time.monotonic() + 10
    while not server.hits("/feed") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.hits("/feed"), "the first poll never reached the feed"
    second = subprocess.run(
        [*strikewatch_command(), "--db", str(db_path), "poll"],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=20,
    )
    assert second.returncode == 0
    assert second.stderr.strip().startswith(
        f"strikewatch: another poll is already running (pid {first.pid}, since "
    )
    _out, err = first.communicate(timeout=20)
    assert first.returncode == 0, err
    assert len(links(db_path)) == 2
    assert len(server.hits("/feed")) == 1


def test_sigkill_mid_poll_leaves_a_sound_database(servers, run, db_path):
    """Killed at several moments of a poll: the database stays sound, the next poll completes
    (the lock died with the process) and stores every story exactly once."""
    expected = set()
    feeds = []
    for index in range(6):
        batch = stories(f"k{index}", 300, host=f"kill{index}.example")
        expected |= {story.link for story in batch}
        server = servers()
        # The feeds answer one after another, 0.15 s apart: a kill lands between or during
        # their transactions.
        server.route("/feed", fs.delayed(0.15 * index, fs.static(rss(batch, title=f"K{index}"))))
        subscribe(run, server.url("/feed"), f"kill{index}")
        feeds.append(server)
    counts = []
    for delay in (0.0, 0.1, 0.25, 0.4, 0.55, 0.7, 0.9):
        seen = sum(len(server.requests) for server in feeds)
        process = subprocess.Popen(
            [*strikewatch_command(), "--db", str(db_path), "poll", "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=cli_env(),
        )
        deadline = time.monotonic() + 10
        while sum(len(server.requests) for server in feeds) == seen:  # the poll is under way
            assert time.monotonic() < deadline, "the poll never reached the feeds"
            time.sleep(0.005)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        with sqlite3.connect(db_path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            counts.append(conn.execute("SELECT count(*) FROM items").fetchone()[0])
    print(f"\nitems stored when killed: {counts} of {len(expected)}")
    assert counts == sorted(counts)
    code, _out, err, _, _ = run_poll(db_path, "--quiet")
    assert code == 0, err
    stored = links(db_path)
    assert len(stored) == len(set(stored)) == len(expected)
    assert set(stored) == expected
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM item_sources").fetchone()[0] == len(expected)
        orphans = conn.execute(
            "SELECT count(*) FROM tags WHERE item_id NOT IN (SELECT id FROM items)"
        ).fetchone()[0]
        assert orphans == 0
        # Items, feed health and the log line commit together: a feed logged "ok" has its
        # stories, and a feed with stories has a log line.
        logged = {
            row[0] for row in conn.execute("SELECT feed_id FROM poll_log WHERE outcome = 'ok'")
        }
        carried = {row[0] for row in conn.execute("SELECT DISTINCT feed_id FROM item_sources")}
        assert carried == logged


def test_reader_and_writer_wait_out_a_long_write(run, run_json, db_path):
    """`database is locked` never reaches the user: readers don't wait, writers wait their turn."""
    assert run("reclassify", "--quiet").exit_code == 0  # creates the database
    holding = threading.Event()

    def long_write() -> None:
        conn = sqlite3.connect(db_path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO feeds (name, url, added_at) VALUES ('held', 'http://held.example/', 'x')"
        )
        holding.set()
        time.sleep(1.5)
        conn.execute("COMMIT")
        conn.close()

    writer = threading.Thread(target=long_write)
    writer.start()
    holding.wait(5)
    started = time.monotonic()
    assert run_json("timeline", "--all") == []
    assert time.monotonic() - started < 1.0  # the reader did not wait for the writer
    result = run("feeds", "add", "http://other.example/feed", "--name", "other", "--no-check")
    assert result.exit_code == 0, result.output
    writer.join()
    assert {feed["name"] for feed in run_json("feeds", "list")} == {"held", "other"}


# -- terminal safety -----------------------------------------------------------------------


HOSTILE_ROW = {
    "published": "2023-05-02T07:05:00+00:00",
    "source": "evil\x1b[31m",
    "guilds": ["wga"],
    "events": ["strike-started"],
    "title": "[bold]WGA[/bold] :smile: \x1b]0;pwned\x07 \x1b[2J \x9b31m \u202eevil\nline",
}


OUR_HYPERLINKS = re.compile(r"\x1b\]8;(?:id=\d+;https://hostile\.example/1|;)\x1b\\")


def assert_only_rich_styling(shown: str) -> None:
    assert "[bold]WGA[/bold]" in shown and ":smile:" in shown
    assert "\x1b]" not in shown and "\x07" not in shown and "\x9b" not in shown
    assert "\x1b[2J" not in shown and "\u202e" not in shown
    # rich's own colours are the only escape sequences left: SGR codes, nothing else
    assert not re.search(r"\x1b(?!\[[0-9;]*m)", shown)


def test_rich_table_on_a_terminal_shows_feed_text_literally(monkeypatch):
    import io

    from strikewatch import render

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich treats the stream as a colour terminal
    terminal = io.StringIO()
    render.rich_table([HOSTILE_ROW], render.TIMELINE_COLUMNS, terminal)
    shown = terminal.getvalue()
    assert "\x1b[" in shown  # it did render for a terminal, with colour
    assert_only_rich_styling(shown)
    assert "\x1b[31mevil" not in shown

    piped = io.StringIO()
    render.plain_table([HOSTILE_ROW], render.TIMELINE_COLUMNS, piped)
    assert "[bold]WGA[/bold]" in piped.getvalue()
    assert not ESCAPES.search(piped.getvalue().replace("\n", ""))
    assert len(piped.getvalue().splitlines()) == 2  # a newline in a title is not a new row


def test_poll_on_a_real_terminal_prints_nothing_a_feed_chose(servers, run, db_path):
    """The CLI with stdout and stderr on a pseudo-terminal: the rich path, end to end."""
    import pty

    hostile = [
        Story(
            "[bold red]WGA[/bold red] strike \x1b]0;pwned\x07 \x1b[2J begins",
            "https://hostile.example/1",
            "2023-05-02T07:05:00+00:00",
        )
    ]
    server = servers()
    subscribe(run, server.route("/feed", fs.static(rss(hostile))), "evil")
    subscribe(run, server.route("/bad", fs.status("500 \x1b]0;owned\x07Oops")), "bad")
    primary, secondary = pty.openpty()
    env = cli_env()
    env.pop("NO_COLOR")
    process = subprocess.Popen(
        [*strikewatch_command(), "--db", str(db_path), "poll"],
        stdout=secondary,
        stderr=secondary,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(secondary)
    shown = b""
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        shown += data
    os.close(primary)
    assert process.wait(timeout=20) == 1
    text = shown.decode("utf-8", "replace")
    assert "[bold red]WGA[/bold red]" in text
    assert "HTTP 500 " in text and "Oops" in text
    # The one OSC sequence allowed is ours: a hyperlink to the story's own (safe) address.
    assert "\x1b]8;id=" in text
    text = OUR_HYPERLINKS.sub("", text)
    assert "\x1b]" not in text and "\x07" not in text and "\x1b[2J" not in text
    assert not re.search(r"\x1b(?!\[[0-9;?]*[mlhK])", text)


def test_error_lines_are_one_line_whatever_the_server_says(servers, run, run_json):
    server = servers()
    url = server.route("/feed", fs.status("500 Bad\x1b[2J\r\nX-Injected: \x07yes"))
    subscribe(run, url, "weird")
    result = run("poll")
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: weird ({url}): HTTP 500")
    assert not ESCAPES.search(line)
    [feed] = run_json("feeds", "list")
    assert not ESCAPES.search(feed["error"])
    table = run("feeds", "list")
    assert not ESCAPES.search(table.stdout.replace("\n", ""))


def test_feeds_list_shows_health_columns(servers, run):
    server = servers()
    subscribe(run, server.route("/ok", fs.static(rss(GOOD))), "fine")
    subscribe(run, server.route("/bad", fs.status("500 Internal Server Error")), "broken")
    run("poll")
    table = run("feeds", "list").stdout.splitlines()
    assert table[0].split() == [
        "name",
        "health",
        "status",
        "last",
        "polled",
        "next",
        "poll",
        "url",
        "last",
        "error",
    ]
    broken = next(line for line in table if line.startswith("broken"))
    assert "failing (1x)" in broken and "500" in broken and "Internal Server Error" in broken
    fine = next(line for line in table if line.startswith("fine"))
    assert " ok " in fine and "next run" in fine
    data = json.loads(run("feeds", "list", "--json").stdout)
    assert {
        "name",
        "url",
        "active",
        "last_status",
        "error",
        "error_count",
        "last_polled",
        "next_poll",
    } <= set(data[0])
