"""Issue 18: readable anywhere. Tables fitted to 60, 80 and 120 columns, links, local time,
the pager, help that teaches, and the smaller things a new user tripped on."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import click
import pytest
from click.testing import CliRunner
from rich.console import Console

from strikewatch import render
from strikewatch.cli import cli
from strikewatch.tables import Display, print_fitted

OSC8 = re.compile(r"\x1b\]8;[^\x1b]*\x1b\\")
SGR = re.compile(r"\x1b\[[0-9;]*m")


def screen(rows, columns, width: int, display: Display | None = None) -> str:
    """What a terminal of `width` columns shows, escape sequences removed."""
    out = io.StringIO()
    console = Console(
        file=out, width=width, force_terminal=True, color_system="standard", markup=False
    )
    print_fitted(rows, columns.layouts, console, display or Display())
    return out.getvalue()


def visible(text: str) -> str:
    return SGR.sub("", OSC8.sub("", text))


@pytest.fixture
def sample(run):
    assert run("import", "--sample").exit_code == 0


@pytest.fixture
def wga_rows(sample, run_json):
    return run_json("timeline", "--guild", "wga")


@pytest.fixture
def los_angeles(monkeypatch):
    """The user's zone is Los Angeles (TZ, as a shell sets it), put back after the test."""
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


# -- 1. fitted tables ------------------------------------------------------------------------


@pytest.mark.parametrize("width", [60, 80, 120])
def test_the_sample_timeline_is_one_line_per_entry(wga_rows, width, los_angeles):
    shown = visible(screen(wga_rows, render.TIMELINE_COLUMNS, width))
    lines = shown.splitlines()
    assert len(lines) == len(wga_rows) + 2  # header, rule, one line per entry
    assert all(len(line) <= width for line in lines)
    labels = set(render.GUILD_SHORT.values()) | set(render.EVENT_SHORT.values())
    for row, line in zip(wga_rows, lines[2:], strict=True):
        # the headline fills the rest of the line, whole or cut with an ellipsis
        title = " ".join(row["title"].split())
        assert title in line or (
            line.endswith("…") and title.startswith(line.split("  ")[-1][:-1].strip())
        )
        tags = line.split("  ")
        assert any(part.strip() for part in tags)
    if width == 80:
        assert re.match(r"2023-03-20 \d\d:\d\d  deadline \+1  AMPTP WGA talks", lines[2])
        assert any(line.endswith("…") for line in lines)
        # tags are whole labels or +N, never a piece of a word
        for line in lines[2:]:
            tag_part = line[18:].split("  ", 2)[1] if "  " in line[18:] else ""
            for word in tag_part.split():
                assert word in labels or re.fullmatch(r"\+\d+", word), word
    if width == 60:
        assert re.match(r"2023-03-20  deadline \+1", lines[2])  # no time below 72 columns


def test_wider_terminals_show_more_headline_then_the_ids(wga_rows):
    at_80 = visible(screen(wga_rows, render.TIMELINE_COLUMNS, 80)).splitlines()
    at_120 = visible(screen(wga_rows, render.TIMELINE_COLUMNS, 120)).splitlines()
    assert sum(line.count("…") for line in at_120) < sum(line.count("…") for line in at_80)
    at_200 = visible(screen(wga_rows, render.TIMELINE_COLUMNS, 200)).splitlines()
    assert "guilds" in at_200[0] and "events" in at_200[0]
    assert "amptp wga" in at_200[2] and "talks-started" in at_200[2]
    assert not any("…" in line for line in at_200)


def test_wide_shows_every_headline_whole(wga_rows):
    shown = visible(screen(wga_rows, render.TIMELINE_COLUMNS, 80, Display(wide=True)))
    flat = " ".join(shown.split())
    for row in wga_rows:
        assert " ".join(row["title"].split()) in flat


def test_many_tags_end_with_a_count_not_half_a_word():
    row = {
        "published": "2023-11-08T23:00:00+00:00",
        "source": "deadline",
        "guilds": ["amptp", "dga", "iatse", "sag-aftra", "teamsters", "wga"],
        "events": ["deal", "strike-ended"],
        "title": "Everyone agrees",
        "link": "https://example.org/a",
        "also": [],
    }
    [line] = visible(screen([row], render.TIMELINE_COLUMNS, 80)).splitlines()[2:]
    assert re.search(r"AMPTP DGA IATSE \+5", line), line


@pytest.mark.parametrize("width", [60, 80, 120])
def test_long_feed_names_are_never_cut(width):
    rows = [
        {
            "name": "the-hollywood-reporter-business-labor-news",
            "health": "failing (3x)",
            "last_status": 503,
            "last_polled": "2023-07-13T18:05:00+00:00",
            "next_poll": None,
            "url": "https://www.hollywoodreporter.com/c/business/business-news/labor/feed/",
            "error": "HTTP 503 Service Unavailable: the server is overloaded, try again later",
        },
        {
            "name": "wga",
            "health": "ok",
            "last_status": 200,
            "last_polled": None,
            "next_poll": None,
            "url": "https://www.wga.org/news-events/news/feed",
            "error": None,
        },
    ]
    lines = visible(screen(rows, render.FEED_COLUMNS, width)).splitlines()
    assert "the-hollywood-reporter-business-labor-news" in lines[2]
    assert lines[3].startswith("wga ")
    assert all(len(line) <= width for line in lines)


def test_feeds_list_search_and_explain_are_fitted_through_the_cli(sample, run, db_path):
    # The CLI path on a pseudo-terminal: every line within 80 columns, names whole.
    long_name = "the-hollywood-reporter-business-labor-news"
    added = run("feeds", "add", "http://thr.example/labor/feed", "--name", long_name, "--no-check")
    assert added.exit_code == 0
    assert long_name in on_terminal(db_path, "feeds", "list", columns=60)
    for args in (["feeds", "list"], ["search", "strike"], ["status", "--explain"]):
        text = on_terminal(db_path, *args, columns=80)
        lines = [line for line in visible(text).splitlines() if line.strip()]
        assert lines, args
        assert all(len(line) <= 80 for line in lines), (args, lines)


def on_terminal(db_path, *args, columns=80, rows=50, env=None) -> str:
    """Run the CLI with stdout on a pseudo-terminal of this size; what it wrote."""
    import fcntl
    import pty
    import struct
    import termios

    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STRIKEWATCH")}
    environment.pop("COLUMNS", None)
    environment.pop("LINES", None)
    environment.update(NO_COLOR="1", TERM="xterm-256color", PAGER="cat")
    environment.update(env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "strikewatch", "--db", str(db_path), *args],
        stdin=secondary,  # click pages only when stdin is a terminal too
        stdout=secondary,
        stderr=subprocess.PIPE,
        env=environment,
    )
    os.close(secondary)
    shown = b""
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:
            break
        if not data:
            break
        shown += data
    os.close(primary)
    assert process.wait(timeout=30) == 0, process.stderr.read()
    process.stderr.close()
    return shown.decode("utf-8", "replace").replace("\r\n", "\n")


def test_piped_output_stays_whole_plain_text(sample, run):
    result = run("timeline", "--guild", "wga")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["date", "source", "guilds", "events", "title"]
    assert "Writers Guild and AMPTP open contract negotiations" in result.stdout
    assert "…" not in result.stdout and "\x1b" not in result.stdout


# -- 2. links --------------------------------------------------------------------------------


def test_headlines_are_hyperlinks_to_their_story(wga_rows, monkeypatch):
    monkeypatch.delenv("STRIKEWATCH_LINKS", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    shown = screen(wga_rows[:1], render.TIMELINE_COLUMNS, 80)
    assert "\x1b]8;id=" in shown and wga_rows[0]["link"] + "\x1b\\" in shown
    assert wga_rows[0]["link"] not in visible(shown)  # not printed as text as well


@pytest.mark.parametrize(
    ("env", "display"),
    [
        ({"TERM": "dumb"}, Display()),
        ({"STRIKEWATCH_LINKS": "print"}, Display()),
        ({}, Display(links=True)),
    ],
)
def test_links_are_printed_whole_where_hyperlinks_do_not_show(wga_rows, monkeypatch, env, display):
    monkeypatch.setenv("TERM", "xterm-256color")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    shown = screen(wga_rows[:3], render.TIMELINE_COLUMNS, 60, display)
    assert "\x1b]8;" not in shown
    lines = visible(shown).splitlines()
    for row in wga_rows[:3]:
        assert row["link"] in lines  # whole, on its own line, even past the edge
    assert len(lines) == 2 + 2 * 3


def test_a_link_that_could_end_the_escape_is_no_hyperlink(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    row = {
        "published": "2023-05-02T07:05:00+00:00",
        "source": "evil",
        "guilds": ["wga"],
        "events": [],
        "title": "headline",
        "link": "https://evil.example/\x1b\\\x1b]0;pwned\x07",
        "also": [],
    }
    shown = screen([row], render.TIMELINE_COLUMNS, 80)
    assert "pwned" not in shown and "\x07" not in shown


def test_status_panel_links_its_last_event(sample, run_json, monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("STRIKEWATCH_LINKS", raising=False)
    statuses = run_json("status", "--as-of", "2023-08-01", "--guild", "wga")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    out = io.StringIO()
    monkeypatch.setattr(render, "is_terminal", lambda stream=None: True)
    monkeypatch.setenv("COLUMNS", "80")
    render.print_status(statuses, out)
    assert statuses[0]["last_link"] + "\x1b\\" in out.getvalue()
    out = io.StringIO()
    render.print_status(statuses, out, Display(links=True))
    flat = "".join(line.strip("│ ") for line in visible(out.getvalue()).splitlines())
    assert statuses[0]["last_link"] in flat  # whole, wrapped in the panel, not cut
    assert "…" not in out.getvalue()
    assert "Los Angeles" in out.getvalue()


# -- 3. local time ---------------------------------------------------------------------------


def test_table_times_and_bare_dates_follow_tz(sample, run, run_json, los_angeles):
    # The SAG-AFTRA board's vote: 00:15 UTC on July 14 is the evening of July 13 in LA.
    local = run(
        "timeline", "--guild", "sag-aftra", "--event", "strike-started", "--until", "2023-07-13"
    )
    assert local.exit_code == 0, local.output
    assert "2023-07-13  sag-aftra-news" in local.stdout
    utc = run(
        "timeline",
        "--guild",
        "sag-aftra",
        "--event",
        "strike-started",
        "--utc",
        "--until",
        "2023-07-13",
    )
    assert "sag-aftra-news" not in utc.stdout  # 2023-07-13 as a UTC day ended before the vote
    entries = run_json(
        "timeline", "--guild", "sag-aftra", "--since", "2023-07-13", "--until", "2023-07-13"
    )
    assert any(entry["published"] == "2023-07-14T00:15:00+00:00" for entry in entries)  # JSON: UTC


def test_status_days_stay_los_angeles_days_whatever_tz(sample, run_json, monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        [wga] = run_json("status", "--as-of", "2023-05-02", "--guild", "wga")
    finally:
        monkeypatch.undo()
        time.tzset()
    assert wga["on_strike"] is True and wga["strike_day"] == 1


# -- 4. pager --------------------------------------------------------------------------------


def test_a_timeline_longer_than_the_screen_is_paged_and_never_when_piped(
    sample, db_path, tmp_path, run
):
    paged = tmp_path / "paged.txt"
    pager = f"{sys.executable} -c \"import sys; open(r'{paged}', 'w').write(sys.stdin.read())\""
    shown = on_terminal(db_path, "timeline", "--guild", "wga", rows=20, env={"PAGER": pager})
    assert "Writers Guild and AMPTP" not in shown
    assert "Writers Guild and AMPTP" in paged.read_text()
    paged.unlink()
    shown = on_terminal(
        db_path, "timeline", "--guild", "wga", "--no-pager", rows=20, env={"PAGER": pager}
    )
    assert "Writers Guild and AMPTP" in shown and not paged.exists()
    shown = on_terminal(
        db_path, "timeline", "--guild", "wga", "--limit", "3", rows=20, env={"PAGER": pager}
    )
    assert not paged.exists()  # fits the screen
    run("timeline", "--guild", "wga")  # piped (CliRunner): no pager
    assert not paged.exists()


# -- 5. help ---------------------------------------------------------------------------------


def walk(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        if isinstance(command, click.Group):
            yield from walk(command, path)
        else:
            yield path, command


COMMANDS = [path for path, _ in walk(cli)]


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(path) for path in COMMANDS])
def test_every_command_help_teaches(path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="strikewatch")
    assert result.exit_code == 0
    text = result.stdout
    assert re.search(r"Examples:\n +strikewatch ", text)
    assert "INTEGER RANGE" not in text and "FLOAT RANGE" not in text
    if "--guild" in text:
        assert "wga, sag-aftra, amptp, dga, iatse, teamsters" in " ".join(text.split())
    if "--event" in text:
        assert "strike-authorized" in text.replace("\n", " ")
    if re.search(r"\bDATE\b", text):
        assert "YYYY-MM-DD" in text and "7d" in text
    if "--limit" in text:
        assert "-n, --limit N" in text
    # the one-line description in the parent's list is never cut off
    parent = CliRunner().invoke(cli, [*path[:-1], "--help"]).stdout
    [listed] = [line for line in parent.splitlines() if line.strip().startswith(path[-1] + " ")]
    assert not listed.rstrip().endswith("...")


def test_group_listings_are_not_cut_off(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    for group in ([], ["feeds"], ["alerts"], ["rules"]):
        text = CliRunner().invoke(cli, [*group, "--help"], prog_name="strikewatch").stdout
        commands = text.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
        assert "..." not in commands, commands


def test_a_usage_error_from_a_command_shows_that_command_s_usage(sample, run):
    result = run("timeline", "--since", "2023-09-01", "--until", "2023-05-01")
    assert result.stderr.splitlines()[0].endswith(" timeline [OPTIONS]")


def test_bare_commands_print_help_and_exit_0():
    for args in ([], ["feeds"]):
        result = CliRunner().invoke(cli, args, prog_name="strikewatch")
        assert result.exit_code == 0
        assert result.stdout.startswith("Usage: strikewatch")


def test_db_after_the_command_name(sample, run, db_path, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["timeline", "--db", str(db_path), "--guild", "wga", "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) > 30
    result = runner.invoke(cli, ["feeds", "list", "--db", str(db_path), "--json"])
    assert result.exit_code == 0


def test_usage_errors_are_the_usage_line_and_one_line(run):
    for args in (("timeline", "--guild", "nope"), ("timeline", "--bogus"), ("since",), ("export",)):
        result = run(*args)
        assert result.exit_code == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 2, lines
        assert lines[0].startswith("Usage: ") and lines[1].startswith("Error: ")


def test_completion_of_guilds_events_sources_and_feeds(sample, db_path, run):
    from click.shell_completion import ShellComplete

    assert (
        run(
            "feeds", "add", "http://guild.example/feed", "--name", "guildfeed", "--no-check"
        ).exit_code
        == 0
    )

    def complete(args, incomplete):
        completer = ShellComplete(cli, {}, "strikewatch", "_STRIKEWATCH_COMPLETE")
        return [item.value for item in completer.get_completions(args, incomplete)]

    assert complete(["timeline", "--guild"], "sa") == ["sag-aftra"]
    assert "strike-started" in complete(["timeline", "--event"], "strike")
    assert complete(["--db", str(db_path), "timeline", "--source"], "dea") == ["deadline"]
    assert complete(["timeline", "--db", str(db_path), "--source"], "var") == ["variety"]
    assert complete(["--db", str(db_path), "feeds", "remove"], "gu") == ["guildfeed"]


# -- 9. the smaller things -------------------------------------------------------------------


def test_read_only_commands_do_not_create_a_mistyped_database(tmp_path):
    missing = tmp_path / "typo" / "strikewatch.bd"
    for args in (
        ["timeline"],
        ["since", "7d"],
        ["status"],
        ["search", "x"],
        ["export", "--atom"],
        ["feeds", "list"],
    ):
        result = CliRunner().invoke(cli, ["--db", str(missing), *args])
        assert result.exit_code == 1, (args, result.output)
        assert "no such database" in result.stderr
    assert not missing.parent.exists()


def test_path_is_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["--db", "x.db", "path"])
    assert result.stdout.strip() == str(tmp_path / "x.db")


def test_an_unknown_source_lists_the_sources(sample, run):
    result = run("timeline", "--source", "deadlin")
    assert result.exit_code == 2
    assert "no source named 'deadlin'" in result.stderr and "deadline, " in result.stderr


def test_reversed_since_and_until_is_a_usage_error(sample, run):
    result = run("timeline", "--since", "2023-09-01", "--until", "2023-05-01")
    assert result.exit_code == 2 and "--since is after --until" in result.stderr


def test_import_sample_is_suggested_only_on_an_empty_database(run):
    assert run("reclassify", "--quiet").exit_code == 0  # an empty database
    empty = run("timeline")
    assert "import --sample" in empty.stderr
    assert run("import", "--sample").exit_code == 0
    none = run("timeline", "--guild", "teamsters", "--since", "2023-01-01", "--until", "2023-01-02")
    assert none.stderr.strip() == "No items match."


def test_status_csv_has_true_false_and_no_json(sample, run):
    import csv

    result = run("status", "--csv", "--as-of", "2023-08-01")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {row["on_strike"] for row in rows} <= {"true", "false"}
    assert rows[0]["on_strike"] == "true"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("[", "{")), value


def test_atom_with_a_relative_since_keeps_its_id_and_title_and_links_itself(sample, run):
    namespace = "{http://www.w3.org/2005/Atom}"

    def head(*args):
        result = run("export", "--atom", "--since", "30d", *args)
        assert result.exit_code == 0, result.output
        root = ElementTree.fromstring(result.stdout.encode())
        selfs = [link for link in root.findall(f"{namespace}link") if link.get("rel") == "self"]
        return root.find(f"{namespace}id").text, root.find(f"{namespace}title").text, selfs

    first_id, title, [self_link] = head()
    time.sleep(1.1)
    assert head()[:2] == (first_id, title)  # 30d later is still the same feed
    assert "since=30d" in title and self_link.get("href") == first_id
    _id, _title, [published] = head("--self-url", "https://example.org/strikes.atom")
    assert published.get("href") == "https://example.org/strikes.atom"
    assert run("export", "--atom", "--self-url", "javascript:alert(1)").exit_code == 2


def test_export_help_describes_its_own_limit(run):
    text = " ".join(run("export", "--help").stdout.split())
    assert "Keep the newest N stories (the feed lists newest first)" in text


def test_evaluate_without_file_says_what_it_needs(monkeypatch, capsys):
    from strikewatch import evaluate

    monkeypatch.setattr(evaluate, "DEFAULT_LABELED", Path("/nonexistent/headlines.jsonl"))
    with pytest.raises(SystemExit) as exit_info:
        evaluate.main([])
    assert exit_info.value.code == 2
    assert "give one or more labeled JSONL FILEs" in capsys.readouterr().err


@pytest.mark.parametrize("width", [60, 80, 120])
def test_alerts_list_is_fitted_with_names_whole(width):
    rows = [
        {
            "name": "wga-deals-and-strikes-for-the-morning-mail",
            "guilds": ["wga"],
            "events": ["deal", "strike-started"],
            "sources": [],
            "action": "exec",
            "target": "/usr/local/bin/send-to-my-phone --priority high --channel strikes",
            "created": "2023-07-01T12:00:00+00:00",
            "last_delivery": None,
            "delivered": 3,
            "failing": 1,
            "given_up": 0,
            "last_failure": "exit status 2: the phone service said no, for the third time today",
        }
    ]
    lines = visible(screen(rows, render.ALERT_COLUMNS, width)).splitlines()
    assert lines[2].startswith("wga-deals-and-strikes-for-the-morning-mail ")
    assert len(lines) == 3
    assert all(len(line) <= width for line in lines)


def test_completion_of_alert_names(sample, db_path, run):
    from click.shell_completion import ShellComplete

    added = run("alerts", "add", "wga-deals", "--guild", "wga", "--exec", "/bin/true")
    assert added.exit_code == 0, added.output
    completer = ShellComplete(cli, {}, "strikewatch", "_STRIKEWATCH_COMPLETE")
    found = completer.get_completions(["--db", str(db_path), "alerts", "test"], "wga")
    assert [item.value for item in found] == ["wga-deals"]


def test_the_readme_cron_line_works_under_cron_s_bare_path(tmp_path):
    """Cron gives PATH=/usr/bin:/bin and little else: the installed script, named by its
    absolute path as `command -v strikewatch` prints it, runs all the same."""
    script = Path(sys.executable).parent / "strikewatch"
    if not script.exists():
        pytest.skip("strikewatch is not installed as a script beside this Python")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SHELL": "/bin/sh", "LOGNAME": "cron"}
    database = tmp_path / "cron.db"
    loaded = subprocess.run(
        [str(script), "--db", str(database), "import", "--sample", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout == "" and loaded.stderr == ""  # nothing to mail
    listed = subprocess.run(
        [str(script), "--db", str(database), "timeline", "--guild", "wga", "--limit", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0 and "Members ratify the 2023 MBA" in listed.stdout
