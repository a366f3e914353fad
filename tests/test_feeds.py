"""`feeds add`, `feeds list` and `feeds remove` tell the truth about what is subscribed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from strikewatch.parse import find_feed_links, is_html_page
from tests import faultserver as fs
from tests.feeds import Story, rss

STORY = Story("WGA and studios to meet", "https://guild.example/1", "2023-05-02T07:05:00+00:00")

GUILD_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Guild News &gt; Negotiations</title>
  <link rel="stylesheet" href="/style.css">
  <link rel="alternate" type="application/rss+xml" title="Guild News &raquo; Feed" href="/news/feed/">
  <link rel="alternate" type="application/rss+xml" title="Comments" href="/comments/feed/">
  <script>var x = '<link rel="alternate" type="application/rss+xml" href="/fake">';</script>
</head>
<body><p>Latest updates on the negotiations.</p></body>
</html>"""


def test_feed_links_are_read_from_the_page_head_with_an_html_parser():
    body = GUILD_PAGE.encode()
    assert is_html_page(body)
    assert not is_html_page(rss([STORY]))
    assert find_feed_links(body, "https://guild.example/negotiations/") == [
        "https://guild.example/news/feed/",
        "https://guild.example/comments/feed/",
    ]
    atom_page = (
        b"<html><head><base href='https://cdn.example/site/'>"
        b"<LINK REL='Alternate home' TYPE='application/atom+xml; charset=utf-8' HREF='atom.xml'>"
        b"<link rel=alternate type=application/rss+xml href='javascript:alert(1)'>"
        b"</head></html>"
    )
    assert find_feed_links(atom_page, "https://guild.example/") == [
        "https://cdn.example/site/atom.xml"
    ]


def test_feeds_add_on_a_web_page_subscribes_to_its_feed(httpserver, run, run_json):
    httpserver.expect_request("/negotiations/").respond_with_data(
        GUILD_PAGE, content_type="text/html; charset=utf-8"
    )
    httpserver.expect_request("/news/feed/").respond_with_data(
        rss([STORY]), content_type="application/rss+xml"
    )
    page = httpserver.url_for("/negotiations/")
    result = run("feeds", "add", page, "--name", "guild")
    assert result.exit_code == 0, result.output
    feed = httpserver.url_for("/news/feed/")
    assert result.stdout.splitlines() == [
        f"{page} is a web page; its feed is {feed}",
        f"Subscribed to guild: {feed}",
    ]
    assert [entry["url"] for entry in run_json("feeds", "list")] == [feed]
    # The page again is the same subscription.
    again = run("feeds", "add", page)
    assert again.exit_code == 0 and "Already subscribed: guild" in again.stdout


def test_feeds_add_on_a_page_without_a_feed_is_one_line(httpserver, run, db_path):
    httpserver.expect_request("/about").respond_with_data(
        "<!doctype html><html><head><title>About</title></head><body>Hi</body></html>",
        content_type="text/html",
    )
    result = run("feeds", "add", httpserver.url_for("/about"))
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert "not a feed: a web page that names no feed" in line
    # nothing subscribed: not even the database was made (feeds list says there is none)
    assert not db_path.exists()
    assert "no such database" in run("feeds", "list").stderr


def test_feeds_add_on_a_feed_or_an_unreachable_address_subscribes_to_it(httpserver, run):
    # A feed served as text/html is still a feed.
    httpserver.expect_request("/feed").respond_with_data(rss([STORY]), content_type="text/html")
    result = run("feeds", "add", httpserver.url_for("/feed"), "--name", "trade")
    assert result.stdout.strip() == f"Subscribed to trade: {httpserver.url_for('/feed')}"
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    offline = run("feeds", "add", f"http://127.0.0.1:{port}/feed", "--name", "later")
    assert offline.exit_code == 0
    assert "could not check it now" in offline.stderr and "Subscribed to later" in offline.stdout


def test_one_address_in_any_case_or_with_its_default_port_is_one_subscription(run, run_json):
    first = run("feeds", "add", "HTTPS://DEADLINE.COM:443/feed/", "--no-check")
    assert first.stdout.strip() == "Subscribed to deadline: https://deadline.com/feed/"
    again = run("feeds", "add", "https://deadline.com/feed/", "--no-check")
    assert "Already subscribed" in again.stdout
    # The path's case is the server's business, and so is a trailing slash: not guessed.
    assert "Subscribed" in run("feeds", "add", "https://deadline.com/Feed/", "--no-check").stdout
    assert "Subscribed" in run("feeds", "add", "https://deadline.com/feed", "--no-check").stdout
    assert run("feeds", "remove", "HTTPS://Deadline.com/feed/").exit_code == 0
    assert len(run_json("feeds", "list")) == 2


def test_a_feed_never_reached_is_failing_not_ok(run, run_json):
    ports = []
    for _ in range(2):
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            ports.append(closed.getsockname()[1])
    # Two hosts, neither answering: the network looks down, so nothing is backed off...
    run("feeds", "add", f"http://127.0.0.1:{ports[0]}/a.xml", "--name", "one", "--no-check")
    run("feeds", "add", f"http://localhost:{ports[1]}/b.xml", "--name", "two", "--no-check")
    assert {feed["health"] for feed in run_json("feeds", "list")} == {"new"}
    result = run("poll")
    assert result.exit_code == 1
    # ...but neither feed was fetched, so neither is ok.
    feeds = run_json("feeds", "list")
    assert [(feed["health"], feed["error_count"]) for feed in feeds] == [
        ("failing", 0),
        ("failing", 0),
    ]
    assert all(feed["error"] for feed in feeds)


# -- errors name the right thing -----------------------------------------------------------

SAVED_PAGE = b"""<!DOCTYPE html>
<html><head><title>WGA strike: day 3</title></head>
<body><h1>Pickets return to the lots</h1></body></html>"""

SUBSCRIPTIONS = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My feeds</title></head>
  <body><outline text="guild" type="rss" xmlUrl="https://guild.example/feed/"/></body>
</opml>"""


def test_a_local_html_file_is_not_blamed_on_a_server(tmp_path, run):
    page = tmp_path / "saved-page.html"
    page.write_bytes(SAVED_PAGE)
    polled = run("poll", str(page))
    assert polled.exit_code == 1
    assert "not a feed: an HTML file" in polled.stderr and "server" not in polled.stderr
    imported = run("import", str(page))
    assert imported.exit_code == 1
    [line] = imported.stderr.strip().splitlines()
    assert line == f"error: {page}: not a feed: an HTML file"


def test_an_opml_file_given_to_import_points_at_feeds_import(tmp_path, run, run_json):
    opml = tmp_path / "subscriptions.opml"
    opml.write_bytes(SUBSCRIPTIONS)
    result = run("import", str(opml))
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line == (
        f"error: {opml}: an OPML list of subscriptions, not a feed: use `strikewatch feeds import`"
    )
    assert run_json("feeds", "list") == []


# -- local files are bounded and chosen by the user ----------------------------------------


def strikewatch_bounded(db, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """The CLI as a subprocess that can neither hang the suite nor eat the machine's memory."""

    def limit_memory() -> None:
        import resource  # POSIX only, as named pipes are

        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    env = {key: value for key, value in os.environ.items() if not key.startswith("STRIKEWATCH")}
    env["NO_COLOR"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "strikewatch", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit_memory,
        env=env,
    )


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
@pytest.mark.parametrize("command", ["poll", "import"])
def test_a_device_is_read_up_to_the_cap_and_no_further(db_path, command):
    result = strikewatch_bounded(db_path, command, "/dev/zero")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "/dev/zero" in line
    assert line.endswith("file is larger than the 20 MB limit")


def make_fifo(path: Path, content: bytes | None) -> threading.Thread | None:
    """A named pipe; with `content`, a thread writes it once a reader opens the pipe."""
    os.mkfifo(path)
    if content is None:
        return None

    def write() -> None:
        with open(path, "wb") as pipe:
            pipe.write(content)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    return writer


needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")

ARCHIVE_LINE = (
    b'{"title": "WGA strike begins", "link": "https://guild.example/strike",'
    b' "published": "2023-05-02T07:05:00+00:00", "source": "guild"}\n'
)


@needs_fifo
def test_a_pipe_named_on_the_command_line_is_read_once_under_the_cap(tmp_path, db_path, run_json):
    archive = tmp_path / "archive-pipe"
    make_fifo(archive, ARCHIVE_LINE)
    imported = strikewatch_bounded(db_path, "import", str(archive), timeout=30)
    assert imported.returncode == 0, imported.stderr
    assert "1 new" in imported.stdout
    feed = tmp_path / "feed-pipe"
    make_fifo(feed, rss([STORY]))
    polled = strikewatch_bounded(db_path, "poll", str(feed), timeout=30)
    assert polled.returncode == 0, polled.stderr
    links = {entry["link"] for entry in run_json("timeline", "--all")}
    assert links == {"https://guild.example/strike", "https://guild.example/1"}


@needs_fifo
def test_a_subscribed_feed_must_stay_a_regular_file(tmp_path, db_path, run):
    feed = tmp_path / "guild.xml"
    feed.write_bytes(rss([STORY]))
    assert run("feeds", "add", str(feed), "--name", "guild").exit_code == 0
    feed.unlink()
    make_fifo(feed, None)  # nobody will ever write: opening it would block cron for ever
    result = strikewatch_bounded(db_path, "poll", timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: guild ({feed}): not a regular file (a device or a pipe); a feed must be a file"
    )
    added = run("feeds", "add", str(feed))
    assert added.exit_code == 2 and "not a regular file" in added.stderr


@needs_fifo
def test_feeds_import_takes_local_files_only_when_allowed_and_only_regular_ones(
    tmp_path, run, run_json
):
    secret = tmp_path / "id_rsa"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    pipe = tmp_path / "pipe"
    make_fifo(pipe, None)
    opml = tmp_path / "from-the-internet.opml"
    opml.write_text(
        f"""<?xml version="1.0"?>
<opml version="2.0"><head><title>Great feeds</title></head><body>
  <outline text="guild" xmlUrl="https://guild.example/feed/"/>
  <outline text="key" xmlUrl="{secret.as_uri()}"/>
  <outline text="zero" xmlUrl="file:///dev/zero"/>
  <outline text="pipe" xmlUrl="{pipe.as_uri()}"/>
  <outline text="folder" xmlUrl="{tmp_path.as_uri()}"/>
</body></opml>"""
    )
    result = run("feeds", "import", str(opml))
    assert result.exit_code == 0
    assert "Subscribed to 1 feed(s)" in result.stdout and "4 unusable" in result.stdout
    assert f"skipped {secret.as_uri()}: a local file: taken only with --allow-files" in (
        result.stderr
    )
    assert [feed["url"] for feed in run_json("feeds", "list")] == ["https://guild.example/feed/"]
    allowed = run("feeds", "import", "--allow-files", str(opml))
    assert allowed.exit_code == 0
    assert "Subscribed to 1 feed(s)" in allowed.stdout and "3 unusable" in allowed.stdout
    for refused in ("file:///dev/zero", pipe.as_uri(), tmp_path.as_uri()):
        assert f"skipped {refused}: not a regular file" in allowed.stderr
    assert {feed["url"] for feed in run_json("feeds", "list")} == {
        "https://guild.example/feed/",
        str(secret),
    }


def test_a_redirect_target_is_compared_in_its_stored_form(run, run_json, server):
    home = server.route("/", fs.static(rss([STORY])))
    bare = home.removesuffix("/")  # what a Location header may say: no path at all
    server.route("/old.xml", fs.status("301 Moved Permanently", Location=bare))
    run("feeds", "add", server.url("/old.xml"), "--name", "old", "--no-check")
    run("feeds", "add", home, "--name", "home", "--no-check")
    result = run("poll")
    assert result.exit_code == 0, result.output
    assert "another subscribed feed already has that address" in result.stderr
    # Alone, the feed follows its redirect, and is stored as `feeds add` would store it.
    assert run("feeds", "remove", "home", "--purge").exit_code == 0
    assert run("poll").exit_code == 0
    assert [feed["url"] for feed in run_json("feeds", "list")] == [home]
