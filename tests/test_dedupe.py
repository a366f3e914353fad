"""Dedupe and updates at their edges: reused guids, changed guids, mirrors, missing fields."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from strikewatch.filters import TimelineFilter
from strikewatch.parse import Item, parse_feed
from strikewatch.store import Store
from tests.feeds import Story, rss
from tests.season import save as stored
from tests.test_store import FixedClassifier

SEEN = datetime(2023, 10, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "a.db") as opened:
        yield opened


def save(store: Store, source: str, *items: Item, seen: datetime = SEEN):
    return stored(store, items, source=source, classifier=FixedClassifier(), seen_at=seen)


def everything(store: Store) -> list[dict]:
    return store.timeline(TimelineFilter(include_untagged=True, collapse=False))


def carriers(store: Store) -> list[tuple]:
    return store.conn.execute(
        "SELECT item_id, source, guid, link, title FROM item_sources ORDER BY item_id, source"
    ).fetchall()


def test_same_guid_in_two_feeds_for_different_stories_is_two_items(store):
    save(store, "a", Item("WGA strike begins", "https://a.example/1", guid="1"))
    result = save(store, "b", Item("Box office weekend", "https://b.example/1", guid="1"))
    assert len(result.new_ids) == 1
    rows = everything(store)
    assert {(row["source"], row["title"]) for row in rows} == {
        ("a", "WGA strike begins"),
        ("b", "Box office weekend"),
    }


def test_changed_guid_with_the_same_link_and_content_is_the_same_item(store):
    """A feed that changed its guid scheme lists the same story again, word for word."""
    words = "The guild and the studios agree on terms."
    save(store, "a", Item("WGA deal reached", "https://a.example/deal", "old-guid", words))
    result = save(store, "a", Item("WGA deal reached", "https://a.example/deal", "new-guid", words))
    assert result.new_ids == [] and result.unchanged == 1
    [(_, _, guid, _, _)] = carriers(store)
    assert guid == "new-guid"  # the carrier's guid follows the feed
    edited = Item(
        "WGA deal reached, ratification vote set", "https://a.example/deal", "new-guid", words
    )
    result = save(store, "a", edited)
    assert len(result.updated_ids) == 1
    assert [row["title"] for row in everything(store)] == [edited.title]


def test_different_guids_with_one_link_and_one_headline_are_different_items(store):
    """A guild's weekly posts, all titled alike and all linking to its news page."""
    news = "https://guild.example/news"
    save(
        store,
        "a",
        Item(
            "Member update",
            news,
            "week-1",
            "Pension deadline is Friday.",
            datetime(2023, 7, 3, tzinfo=UTC),
        ),
    )
    result = save(
        store,
        "a",
        Item(
            "Member update",
            news,
            "week-2",
            "Picket schedule for Monday.",
            datetime(2023, 7, 10, tzinfo=UTC),
        ),
    )
    assert len(result.new_ids) == 1 and result.updated_ids == []
    rows = everything(store)
    assert [(row["summary"], row["published"][:10]) for row in rows] == [
        ("Pension deadline is Friday.", "2023-07-03"),
        ("Picket schedule for Monday.", "2023-07-10"),
    ]


def test_guid_pointing_at_another_stored_link_does_not_merge_two_stories(store):
    save(store, "a", Item("WGA strike begins", "https://a.example/strike", guid="g1"))
    save(store, "a", Item("SAG-AFTRA vote", "https://a.example/vote", guid="g2"))
    # The feed now (wrongly) gives g1 to the vote story: the link says which story it is.
    result = save(store, "a", Item("SAG-AFTRA vote", "https://a.example/vote", guid="g1"))
    assert result.new_ids == [] and result.updated_ids == []
    titles = {row["link"]: row["title"] for row in everything(store)}
    assert titles == {
        "https://a.example/strike": "WGA strike begins",
        "https://a.example/vote": "SAG-AFTRA vote",
    }


def test_a_mirror_with_its_own_headline_does_not_flip_the_item(store):
    first = Item("WGA and studios reach deal", "https://news.example/deal", guid="a-1")
    mirror = Item("Writers' strike is over: deal reached", "https://news.example/deal", guid="b-9")
    for _ in range(3):
        assert save(store, "a", first).updated_ids == []
        assert save(store, "b", mirror).updated_ids == []
    [row] = everything(store)
    assert row["title"] == first.title and row["source"] == "a"
    assert [(source, title) for _, source, _, _, title in carriers(store)] == [
        ("a", first.title),
        ("b", mirror.title),
    ]


def test_items_without_guid_link_or_date(store):
    bare = Item("WGA statement on talks", None, summary="Full text of the statement.")
    assert len(save(store, "a", bare).new_ids) == 1
    later = SEEN + timedelta(hours=5)
    assert save(store, "a", bare, seen=later).unchanged == 1  # the same text is the same item
    assert save(store, "b", bare, seen=later).new_ids  # but only within its own feed
    rows = everything(store)
    assert [row["published"] for row in rows] == [
        "2023-10-01T12:00:00+00:00",  # no date: first seen
        "2023-10-01T17:00:00+00:00",
    ]
    assert all(row["link"] is None for row in rows)


def test_future_dates_are_clamped_to_first_seen_and_stay_put(store):
    future = Item("WGA deal", "https://a.example/f", guid="f", published=SEEN + timedelta(days=30))
    save(store, "a", future)
    edited = Item("WGA deal (updated)", "https://a.example/f", guid="f", published=SEEN)
    save(store, "a", edited, seen=SEEN + timedelta(hours=2))
    [row] = everything(store)
    assert row["published"] == "2023-10-01T12:00:00+00:00"
    assert row["title"] == "WGA deal (updated)"
    slightly_ahead = Item(
        "Clock skew", "https://a.example/s", published=SEEN + timedelta(minutes=3)
    )
    save(store, "a", slightly_ahead)
    assert any(row["published"] == "2023-10-01T12:03:00+00:00" for row in everything(store))


def test_one_document_reusing_a_guid_for_different_stories_keeps_them_apart(store):
    body = rss(
        [
            Story(
                "WGA strike begins", "https://cms.example/1", "2023-05-02T07:00:00Z", guid="post"
            ),
            Story("SAG-AFTRA vote", "https://cms.example/2", "2023-06-05T07:00:00Z", guid="post"),
            Story("DGA deal", "https://cms.example/3", "2023-06-04T07:00:00Z", guid="ok-3"),
        ]
    )
    parsed = parse_feed(body)
    assert [item.guid for item in parsed.items] == [None, None, "ok-3"]
    for _ in range(2):
        save(store, "cms", *parsed.items)
    assert len(everything(store)) == 3


def test_edited_headline_retags_and_does_not_duplicate(store, tmp_path):
    save(store, "a", Item("Box office weekend", "https://a.example/x", guid="x"))
    result = save(store, "a", Item("WGA deal lifts box office", "https://a.example/x", guid="x"))
    assert len(result.updated_ids) == 1
    [row] = everything(store)
    assert row["guilds"] == ["wga"] and row["events"] == ["deal"]
    with sqlite3.connect(tmp_path / "a.db") as conn:
        tags = sorted(row[0] for row in conn.execute("SELECT tag FROM tags"))
    assert tags == ["deal", "wga"]
