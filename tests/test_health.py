"""Healthy means healthy (issue 14, point 7).

A valid feed with no items, or with an oddity that costs nothing (an HTML entity XML does not
know, blank lines before the declaration, a UTF-16 byte-order mark, a charset that lies, a body
labelled gzip that is not compressed) is stored as it is: no error, no backoff, `ok` in
`feeds list`, and at most one warning, the first time; never one on every poll.
Each case is served over loopback HTTP and polled through the CLI, twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests import faultserver as fs
from tests.feeds import Story, atom, rss

FIRST = [
    Story(
        "WGA sets date to resume talks with studios \u2014 sources",
        "https://trade.example/wga-talks",
        "2023-08-04T18:00:00+00:00",
        "Both sides return to the table Friday.",
    )
]
SECOND = [
    *FIRST,
    Story(
        "Caf\u00e9 owners near studio lots feel the strike",
        "https://trade.example/cafe",
        "2023-08-05T09:30:00+00:00",
        "Lunch trade is down a third.",
    ),
]
RSS = "application/rss+xml"


@dataclass
class Case:
    """How a feed's stories are served, and how many warnings its first poll gives."""

    body: Callable[[list[Story]], bytes]
    content_type: str = f"{RSS}; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    warns: int = 0
    warning: str = ""
    titles: Callable[[list[Story]], list[str]] = lambda stories: sorted(s.title for s in stories)


def with_nbsp(stories: list[Story]) -> bytes:
    return rss(stories, title="Guild TITLE").replace(b"Guild TITLE", b"Guild&nbsp;News")


def blank_lines_first(stories: list[Story]) -> bytes:
    return b"\n\n   \r\n" + rss(stories)


def utf16_without_declaration(stories: list[Story]) -> bytes:
    text = rss(stories).decode().replace('<?xml version="1.0" encoding="UTF-8"?>', "")
    return "\ufeff".encode("utf-16-le") + text.lstrip().encode("utf-16-le")


def utf16_big_endian_declared(stories: list[Story]) -> bytes:
    return rss(stories).decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")


def windows_1252_declared_utf8(stories: list[Story]) -> bytes:
    return rss(stories).decode().encode("windows-1252")


CASES = {
    "empty-rss": Case(lambda _stories: rss([]), titles=lambda _stories: []),
    "empty-atom": Case(
        lambda _stories: atom([]), content_type="application/atom+xml", titles=lambda _s: []
    ),
    "nbsp-in-channel-title": Case(with_nbsp, warns=1, warning="undefined entity"),
    "blank-line-before-declaration": Case(blank_lines_first),
    "utf16-bom-no-declaration": Case(utf16_without_declaration, content_type=RSS),
    "utf16-bom-header-says-utf8": Case(utf16_big_endian_declared),
    "windows-1252-declared-utf8": Case(
        windows_1252_declared_utf8, warns=1, warning="declares the wrong encoding"
    ),
    "header-says-latin1-body-is-utf8": Case(rss, content_type=f"{RSS}; charset=iso-8859-1"),
    "labelled-gzip-not-compressed": Case(rss, headers=(("Content-Encoding", "gzip"),)),
    "labelled-deflate-not-compressed": Case(rss, headers=(("Content-Encoding", "deflate"),)),
}


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning:")]




def serve(server: fs.FaultServer, case: Case, stories: list[Story]) -> str:
    handler = fs.static(case.body(stories), case.content_type, **dict(case.headers))
    return server.route("/feed", handler)


@pytest.mark.parametrize("name", list(CASES))
def test_a_recoverable_oddity_is_healthy_and_said_at_most_once(name, server, run, run_json):
    case = CASES[name]
    url = serve(server, case, FIRST)
    assert run("feeds", "add", url, "--name", "odd").exit_code == 0

    first = run("poll")
    assert first.exit_code == 0, first.output
    assert "error" not in first.stderr
    said = warnings(first.stderr)
    assert len(said) == case.warns, said
    assert all(case.warning in line and "odd" in line for line in said)

    # The feed moves on (a new story, so every line after it shifts); the oddity stays.
    serve(server, case, SECOND)
    second = run("poll")
    assert second.exit_code == 0, second.output
    assert warnings(second.stderr) == [] and "error" not in second.stderr

    [feed] = run_json("feeds", "list")
    assert feed["health"] == "ok"
    assert (feed["error"], feed["error_count"], feed["next_poll"]) == (None, 0, None)
    assert feed["last_status"] == 200
    stored = sorted(entry["title"] for entry in run_json("timeline", "--all"))
    assert stored == case.titles(SECOND)


def test_the_warning_returns_when_the_oddity_comes_back(server, run):
    """Once per appearance: fixed in between, then broken again, it is said again."""
    url = server.route("/feed", fs.static(with_nbsp(FIRST)))
    run("feeds", "add", url, "--name", "odd")
    assert len(warnings(run("poll").stderr)) == 1
    server.route("/feed", fs.static(rss(FIRST)))
    assert warnings(run("poll").stderr) == []
    server.route("/feed", fs.static(with_nbsp(SECOND)))
    assert len(warnings(run("poll").stderr)) == 1


def test_a_different_oddity_is_said_even_after_another(server, run):
    url = server.route("/feed", fs.static(with_nbsp(FIRST)))
    run("feeds", "add", url, "--name", "odd")
    assert "undefined entity" in run("poll").stderr
    server.route("/feed", fs.static(windows_1252_declared_utf8(SECOND)))
    [line] = warnings(run("poll").stderr)
    assert "wrong encoding" in line


def test_the_repeated_warning_stays_in_the_poll_log(server, run, db_path):
    import sqlite_utils

    url = server.route("/feed", fs.static(with_nbsp(FIRST)))
    run("feeds", "add", url, "--name", "odd")
    run("poll")
    run("poll")
    logged = [row["error"] for row in sqlite_utils.Database(db_path)["poll_log"].rows]
    assert len(logged) == 2 and all("undefined entity" in (text or "") for text in logged)


def test_what_changes_as_a_feed_moves_on_is_not_a_new_oddity():
    """Line numbers and counts move with every new story; the oddity is the same."""
    from strikewatch.poll import oddity

    first = "feed is malformed (undefined entity at line 3); kept the 1 story that parsed"
    later = "feed is malformed (undefined entity at line 31); kept the 12 stories that parsed"
    assert oddity(first) == oddity(later)
    zones = "{} dated in a time zone strikewatch cannot read ('XST'): dated when first seen"
    assert oddity(zones.format("3 stories are")) == oddity(zones.format("4 stories are"))
    # A second oddity joining the first is news.
    assert oddity(first) != oddity(f"{first}; {zones.format('1 story is')}")
    assert oddity(first) != oddity("feed declares the wrong encoding (declared as utf-8)")
