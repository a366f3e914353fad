"""Stories: several outlets' reports of one event are one timeline entry, whatever order they
arrive in, and distinct events stay distinct."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime

import pytest

from strikewatch.filters import TimelineFilter
from strikewatch.parse import Item, archive_record_to_item
from strikewatch.pipeline import reclassify
from strikewatch.store import Store
from strikewatch.stories import ALSO_SQL, headline_words, lead_event, parties_of, word_similarity
from strikewatch.subscriptions import add_feed
from tests.season import (
    SEASON,
    ArchiveClassifier,
    save,
    season_items,
    season_records,
    write_old_database,
)


def entry_summary(entry: dict) -> tuple[str, str, str, list[str]]:
    return (
        entry["published"][:10],
        entry["source"],
        ",".join(entry["events"]),
        [other["source"] for other in entry["also"]],
    )


def groupings(store: Store) -> set[frozenset[str]]:
    """Each story as the set of its reports' links."""
    stories: dict[int, set[str]] = {}
    for story_id, link in store.conn.execute("SELECT story_id, link FROM items"):
        stories.setdefault(story_id, set()).add(link)
    return {frozenset(links) for links in stories.values()}


@pytest.mark.parametrize("batch", [500, 4, 1])
def test_season_reads_as_one_entry_per_story(season_store, monkeypatch, batch):
    # Listings are read a batch at a time; where the batches split must not show.
    monkeypatch.setattr("strikewatch.store.LISTING_BATCH", batch)
    entries = list(season_store.iter_timeline(TimelineFilter()))
    assert [entry_summary(entry) for entry in entries] == [
        ("2023-04-17", "backlot", "strike-authorized", ["marquee", "reel"]),
        ("2023-05-02", "marquee", "talks-stalled", []),
        ("2023-05-02", "backlot", "strike-started", ["marquee", "reel"]),
        ("2023-05-02", "reel", "", []),
        ("2023-06-04", "reel", "", []),  # a WGA picket the evening of the DGA deal...
        ("2023-06-04", "backlot", "deal", ["marquee"]),  # ...and the DGA deal: two entries
        ("2023-06-05", "backlot", "strike-authorized", ["reel"]),
        ("2023-06-23", "marquee", "ratified", ["reel"]),
        ("2023-07-13", "backlot", "strike-started", ["marquee", "reel"]),
        ("2023-08-04", "reel", "talks-resumed", ["backlot"]),
        ("2023-08-12", "marquee", "offer", []),
        ("2023-09-25", "backlot", "deal", ["reel", "marquee"]),
        ("2023-09-26", "backlot", "strike-ended", ["marquee", "reel"]),
        ("2023-10-10", "backlot", "ratified", ["marquee", "reel"]),
        ("2023-10-12", "marquee", "talks-stalled", ["reel"]),
        ("2023-11-07", "backlot", "", []),
        ("2023-11-08", "backlot", "deal,strike-ended", ["marquee"]),  # the deal...
        ("2023-11-09", "reel", "strike-ended", ["marquee"]),  # ...and the strike's end next day
        ("2023-12-06", "backlot", "ratified", ["reel"]),
    ]
    wga_deal = entries[11]
    assert wga_deal["title"] == "WGA reaches tentative agreement with studios after 146 days"
    assert wga_deal["also"][0] == {
        "source": "reel",
        "link": "https://reel.example/2023/writers-and-amptp-strike-a-tentative-deal",
        "title": "Writers and AMPTP strike a tentative deal",
        "published": "2023-09-25T03:30:00+00:00",
    }
    assert all(entry["story"] == entry["id"] for entry in entries)


def test_an_item_retagged_while_a_listing_streams_is_left_out(season_store, monkeypatch):
    """Each batch is read through the filters again: a report that lost its guild after the
    listing began is not printed under that guild."""
    monkeypatch.setattr("strikewatch.store.LISTING_BATCH", 2)
    wga = TimelineFilter(guilds=["wga"])
    everything = [entry["id"] for entry in season_store.timeline(wga)]
    listing = season_store.iter_timeline(wga)
    first = next(listing)
    retagged = everything[-1]
    season_store.conn.execute("DELETE FROM tags WHERE item_id = ? AND tag = 'wga'", (retagged,))
    season_store.conn.execute("UPDATE items SET guilds = '[]' WHERE id = ?", (retagged,))
    rest = list(listing)
    assert [first["id"], *(entry["id"] for entry in rest)] == everything[:-1]
    assert all("wga" in entry["guilds"] for entry in rest)


def test_event_filter_shows_only_the_tentative_agreements(season_store):
    deals = season_store.timeline(TimelineFilter(events=["deal"]))
    assert [entry["title"] for entry in deals] == [
        "Directors Guild reaches tentative agreement with AMPTP",
        "WGA reaches tentative agreement with studios after 146 days",
        "SAG-AFTRA reaches tentative deal; strike to end at 12:01 a.m. Thursday",
    ]


def test_no_collapse_shows_every_tracked_item(season_store, monkeypatch):
    monkeypatch.setattr("strikewatch.store.LISTING_BATCH", 7)
    entries = season_store.timeline(TimelineFilter(collapse=False))
    assert len(entries) == 39  # every item but the acquisition, which names no guild
    assert all(entry["also"] == [] for entry in entries)
    assert len({entry["story"] for entry in entries}) == 19


def test_limit_counts_stories_not_reports(season_store):
    entries = season_store.timeline(TimelineFilter(guilds=["sag-aftra"], limit=3))
    assert [entry_summary(entry) for entry in entries] == [
        ("2023-11-08", "backlot", "deal,strike-ended", ["marquee"]),
        ("2023-11-09", "reel", "strike-ended", ["marquee"]),
        ("2023-12-06", "backlot", "ratified", ["reel"]),
    ]


def test_source_filter_shows_the_story_through_that_outlet(season_store):
    entries = season_store.timeline(TimelineFilter(sources=["REEL"], events=["deal"]))
    assert [entry_summary(entry) for entry in entries] == [
        ("2023-09-25", "reel", "deal", ["backlot", "marquee"]),
    ]


@pytest.mark.parametrize("order", ["reversed", "shuffled", "one-by-one-shuffled"])
def test_grouping_does_not_depend_on_arrival_order(tmp_path, season_store, order):
    expected = groupings(season_store)
    items = season_items()
    store = Store.open(tmp_path / f"{order}.db")
    if order == "reversed":
        save(store, items[::-1], source="season", classifier=ArchiveClassifier())
    else:
        random.Random(5).shuffle(items)
        if order == "shuffled":
            save(store, items, source="season", classifier=ArchiveClassifier())
        else:
            for item in items:
                save(store, [item], source="season", classifier=ArchiveClassifier())
    assert groupings(store) == expected
    firsts = {entry["title"] for entry in store.timeline(TimelineFilter())}
    assert firsts == {entry["title"] for entry in season_store.timeline(TimelineFilter())}


def test_a_late_earlier_report_becomes_the_first_report(tmp_path):
    items = {item.title: item for item in season_items()}
    store = Store.open(tmp_path / "late.db")
    later = [
        items["Writers and AMPTP strike a tentative deal"],
        items["Tentative deal reached in writers strike"],
    ]
    save(store, later, source="season", classifier=ArchiveClassifier())
    [entry] = store.timeline(TimelineFilter())
    assert entry["source"] == "reel"
    earliest = items["WGA reaches tentative agreement with studios after 146 days"]
    save(store, [earliest], source="season", classifier=ArchiveClassifier())
    [entry] = store.timeline(TimelineFilter())
    assert entry["source"] == "backlot"
    assert [other["source"] for other in entry["also"]] == ["reel", "marquee"]


def test_reports_more_than_36_hours_apart_are_separate_stories(tmp_path):
    store = Store.open(tmp_path / "apart.db")
    first = Item(
        "WGA asks studios to meet",
        "https://a.example/1",
        published=datetime(2023, 8, 1, tzinfo=UTC),
    )
    second = Item(
        "WGA asks studios to meet again",
        "https://b.example/2",
        published=datetime(2023, 8, 2, 13, tzinfo=UTC),
    )
    classifier = ArchiveClassifier(
        {
            first.title: (("amptp", "wga"), ("meeting-requested",)),
            second.title: (("amptp", "wga"), ("meeting-requested",)),
        }
    )
    save(store, [first, second], source="x", classifier=classifier)
    assert len(store.timeline(TimelineFilter())) == 2


def test_reclassify_regroups_changed_items(season_store):
    title = "Tentative deal reached in writers strike"
    changed = ArchiveClassifier({title: (("amptp", "wga"), ())})
    seen, count = reclassify(season_store, changed)
    assert (seen, count) == (40, 1)
    entries = season_store.timeline(TimelineFilter())
    deal = next(
        entry for entry in entries if entry["events"] == ["deal"] and "wga" in entry["guilds"]
    )
    assert [other["source"] for other in deal["also"]] == ["reel"]
    assert any(entry["title"] == title and entry["also"] == [] for entry in entries)


def test_edited_report_that_loses_its_event_leaves_the_story(season_store):
    record = next(r for r in season_records() if r["title"].startswith("WGA reaches tentative"))
    edited = archive_record_to_item(dict(record, title="WGA statement on the talks"), 1, "x")
    result = save(
        season_store,
        [edited],
        source="backlot",
        classifier=ArchiveClassifier({"WGA statement on the talks": (("wga",), ())}),
    )
    assert len(result.updated_ids) == 1
    deal = season_store.timeline(TimelineFilter(guilds=["wga"], events=["deal"]))
    assert [entry_summary(entry) for entry in deal] == [("2023-09-25", "reel", "deal", ["marquee"])]


def test_purging_the_first_reports_outlet_keeps_the_rest_of_the_story(tmp_path):
    store = Store.open(tmp_path / "purge.db")
    feed, _ = add_feed(store, "https://backlot.example/feed/", name="backlot")
    items = season_items()
    backlot = [item for item in items if item.source == "backlot"]
    others = [item for item in items if item.source != "backlot"]
    save(store, backlot, source="backlot", feed_id=feed["id"], classifier=ArchiveClassifier())
    save(store, others, source="season", classifier=ArchiveClassifier())
    store.remove_feed(feed["id"], purge=True)
    entries = store.timeline(TimelineFilter(guilds=["wga"], events=["deal"]))
    assert [entry_summary(entry) for entry in entries] == [
        ("2023-09-25", "reel", "deal", ["marquee"])
    ]
    orphans = store.conn.execute("SELECT count(*) FROM items WHERE story_id IS NULL").fetchone()
    assert orphans[0] == 0


def test_timeline_and_also_queries_use_indexes(season_store):
    sql, params = season_store.timeline_sql(
        TimelineFilter(guilds=["wga"], sources=["reel"], limit=50)
    )
    plan = " | ".join(
        row[3] for row in season_store.conn.execute("EXPLAIN QUERY PLAN " + sql, params)
    )
    assert re.search(r"SCAN (items|report)(?! USING)", plan) is None, plan
    for others_only in ("", " AND id != story_id"):
        also = ALSO_SQL.format(marks="?, ?", others_only=others_only)
        plan = " | ".join(
            row[3] for row in season_store.conn.execute("EXPLAIN QUERY PLAN " + also, (1, 2))
        )
        assert "items_story" in plan and "TEMP B-TREE" not in plan, plan


def test_migrating_an_existing_database_groups_and_indexes_it(tmp_path):
    """A database made before stories existed gets them (and search) when first opened."""
    path = write_old_database(tmp_path / "old.db", stop_before="m002_stories")
    store = Store.open(path)
    assert len(store.timeline(TimelineFilter())) == 19
    view = store.conn.execute(
        "SELECT title, also_count, also_sources FROM timeline WHERE title LIKE 'WGA reaches%'"
    ).fetchone()
    assert tuple(view) == (
        "WGA reaches tentative agreement with studios after 146 days",
        2,
        "reel, marquee",
    )
    hits = store.conn.execute(
        "SELECT count(*) FROM items_fts WHERE items_fts MATCH 'ratify'"
    ).fetchone()[0]
    assert hits == 4  # porter stemming: ratify, ratified; titles and summaries


def test_grouping_rule_pieces():
    assert parties_of(["amptp", "wga"]) == {"wga"}
    assert parties_of(["amptp"]) == {"amptp"}
    assert lead_event(["strike-ended", "deal"]) == "deal"
    assert lead_event(["talks-stalled", "strike-started"]) == "strike-started"
    assert lead_event([]) == ""
    same = word_similarity(
        headline_words("WGA pickets continue outside studio gates"),
        headline_words("WGA picket continues outside the studio gates"),
    )
    assert same > 0.5
    different = word_similarity(
        headline_words("Late-night hosts pause shows in support of writers"),
        headline_words("WGA pickets Paramount as writers strike enters fifth week"),
    )
    assert different < 0.5


def test_timeline_cli_also_no_collapse_and_formats(run, monkeypatch):
    import csv
    import io

    from strikewatch.cli import App

    monkeypatch.setattr(App, "classifier", lambda self, extra_rules=(): ArchiveClassifier())
    assert run("import", str(SEASON)).exit_code == 0
    entries = json.loads(run("timeline", "--json").stdout)
    assert len(entries) == 19 and all("also" in entry and "story" in entry for entry in entries)
    assert len(json.loads(run("timeline", "--json", "--no-collapse").stdout)) == 39
    assert len(json.loads(run("timeline", "--json", "--limit", "5").stdout)) == 5
    rows = list(csv.DictReader(io.StringIO(run("timeline", "--csv").stdout)))
    assert json.loads(rows[0]["also"])[0]["source"] == "marquee"
    table = run("timeline", "--event", "deal").stdout.splitlines()
    assert table[0].split() == ["date", "source", "guilds", "events", "title"]
    assert table[2].startswith("2023-09-25  backlot +2  amptp, wga")
    since = json.loads(run("since", "2023-11-01", "--json").stdout)
    assert [entry["source"] for entry in since] == ["backlot", "backlot", "reel", "backlot"]


def test_deferred_grouping_survives_a_crash_before_it(tmp_path):
    """A poll stores each feed's items as it goes and groups once at the end; reports stored
    but not yet grouped (the process died in between) are pending, and the next grouping
    places them exactly as if nothing had happened."""
    items = season_items()
    whole = Store.open(tmp_path / "whole.db")
    save(whole, items, source="season", classifier=ArchiveClassifier())
    crashed = Store.open(tmp_path / "crashed.db")
    half = len(items) // 2
    save(crashed, items[:half], source="season", classifier=ArchiveClassifier())
    save(crashed, items[half:], source="season", classifier=ArchiveClassifier(), group=False)
    pending = crashed.conn.execute("SELECT count(*) FROM items WHERE story_id IS NULL").fetchone()[
        0
    ]
    assert pending == len(items) - half
    # Until then every pending report is shown, as a story of its own: nothing is hidden.
    shown = {entry["link"] for entry in crashed.timeline(TimelineFilter(include_untagged=True))}
    assert {item.link for item in items[half:]} <= shown | {
        other["link"]
        for entry in crashed.timeline(TimelineFilter(include_untagged=True))
        for other in entry["also"]
    }
    save(crashed, [], source="season", classifier=ArchiveClassifier())  # the next poll
    assert groupings(crashed) == groupings(whole)
    assert (
        crashed.conn.execute("SELECT count(*) FROM items WHERE story_id IS NULL").fetchone()[0] == 0
    )
