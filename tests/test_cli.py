"""The command line as users and scripts see it: outputs, errors, exit codes."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from strikewatch import __version__
from strikewatch.cli import cli
from strikewatch.poll import poll_lock
from tests.feeds import ENTRY_KEYS

ARCHIVE_LINES = [
    {
        "title": "WGA goes on strike as talks with AMPTP collapse",
        "link": "https://deadline.example/wga-strike?utm_source=rss",
        "published": "2023-05-02T00:01:00-07:00",
        "summary": "<p>Writers <b>walk out</b>.</p>",
        "source": "deadline",
    },
    {
        "title": "Box office: animated sequel leads the weekend",
        "link": "https://variety.example/box-office",
        "published": "2023-06-04T10:00:00+00:00",
        "source": "variety",
    },
    {
        "title": "SAG-AFTRA goes on strike",
        "link": "https://thr.example/sag-strike",
        "published": "2023-07-14T01:00:00+00:00",
        "source": "thr",
    },
    {
        "title": "WGA and AMPTP reach tentative agreement",
        "link": "https://deadline.example/wga-deal",
        "published": "2023-09-25T04:00:00+00:00",
        "source": "deadline",
    },
]


def write_archive(path: Path, lines: list) -> Path:
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    )
    return path


@pytest.fixture
def archive(tmp_path, run):
    path = write_archive(tmp_path / "archive.jsonl", ARCHIVE_LINES)
    result = run("import", str(path))
    assert result.exit_code == 0, result.output
    return path


def test_version_and_help():
    runner = CliRunner()
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"strikewatch, version {__version__}"
    help_text = runner.invoke(cli, ["--help"]).output
    for command in (
        "feeds",
        "poll",
        "import",
        "timeline",
        "since",
        "classify",
        "reclassify",
        "path",
    ):
        assert command in help_text


def test_path_precedence(tmp_path, monkeypatch):
    runner = CliRunner()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("STRIKEWATCH_DB", raising=False)
    assert runner.invoke(cli, ["path"]).output.strip() == str(
        tmp_path / "xdg" / "strikewatch" / "strikewatch.db"
    )
    monkeypatch.setenv("STRIKEWATCH_DB", str(tmp_path / "env.db"))
    assert runner.invoke(cli, ["path"]).output.strip() == str(tmp_path / "env.db")
    assert runner.invoke(cli, ["--db", str(tmp_path / "flag.db"), "path"]).output.strip() == str(
        tmp_path / "flag.db"
    )


def test_import_then_timeline_formats(archive, run, run_json):
    entries = run_json("timeline")
    assert [entry["link"] for entry in entries] == [
        "https://deadline.example/wga-strike",
        "https://thr.example/sag-strike",
        "https://deadline.example/wga-deal",
    ]
    assert entries[0]["published"] == "2023-05-02T07:01:00+00:00"
    assert entries[0]["summary"] == "Writers walk out."

    nl = run("timeline", "--nl")
    assert [json.loads(line)["link"] for line in nl.stdout.splitlines()] == [
        entry["link"] for entry in entries
    ]

    rows = list(csv.DictReader(io.StringIO(run("timeline", "--csv").stdout)))
    assert [row["link"] for row in rows] == [entry["link"] for entry in entries]
    assert set(rows[0]) >= ENTRY_KEYS

    table = run("timeline").stdout.splitlines()
    assert table[0].split() == ["date", "source", "guilds", "events", "title"]
    assert table[1].startswith("2023-05-02  deadline")
    assert len(table) == 4

    assert len(run_json("timeline", "--all")) == 4
    assert [entry["link"] for entry in run_json("timeline", "--limit", "1")] == [
        "https://deadline.example/wga-deal"
    ]
    assert [entry["source"] for entry in run_json("timeline", "--all", "--source", "variety")] == [
        "variety"
    ]


def test_reimport_is_idempotent(archive, run, run_json):
    result = run("import", str(archive))
    assert result.exit_code == 0
    assert "0 new, 0 updated, 4 already stored" in result.stdout
    assert len(run_json("timeline", "--all")) == 4


def test_import_reports_bad_lines_and_keeps_good_ones(tmp_path, run, run_json):
    path = write_archive(
        tmp_path / "mixed.jsonl",
        [ARCHIVE_LINES[0], "{oops", {"title": "no link"}, ARCHIVE_LINES[2]],
    )
    result = run("import", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {path}: line 2: not valid JSON (Expecting property name enclosed in double quotes)",
        f"error: {path}: line 3: missing or empty 'link'",
    ]
    assert len(run_json("timeline", "--all")) == 2


def test_import_missing_file_is_one_line(tmp_path, run):
    result = run("import", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.jsonl'}: no such file"


def test_import_rss_file(tmp_path, run, run_json):
    from tests.feeds import Story, rss

    path = tmp_path / "deadline.xml"
    path.write_bytes(
        rss(
            [
                Story(
                    "DGA reaches tentative deal with AMPTP",
                    "https://d.example/dga",
                    "2023-06-03T20:00:00-07:00",
                )
            ]
        )
    )
    assert run("import", str(path)).exit_code == 0
    [entry] = run_json("timeline", "--guild", "dga")
    assert entry["source"] == "deadline" and entry["published"] == "2023-06-04T03:00:00+00:00"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["timeline", "--guild", "equity"],
            "unknown guild 'equity'; choose from: wga, sag-aftra, amptp, dga, iatse, teamsters",
        ),
        (["timeline", "--event", "party"], "unknown event 'party'; choose from: meeting-requested"),
        (["since", "2023-02-30"], "no such day"),
        (["since", "May 2"], "expected YYYY-MM-DD"),
        (["timeline", "--until", "tomorrow"], "expected YYYY-MM-DD"),
        (["timeline", "--limit", "0"], "0 is not in the range"),
        (["import"], "name at least one FILE"),
        (["feeds", "remove", "nobody"], "no feed 'nobody'"),
        (["feeds", "add", "/no/such/file.xml"], "no such file"),
        (["feeds", "add", "http://[::1"], "http://[::1: not a valid URL"),
        (["feeds", "add", "https:///feed/"], "the address has no host"),
        (["feeds", "add", "https://"], "the address has no host"),
        (["feeds", "add", "https://deadline.com/my feed/"], "cannot contain spaces"),
        (["feeds", "add", "http://deadline.com:99999/feed"], "not a valid URL"),
        (
            ["feeds", "add", "deadline.com/feed"],
            "deadline.com/feed: no such file; for a web address, give https://deadline.com/feed",
        ),
        (["feeds", "add", "guild-news.xml"], "guild-news.xml: not an http(s) URL and no such file"),
        (["poll", "http://[::1"], "http://[::1: not a valid URL"),
        (["timeline", "--limit", str(2**63)], "is not in the range 1<=x<=9223372036854775807"),
        (["search", "wga", "--limit", str(2**64)], "is not in the range 1<=x<="),
        (["timeline", "--limit", "-1"], "is not in the range 1<=x<="),
        (["poll", "--timeout", "nan"], "'nan' is not a number of seconds from 0.1 to 600"),
        (["poll", "--timeout", "inf"], "'inf' is not a number of seconds from 0.1 to 600"),
        (["poll", "--timeout", "-5"], "'-5' is not a number of seconds from 0.1 to 600"),
        (["poll", "--timeout", "0"], "'0' is not a number of seconds from 0.1 to 600"),
        (["poll", "--timeout", "soon"], "'soon' is not a number of seconds"),
        (["feeds", "add", "https://x.example/f", "--timeout", "nan"], "not a number of seconds"),
        (["classify"], "give a headline"),
    ],
)
def test_usage_errors_exit_2_with_one_clear_line(run, args, message):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_guild_aliases_and_case(archive, run_json):
    sag = run_json("timeline", "--guild", "sag-aftra")
    assert sag and run_json("timeline", "--guild", "SAG") == sag
    # Spaces, dots, underscores and hyphens as users type them: the same lookup as the API's.
    assert run_json("timeline", "--guild", "SAG AFTRA") == sag
    assert run_json("timeline", "--guild", "screen actors guild") == sag
    assert len(run_json("timeline", "--guild", "Writers")) == 2
    assert run_json("timeline", "--guild", "W.G.A.") == run_json("timeline", "--guild", "wga")
    deals = run_json("timeline", "--event", "deal")
    assert deals and run_json("timeline", "--event", "Tentative Agreement") == deals


def test_a_listing_cut_short_by_a_database_error_exits_1(archive, run, monkeypatch):
    """Listings stream: what was read has been printed, the array is left open (a JSON reader
    refuses it) and the exit status and one stderr line say the listing is incomplete."""
    import sqlite3

    from strikewatch.store import Store

    read = Store._items_in_order
    batches = []

    def failing(self, filters, ids):
        batches.append(ids)
        if len(batches) > 1:
            raise sqlite3.DatabaseError("database disk image is malformed")
        return read(self, filters, ids)

    monkeypatch.setattr("strikewatch.store.LISTING_BATCH", 1)
    monkeypatch.setattr("strikewatch.render.WRITE_BATCH", 1)
    monkeypatch.setattr(Store, "_items_in_order", failing)
    result = run("timeline", "--all", "--json")
    assert result.exit_code == 1
    assert result.stdout.startswith('[\n  {"id": ') and not result.stdout.rstrip().endswith("]")
    [line] = result.stderr.strip().splitlines()
    # The file is sound (quick_check says so), so it is not called damaged.
    assert line == (
        "Error: database error: database disk image is malformed"
        " (yet PRAGMA quick_check finds the database sound; try again)"
    )
    assert "Traceback" not in result.output


def test_relative_dates(archive, run_json):
    assert run_json("since", "7d") == []
    assert len(run_json("timeline", "--since", "52000w")) == 3


def test_the_largest_limit_is_accepted_everywhere(archive, run, run_json):
    largest = str(2**63 - 1)
    everything = run_json("timeline", "--all")
    assert run_json("timeline", "--all", "--limit", largest) == everything
    assert run_json("search", "strike", "--limit", largest) == run_json("search", "strike")
    assert run("export", "--atom", "--limit", largest).exit_code == 0


def test_feeds_add_list_remove(tmp_path, run, run_json):
    feed_file = tmp_path / "guild.xml"
    feed_file.write_text("<rss/>")
    first = run("feeds", "add", "https://deadline.com/feed/", "--no-check")
    assert (
        first.exit_code == 0
        and first.stdout.strip() == "Subscribed to deadline: https://deadline.com/feed/"
    )
    again = run("feeds", "add", "https://deadline.com/feed/", "--no-check")
    assert again.exit_code == 0 and "Already subscribed" in again.stdout
    assert run("feeds", "add", str(feed_file), "--name", "Guild").exit_code == 0
    feeds = run_json("feeds", "list")
    assert [feed["name"] for feed in feeds] == ["deadline", "Guild"]
    assert set(feeds[0]) >= {
        "name",
        "url",
        "active",
        "last_status",
        "error",
        "last_polled",
        "next_poll",
    }
    assert feeds[1]["url"] == str(feed_file.resolve())
    assert feeds[0]["active"] is True and feeds[0]["last_polled"] is None

    removed = run("feeds", "remove", "DEADLINE")
    assert removed.exit_code == 0 and "its items stay" in removed.stdout
    assert [feed["name"] for feed in run_json("feeds", "list")] == ["Guild"]
    assert {feed["name"]: feed["active"] for feed in run_json("feeds", "list", "--all")} == {
        "deadline": False,
        "Guild": True,
    }
    twice = run("feeds", "remove", "deadline")
    assert twice.exit_code == 2
    assert "deadline (https://deadline.com/feed/) is not subscribed" in twice.stderr
    purged = run("feeds", "remove", str(feed_file), "--purge")
    assert purged.exit_code == 0 and "Removed Guild" in purged.stdout
    assert [feed["name"] for feed in run_json("feeds", "list", "--all")] == ["deadline"]
    assert run("feeds", "remove", "deadline", "--purge").exit_code == 0
    assert run_json("feeds", "list", "--all") == []


def test_second_poll_while_one_runs_exits_0(db_path, run):
    from strikewatch.store import Store

    Store.open(db_path).close()
    with poll_lock(db_path):
        result = run("poll")
        quiet = run("poll", "--quiet")
    assert result.exit_code == 0
    assert re.fullmatch(
        rf"strikewatch: another poll is already running \(pid {os.getpid()}, since "
        r"\d{4}-\d\d-\d\d \d\d:\d\d UTC\); skipping this one",
        result.stderr.strip(),
    )
    # cron: an overlapping run is no news under --quiet
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == ""


def test_a_poll_holding_the_lock_for_over_an_hour_is_reported_even_when_quiet(db_path, run):
    from datetime import UTC, datetime, timedelta

    from strikewatch.store import Store

    Store.open(db_path).close()
    with poll_lock(db_path):
        lock_file = Path(str(db_path) + ".poll-lock")
        long_ago = (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="seconds")
        lock_file.write_text(f"4242 {long_ago}\n")
        result = run("poll", "--quiet")
    assert result.exit_code == 0
    assert "over an hour (pid 4242" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_database_problems_are_one_line(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", str(tmp_path), "timeline"])
    assert result.exit_code == 2
    assert "is a directory" in result.stderr
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"x" * 4096)
    result = runner.invoke(cli, ["--db", str(junk), "timeline"])
    assert result.exit_code == 1
    assert "not a strikewatch database" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_feed_text_is_shown_literally(tmp_path, run, run_json):
    nasty = {
        "title": "WGA [bold red]strike[/] \x1b[2J\x1b]8;;http://evil\x07link\x1b]8;;\x07 begins",
        "link": "https://x.example/n",
        "published": "2023-05-02T00:00:00Z",
    }
    path = write_archive(tmp_path / "nasty.jsonl", [nasty])
    assert run("import", str(path)).exit_code == 0
    [entry] = run_json("timeline")
    assert "\x1b" not in entry["title"] and "\x07" not in entry["title"]
    assert "[bold red]strike[/]" in entry["title"]
    table = run("timeline").stdout
    assert "[bold red]strike[/]" in table and "\x1b" not in table
