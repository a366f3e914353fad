"""The labeled set as a quality gate: precision and recall per event and per party.

The floors are the project's targets: every event precision >= 0.95 and recall >= 0.90, every
party precision and recall >= 0.95. `python -m strikewatch.evaluate` prints the full table and
every misclassified line (`--explain` says which rule did what). The set is for development:
a rule must be general wording of the trade press, never one labeled headline's exact words.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from strikewatch.classify import EVENTS, GUILDS, load_classifier
from strikewatch.evaluate import evaluate, read_records

LABELED = Path(__file__).parent / "data" / "labeled" / "headlines.jsonl"

EVENT_PRECISION_FLOOR = 0.95
EVENT_RECALL_FLOOR = 0.90
PARTY_PRECISION_FLOOR = 0.95
PARTY_RECALL_FLOOR = 0.95


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    if not LABELED.exists():
        pytest.skip("labeled set not present")
    records = read_records(LABELED)
    assert len(records) >= 200
    return evaluate(load_classifier(), records)


@pytest.mark.parametrize("event", EVENTS)
def test_event_floor(report, event: str) -> None:  # type: ignore[no-untyped-def]
    score = report.events[event]
    assert score.support > 0
    assert score.precision >= EVENT_PRECISION_FLOOR, score.to_dict()
    assert score.recall >= EVENT_RECALL_FLOOR, score.to_dict()


@pytest.mark.parametrize("guild", GUILDS)
def test_party_floor(report, guild: str) -> None:  # type: ignore[no-untyped-def]
    score = report.guilds[guild]
    assert score.support > 0
    assert score.precision >= PARTY_PRECISION_FLOOR, score.to_dict()
    assert score.recall >= PARTY_RECALL_FLOOR, score.to_dict()


def test_report_table_lists_every_label(report) -> None:  # type: ignore[no-untyped-def]
    table = report.table()
    for label in (*EVENTS, *GUILDS):
        assert label in table
