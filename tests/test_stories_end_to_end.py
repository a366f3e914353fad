"""Stories and status with the real rules, on the bundled sample archive (three trade outlets
and the unions' own news pages) and on tests/data/season-2023.jsonl."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from strikewatch.cli import cli
from tests.season import SEASON


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """One database with the sample imported, shared by this module's read-only tests."""
    db = tmp_path_factory.mktemp("sample") / "sample.db"

    def run(*args: str):
        return CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)

    result = run("import", "--sample", "--quiet")
    assert result.exit_code == 0, result.output
    return run


def entries(run, *args: str) -> list[dict]:
    result = run("timeline", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_sample_deals_are_the_three_tentative_agreements_once_each(sample):
    deals = entries(sample, "--event", "deal")
    assert [(entry["published"][:10], entry["guilds"]) for entry in deals] == [
        ("2023-06-04", ["amptp", "dga"]),
        ("2023-09-25", ["amptp", "wga"]),
        ("2023-11-09", ["amptp", "sag-aftra"]),
    ]
    assert [len(entry["also"]) for entry in deals] == [2, 2, 2]
    wga = deals[1]
    assert wga["source"] == "wga-news"  # the guild announced it first
    assert {other["source"] for other in wga["also"]} == {"deadline", "thr"}


@pytest.mark.parametrize(
    ("event", "guild", "day", "others"),
    [
        ("strike-started", "wga", "2023-05-02", 2),
        ("strike-started", "sag-aftra", "2023-07-14", 2),
        ("ratified", "wga", "2023-10-10", 2),
        ("ratified", "sag-aftra", "2023-12-06", 2),
        ("ratified", "dga", "2023-06-23", 1),
        ("strike-authorized", "wga", "2023-04-18", 2),
    ],
)
def test_sample_milestones_appear_once_with_the_other_outlets(sample, event, guild, day, others):
    found = [
        entry
        for entry in entries(sample, "--event", event, "--guild", guild)
        if entry["published"].startswith(day)
    ]
    assert len(found) == 1, [entry["title"] for entry in found]
    assert len(found[0]["also"]) == others


def test_sample_collapses_but_no_collapse_keeps_everything(sample):
    collapsed = entries(sample)
    every = entries(sample, "--no-collapse")
    assert len(collapsed) < len(every)
    assert sum(1 + len(entry["also"]) for entry in collapsed) == len(every)


@pytest.mark.parametrize(
    ("guild", "as_of", "day"),
    [
        ("wga", "2023-05-01", None),
        ("wga", "2023-05-02", 1),
        ("wga", "2023-08-04", 95),
        ("wga", "2023-09-26", 148),
        ("wga", "2023-09-27", None),
        ("sag-aftra", "2023-07-13", None),
        ("sag-aftra", "2023-07-14", 1),
        ("sag-aftra", "2023-11-08", 118),
        ("sag-aftra", "2023-11-09", None),
    ],
)
def test_sample_status_days(sample, guild, as_of, day):
    result = sample("status", "--as-of", as_of, "--guild", guild, "--json")
    [status] = json.loads(result.stdout)
    assert status["strike_day"] == day
    assert status["on_strike"] is (day is not None)


def test_season_archive_with_the_real_rules(run):
    assert run("import", str(SEASON), "--quiet").exit_code == 0
    deal = [e for e in entries(run, "--event", "deal", "--guild", "wga")]
    assert [(e["source"], len(e["also"])) for e in deal] == [("backlot", 2)]
    starts = entries(run, "--event", "strike-started")
    assert [(e["published"][:10], len(e["also"])) for e in starts] == [
        ("2023-05-02", 2),
        ("2023-07-13", 2),
    ]
    wga_ratified = entries(run, "--event", "ratified", "--guild", "wga")
    assert [len(e["also"]) for e in wga_ratified] == [2]
    status = json.loads(run("status", "--as-of", "2023-11-08", "--json").stdout)
    by_guild = {entry["guild"]: entry for entry in status}
    assert by_guild["sag-aftra"]["strike_day"] == 118
    assert by_guild["sag-aftra"]["pending"]["on"] == "2023-11-09"
    assert by_guild["wga"]["on_strike"] is False
