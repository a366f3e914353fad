"""Which entries are one item (issue 14, points 1, 3 and 12): the guid within a feed, the
canonical link across feeds, and a search index that never falls out of step."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from strikewatch.store import Store
from tests.feeds import Story, rss
from tests.season import write_old_database

DAY = "2023-07-14T1{}:00:00+00:00"


def rows(db_path: Path) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT source, title, link FROM items ORDER BY id").fetchall()


def write(path: Path, body: bytes | str) -> Path:
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    return path


def archive(path: Path, *records: dict) -> Path:
    return write(path, "".join(json.dumps(record) + "\n" for record in records))


def test_entries_with_their_own_guids_sharing_one_link_are_separate_items(tmp_path, run):
    show = "https://pod.example/show"
    episodes = [
        Story("Episode 41: the picket lines", show, DAY.format(1), guid="pod-41"),
        Story("Episode 42: what the deal means", show, DAY.format(2), guid="pod-42"),
        Story("Sponsor: a word from our partners", show, DAY.format(3), guid="pod-ad-7"),
    ]
    feed = write(tmp_path / "pod.xml", rss(episodes))
    for _ in range(2):
        result = run("import", str(feed))
        assert result.exit_code == 0, result.output
    assert [title for _, title, _ in rows(tmp_path / "strikewatch.db")] == [
        story.title for story in episodes
    ]
    assert "0 new, 0 updated, 3 already stored" in result.output


def test_same_link_twice_in_one_batch_is_one_item_with_the_later_text(tmp_path, run, run_json):
    """It used to abort the whole import: "the file is not a strikewatch database, or it is
    damaged" (the index trigger deleted a row that was only to be indexed at the batch's end)."""
    link = "https://guild.example/news"
    path = archive(
        tmp_path / "guild.jsonl",
        {"title": "WGA statement on talks", "link": link, "summary": "first draft"},
        {"title": "WGA statement on talks", "link": link, "summary": "corrected wording"},
    )
    result = run("import", str(path))
    assert result.exit_code == 0, result.output
    assert "damaged" not in result.output
    [entry] = run_json("search", "wording")
    assert entry["summary"] == "corrected wording"
    assert run_json("search", "draft") == []


def test_same_guid_twice_in_one_archive_is_one_item_the_later_text_winning(tmp_path, run, run_json):
    path = archive(
        tmp_path / "cms.jsonl",
        {"title": "WGA sets vote", "link": "https://cms.example/a", "guid": "p1", "source": "cms"},
        {
            "title": "WGA sets vote for Friday",
            "link": "https://cms.example/a",
            "guid": "p1",
            "source": "cms",
        },
    )
    assert run("import", str(path)).exit_code == 0
    assert [title for _, title, _ in rows(tmp_path / "strikewatch.db")] == [
        "WGA sets vote for Friday"
    ]
    [entry] = run_json("search", "friday")
    assert entry["title"] == "WGA sets vote for Friday"


def test_a_guid_reused_for_another_story_keeps_the_first(tmp_path, run):
    first = {"title": "WGA strike begins", "link": "https://cms.example/1", "guid": "post"}
    second = {
        "title": "SAG-AFTRA ratifies contract",
        "link": "https://cms.example/2",
        "guid": "post",
    }
    assert run("import", str(archive(tmp_path / "a.jsonl", first))).exit_code == 0
    assert (
        run("import", str(archive(tmp_path / "b.jsonl", {**second, "source": "a"}))).exit_code == 0
    )
    titles = [title for _, title, _ in rows(tmp_path / "strikewatch.db")]
    assert titles == ["WGA strike begins", "SAG-AFTRA ratifies contract"]
    # An edit under the same guid (same link, reworded headline) is still an edit.
    edited = {**first, "title": "WGA strike begins at midnight", "source": "a"}
    result = run("import", str(archive(tmp_path / "c.jsonl", edited)))
    assert "0 new, 1 updated" in result.output
    titles = [title for _, title, _ in rows(tmp_path / "strikewatch.db")]
    assert titles == ["WGA strike begins at midnight", "SAG-AFTRA ratifies contract"]


def test_one_story_through_two_feeds_is_one_item_but_a_shared_show_page_is_not(tmp_path, run):
    story = "https://news.example/wga-deal"
    show = "https://pod.example/show"
    first = write(
        tmp_path / "trade.xml",
        rss([Story("WGA reaches deal", story, DAY.format(1), guid="t-1")]),
    )
    podcast = write(
        tmp_path / "pod.xml",
        rss(
            [
                Story("Episode 1: the deal", show, DAY.format(2), guid="e1"),
                Story("Episode 2: the vote", show, DAY.format(3), guid="e2"),
            ]
        ),
    )
    mirror = write(
        tmp_path / "wire.xml",
        rss(
            [
                Story("Writers reach a deal", story + "?utm_source=rss", DAY.format(4), guid="w1"),
                Story("Listen: strike podcast", show, DAY.format(5), guid="w2"),
            ]
        ),
    )
    for path in (first, podcast, mirror):
        assert run("import", str(path)).exit_code == 0
    assert rows(tmp_path / "strikewatch.db") == [
        ("trade", "WGA reaches deal", story),
        ("pod", "Episode 1: the deal", show),
        ("pod", "Episode 2: the vote", show),
        ("wire", "Listen: strike podcast", show),
    ]


def test_rows_written_by_another_tool_are_searchable_at_once(db_path, run, run_json):
    Store.open(db_path).close()
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "INSERT INTO items (title, link, summary, published, first_seen, source,"
            " content_hash) VALUES ('Teamsters picket studio lot', 'https://x.example/1',"
            " 'drivers walk out', '2023-07-14T10:00:00+00:00', '2023-07-14T10:00:00+00:00',"
            " 'manual', 'h')"
        )
    assert [entry["title"] for entry in run_json("search", "picket")] == [
        "Teamsters picket studio lot"
    ]
    with conn:
        conn.execute("UPDATE items SET title = 'Teamsters rally at studio lot'")
    assert run_json("search", "picket") == []
    assert len(run_json("search", "rally")) == 1
    with conn:
        conn.execute("DELETE FROM items")
    assert run_json("search", "rally") == []
    conn.close()


def test_datasette_sees_the_same_index_as_strikewatch(db_path, run):
    """Datasette's search box queries items_fts directly, without strikewatch catching up."""
    Store.open(db_path).close()
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO items (title, summary, published, first_seen, source, content_hash)"
            " VALUES ('DGA opens talks', '', '2023-07-14', '2023-07-14', 'manual', 'h')"
        )
        found = conn.execute(
            "SELECT items.title FROM items_fts JOIN items ON items.id = items_fts.rowid"
            " WHERE items_fts MATCH 'talks'"
        ).fetchall()
        assert found == [("DGA opens talks",)]
        assert (
            conn.execute(
                "INSERT INTO items_fts (items_fts, rank) VALUES ('integrity-check', 1)"
            ).fetchall()
            == []
        )


def test_an_older_database_out_of_step_is_rebuilt_once(tmp_path):
    """A schema-4 database whose rows another tool appended (never indexed) is searchable
    after the upgrade, and the index passes FTS5's integrity check."""
    path = write_old_database(tmp_path / "old.db", stop_before="m005_identity_and_search_triggers")
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO items_fts (items_fts) VALUES ('rebuild')")
        conn.execute(
            "INSERT INTO items (title, summary, published, first_seen, source, content_hash)"
            " VALUES ('IATSE locals back the plan', '', '2023-07-14', '2023-07-14', 'manual', 'h')"
        )
    result = subprocess.run(
        [sys.executable, "-m", "strikewatch", "--db", str(path), "search", "locals", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert [entry["title"] for entry in json.loads(result.stdout)] == ["IATSE locals back the plan"]
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO items_fts (items_fts, rank) VALUES ('integrity-check', 1)")


def test_rows_inserted_with_sqlite_utils_are_searchable(db_path, run_json):
    from sqlite_utils import Database

    Store.open(db_path).close()
    db = Database(db_path)
    db["items"].insert(
        {
            "title": "Animation Guild members rally",
            "summary": "",
            "published": "2023-07-14T10:00:00+00:00",
            "first_seen": "2023-07-14T10:00:00+00:00",
            "source": "manual",
            "content_hash": "h",
        }
    )
    db.close()
    assert [entry["title"] for entry in run_json("search", "animation")] == [
        "Animation Guild members rally"
    ]
