"""Dates are never invented: a zone a feed names is honoured or the story keeps the time it was
first seen; a date naming no zone is UTC. Real documents, through strikewatch's parse path."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from strikewatch.dates import parse_timestamp, read_timestamp
from strikewatch.parse import parse_feed


def rss_dated(*dates: str) -> bytes:
    """An RSS document whose items carry these pubDate texts exactly as written."""
    items = "".join(
        f"<item><title>WGA update {n}</title><link>https://dates.example/{n}</link>"
        f"<pubDate>{date}</pubDate></item>"
        for n, date in enumerate(dates)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Dates</title><link>https://dates.example/</link>{items}</channel></rss>"
    ).encode()


# Forms feedparser does not read (or reads with the zone dropped), as US outlets write them.
HONOURED = [
    ("Tue, 02 May 2023 03:15:00 GMT+2", datetime(2023, 5, 2, 1, 15)),
    ("Tue, 02 May 2023 03:15:00 UTC+1", datetime(2023, 5, 2, 2, 15)),
    ("Tue, 02 May 2023 03:15:00 GMT-05:00", datetime(2023, 5, 2, 8, 15)),
    ("May 2, 2023 3:15 PM EST", datetime(2023, 5, 2, 20, 15)),
    ("May 2, 2023 3:15 PM ET", datetime(2023, 5, 2, 19, 15)),  # Eastern daylight time in May
    ("Jan 12, 2023 3:15 PM ET", datetime(2023, 1, 12, 20, 15)),  # and standard in January
    ("Tue, 2 May 2023 3:15:00 PM PDT", datetime(2023, 5, 2, 22, 15)),
    ("2023-05-02 03:15:00 EST", datetime(2023, 5, 2, 8, 15)),
    ("2023-05-02T03:15:00 PT", datetime(2023, 5, 2, 10, 15)),
    ("2023/05/02 03:15:00 CDT", datetime(2023, 5, 2, 8, 15)),
    ("Tue, 02 May 2023 03:15 MST", datetime(2023, 5, 2, 10, 15)),
    ("Tue, 02 May 2023 03:15:00 -0700 (PDT)", datetime(2023, 5, 2, 10, 15)),
    # no zone at all: UTC
    ("Tue, 02 May 2023 03:15:00", datetime(2023, 5, 2, 3, 15)),
    ("May 2, 2023", datetime(2023, 5, 2)),
]


@pytest.mark.parametrize(("written", "utc"), HONOURED)
def test_zones_feeds_write_are_honoured(written, utc):
    [item] = parse_feed(rss_dated(written)).items
    assert item.published is not None and item.published.astimezone(UTC) == utc.replace(tzinfo=UTC)
    assert parse_timestamp(written).astimezone(UTC) == utc.replace(tzinfo=UTC)


def test_dates_feedparser_reads_still_agree():
    for written, utc in [
        ("Tue, 02 May 2023 03:15:00 EDT", datetime(2023, 5, 2, 7, 15)),
        ("Tue, 02 May 2023 03:15:00 +0200", datetime(2023, 5, 2, 1, 15)),
        ("Tue, 02 May 2023 03:15:00 GMT", datetime(2023, 5, 2, 3, 15)),
        ("2023-05-02T03:15:00-07:00", datetime(2023, 5, 2, 10, 15)),
        ("2023-05-02T03:15:00Z", datetime(2023, 5, 2, 3, 15)),
    ]:
        [item] = parse_feed(rss_dated(written)).items
        assert item.published.astimezone(UTC) == utc.replace(tzinfo=UTC), written


def test_a_zone_nobody_can_read_leaves_the_first_seen_time_with_one_warning():
    parsed = parse_feed(
        rss_dated(
            "Tue, 02 May 2023 03:15:00 CEST",
            "Wed, 03 May 2023 09:00:00 CEST",
            "Thu, 04 May 2023 10:00:00 America/Los_Angeles",
            "Thu, 04 May 2023 10:00:00 -0700",
        )
    )
    assert [item.published is None for item in parsed.items] == [True, True, True, False]
    assert parsed.warning == (
        "3 stories are dated in a time zone strikewatch cannot read "
        "('CEST', 'America/Los_Angeles'): dated when first seen"
    )
    assert read_timestamp("Tue, 02 May 2023 03:15:00 CEST") == (None, "CEST")
    assert parse_timestamp("Tue, 02 May 2023 03:15:00 XYZ") is None


def test_an_unreadable_zone_is_one_warning_and_first_seen_on_poll(tmp_path, run, run_json):
    path = tmp_path / "cest.xml"
    path.write_bytes(rss_dated("Tue, 02 May 2023 03:15:00 CEST", "Wed, 03 May 2023 03:15:00 CEST"))
    before = datetime.now(UTC).replace(microsecond=0)
    result = run("poll", str(path))
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "time zone" in line]
    assert len(warnings) == 1, result.stderr
    for entry in run_json("timeline", "--all"):
        assert datetime.fromisoformat(entry["published"]) >= before
