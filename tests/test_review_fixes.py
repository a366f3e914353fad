"""The review of issue 14's fixes: each finding pinned by behaviour."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from strikewatch.store import Store, describe_sqlite_error
from strikewatch.subscriptions import add_feed, feed_with_url, find_feed
from tests import faultserver as fs
from tests.feeds import rss
from tests.season import write_old_database
from tests.test_feeds import STORY, strikewatch_bounded

# -- 5: OPML nested a thousand deep ---------------------------------------------------------


def test_opml_nested_a_thousand_deep_is_read_without_a_traceback(tmp_path, db_path):
    deep = tmp_path / "deep.opml"
    depth = 1000
    deep.write_text(
        '<?xml version="1.0"?><opml version="2.0"><body>'
        + '<outline text="news">' * depth
        + '<outline text="deep" xmlUrl="https://deep.example/feed/"/>'
        + "</outline>" * depth
        + "</body></opml>"
    )
    result = strikewatch_bounded(db_path, "feeds", "import", str(deep))
    assert "Traceback" not in result.stderr
    assert result.returncode == 0, result.stderr
    listed = strikewatch_bounded(db_path, "feeds", "list", "--json")
    assert "https://deep.example/feed/" in listed.stdout


# -- 6: rules files are regular files of bounded size ---------------------------------------


def _fifo(tmp_path: Path) -> Path:
    fifo = tmp_path / "rules.fifo"
    os.mkfifo(fifo)
    return fifo


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
@pytest.mark.parametrize("kind", ["device", "fifo", "huge"])
@pytest.mark.parametrize("where", ["top", "classify"])
def test_a_rules_option_that_is_no_rules_file_is_a_usage_error(tmp_path, db_path, kind, where):
    if kind == "device":
        path = Path("/dev/zero")
    elif kind == "fifo":
        path = _fifo(tmp_path)
    else:
        path = tmp_path / "huge.toml"
        path.write_bytes(b"#" * (2 * 1024 * 1024))
    args = (
        ["--rules", str(path), "classify", "WGA strike begins"]
        if where == "top"
        else ["classify", "--rules", str(path), "WGA strike begins"]
    )
    result = strikewatch_bounded(db_path, *args, timeout=30)
    assert result.returncode == 2, result.stderr
    assert str(path) in result.stderr and "Traceback" not in result.stderr
    assert ("regular file" if kind != "huge" else "1 MB") in result.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_strikewatch_rules_naming_no_rules_file_is_one_line(tmp_path, db_path, kind):
    path = Path("/dev/zero") if kind == "device" else _fifo(tmp_path)
    env = {key: value for key, value in os.environ.items() if not key.startswith("STRIKEWATCH")}
    env.update(NO_COLOR="1", STRIKEWATCH_RULES=str(path))

    def limit_memory() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    result = subprocess.run(
        [sys.executable, "-m", "strikewatch", "--db", str(db_path), "classify", "WGA strike"],
        capture_output=True,
        text=True,
        timeout=30,
        preexec_fn=limit_memory,
        env=env,
    )
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert (
        line
        == f"Error: {path}: not a regular file (a device, pipe or folder); a rules file is a TOML file"
    )


# -- 8: the size message, and parser surprises named with their message ---------------------


def test_importing_a_feed_file_over_the_cap_says_so(tmp_path, run):
    big = tmp_path / "big.xml"
    with big.open("wb") as handle:
        handle.write(b'<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>')
        handle.write(b"<!-- padding -->" * (21 * 1024 * 1024 // 16))
        handle.write(b"</channel></rss>")
    result = run("import", str(big))
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line == f"error: {big}: file is larger than the 20 MB limit"


def test_a_parser_surprise_in_a_poll_names_the_error_and_its_message(tmp_path, run, monkeypatch):
    import feedparser

    def surprised(*args, **kwargs):
        raise KeyError("channel")

    monkeypatch.setattr(feedparser, "parse", surprised)
    feed = tmp_path / "odd.xml"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>'
    )
    result = run("poll", str(feed))
    assert result.exit_code == 1
    assert "unexpected error while parsing: KeyError: 'channel'" in result.stderr
    assert "cannot parse" not in result.stderr


# -- 2: feeds add stores where a permanent redirect leads -----------------------------------


def test_feeds_add_subscribes_to_the_permanent_redirects_target(run, run_json, server):
    home = server.route("/feed/", fs.static(rss([STORY])))
    server.route("/feed", fs.status("301 Moved Permanently", Location=home))
    first = run("feeds", "add", home, "--name", "trade")
    assert first.exit_code == 0, first.output
    again = run("feeds", "add", server.url("/feed"))
    assert again.exit_code == 0, again.output
    assert f"{server.url('/feed')} moved permanently to {home}" in again.stdout
    assert "Already subscribed: trade" in again.stdout
    assert [feed["url"] for feed in run_json("feeds", "list")] == [home]


def test_a_discovered_feed_link_that_is_a_page_is_refused(run, run_json, server):
    page = (
        b'<!DOCTYPE html><html><head><link rel="alternate" type="application/rss+xml"'
        b' href="/news/"></head><body>News</body></html>'
    )
    server.route("/news/", fs.static(page, "text/html"))
    home = server.route("/", fs.static(page, "text/html"))
    result = run("feeds", "add", home)
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert "is not a feed either" in line and server.url("/news/") in line
    # nothing subscribed: not even the database was made (feeds list, read-only, says so)
    assert "no such database" in run("feeds", "list").stderr


# -- 3: upgrading a database written by an older version ------------------------------------


def _old_database(tmp_path: Path) -> Path:
    return write_old_database(tmp_path / "old.db", stop_before="m008_feed_urls_and_replaced_rows")


def test_upgrade_normalises_old_feed_addresses_unless_they_collide(tmp_path, monkeypatch):
    path = _old_database(tmp_path)
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO feeds (name, url, added_at) VALUES (?, ?, '2023-01-01')",
            [
                ("deadline", "HTTPS://DEADLINE.COM:443/feed/"),
                ("guild", "https://guild.example/news/"),
                ("guild-old", "HTTPS://Guild.Example:443/news/"),
            ],
        )
    conn.close()
    store = Store.open(path)
    try:
        urls = dict(store.conn.execute("SELECT name, url FROM feeds").fetchall())
        assert urls == {
            "deadline": "https://deadline.com/feed/",
            "guild": "https://guild.example/news/",
            "guild-old": "HTTPS://Guild.Example:443/news/",  # its normal form is taken
        }
        feed, created = add_feed(store, "https://deadline.com/feed/")
        assert (feed["name"], created) == ("deadline", False)
        assert find_feed(store, "https://GUILD.example/news/")["name"] == "guild"
        assert (
            feed_with_url(
                store,
                "https://guild.example/news/",
                other_than=urls and find_feed(store, "guild")["id"],
            )["name"]
            == "guild-old"
        )
    finally:
        store.close()


def test_a_fragment_link_after_upgrade_is_the_item_stored_without_it(tmp_path, monkeypatch):
    from strikewatch.text import content_hash

    path = _old_database(tmp_path)
    title, summary = "Day notes: picket lines at Paramount", "Notes from the morning shift."
    with sqlite3.connect(path) as conn:
        cursor = conn.execute(
            "INSERT INTO items (title, link, summary, published, first_seen, source,"
            " content_hash) VALUES (?, ?, ?, ?, ?, 'blog', ?)",
            (
                title,
                "https://blog.example/2023/07/14",
                summary,
                "2023-07-14T09:00:00+00:00",
                "2023-07-14T09:05:00+00:00",
                content_hash(title, summary),
            ),
        )
        conn.execute(
            "INSERT INTO item_sources (item_id, source, link, title, first_seen)"
            " VALUES (?, 'blog', ?, ?, '2023-07-14T09:05:00+00:00')",
            (cursor.lastrowid, "https://blog.example/2023/07/14", title),
        )
        old_id = cursor.lastrowid
    conn.close()
    feed = tmp_path / "blog.xml"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>'
        "<link>https://blog.example/</link>"
        f"<item><title>{title}</title><link>https://blog.example/2023/07/14#post-1</link>"
        f"<description>{summary}</description><pubDate>Fri, 14 Jul 2023 09:00:00 +0000</pubDate></item>"
        "<item><title>Day notes: the afternoon rally</title>"
        "<link>https://blog.example/2023/07/14#post-2</link><description>Later.</description>"
        "<pubDate>Fri, 14 Jul 2023 15:00:00 +0000</pubDate></item>"
        "</channel></rss>"
    )
    store = Store.open(path)
    try:
        from strikewatch.parse import parse_feed
        from tests.season import save
        from tests.test_store import FixedClassifier

        saved = save(
            store, parse_feed(feed.read_bytes()).items, source="blog", classifier=FixedClassifier()
        )
        assert len(saved.new_ids) == 1
        rows = store.conn.execute(
            "SELECT id, link FROM items WHERE source = 'blog' ORDER BY id"
        ).fetchall()
        assert [tuple(row) for row in rows] == [
            (old_id, "https://blog.example/2023/07/14#post-1"),
            (saved.new_ids[0], "https://blog.example/2023/07/14#post-2"),
        ]
        # Polled again: the same two items, nothing new.
        again = save(
            store, parse_feed(feed.read_bytes()).items, source="blog", classifier=FixedClassifier()
        )
        assert again.new_ids == [] and again.unchanged == 2
    finally:
        store.close()


# -- 7: errors name the kind of file it is --------------------------------------------------

SUBSCRIPTIONS = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>My feeds</title></head>
<body><outline text="guild" type="rss" xmlUrl="https://guild.example/feed/"/></body></opml>
"""
OPML_HINT = "an OPML list of subscriptions, not a feed: use `strikewatch feeds import`"


def test_an_opml_file_given_to_poll_or_feeds_add_says_use_feeds_import(tmp_path, run, run_json):
    subs = tmp_path / "subs.opml"
    subs.write_bytes(SUBSCRIPTIONS)
    polled = run("poll", str(subs))
    assert polled.exit_code == 1
    assert OPML_HINT in polled.stderr and "HTML" not in polled.stderr
    added = run("feeds", "add", str(subs))
    assert added.exit_code == 2
    assert OPML_HINT in added.stderr
    assert run_json("feeds", "list") == []


def test_an_opml_file_served_over_http_says_opml(run, run_json, server):
    url = server.route("/subs.opml", fs.static(SUBSCRIPTIONS, "text/xml"))
    polled = run("poll", url)
    assert polled.exit_code == 1
    assert OPML_HINT in polled.stderr and "HTML" not in polled.stderr
    added = run("feeds", "add", url)
    assert added.exit_code == 1 and OPML_HINT in added.stderr
    assert run_json("feeds", "list") == []


def test_a_json_lines_archive_given_to_poll_says_use_import(tmp_path, run):
    archive = tmp_path / "a1.jsonl"
    archive.write_text('{"title": "WGA strike begins", "link": "https://a.example/1"}\n')
    polled = run("poll", str(archive))
    assert polled.exit_code == 1
    assert "a JSON-lines archive, not a feed: use `strikewatch import`" in polled.stderr
    assert "syntax error" not in polled.stderr
    added = run("feeds", "add", str(archive))
    assert added.exit_code == 2 and "use `strikewatch import`" in added.stderr


# -- 9: messages that name what went wrong --------------------------------------------------


def test_a_redirect_to_an_invalid_address_names_it(run, server):
    url = server.route("/feed", fs.status("301 Moved Permanently", Location="http://[::1"))
    result = run("poll", url)
    assert result.exit_code == 1
    assert "redirected to an invalid address: 'http://[::1'" in result.stderr
    assert "ValueError" not in result.stderr


def test_a_truncated_gzip_body_says_it_was_cut_short(run, server):
    import gzip

    whole = gzip.compress(rss([STORY]))
    url = server.route(
        "/feed",
        fs.static(whole[: len(whole) // 2], "application/rss+xml", **{"Content-Encoding": "gzip"}),
    )
    result = run("poll", url)
    assert result.exit_code == 1
    assert "the gzip-compressed body was cut short" in result.stderr
    assert "empty response" not in result.stderr


def test_feeds_add_of_nothing_asks_for_an_address(run):
    result = run("feeds", "add", "")
    assert result.exit_code == 2
    assert "no feed given: give a URL (https://...) or a file path" in result.stderr


def test_poll_of_a_bare_host_and_path_suggests_https(run):
    result = run("poll", "deadline.com/feed")
    assert result.exit_code == 2
    assert "deadline.com/feed: no such file; for a web address, give https://deadline.com/feed" in (
        result.stderr
    )


def test_a_removed_feed_has_no_next_poll(tmp_path, run):
    feed = tmp_path / "trade.xml"
    feed.write_bytes(rss([STORY]))
    assert run("feeds", "add", str(feed), "--name", "trade").exit_code == 0
    assert run("feeds", "remove", "trade").exit_code == 0
    listed = run("feeds", "list", "--all")
    [row] = [line for line in listed.stdout.splitlines() if line.startswith("trade")]
    assert "next run" not in row and "removed" in row


def test_a_trigger_error_mentioning_blocked_is_not_a_busy_database(tmp_path):
    conn = sqlite3.connect(tmp_path / "t.db")
    conn.execute("CREATE TABLE t (x)")
    conn.execute(
        "CREATE TRIGGER t_check BEFORE INSERT ON t BEGIN"
        " SELECT RAISE(ABORT, 'grouping blocked'); END"
    )
    with pytest.raises(sqlite3.Error) as caught:
        conn.execute("INSERT INTO t VALUES (1)")
    assert describe_sqlite_error(caught.value) == "grouping blocked"


# -- 10: INSERT OR REPLACE by another tool keeps the search index in step -------------------


def test_insert_or_replace_by_another_tool_replaces_the_indexed_words(db_path, run_json):
    Store.open(db_path).close()
    row = "'2023-07-14T10:00:00+00:00', '2023-07-14T10:00:00+00:00', 'manual', 'h'"
    conn = sqlite3.connect(db_path)
    conn.execute(
        "INSERT INTO items (id, title, summary, published, first_seen, source, content_hash)"
        f" VALUES (5, 'Teamsters rally downtown', '', {row})"
    )
    conn.execute(
        "INSERT OR REPLACE INTO items (id, title, summary, published, first_seen, source,"
        f" content_hash) VALUES (5, 'Animators vote on contract', '', {row})"
    )
    # Neither an ignored insert nor an upsert of that id may drop its words.
    conn.execute(
        "INSERT OR IGNORE INTO items (id, title, summary, published, first_seen, source,"
        f" content_hash) VALUES (5, 'Ignored headline', '', {row})"
    )
    conn.commit()
    conn.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")
    conn.close()
    assert [entry["id"] for entry in run_json("search", "animators")] == [5]
    assert run_json("search", "teamsters") == []
    assert run_json("search", "ignored") == []


def test_insert_or_replace_with_recursive_triggers_removes_the_old_words_once(db_path):
    Store.open(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA recursive_triggers = ON")
    values = "'', '2023-07-14', '2023-07-14', 'manual', 'h'"
    conn.execute(
        "INSERT INTO items (id, title, summary, published, first_seen, source, content_hash)"
        f" VALUES (7, 'Teamsters rally downtown', {values})"
    )
    conn.execute(
        "INSERT OR REPLACE INTO items (id, title, summary, published, first_seen, source,"
        f" content_hash) VALUES (7, 'Animators vote', {values})"
    )
    conn.commit()
    conn.execute("INSERT INTO items_fts (items_fts) VALUES ('integrity-check')")
    assert (
        conn.execute("SELECT rowid FROM items_fts WHERE items_fts MATCH 'teamsters'").fetchall()
        == []
    )
    conn.close()


# -- 4: an undated strike report does not change status -------------------------------------


def _sag_status(run_json) -> dict:
    [entry] = run_json("status", "--guild", "sag-aftra")
    return entry


def _undated_reports_are_listed_not_counted(run_json) -> None:
    entry = _sag_status(run_json)
    assert entry["on_strike"] is False and entry["strike_started"] is None
    explained = run_json("status", "--guild", "sag-aftra", "--explain")
    assert [(row["event"], row["why"].split(" (")[0]) for row in explained] == [
        ("strike-started", "undated: not counted")
    ]
    shown = run_json("timeline", "--guild", "sag-aftra")
    assert [row["title"] for row in shown] == ["SAG-AFTRA strike begins"]


def test_an_undated_strike_report_in_an_archive_does_not_change_status(tmp_path, run, run_json):
    archive = tmp_path / "guild.jsonl"
    archive.write_text(
        '{"title": "SAG-AFTRA strike begins", "link": "https://guild.example/strike",'
        ' "source": "guild"}\n'
    )
    assert run("import", str(archive)).exit_code == 0
    _undated_reports_are_listed_not_counted(run_json)


def test_an_undated_strike_report_in_a_feed_does_not_change_status(tmp_path, run, run_json):
    feed = tmp_path / "hugo.xml"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Guild site</title>'
        "<link>https://guild.example/</link><item><title>SAG-AFTRA strike begins</title>"
        "<link>https://guild.example/strike/</link>"
        "<pubDate>Mon, 01 Jan 0001 00:00:00 +0000</pubDate></item></channel></rss>"
    )
    assert run("poll", str(feed)).exit_code == 0
    _undated_reports_are_listed_not_counted(run_json)


def test_a_dated_strike_report_still_counts(tmp_path, run, run_json):
    archive = tmp_path / "guild.jsonl"
    record = {
        "title": "SAG-AFTRA strike begins",
        "link": "https://guild.example/strike",
        "source": "guild",
        "published": (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="seconds"),
    }
    archive.write_text(json.dumps(record) + "\n")
    assert run("import", str(archive)).exit_code == 0
    assert _sag_status(run_json)["on_strike"] is True


def test_the_upgrade_marks_undated_reports_strikewatch_stored_before(tmp_path):
    """An older version stored an undated report on its first-seen time; another tool's row
    with the same shape (no rules_version) keeps counting."""
    path = _old_database(tmp_path)
    with sqlite3.connect(path) as conn:
        for item_id, version in ((901, "default-abc"), (902, None)):
            conn.execute(
                "INSERT INTO items (id, title, link, published, first_seen, source,"
                " content_hash, guilds, events, rules_version)"
                " VALUES (?, ?, ?, ?, ?, 'x', ?, ?, ?, ?)",
                (
                    item_id,
                    "SAG-AFTRA strike begins",
                    f"https://x.example/{item_id}",
                    "2023-07-14T07:00:00+00:00",
                    "2023-07-14T07:00:00+00:00",
                    str(item_id),
                    '["sag-aftra"]',
                    '["strike-started"]',
                    version,
                ),
            )
    conn.close()
    with Store.open(path) as store:
        marks = dict(store.conn.execute("SELECT id, undated FROM items WHERE id > 900"))
    assert marks == {901: 1, 902: 0}
