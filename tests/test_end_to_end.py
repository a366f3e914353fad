"""A few runs of the real program as a separate process, as cron and shells run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.feeds import Story, rss


def strikewatch(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "STRIKEWATCH_DB"}
    environment.update({"NO_COLOR": "1", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "strikewatch", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_quick_start_on_the_sample_archive(tmp_path):
    db = str(tmp_path / "demo.db")
    imported = strikewatch("--db", db, "import", "--sample", cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert " new, " in imported.stdout

    table = strikewatch("--db", db, "timeline", "--guild", "wga", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["date", "source", "guilds", "events", "title"]
    assert len(lines) > 10
    assert "\x1b" not in table.stdout  # piped: no colour, no escapes

    entries = json.loads(
        strikewatch("--db", db, "timeline", "--guild", "wga", "--json", cwd=tmp_path).stdout
    )
    assert all("wga" in entry["guilds"] for entry in entries)
    dates = [entry["published"] for entry in entries]
    assert dates == sorted(dates)
    events = {event for entry in entries for event in entry["events"]}
    assert {"strike-started", "deal", "ratified"} <= events
    assert any(
        entry["published"].startswith("2023-05-02") and "strike-started" in entry["events"]
        for entry in entries
    )

    since = json.loads(
        strikewatch(
            "--db", db, "since", "2023-09-20", "--guild", "wga", "--json", cwd=tmp_path
        ).stdout
    )
    assert since and all(entry["published"] >= "2023-09-20" for entry in since)


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("strikewatch.exe" if os.name == "nt" else "strikewatch")
    assert script.exists()
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "timeline" in result.stdout


def test_cron_poll_exit_codes_and_quiet(tmp_path, httpserver):
    httpserver.expect_request("/good.xml").respond_with_data(
        rss(
            [
                Story(
                    "WGA and AMPTP reach tentative agreement",
                    "https://g.example/deal",
                    "2023-09-25T04:00:00+00:00",
                )
            ]
        ),
        content_type="application/rss+xml",
    )
    httpserver.expect_request("/bad.xml").respond_with_data("gone wrong", status=502)
    db = str(tmp_path / "cron.db")
    assert (
        strikewatch(
            "--db", db, "feeds", "add", httpserver.url_for("/good.xml"), cwd=tmp_path
        ).returncode
        == 0
    )
    assert (
        strikewatch(
            "--db", db, "feeds", "add", httpserver.url_for("/bad.xml"), cwd=tmp_path
        ).returncode
        == 0
    )

    result = strikewatch("--db", db, "poll", "--quiet", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: bad (http://") and "HTTP 502" in line
    entries = json.loads(strikewatch("--db", db, "timeline", "--json", cwd=tmp_path).stdout)
    assert [entry["link"] for entry in entries] == ["https://g.example/deal"]


def test_env_var_database_and_broken_pipe(tmp_path):
    db = tmp_path / "env.db"
    imported = strikewatch(
        "import", "--sample", "--quiet", cwd=tmp_path, env={"STRIKEWATCH_DB": str(db)}
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout == ""
    assert db.exists()
    # `| head -1` closes the pipe early: no traceback, no complaint.
    shell = subprocess.run(
        f'"{sys.executable}" -m strikewatch --db "{db}" timeline --all --nl | head -1',
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(shell.stdout)["id"]
    assert "Traceback" not in shell.stderr and "BrokenPipe" not in shell.stderr
