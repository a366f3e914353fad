"""Alerts and digests after the issue 17 review, against real processes and loopback feeds."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.feeds import Story
from tests.test_alerts import DEAL, Box, ago, box, deal_reports, outlets, poll  # noqa: F401


def archive(tmp_path: Path, *lines: dict) -> str:
    path = tmp_path / f"archive-{len(list(tmp_path.glob('archive-*')))}.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return str(path)


def fresh(title: str, slug: str, **extra: str) -> dict:
    return {"title": title, "link": f"https://desk.example/{slug}", "source": "desk", **extra}


def test_a_command_leaving_a_background_child_is_delivered_once(
    run, run_json, tmp_path, monkeypatch
):
    """The command exits 0 at once; its child keeps the inherited descriptors for 6 s, more
    than the (shortened) timeout: its exit status decides, not when those close."""
    from strikewatch import alerts

    monkeypatch.setattr(alerts, "EXEC_TIMEOUT", 2.0)
    log = tmp_path / "calls.log"
    script = tmp_path / "bg.sh"
    script.write_text(f'#!/bin/sh\necho "$STRIKEWATCH_TITLE" >> {log}\nsleep 6 &\nexit 0\n')
    script.chmod(0o755)
    assert run("alerts", "add", "bg", "--guild", "wga", "--exec", str(script)).exit_code == 0
    started = time.monotonic()
    result = run(
        "import",
        archive(
            tmp_path,
            fresh(
                "Writers Guild and studios reach tentative agreement", "wga", published=ago(hours=1)
            ),
        ),
    )
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 2.0
    assert "did not finish" not in result.stderr
    (row,) = run_json("alerts", "list")
    assert (row["delivered"], row["failing"]) == (1, 0)
    assert log.read_text().splitlines() == ["Writers Guild and studios reach tentative agreement"]


def test_a_failing_command_still_says_its_last_stderr_line(run, tmp_path):
    script = tmp_path / "fail.sh"
    script.write_text('#!/bin/sh\necho "first" >&2\necho "pager down" >&2\nsleep 5 &\nexit 4\n')
    script.chmod(0o755)
    run("alerts", "add", "f", "--guild", "wga", "--exec", str(script))
    result = run(
        "import",
        archive(
            tmp_path,
            fresh(
                "Writers Guild and studios reach tentative agreement", "w", published=ago(hours=1)
            ),
        ),
    )
    assert result.exit_code == 1
    assert f"error: alert f: {script} exited with status 4: pager down" in result.stderr


def test_undated_items_never_act_nor_show_in_a_digest(run, run_json, box, tmp_path):  # noqa: F811
    recorder = box()
    run("alerts", "add", "wga", "--guild", "wga", "--exec", recorder.command)
    result = run(
        "import",
        archive(
            tmp_path,
            fresh("Writers Guild and studios reach tentative agreement", "undated"),
            fresh("WGA calls strike against the studios", "dated", published=ago(hours=1)),
        ),
    )
    assert result.exit_code == 0, result.output
    assert [got["entry"]["title"] for got in recorder.received()] == [
        "WGA calls strike against the studios"
    ]
    assert recorder.attempts() == 1
    digest = run_json("digest", "morning")
    assert [entry["title"] for entry in digest] == ["WGA calls strike against the studios"]
    # The timeline still has it.
    titles = [entry["title"] for entry in run_json("timeline")]
    assert "Writers Guild and studios reach tentative agreement" in titles


def test_ids_freed_by_a_purge_are_never_given_again(run, run_json, outlets, box):  # noqa: F811
    recorder = box()
    outlets.subscribe(run, "old")
    outlets.stories["old"] = [
        Story("WGA calls for meeting with AMPTP", "https://old.example/1", ago(minutes=50)),
        Story("DGA opens talks with AMPTP", "https://old.example/2", ago(minutes=40)),
    ]
    assert poll(run).exit_code == 0
    run("alerts", "add", "all", "--exec", recorder.command)
    assert run("digest", "morning").exit_code == 0  # the mark is now past both items
    before = {entry["id"] for entry in run_json("timeline")}
    assert run("feeds", "remove", "old", "--purge").exit_code == 0
    outlets.subscribe(run, "new")
    outlets.stories["new"] = [deal_reports()["deadline"]]
    assert poll(run).exit_code == 0
    (entry,) = run_json("timeline")
    assert entry["id"] > max(before)
    assert [got["entry"]["title"] for got in recorder.received()] == [DEAL]
    assert [item["title"] for item in run_json("digest", "morning")] == [DEAL]


def test_each_alert_has_a_time_budget_per_run(run, run_json, box, tmp_path, monkeypatch):  # noqa: F811
    from strikewatch import alerts

    monkeypatch.setattr(alerts, "ALERT_BUDGET", 1.0)
    slow = box()
    (slow.folder / "sleep").write_text("0.6")
    run("alerts", "add", "slow", "--guild", "wga", "--exec", slow.command)
    stories = [
        fresh(title, f"s{index}", published=ago(minutes=30 - index))
        for index, title in enumerate(
            [
                "Writers Guild and studios reach tentative agreement",
                "WGA members ratify new contract",
                "WGA calls strike against the studios",
            ]
        )
    ]
    path = archive(tmp_path, *stories)
    started = time.monotonic()
    assert run("import", path).exit_code == 0
    assert time.monotonic() - started < 4.0
    first = len(slow.received())
    assert 1 <= first < 3
    assert slow.attempts() == first
    (row,) = run_json("alerts", "list")
    assert (row["delivered"], row["failing"], row["last_failure"]) == (first, 0, None)
    # The next runs deliver the rest, each once.
    for _ in range(3):
        assert run("import", path).exit_code == 0
    assert sorted(got["entry"]["title"] for got in slow.received()) == sorted(
        story["title"] for story in stories
    )
    assert slow.attempts() == 3


def test_alerts_show_apprise_urls_without_secrets(run, run_json):
    pytest.importorskip("apprise")
    url = "mailtos://user:app-password@gmail.com?to=desk@example.com"
    added = run("alerts", "add", "desk", "--event", "strike-started", "--notify", url)
    assert added.exit_code == 0, added.output
    assert "app-password" not in added.stdout
    assert "mailtos://user:***@gmail.com?to=desk@example.com" in added.stdout
    run("alerts", "add", "phone", "--notify", "ntfy://ntfy.sh/my-secret-topic")
    listed = run("alerts", "list").stdout
    assert "app-password" not in listed and "my-secret-topic" not in listed
    rows = {row["name"]: row["target"] for row in run_json("alerts", "list")}
    assert rows == {
        "desk": "mailtos://user:***@gmail.com?to=desk@example.com",
        "phone": "ntfy://ntfy.sh/***",
    }


@pytest.mark.parametrize("program", ["/nonexistent/cmd", "no-such-tool-anywhere-at-all"])
def test_an_exec_program_that_cannot_be_found_is_refused(run, run_json, program):
    result = run("alerts", "add", "x", "--exec", f"{program} --flag")
    assert result.exit_code == 2
    # a usage error: the usage line, then one line saying what is wrong (issue 18)
    usage, error = result.stderr.strip().splitlines()
    assert usage.startswith("Usage: ") and error.startswith("Error: ")
    assert f"cannot find {program}" in result.stderr
    assert run_json("alerts", "list") == []


def test_an_empty_digest_name_is_a_usage_error(run):
    result = run("digest", "")
    assert result.exit_code == 2 and "digest needs a NAME" in result.stderr


def test_an_empty_digest_prints_nothing_but_json_keeps_its_array(run):
    for flag in ("--csv", "--nl", None):
        result = run("digest", "morning", *([flag] if flag else []))
        assert (result.exit_code, result.stdout) == (0, ""), flag
    assert run("digest", "morning", "--json").stdout.strip() == "[]"
