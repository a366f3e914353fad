"""Work a killed run left undone is finished by the next (issue 14, point 13), and the poll
history stays bounded (point 15)."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from strikewatch.dates import to_utc_iso, utcnow
from strikewatch.store import POLL_LOG_DAYS, POLL_LOG_KEEP, Store
from tests.season import SEASON


def stories(db_path: Path) -> tuple[int, int]:
    """(reports waiting for a story, reports that joined another report's story)."""
    with sqlite3.connect(db_path) as conn:
        return conn.execute(
            "SELECT count(*) FILTER (WHERE story_id IS NULL),"
            " count(*) FILTER (WHERE story_id != id) FROM items"
        ).fetchone()


@pytest.fixture
def killed_before_grouping(monkeypatch):
    """The next command dies (as if killed) when it comes to group the stories."""

    def killed(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(Store, "assign_stories", killed)
    return monkeypatch.undo


def test_unchanged_poll_groups_what_a_killed_poll_left(
    three_feeds,
    run,
    db_path,
    killed_before_grouping,
):
    assert run("poll", "--quiet").exit_code == 130
    pending, _ = stories(db_path)
    assert pending > 0
    killed_before_grouping()
    result = run("poll")
    assert result.exit_code == 0, result.output
    assert "0 new items" in result.output and "3 unchanged (304)" in result.output
    assert stories(db_path)[0] == 0


def test_rerun_of_reclassify_groups_what_a_killed_import_left(run, db_path, killed_before_grouping):
    assert run("import", "--quiet", str(SEASON)).exit_code == 130
    killed_before_grouping()
    assert stories(db_path)[0] > 0
    result = run("reclassify")
    assert result.exit_code == 0, result.output
    assert ": 0 changed tags" in result.output
    pending, joined = stories(db_path)
    assert pending == 0 and joined > 0


def test_poll_log_keeps_ninety_days_or_the_last_hundred_polls(three_feeds, run, db_path):
    assert run("poll", "--quiet").exit_code == 0
    now = utcnow()
    with sqlite3.connect(db_path) as conn:
        feeds = dict(conn.execute("SELECT name, id FROM feeds"))
        rows = []
        # deadline: a long history, polled every six hours for a year
        rows += [(feeds["deadline"], now - timedelta(hours=6 * k - 3)) for k in range(1, 1461)]
        # variety: polled rarely, 150 polls long ago, all of which are its last 100 or more
        rows += [(feeds["variety"], now - timedelta(days=200 + day)) for day in range(150)]
        conn.executemany(
            "INSERT INTO poll_log (feed_id, started_at, outcome) VALUES (?, ?, 'ok')",
            [(feed, to_utc_iso(when)) for feed, when in rows],
        )
    assert run("poll", "--quiet").exit_code == 0
    with sqlite3.connect(db_path) as conn:
        counts = dict(
            conn.execute(
                "SELECT feeds.name, count(*) FROM poll_log JOIN feeds ON feeds.id = feed_id"
                " GROUP BY feeds.name"
            )
        )
        oldest = dict(
            conn.execute(
                "SELECT feeds.name, min(started_at) FROM poll_log JOIN feeds ON feeds.id = feed_id"
                " GROUP BY feeds.name"
            )
        )
    # deadline: its 90 days (four polls a day) are more than its last 100 polls
    assert counts["deadline"] == 2 + 4 * POLL_LOG_DAYS
    assert oldest["deadline"] >= to_utc_iso(now - timedelta(days=POLL_LOG_DAYS))
    assert counts["variety"] == POLL_LOG_KEEP
    assert counts["guild"] == 2
