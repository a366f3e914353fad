"""Alerts and digests (issue 17), against real processes: feeds served over loopback HTTP, an
--exec command that is a real Python script recording what it received, Apprise posting to a
loopback receiver, and strikewatch itself run as a process where it gets killed."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from werkzeug import Request, Response

from tests.feeds import ENTRY_KEYS, Story, rss

RECORDER = """
import json, os, signal, sys
from pathlib import Path

box = Path(sys.argv[1])
entry = json.loads(sys.stdin.read())
env = {name: os.environ.get(name) for name in
       ("STRIKEWATCH_TITLE", "STRIKEWATCH_LINK", "STRIKEWATCH_GUILDS", "STRIKEWATCH_EVENTS")}
with open(box / "attempts.jsonl", "a") as log:
    log.write(json.dumps(entry["title"]) + "\\n")
fail = box / "fail"
if fail.exists() and int(fail.read_text()) > 0:
    fail.write_text(str(int(fail.read_text()) - 1))
    print("the pager service is down", file=sys.stderr)
    sys.exit(3)
if (box / "sleep").exists():
    import time
    time.sleep(float((box / "sleep").read_text()))
with open(box / "received.jsonl", "a") as log:
    log.write(json.dumps({"entry": entry, "env": env}) + "\\n")
if (box / "kill-parent").exists():
    (box / "kill-parent").unlink()
    os.kill(os.getppid(), signal.SIGKILL)
"""


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat(timespec="seconds")


class Outlets:
    """Feeds on a loopback server whose contents a test changes between polls."""

    def __init__(self, httpserver) -> None:
        self.server = httpserver
        self.stories: dict[str, list[Story]] = {}
        self.hooks: list[dict] = []
        self.hook_status = 200

        def handler(request: Request) -> Response:
            if request.path == "/hook":
                self.hooks.append(json.loads(request.get_data()))
                return Response("ok" if self.hook_status == 200 else "no", self.hook_status)
            name = request.path.strip("/").removesuffix(".xml")
            return Response(
                rss(self.stories.get(name, []), title=name), content_type="application/rss+xml"
            )

        httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
        httpserver.expect_request("").respond_with_handler(handler)

    def url(self, name: str) -> str:
        return self.server.url_for(f"/{name}.xml")

    def subscribe(self, run, *names: str) -> None:
        for name in names:
            self.stories.setdefault(name, [])
            result = run("feeds", "add", self.url(name), "--name", name, "--no-check")
            assert result.exit_code == 0, result.output


class Box:
    """One --exec alert's recorder: a folder the script writes what it received into."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir()
        self.folder = folder
        script = folder.parent / "recorder.py"
        script.write_text(RECORDER)
        self.command = shlex.join([sys.executable, str(script), str(folder)])

    def received(self) -> list[dict]:
        path = self.folder / "received.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def attempts(self) -> int:
        path = self.folder / "attempts.jsonl"
        return len(path.read_text().splitlines()) if path.exists() else 0

    def fail(self, times: int) -> None:
        (self.folder / "fail").write_text(str(times))


@pytest.fixture
def outlets(httpserver) -> Outlets:
    return Outlets(httpserver)


@pytest.fixture
def box(tmp_path: Path):
    made = iter(range(100))
    return lambda: Box(tmp_path / f"box{next(made)}")


DEAL = "SAG-AFTRA and AMPTP reach tentative deal after 118 days"


def deal_reports() -> dict[str, Story]:
    return {
        "deadline": Story(DEAL, "https://deadline.example/sag-deal", ago(minutes=50), "Actors."),
        "variety": Story(
            "SAG-AFTRA reaches tentative deal with studios",
            "https://variety.example/sag-deal?utm_source=rss",
            ago(minutes=40),
            "The actors' strike is nearing its end.",
        ),
        "thr": Story(
            "Actors and studios reach tentative deal, SAG-AFTRA says",
            "https://thr.example/sag-deal",
            ago(minutes=30),
        ),
    }


def poll(run, *args: str):
    return run("poll", "--timeout", "5", *args)


def test_three_outlets_make_one_delivery_and_later_reports_and_edits_do_not_act(
    run, run_json, outlets, box
):
    outlets.subscribe(run, "deadline", "variety", "thr")
    recorder = box()
    added = run(
        "alerts", "add", "sag-deal", "--guild", "sag", "--event", "deal", "--exec", recorder.command
    )
    assert added.exit_code == 0, added.output
    reports = deal_reports()
    outlets.stories["deadline"] = [
        reports["deadline"],
        Story(
            "WGA calls for meeting with AMPTP to resume talks",
            "https://deadline.example/wga",
            ago(minutes=20),
        ),
    ]
    first = poll(run)
    assert first.exit_code == 0, first.output
    assert "alert sag-deal: delivered" in first.stderr

    (got,) = recorder.received()
    assert got["entry"]["title"] == DEAL
    assert got["entry"]["link"] == "https://deadline.example/sag-deal"
    assert got["entry"]["guilds"] == ["amptp", "sag-aftra"] and got["entry"]["events"] == ["deal"]
    assert got["entry"]["also"] == []
    assert got["env"] == {
        "STRIKEWATCH_TITLE": DEAL,
        "STRIKEWATCH_LINK": "https://deadline.example/sag-deal",
        "STRIKEWATCH_GUILDS": "amptp,sag-aftra",
        "STRIKEWATCH_EVENTS": "deal",
    }
    # The entry is exactly the story's timeline entry.
    (timeline_entry,) = run_json("timeline", "--event", "deal")
    assert got["entry"] == timeline_entry

    # The other two outlets report it in the next poll, and the first report is edited.
    outlets.stories["variety"] = [reports["variety"]]
    outlets.stories["thr"] = [reports["thr"]]
    outlets.stories["deadline"][0] = Story(
        DEAL,
        "https://deadline.example/sag-deal",
        reports["deadline"].published,
        "Updated: actors vote next.",
    )
    second = poll(run)
    assert second.exit_code == 0, second.output
    assert "1 updated" in second.stdout
    assert len(recorder.received()) == 1 and recorder.attempts() == 1
    (story,) = run_json("timeline", "--event", "deal")
    assert [report["source"] for report in story["also"]] == ["variety", "thr"]
    assert poll(run).exit_code == 0
    assert recorder.attempts() == 1

    (listed,) = run_json("alerts", "list")
    assert listed["name"] == "sag-deal" and listed["delivered"] == 1
    assert listed["last_delivered_title"] == DEAL and listed["failing"] == listed["given_up"] == 0


def test_three_outlets_in_one_poll_deliver_one_entry_with_also(run, outlets, box):
    outlets.subscribe(run, "deadline", "variety", "thr")
    recorder = box()
    run("alerts", "add", "sag-deal", "--guild", "sag-aftra", "--exec", recorder.command)
    for name, story in deal_reports().items():
        outlets.stories[name] = [story]
    assert poll(run).exit_code == 0
    (got,) = recorder.received()
    assert got["entry"]["source"] == "deadline"
    assert [(r["source"], r["link"]) for r in got["entry"]["also"]] == [
        ("variety", "https://variety.example/sag-deal"),
        ("thr", "https://thr.example/sag-deal"),
    ]


def test_a_backlog_and_stories_from_before_the_alert_do_not_fire(run, outlets, box, tmp_path):
    outlets.subscribe(run, "deadline")
    outlets.stories["deadline"] = [deal_reports()["deadline"]]
    assert poll(run).exit_code == 0  # stored before the alert exists
    recorder = box()
    run("alerts", "add", "any", "--exec", recorder.command)
    # Another outlet's report of that story arrives after the alert: still the old story.
    outlets.subscribe(run, "variety")
    outlets.stories["variety"] = [deal_reports()["variety"]]
    # A new feed's backlog: reports published days before they arrive.
    outlets.subscribe(run, "archive")
    outlets.stories["archive"] = [
        Story(
            "Writers Guild and studios reach tentative agreement",
            "https://old.example/wga",
            ago(days=3),
        ),
        Story(
            "Directors Guild reaches tentative deal with AMPTP",
            "https://old.example/dga",
            ago(hours=49),
        ),
    ]
    assert poll(run).exit_code == 0
    # An archive import of old coverage.
    archive = tmp_path / "old.jsonl"
    archive.write_text(
        json.dumps(
            {
                "title": "SAG-AFTRA members ratify contract",
                "link": "https://old.example/r",
                "published": ago(days=30),
            }
        )
        + "\n"
    )
    assert run("import", str(archive)).exit_code == 0
    assert run("import", "--sample", "--quiet").exit_code == 0
    assert recorder.attempts() == 0
    # A fresh report (47 hours old when it arrives) does act.
    outlets.stories["archive"].append(
        Story(
            "WGA calls for meeting with AMPTP to resume talks",
            "https://new.example/wga",
            ago(hours=47),
        )
    )
    assert poll(run).exit_code == 0
    assert [got["entry"]["title"] for got in recorder.received()] == [
        "WGA calls for meeting with AMPTP to resume talks"
    ]


def test_a_failing_command_is_retried_on_the_next_poll_then_done(run, run_json, outlets, box):
    outlets.subscribe(run, "deadline")
    recorder = box()
    recorder.fail(1)
    run("alerts", "add", "pager", "--event", "deal", "--exec", recorder.command)
    outlets.stories["deadline"] = [deal_reports()["deadline"]]
    first = poll(run, "--quiet")
    assert first.exit_code == 1
    (line,) = first.stderr.splitlines()
    assert line.startswith("error: alert pager: ") and "the pager service is down" in line
    assert "try 1 of 5" in line
    (listed,) = run_json("alerts", "list")
    assert listed["failing"] == 1 and "the pager service is down" in listed["last_failure"]

    second = poll(run, "--quiet")
    assert second.exit_code == 0, second.stderr
    assert second.stderr == ""
    assert recorder.attempts() == 2 and len(recorder.received()) == 1
    assert poll(run).exit_code == 0
    assert recorder.attempts() == 2
    (listed,) = run_json("alerts", "list")
    assert listed["failing"] == 0 and listed["delivered"] == 1


def test_given_up_after_five_tries_without_holding_up_another_alert(run, run_json, outlets, box):
    outlets.subscribe(run, "deadline")
    broken, working = box(), box()
    broken.fail(99)
    run("alerts", "add", "broken", "--exec", broken.command)
    run("alerts", "add", "working", "--exec", working.command)
    outlets.stories["deadline"] = [deal_reports()["deadline"]]
    for attempt in range(1, 6):
        result = poll(run, "--quiet")
        assert result.exit_code == 1
        (line,) = result.stderr.splitlines()
        assert line.startswith("error: alert broken:")
        assert ("gave up" in line) == (attempt == 5)
    assert broken.attempts() == 5
    assert working.attempts() == 1 and len(working.received()) == 1
    sixth = poll(run, "--quiet")
    assert sixth.exit_code == 0 and broken.attempts() == 5
    listed = {row["name"]: row for row in run_json("alerts", "list")}
    assert listed["broken"]["given_up"] == 1 and listed["broken"]["failing"] == 0
    assert "given-up after 5 tries" in listed["broken"]["last_failure"]
    assert "given up" in run("alerts", "list").stdout


def test_a_command_past_its_timeout_is_stopped_and_counted_failed(run, outlets, box, monkeypatch):
    from strikewatch import alerts

    monkeypatch.setattr(alerts, "EXEC_TIMEOUT", 1.0)
    outlets.subscribe(run, "deadline")
    slow = box()
    (slow.folder / "sleep").write_text("20")
    run("alerts", "add", "slow", "--exec", slow.command)
    outlets.stories["deadline"] = [deal_reports()["deadline"]]
    result = poll(run, "--quiet")
    assert result.exit_code == 1
    assert "did not finish within 1 s" in result.stderr
    assert slow.received() == []


def test_a_missing_command_fails_that_alert_only(run, outlets, box, tmp_path):
    outlets.subscribe(run, "deadline")
    recorder = box()
    missing = tmp_path / "no-such-program"
    missing.write_text("#!/bin/sh\nexit 0\n")
    missing.chmod(0o755)
    assert run("alerts", "add", "gone", "--exec", str(missing)).exit_code == 0
    missing.unlink()  # gone after the alert was added
    run("alerts", "add", "fine", "--exec", recorder.command)
    outlets.stories["deadline"] = [deal_reports()["deadline"]]
    result = poll(run, "--quiet")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: alert gone: cannot run {missing}")
    assert len(recorder.received()) == 1


def test_two_alerts_matching_one_story_both_act(run, outlets, box):
    outlets.subscribe(run, "deadline", "variety")
    first, second = box(), box()
    run("alerts", "add", "actors", "--guild", "sag-aftra", "--exec", first.command)
    run(
        "alerts", "add", "deals", "--event", "deal", "--source", "variety", "--exec", second.command
    )
    outlets.stories["deadline"] = [deal_reports()["deadline"]]
    outlets.stories["variety"] = [deal_reports()["variety"]]
    assert poll(run).exit_code == 0
    assert [got["entry"]["title"] for got in first.received()] == [DEAL]
    # Through --source, the story is shown through that source's report, as timeline does.
    (got,) = second.received()
    assert got["entry"]["source"] == "variety"


def test_an_import_acts_too(run, box, tmp_path):
    recorder = box()
    run("alerts", "add", "wga", "--guild", "wga", "--exec", recorder.command)
    archive = tmp_path / "today.jsonl"
    archive.write_text(
        json.dumps(
            {
                "title": "Writers Guild and studios reach tentative agreement",
                "link": "https://local.example/wga-deal",
                "published": ago(hours=2),
                "source": "newsletter",
            }
        )
        + "\n"
    )
    result = run("import", str(archive))
    assert result.exit_code == 0, result.output
    (got,) = recorder.received()
    assert got["entry"]["source"] == "newsletter"
    assert run("import", str(archive)).exit_code == 0
    assert recorder.attempts() == 1


def test_poll_json_and_nl_print_this_runs_new_stories(run, outlets):
    outlets.subscribe(run, "deadline", "variety", "thr")
    for name, story in deal_reports().items():
        outlets.stories[name] = [story]
    outlets.stories["thr"].append(
        Story("Celebrity chef opens restaurant", "https://thr.example/food", ago(minutes=5))
    )
    result = poll(run, "--json")
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)
    assert entry["title"] == DEAL and len(entry["also"]) == 2
    assert set(entry) >= ENTRY_KEYS | {"also"}

    outlets.stories["deadline"].append(
        Story(
            "WGA calls for meeting with AMPTP to resume talks",
            "https://deadline.example/wga",
            ago(minutes=1),
        )
    )
    outlets.stories["variety"].append(
        Story(
            "Variety: SAG-AFTRA deal details", "https://variety.example/sag-deal-2", ago(minutes=2)
        )
    )
    nl = poll(run, "--nl")
    assert nl.exit_code == 0
    titles = [json.loads(line)["title"] for line in nl.stdout.splitlines()]
    assert "WGA calls for meeting with AMPTP to resume talks" in titles and DEAL not in titles
    assert json.loads(poll(run, "--json").stdout) == []
    assert poll(run, "--nl").stdout == ""


def test_a_digest_over_three_runs(run, outlets, tmp_path):
    outlets.subscribe(run, "deadline", "variety")
    reports = deal_reports()
    outlets.stories["deadline"] = [reports["deadline"]]
    assert poll(run).exit_code == 0

    def digest(*args: str) -> list[str]:
        result = run("digest", "morning", *args, "--json")
        assert result.exit_code == 0, result.output
        return [entry["title"] for entry in json.loads(result.stdout)]

    # Run 1: the first digest shows the last 24 hours; then there is nothing new.
    assert digest("--peek") == [DEAL]
    assert digest() == [DEAL]
    quiet = run("digest", "morning")
    assert quiet.exit_code == 0 and quiet.stdout == "" and quiet.stderr == ""

    # Run 2: a new story, and another outlet's report of the old one (not a new story).
    wga = "WGA calls for meeting with AMPTP to resume talks"
    outlets.stories["deadline"].append(Story(wga, "https://deadline.example/wga", ago(minutes=10)))
    outlets.stories["variety"] = [reports["variety"]]
    assert poll(run).exit_code == 0
    assert digest("--peek") == [wga]
    assert digest("--peek") == [wga]  # --peek did not move the mark
    table = run("digest", "morning")  # plain text, as cron mails it
    assert table.stdout.splitlines()[0].split() == ["date", "source", "guilds", "events", "title"]
    assert wga in table.stdout and "\x1b" not in table.stdout
    assert digest() == []

    # Run 3: the filters choose among what arrived; a backlog report is not news.
    dga = "Directors Guild reaches tentative deal with AMPTP"
    outlets.stories["variety"] += [
        Story(dga, "https://variety.example/dga", ago(minutes=3)),
        Story(
            "Writers Guild and studios reach tentative agreement",
            "https://variety.example/old",
            ago(days=4),
        ),
    ]
    assert poll(run).exit_code == 0
    assert digest("--guild", "wga", "--peek") == []
    assert digest("--guild", "dga", "--peek") == [dga]
    assert digest("--peek") == [dga]
    assert digest() == [dga]
    assert digest() == []
    # Each name has its own mark.
    assert digest_first_run_titles(run) == [DEAL, wga, dga]


def digest_first_run_titles(run) -> list[str]:
    result = run("digest", "evening", "--json")
    return [entry["title"] for entry in json.loads(result.stdout)]


# -- managing alerts ----------------------------------------------------------------------


def test_alerts_add_list_remove_and_usage_errors(run, run_json, box, tmp_path, monkeypatch):
    recorder = box()
    added = run(
        "alerts", "add", "wga", "-g", "writers", "-e", "strike-started", "--exec", recorder.command
    )
    assert added.exit_code == 0 and "Added alert wga" in added.stdout
    again = run("alerts", "add", "wga", "--exec", recorder.command)
    assert again.exit_code == 2 and "already an alert named 'wga'" in again.stderr
    assert run("alerts", "add", "x").exit_code == 2
    assert run("alerts", "add", "x", "--exec", "a", "--notify", "json://h").exit_code == 2
    assert run("alerts", "add", "x", "--exec", "'unbalanced").exit_code == 2
    assert run("alerts", "add", "x", "--guild", "equity", "--exec", "true").exit_code == 2
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "my-pager").write_text("#!/bin/sh\nexit 0\n")
    (tools / "my-pager").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ.get('PATH', '')}")
    relative = run("alerts", "add", "cronless", "--exec", "my-pager --flag")
    assert (
        relative.exit_code == 0
        and f"warning: my-pager is not in /usr/bin:/bin, cron's PATH; give its full path,"
        f" {tools / 'my-pager'}"
        in relative.stderr
    )
    (row, _) = run_json("alerts", "list")
    assert row["guilds"] == ["wga"] and row["events"] == ["strike-started"]
    assert row["action"] == "exec" and row["target"] == recorder.command
    assert row["last_delivery"] is None and row["created"]
    assert run("alerts", "remove", "cronless").exit_code == 0
    assert [row["name"] for row in run_json("alerts", "list")] == ["wga"]
    missing = run("alerts", "remove", "cronless")
    assert missing.exit_code == 2 and "no alert named 'cronless'" in missing.stderr


def test_alerts_test_delivers_the_latest_matching_story_and_records_nothing(run, run_json, box):
    recorder = box()
    run("alerts", "add", "wga", "--guild", "wga", "--event", "deal", "--exec", recorder.command)
    none_yet = run("alerts", "test", "wga")
    assert none_yet.exit_code == 2 and "no stored story matches" in none_yet.stderr
    assert run("import", "--sample", "--quiet").exit_code == 0
    assert recorder.attempts() == 0  # the archive is old news
    result = run("alerts", "test", "wga")
    assert result.exit_code == 0, result.output
    (got,) = recorder.received()
    latest = run_json("timeline", "--guild", "wga", "--event", "deal", "--limit", "1")
    assert got["entry"] == latest[0]
    (row,) = run_json("alerts", "list")
    assert row["delivered"] == 0 and row["last_delivery"] is None
    recorder.fail(1)
    failed = run("alerts", "test", "wga")
    assert failed.exit_code == 1 and failed.stderr.startswith("error: alert wga: ")
    assert run_json("alerts", "list")[0]["failing"] == 0
    assert run("alerts", "test", "nope").exit_code == 2


# -- Apprise ------------------------------------------------------------------------------


def test_notify_posts_to_an_apprise_json_receiver(run, run_json, outlets):
    pytest.importorskip("apprise")
    outlets.subscribe(run, "deadline", "variety")
    hook = "json://" + outlets.server.url_for("/hook").split("://", 1)[1]
    added = run("alerts", "add", "phone", "--guild", "sag-aftra", "--notify", hook)
    assert added.exit_code == 0, added.output
    outlets.stories["deadline"] = [deal_reports()["deadline"]]
    outlets.stories["variety"] = [deal_reports()["variety"]]
    result = poll(run)
    assert result.exit_code == 0, result.output
    (posted,) = outlets.hooks
    assert posted["title"] == "SAG-AFTRA · deal"
    assert posted["message"].splitlines() == [
        f"{DEAL} (deadline)",
        "https://deadline.example/sag-deal",
        "Also: variety",
    ]
    assert poll(run).exit_code == 0 and len(outlets.hooks) == 1


def test_a_refusing_service_is_a_failed_delivery_retried_next_run(run, run_json, outlets):
    pytest.importorskip("apprise")
    outlets.subscribe(run, "deadline")
    hook = "json://" + outlets.server.url_for("/hook").split("://", 1)[1]
    run("alerts", "add", "phone", "--notify", hook)
    outlets.hook_status = 500
    outlets.stories["deadline"] = [deal_reports()["deadline"]]
    result = poll(run, "--quiet")
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: alert phone: the service refused the notification")
    outlets.hook_status = 200
    assert poll(run, "--quiet").exit_code == 0
    assert len(outlets.hooks) == 2


def test_an_apprise_url_is_checked_when_the_alert_is_added(run):
    pytest.importorskip("apprise")
    result = run("alerts", "add", "phone", "--notify", "nosuchscheme://x")
    assert result.exit_code == 2 and "not an Apprise URL" in result.stderr


def test_without_apprise_one_line_says_how_to_install_it(run, outlets, monkeypatch):
    monkeypatch.setitem(sys.modules, "apprise", None)  # import apprise raises ImportError
    refused = run("alerts", "add", "phone", "--notify", "json://localhost/x")
    assert refused.exit_code == 1
    assert refused.stderr.strip().endswith("pip install 'strikewatch[notify]'")
    assert len(refused.stderr.strip().splitlines()) == 1


# -- killed runs (the real program, as cron runs it) ------------------------------------


def strikewatch(db: Path, *args: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "STRIKEWATCH_DB"}
    environment["NO_COLOR"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "strikewatch", "--db", str(db), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_a_kill_before_recording_delivers_again_and_after_recording_never(tmp_path, outlets, box):
    db = tmp_path / "cron.db"
    recorded, killer = box(), box()
    assert (
        strikewatch(
            db, "feeds", "add", outlets.url("deadline"), "--name", "deadline", "--no-check"
        ).returncode
        == 0
    )
    assert strikewatch(db, "alerts", "add", "recorded", "--exec", recorded.command).returncode == 0
    assert strikewatch(db, "alerts", "add", "killer", "--exec", killer.command).returncode == 0
    (killer.folder / "kill-parent").write_text("")
    outlets.stories["deadline"] = [deal_reports()["deadline"]]

    # "recorded" delivers and is recorded; then the "killer" command kills strikewatch
    # (SIGKILL: no clean-up) after it received the story, before strikewatch could record it.
    killed = strikewatch(db, "poll", "--quiet")
    assert killed.returncode == -signal.SIGKILL
    assert len(recorded.received()) == 1 and len(killer.received()) == 1

    again = strikewatch(db, "poll", "--quiet")
    assert again.returncode == 0, again.stderr
    assert len(recorded.received()) == 1  # recorded before the kill: never again
    assert len(killer.received()) == 2  # killed before recording: delivered again (README)
    assert strikewatch(db, "poll", "--quiet").returncode == 0
    assert len(recorded.received()) == 1 and len(killer.received()) == 2
