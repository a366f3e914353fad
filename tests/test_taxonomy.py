"""One table of guilds and one of events: a user's rules file adds a party and an event, and
they work everywhere (classify, the filters, timeline, status, Atom, alerts, usage errors)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from strikewatch import taxonomy
from strikewatch.alerts import message

USER_RULES = """\
[parties.afm]
name = "AFM"
label = "AFM (musicians)"
aliases = ["american federation of musicians", "musicians union", "musicians' union"]
acronyms = ["AFM"]

[events.lockout]
name = "lockout"
letter = "L"
colour = "bold red"
patterns = ["locks|lock|locked|locking out", "lockout|lockouts"]
examples = ["Studios lock out AFM musicians"]
"""

# Our own wording, in the shape of a trade-press archive.
ARCHIVE = [
    {
        "title": "Studios lock out AFM musicians as scoring talks collapse",
        "link": "https://example.test/news/afm-lockout",
        "published": "2024-03-04T09:30:00-08:00",
        "summary": "Session players were turned away from two scoring stages on Monday.",
        "source": "trade-a",
    },
    {
        "title": "Musicians union says studios locked out its members for a second week",
        "link": "https://example.test/news/afm-lockout-week-two",
        "published": "2024-03-11T10:00:00-08:00",
        "summary": "The union asked members not to accept work on the scores.",
        "source": "trade-b",
    },
    {
        "title": "American Federation of Musicians ratifies new film scoring contract",
        "link": "https://example.test/news/afm-ratified",
        "published": "2024-03-20T16:00:00-08:00",
        "summary": "Members approved the three-year agreement by a wide margin.",
        "source": "trade-a",
    },
    {
        "title": "WGA reaches tentative deal with studios",
        "link": "https://example.test/news/wga-deal",
        "published": "2024-03-12T18:00:00-08:00",
        "summary": "The writers' negotiating committee will send the terms to members.",
        "source": "trade-b",
    },
]


@pytest.fixture
def user_rules(isolated_config: Path) -> Path:
    """The user's own rules.toml (in tmp_path), adding the AFM and lockouts."""
    isolated_config.mkdir(parents=True, exist_ok=True)
    path = isolated_config / "rules.toml"
    path.write_text(USER_RULES, encoding="utf-8")
    return path


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    path = tmp_path / "archive.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in ARCHIVE), encoding="utf-8")
    return path


def test_a_user_rules_file_adds_a_party_and_an_event_everywhere(user_rules, archive, run, run_json):
    result = run("classify", "Studios lock out AFM musicians as scoring talks collapse")
    assert result.exit_code == 0, result.output
    assert "guilds: afm, amptp" in result.output
    assert "events: lockout" in result.output
    # "musicians union" was an organisation we do not track; now it is the AFM's name.
    result = run("classify", "Musicians union says studios locked out its members")
    assert "guilds: afm, amptp" in result.output and "events: lockout" in result.output

    assert run("import", str(archive)).exit_code == 0
    # Aliases typed after --guild/--event are the rules' names too.
    for guild in ("afm", "AFM", "musicians union"):
        rows = run_json("timeline", "--guild", guild, "--event", "lockout")
        assert [row["link"] for row in rows] == [
            "https://example.test/news/afm-lockout",
            "https://example.test/news/afm-lockout-week-two",
        ]
        assert all("lockout" in row["events"] for row in rows)

    statuses = run_json("status", "--as-of", "2024-03-25")
    assert [entry["guild"] for entry in statuses] == [*taxonomy.GUILDS, "afm"]
    afm = next(entry for entry in statuses if entry["guild"] == "afm")
    assert afm["on_strike"] is False
    assert afm["last_event"] == "ratified"
    assert [week["events"] for week in afm["weekly"] if week["events"]] == [
        ["lockout", "talks-stalled"],
        ["lockout"],
        ["ratified"],
    ]
    text = run("status", "--as-of", "2024-03-25").output
    assert "03-11 L lockout" in text  # the chart's letter for the new event
    assert "L lockout" in text.splitlines()[-1]  # and the legend's

    atom = run("export", "--atom").output
    assert 'term="afm" scheme="https://strikewatch.invalid/guilds" label="AFM"' in atom
    assert 'term="lockout" scheme="https://strikewatch.invalid/events" label="lockout"' in atom

    result = run("timeline", "--guild", "equity")
    assert result.exit_code == 2
    assert "choose from: wga, sag-aftra, amptp, dga, iatse, teamsters, afm" in result.output
    result = run("timeline", "--event", "party")
    assert result.exit_code == 2
    assert "strike-started, strike-ended, lockout" in result.output
    assert "teamsters, afm." in " ".join(run("timeline", "--help").output.split())

    assert run("rules", "check").exit_code == 0  # the new event's example holds


def test_alert_titles_use_the_added_names(user_rules, run) -> None:
    assert run("classify", "AFM strikes").exit_code == 0  # registers the user's additions
    title, _ = message(
        {
            "guilds": ["amptp", "afm"],
            "events": ["lockout"],
            "title": "Studios lock out AFM musicians",
            "source": "trade-a",
            "link": "https://example.test/news/afm-lockout",
        }
    )
    assert title == "AFM · lockout"


def test_additions_last_only_while_their_rules_file_is_in_use(user_rules, run) -> None:
    assert run("timeline", "--guild", "afm").exit_code == 0
    user_rules.unlink()
    result = run("timeline", "--guild", "afm")
    assert result.exit_code == 2
    assert "unknown guild 'afm'" in result.output


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('[parties.afm]\naliases = ["afm"]\n', "party 'afm': unknown party"),
        ('[events.lockout]\npatterns = ["lockout"]\n', "event 'lockout': unknown event"),
        ('[events.lockout]\nname = "lockout"\nletter = "LO"\n', "letter must be one character"),
        ('[parties.afm]\nname = "AFM"\ncan_strike = "yes"\n', "can_strike must be true or false"),
        ('[parties.wga]\nlabel = "Writers"\n', "party 'wga': unknown key 'label'"),
    ],
)
def test_an_addition_without_a_name_is_a_misspelt_id(tmp_path, run, body, needle) -> None:
    rules = tmp_path / "mine.toml"
    rules.write_text(body, encoding="utf-8")
    result = run("--rules", str(rules), "classify", "AFM strikes")
    assert result.exit_code == 1, result.output  # as every mistake in a rules file
    assert needle in result.output


def test_strikewatch_rules_adds_them_in_a_fresh_process(tmp_path, archive, db_path) -> None:
    """$STRIKEWATCH_RULES, read by a new process before it parses --guild/--event."""
    rules = tmp_path / "labor.toml"
    rules.write_text(USER_RULES, encoding="utf-8")
    env = {**os.environ, "STRIKEWATCH_RULES": str(rules), "STRIKEWATCH_DB": str(db_path)}
    command = [sys.executable, "-m", "strikewatch"]
    done = subprocess.run(
        [*command, "import", str(archive)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [*command, "timeline", "-g", "AFM", "-e", "lockout", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 2
    del env["STRIKEWATCH_RULES"]
    done = subprocess.run(
        [*command, "timeline", "-g", "afm"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].endswith("iatse, teamsters")
