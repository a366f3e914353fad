"""Polling feeds served over loopback: storage, ordering, conditional GET, changes."""

from __future__ import annotations

import contextlib
import sqlite3

from werkzeug import Response

from tests.feeds import DEADLINE, ENTRY_KEYS, GUILD, VARIETY, Story, atom, rss


@contextlib.contextmanager
def keep_alive_server(respond):
    """A loopback HTTP/1.1 server that keeps connections open (pytest-httpserver's does not);
    `respond(handler)` answers each GET. Yields the base URL."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            respond(self)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


WGA_LINKS_IN_ORDER = [
    "https://variety.example/wga-vote",  # 2023-04-17T23:15Z
    "https://deadline.example/2023/05/wga-strike/",  # 2023-05-02
    "https://deadline.example/2023/09/wga-deal/",  # 2023-09-25
    "https://guild.example/news/wga-strike-ends",  # 2023-09-27T04:40Z
    "https://variety.example/wga-ratify",  # 2023-10-10T03:30Z
]


def test_poll_stores_and_timeline_orders_by_utc(three_feeds, run, run_json):
    result = run("poll")
    assert result.exit_code == 0, result.output
    assert "8 new items" in result.stdout

    wga = run_json("timeline", "--guild", "wga")
    assert [entry["link"] for entry in wga] == WGA_LINKS_IN_ORDER
    assert all("wga" in entry["guilds"] for entry in wga)
    first = wga[0]
    assert first["published"] == "2023-04-17T23:15:00+00:00"
    assert first["source"] == "variety"
    assert set(first) >= ENTRY_KEYS
    assert wga[1]["summary"] == "Pickets go up at studios on Tuesday."  # HTML stripped

    # A bare date is a UTC day: the ratification (2023-10-10T03:30Z) is on the 10th, not the 9th.
    since = run_json("since", "2023-09-26", "--guild", "wga")
    assert [entry["link"] for entry in since] == WGA_LINKS_IN_ORDER[3:]
    until = run_json("timeline", "--guild", "wga", "--until", "2023-10-09")
    assert [entry["link"] for entry in until] == WGA_LINKS_IN_ORDER[:4]

    everything = run_json("timeline", "--all")
    assert len(everything) == 8
    assert [entry["published"] for entry in everything] == sorted(
        entry["published"] for entry in everything
    )
    tracked = run_json("timeline")
    assert "https://deadline.example/2023/06/box-office/" not in {
        entry["link"] for entry in tracked
    }


def test_unchanged_repoll_is_conditional_and_adds_nothing(three_feeds, run, run_json, db_path):
    assert run("poll").exit_code == 0
    before = run_json("timeline", "--all")

    result = run("poll")
    assert result.exit_code == 0, result.output
    assert "0 new items" in result.stdout
    assert "3 unchanged (304)" in result.stdout
    for feed in three_feeds.values():
        assert len(feed.requests) == 2
        assert feed.requests[1].get("If-None-Match") == feed.etag
        assert feed.requests[1].get("If-Modified-Since") == "Wed, 01 Nov 2023 10:00:00 GMT"
        assert "strikewatch/" in feed.requests[1].get("User-Agent", "")
    assert run_json("timeline", "--all") == before

    # The validators survive a 304: a third poll is conditional too.
    assert run("poll").exit_code == 0
    assert all(feed.requests[2].get("If-None-Match") == feed.etag for feed in three_feeds.values())
    with sqlite3.connect(db_path) as conn:
        outcomes = [row[0] for row in conn.execute("SELECT outcome FROM poll_log ORDER BY id")]
    assert outcomes == ["ok"] * 3 + ["not-modified"] * 6


def test_rules_are_loaded_only_when_an_item_needs_tags(three_feeds, run, tmp_path, monkeypatch):
    """Reading the compiled rules was a tenth of an unchanged re-poll, which has nothing to
    tag; nor has a feed that ignores the validators but brings nothing new. A poll with new
    items loads them once, not once per feed."""
    from strikewatch import classify

    loads: list[str] = []
    real_load = classify.load_rules

    def counting_load(rule_files):
        loads.append(rule_files.version)
        return real_load(rule_files)

    monkeypatch.setattr(classify, "load_rules", counting_load)
    monkeypatch.setenv("STRIKEWATCH_CACHE_DIR", str(tmp_path / "cache"))
    assert run("poll").exit_code == 0
    assert len(loads) == 1  # compiled before fetching (nothing cached yet), used for 3 feeds
    assert "3 unchanged (304)" in run("poll").stdout
    three_feeds["deadline"].etag = '"validators ignored"'  # a 200 with the same items
    result = run("poll")
    assert "0 new items" in result.stdout and "2 unchanged (304)" in result.stdout
    assert len(loads) == 1

    three_feeds["variety"].set(
        rss(
            [
                Story(
                    "SAG-AFTRA and AMPTP reach tentative agreement",
                    "https://variety.example/sag-deal",
                    "2023-11-08T15:30:00-08:00",
                ),
                *VARIETY,
            ],
            title="Variety",
            wordpress=False,
        )
    )
    three_feeds["guild"].set(
        atom(
            [
                Story(
                    "DGA members ratify new contract",
                    "https://guild.example/news/dga-ratified",
                    "2023-06-23T18:00:00+00:00",
                ),
                *GUILD,
            ]
        )
    )
    assert "2 new items" in run("poll").stdout
    assert len(loads) == 2  # the cached copy, read for the first new item only


def test_an_unusable_rules_cache_folder_does_not_stop_a_poll(
    three_feeds, run, tmp_path, monkeypatch
):
    """A cache that cannot be read or written only costs compiling the rules each time."""
    monkeypatch.setenv("STRIKEWATCH_CACHE_DIR", str(tmp_path / ("x" * 300)))  # name too long
    for _ in range(2):
        result = run("poll")
        assert result.exit_code == 0, result.output
    assert "3 unchanged (304)" in result.stdout


def test_broken_user_rules_stop_a_poll_before_any_request(three_feeds, run, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[events.deal]]\npattern = \n", encoding="utf-8")
    result = run("--rules", str(bad), "poll")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith(f"Error: {bad}: not valid TOML")
    assert all(not feed.requests for feed in three_feeds.values())


def test_changed_feed_adds_exactly_its_new_item(three_feeds, run, run_json):
    assert run("poll").exit_code == 0
    new_story = Story(
        "SAG-AFTRA and AMPTP reach tentative agreement",
        "https://variety.example/sag-deal",
        "2023-11-08T15:30:00-08:00",
        "The strike is set to end.",
    )
    three_feeds["variety"].set(rss([new_story, *VARIETY], title="Variety", wordpress=False))

    result = run("poll")
    assert result.exit_code == 0, result.output
    assert "1 new item," in result.stdout
    assert (
        "SAG-AFTRA and AMPTP reach tentative agreement" in result.stdout
    )  # new tagged items shown
    sag = run_json("timeline", "--guild", "sag-aftra")
    assert [entry["link"] for entry in sag] == [
        "https://variety.example/sag-vote",
        "https://variety.example/sag-deal",
    ]
    assert len(run_json("timeline", "--all")) == 9


def test_edited_headline_updates_item_and_retags(three_feeds, run, run_json):
    assert run("poll").exit_code == 0
    edited = [
        Story(
            "Box office: superhero sequel tops quiet weekend as SAG-AFTRA strike begins",
            DEADLINE[1].link,
            DEADLINE[1].published,
            DEADLINE[1].summary,
        ),
        DEADLINE[0],
        DEADLINE[2],
    ]
    edited[0].guid = DEADLINE[1].link
    three_feeds["deadline"].set(rss(edited, title="Deadline"))
    result = run("poll")
    assert result.exit_code == 0
    assert "1 updated" in result.stdout
    entries = run_json("timeline", "--all")
    assert len(entries) == 8
    changed = next(entry for entry in entries if entry["link"] == DEADLINE[1].link)
    assert changed["title"].endswith("as SAG-AFTRA strike begins")
    assert "sag-aftra" in changed["guilds"]


def test_quiet_poll_prints_nothing_when_all_is_well(three_feeds, run):
    result = run("poll", "--quiet")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == ""


def test_failed_feed_exits_1_and_keeps_the_others(httpserver, three_feeds, run, run_json):
    httpserver.expect_request("/broken.xml").respond_with_data("oops", status=500)
    assert run("feeds", "add", httpserver.url_for("/broken.xml"), "--name", "broken").exit_code == 0
    result = run("poll", "--quiet")
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"error: broken ({httpserver.url_for('/broken.xml')}): HTTP 500 INTERNAL SERVER ERROR"
    ]
    assert len(run_json("timeline", "--all")) == 8
    health = {feed["name"]: feed for feed in run_json("feeds", "list")}
    assert health["broken"]["last_status"] == 500
    assert health["broken"]["error"] == "HTTP 500 INTERNAL SERVER ERROR"
    assert health["broken"]["next_poll"] is not None
    assert health["deadline"]["error"] is None and health["deadline"]["next_poll"] is None


def test_same_link_through_two_feeds_is_one_item(httpserver, run, run_json, db_path):
    shared = Story(
        "WGA and AMPTP reach tentative agreement",
        "https://news.example/wga-deal?utm_campaign=x",
        "2023-09-25T04:00:00+00:00",
    )
    httpserver.expect_request("/one.xml").respond_with_data(
        rss([shared]), content_type="application/rss+xml"
    )
    mirrored = Story(
        shared.title,
        "https://news.example/wga-deal?utm_source=feed2",
        shared.published,
        guid="other-guid-1",
    )
    httpserver.expect_request("/two.xml").respond_with_data(
        rss([mirrored]), content_type="application/rss+xml"
    )
    run("feeds", "add", httpserver.url_for("/one.xml"), "--name", "one")
    run("feeds", "add", httpserver.url_for("/two.xml"), "--name", "two")
    assert run("poll").exit_code == 0
    entries = run_json("timeline")
    assert [entry["link"] for entry in entries] == ["https://news.example/wga-deal"]
    with sqlite3.connect(db_path) as conn:
        carriers = sorted(row[0] for row in conn.execute("SELECT source FROM item_sources"))
    assert carriers == ["one", "two"]


def test_local_file_feed_polls(tmp_path, run, run_json):
    feed = tmp_path / "guild.atom"
    feed.write_bytes(atom(GUILD))
    assert run("feeds", "add", str(feed)).exit_code == 0
    result = run("poll", "--quiet")
    assert result.exit_code == 0, result.output
    assert {entry["source"] for entry in run_json("timeline")} == {"guild"}


def test_poll_named_location_without_subscribing(httpserver, run, run_json):
    httpserver.expect_request("/adhoc.xml").respond_with_data(
        rss(DEADLINE), content_type="application/rss+xml"
    )
    result = run("poll", httpserver.url_for("/adhoc.xml"))
    assert result.exit_code == 0, result.output
    assert len(run_json("timeline", "--all")) == 3
    assert run_json("feeds", "list") == []


def test_connections_are_kept_alive_across_feeds_of_a_host():
    """A host's feeds share one connection (one TLS handshake in real life), whether the
    answer was a full body or a 304."""
    from strikewatch.fetch import fetch, new_session

    body = rss([Story("WGA goes on strike", "https://x.example/1", "2023-05-02T00:00:00+00:00")])
    clients: list[tuple[str, int]] = []

    def respond(handler):
        clients.append(handler.client_address)
        if handler.headers.get("If-None-Match") == '"v1"':
            handler.send_response(304)
            handler.send_header("ETag", '"v1"')
            handler.end_headers()
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("ETag", '"v1"')
        handler.end_headers()
        handler.wfile.write(body)

    with keep_alive_server(respond) as base:
        session = new_session()
        first = fetch(session, f"{base}/a.xml", timeout=5)
        second = fetch(session, f"{base}/b.xml", timeout=5)
        unchanged = fetch(session, f"{base}/a.xml", etag='"v1"', timeout=5)
        again = fetch(session, f"{base}/b.xml", timeout=5)
    assert first.body == second.body == again.body == body
    assert unchanged.status == 304 and unchanged.body is None
    assert len(clients) == 4 and len(set(clients)) == 1


def test_a_304_announcing_chunks_does_not_wait_for_them():
    """http.client reads no body for a 304 even with Transfer-Encoding: chunked; draining it
    for keep-alive would wait out the whole deadline."""
    import socket
    import threading
    import time

    from strikewatch.fetch import fetch, new_session

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []

    def serve():
        conn, _ = listener.accept()
        held.append(conn)  # kept open, as a keep-alive server does
        request = b""
        while b"\r\n\r\n" not in request:
            request += conn.recv(4096)
        conn.sendall(
            b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nTransfer-Encoding: chunked\r\n\r\n'
        )

    threading.Thread(target=serve, daemon=True).start()
    try:
        started = time.monotonic()
        result = fetch(
            new_session(),
            f"http://127.0.0.1:{listener.getsockname()[1]}/feed",
            etag='"v1"',
            timeout=5,
        )
        assert result.status == 304
        assert time.monotonic() - started < 2
    finally:
        for conn in held:
            conn.close()
        listener.close()


def test_state_changes_are_recorded_even_when_the_poll_fails_later(tmp_path, monkeypatch):
    """A 410 and a 429 are written as they arrive, not with the unchanged feeds at the end,
    and a feed whose items cannot be stored is that feed's error: the poll goes on."""
    import time

    from strikewatch.classify import load_classifier
    from strikewatch.errors import StoreError
    from strikewatch.poll import poll_feeds
    from strikewatch.store import Store
    from strikewatch.subscriptions import add_feed

    body = rss([Story("WGA goes on strike", "https://x.example/1", "2023-05-02T00:00:00+00:00")])

    def respond(handler):
        if handler.path in ("/gone", "/busy"):
            handler.send_response(410 if handler.path == "/gone" else 429)
            if handler.path == "/busy":
                handler.send_header("Retry-After", "3600")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        time.sleep(0.3)  # the feed with a body arrives last
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    with keep_alive_server(respond) as base, Store.open(tmp_path / "t.db") as store:
        for name in ("gone", "busy", "ok"):
            add_feed(store, f"{base}/{name}", name=name)

        def locked(*args, **kwargs):
            raise StoreError("database is locked")

        monkeypatch.setattr("strikewatch.pipeline.ingest", locked)
        report = poll_feeds(
            store,
            store.feeds(active_only=True),
            session=None,
            classifier=load_classifier(),
            per_host=3,
        )
        [failed] = [outcome for outcome in report.failures if outcome.store_failed]
        assert failed.name == "ok" and "could not be stored" in failed.error
        state = {feed["name"]: feed for feed in store.feeds()}
    assert state["ok"]["error"] == failed.error and state["ok"]["error_count"] == 1
    assert state["gone"]["active"] == 0 and state["gone"]["last_status"] == 410
    assert state["busy"]["last_status"] == 429 and state["busy"]["next_poll"]


def test_netrc_and_url_credentials_are_sent_and_netrc_is_read_once_per_host(tmp_path, monkeypatch):
    """The session looks the netrc up once per host, not for every request as requests does,
    and still sends what requests would: the netrc entry, else the URL's credentials."""
    import base64

    import requests.sessions
    import requests.utils

    from strikewatch.fetch import fetch, new_session

    body = rss([Story("WGA goes on strike", "https://x.example/1", "2023-05-02T00:00:00+00:00")])
    seen: list[str | None] = []

    def respond(handler):
        seen.append(handler.headers.get("Authorization"))
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login reporter password picket-line\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    lookups: list[str] = []
    real_lookup = requests.utils.get_netrc_auth

    def counting_lookup(url, raise_errors=False):
        lookups.append(url)
        return real_lookup(url, raise_errors)

    monkeypatch.setattr(requests.utils, "get_netrc_auth", counting_lookup)
    monkeypatch.setattr(requests.sessions, "get_netrc_auth", counting_lookup)

    def basic(user: str, password: str) -> str:
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    with keep_alive_server(respond) as base:
        session = new_session()
        for name in ("a", "b", "c"):
            assert fetch(session, f"{base}/{name}.xml", timeout=5).body == body
        assert seen == [basic("reporter", "picket-line")] * 3
        assert len(lookups) == 1

        netrc.write_text("machine elsewhere.example login x password y\n")
        session = new_session()
        with_user = base.replace("http://", "http://guild%20member:s3cret@")
        fetch(session, f"{with_user}/d.xml", timeout=5)
        fetch(session, f"{base}/e.xml", timeout=5)
    assert seen[3:] == [basic("guild member", "s3cret"), None]


def test_a_feeds_first_poll_is_indexed_in_one_pass_like_items_written_one_by_one(
    httpserver, run, db_path
):
    """A feed's first poll indexes its backlog for search in one pass, later polls through the
    triggers: either way the index says what the table says (an entry listed twice under one
    guid is searchable by its later text only), and the triggers are in place for other tools."""
    import json

    stories = [
        Story(f"Crew {n} ratify agreement", f"https://a.example/{n}", "2023-10-01T10:00:00+00:00")
        for n in range(12)
    ]
    stories.insert(
        3,
        Story(
            "Draft headline about pickets",
            "https://a.example/x",
            "2023-10-02T10:00:00+00:00",
            guid="x",
        ),
    )
    stories.append(
        Story(
            "Final headline about walkouts",
            "https://a.example/x",
            "2023-10-02T10:00:00+00:00",
            guid="x",
        )
    )
    body = [rss(stories)]
    httpserver.expect_request("/a.xml").respond_with_handler(
        lambda request: Response(body[0], content_type="application/rss+xml")
    )
    assert (
        run("feeds", "add", httpserver.url_for("/a.xml"), "--name", "a", "--no-check").exit_code
        == 0
    )

    def found(query: str) -> list[str]:
        result = run("search", query, "--json", "--limit", "100")
        assert result.exit_code == 0, result.output
        return [entry["title"] for entry in json.loads(result.stdout)]

    def index_sound() -> None:
        with sqlite3.connect(db_path) as conn:
            conn.execute("INSERT INTO items_fts (items_fts, rank) VALUES ('integrity-check', 1)")
            triggers = {
                row[0]
                for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            }
        assert {"items_ai", "items_bi", "items_au", "items_ad"} <= triggers

    assert run("poll", "--quiet").exit_code == 0
    assert found("walkouts") == ["Final headline about walkouts"]
    assert found("pickets") == []
    assert len(found("ratified")) == 12
    index_sound()

    body[0] = rss(
        [
            *stories,
            Story("Lockout looms over crews", "https://a.example/new", "2023-10-03T10:00:00+00:00"),
        ]
    )
    assert run("poll", "--quiet").exit_code == 0
    assert found("lockout") == ["Lockout looms over crews"]
    index_sound()
