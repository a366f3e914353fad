"""Hostile dates and archive lines: nothing a feed, an archive or an old database holds stops
a poll, an import or a listing."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest

from strikewatch.parse import parse_archive_lines, parse_feed

YEAR_ONE = "Mon, 01 Jan 0001 00:00:00 +0000"  # what Hugo writes on an undated page


def rss_items(*items: tuple[str, str, str], title: str = "Trade") -> bytes:
    body = "".join(
        f"<item><title>{headline}</title><link>{link}</link><pubDate>{date}</pubDate></item>"
        for headline, link, date in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://trade.example/</link>{body}</channel></rss>"
    ).encode()


# -- point 11: dates outside a sane range ---------------------------------------------------


@pytest.mark.parametrize(
    "date",
    [YEAR_ONE, "1899-12-31T23:59:59Z", "Fri, 31 Dec 9999 23:59:59 +0000", "2999-01-01T00:00:00Z"],
)
def test_a_date_outside_a_sane_range_is_no_date(date):
    [item] = parse_feed(rss_items(("WGA strike begins", "https://hugo.example/a", date))).items
    assert item.published is None
    [archived] = parse_archive_lines(
        [
            json.dumps(
                {"title": "WGA strike begins", "link": "https://a.example/1", "published": date}
            )
        ],
        "archive",
    )
    assert archived.published is None


def test_year_one_strike_reports_do_not_poison_later_polls(tmp_path, run, run_json):
    hugo = tmp_path / "hugo.xml"
    hugo.write_bytes(
        rss_items(
            ("WGA strike begins as writers walk out", "https://hugo.example/a", YEAR_ONE),
            ("SAG-AFTRA strike set to begin at midnight", "https://hugo.example/b", YEAR_ONE),
        )
    )
    before = datetime.now(UTC).replace(microsecond=0)
    for _ in range(2):
        result = run("poll", str(hugo))
        assert result.exit_code == 0, result.output
    later = tmp_path / "later.xml"
    later.write_bytes(
        rss_items(
            (
                "Writers strike begins, WGA pickets",
                "https://later.example/a",
                "2023-05-02T08:00:00Z",
            )
        )
    )
    result = run("import", str(later))
    assert result.exit_code == 0, result.output
    dated = {entry["link"]: entry["published"] for entry in run_json("timeline", "--all")}
    assert datetime.fromisoformat(dated["https://hugo.example/a"]) >= before  # first seen
    assert dated["https://later.example/a"] == "2023-05-02T08:00:00+00:00"


def poison(db_path) -> None:
    """What an older version or another tool could leave: strike reports dated at the very ends
    of the calendar, not yet grouped, with no effective day."""
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "UPDATE items SET published = '0001-01-01T00:00:00+00:00', story_id = NULL,"
            " effective_day = NULL, effective_why = NULL"
        )
        conn.execute("UPDATE tags SET published = '0001-01-01T00:00:00+00:00'")
        for link, published in [
            ("https://raw.example/1", "9999-12-31T23:59:59+00:00"),
            ("https://raw.example/2", "0001-01-01T00:00:00+00:00"),
        ]:
            cursor = conn.execute(
                "INSERT INTO items (title, link, summary, published, first_seen, source,"
                " content_hash, guilds, events) VALUES (?, ?, '', ?, ?, 'raw', ?, ?, ?)",
                (
                    "DGA strike begins tomorrow at 12:01 a.m.",
                    link,
                    published,
                    "2023-05-02T00:00:00+00:00",
                    link,
                    '["dga"]',
                    '["strike-started"]',
                ),
            )
            for kind, tag in (("guild", "dga"), ("event", "strike-started")):
                conn.execute(
                    "INSERT INTO tags (item_id, kind, tag, published) VALUES (?, ?, ?, ?)",
                    (cursor.lastrowid, kind, tag, published),
                )
    conn.close()


def test_a_database_already_holding_year_one_rows_still_works(tmp_path, db_path, run, monkeypatch):
    first = tmp_path / "first.xml"
    first.write_bytes(
        rss_items(
            (
                "WGA strike begins as writers walk out",
                "https://trade.example/a",
                "2023-05-02T07:00:00Z",
            ),
            (
                "SAG-AFTRA strike to begin at midnight",
                "https://trade.example/b",
                "2023-07-13T19:00:00Z",
            ),
        )
    )
    assert run("import", str(first)).exit_code == 0
    poison(db_path)
    second = tmp_path / "second.xml"
    second.write_bytes(
        rss_items(
            (
                "Writers strike begins, WGA pickets",
                "https://later.example/a",
                "2023-05-02T08:00:00Z",
            ),
            ("DGA strike begins", "https://later.example/b", "2023-05-03T08:00:00Z"),
        )
    )
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    for args in [
        ("import", str(second)),
        ("status",),
        ("status", "--json"),
        ("status", "--explain"),
        ("timeline",),
        ("timeline", "--json"),
        ("timeline", "--all", "--csv"),
        ("export", "--atom"),
        ("search", "strike"),
        ("reclassify",),
        ("since", "1900-01-01"),
    ]:
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)


@pytest.mark.parametrize(
    "args",
    [
        ("timeline", "--since", "0001-01-01T00:00:00+14:00"),
        ("timeline", "--until", "0001-01-01T00:00:00+14:00"),
        ("since", "9999-12-31T23:59:59-14:00"),
        ("since", "9999-12-31"),
        ("timeline", "--until", "9999-12-31T23:59:59-12:00"),
        ("status", "--as-of", "0001-01-01"),
        ("status", "--as-of", "9999-12-31"),
        ("export", "--atom", "--since", "0001-01-01"),
    ],
)
def test_dates_off_the_calendar_are_usage_errors(run, args):
    result = run(*args)
    assert result.exit_code == 2, result.output
    [line] = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert "1900-01-01 to 9998-12-31" in line and "YYYY-MM-DD" in line
    assert "Traceback" not in result.output


def test_dates_at_the_edges_of_the_range_are_accepted(run):
    assert run("reclassify", "--quiet").exit_code == 0  # an empty database
    for args in [
        ("status", "--as-of", "1900-01-01"),
        ("timeline", "--until", "9998-12-31"),
        ("timeline", "--since", "99999w"),  # "everything", as 52000w always meant
        ("timeline", "--since", "1900-01-01T00:00:00+14:00"),  # the year as written counts
        ("status", "--as-of", "9998-12-31T23:59:59-14:00"),
    ]:
        result = run(*args)
        assert result.exit_code == 0, result.output


# -- point 12: a bad archive line is that line's error ----------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000


def good_line(n: int) -> str:
    return json.dumps(
        {
            "title": f"WGA strike day {n}: writers picket studios",
            "link": f"https://archive.example/{n}",
            "published": "2023-05-02T07:00:00Z",
            "source": "deadline",
        }
    )


HOSTILE_LINES = [
    ('{"title": ' + DEEP + ', "link": "https://a.example/deep"}', "nested too deeply"),
    (DEEP, "nested too deeply"),
    (
        '{"title": "WGA \\ud800 strike", "link": "https://a.example/s1"}',
        "'title' holds a lone surrogate",
    ),
    (
        '{"title": "WGA strike", "link": "https://a.example/\\udfff"}',
        "'link' holds a lone surrogate",
    ),
    (
        '{"title": "WGA strike", "link": "https://a.example/s3", "summary": "x\\ud83d"}',
        "'summary' holds",
    ),
    (
        '{"title": "WGA strike", "link": "https://a.example/s4", "source": "\\uDC00"}',
        "'source' holds",
    ),
    ('{"title": "WGA strike", "link": "https://a.example/s5", "guid": "\\ud800"}', "'guid' holds"),
    (
        '{"title": "WGA strike", "link": "https://a.example/s6", "published": "2023\\ud800"}',
        "'published' holds",
    ),
    ('{"title": "WGA strike", "link": "https://a.example/s7", "x": ["\\ud800"]}', "'x' holds"),
    (
        '{"title": "WGA strike", "link": "https://a.example/t1", "summary": 5}',
        "'summary' must be a string, not a number",
    ),
    (
        '{"title": "WGA strike", "link": "https://a.example/t2", "published": []}',
        "'published' must be a string, not an array",
    ),
    (
        '{"title": "WGA strike", "link": "https://a.example/t3", "source": {}}',
        "'source' must be a string, not an object",
    ),
    (
        '{"title": "WGA strike", "link": "https://a.example/t4", "guid": true}',
        "'guid' must be a string or an integer, not a boolean",
    ),
    ('{"title": 5, "link": "https://a.example/t5"}', "'title' must be a string, not a number"),
]


def test_each_hostile_archive_line_is_its_own_error():
    lines = [good_line(0), *(line for line, _ in HOSTILE_LINES), good_line(1)]
    results = list(parse_archive_lines(lines, "archive"))
    items = [entry for entry in results if hasattr(entry, "title")]
    errors = [
        (entry.line_number, entry.message) for entry in results if not hasattr(entry, "title")
    ]
    assert [item.link for item in items] == [
        "https://archive.example/0",
        "https://archive.example/1",
    ]
    assert [number for number, _ in errors] == list(range(2, 2 + len(HOSTILE_LINES)))
    for (_, message), (_, expected) in zip(errors, HOSTILE_LINES, strict=True):
        assert expected in message
    # what stays valid: a surrogate pair is one character, null is absent, a number is a guid
    [paired, nulls, numbered] = parse_archive_lines(
        [
            '{"title": "WGA strike \\ud83c\\udfac", "link": "https://a.example/p"}',
            '{"title": "WGA", "link": "https://a.example/n", "summary": null, "source": null, "published": null}',
            '{"title": "WGA", "link": "https://a.example/g", "guid": 17}',
        ],
        "archive",
    )
    assert paired.title == "WGA strike \U0001f3ac" and nulls.source == "archive"
    assert numbered.guid == "17"


def test_import_keeps_the_good_lines_of_a_hostile_archive(tmp_path, run, run_json):
    path = tmp_path / "hostile.jsonl"
    year_one = json.dumps(
        {
            "title": "SAG-AFTRA strike begins",
            "link": "https://a.example/y1",
            "published": "0001-01-01T00:00:00+00:00",
        }
    )
    lines = [good_line(0), *(line for line, _ in HOSTILE_LINES), year_one, good_line(1)]
    path.write_text("\n".join(lines) + "\n")
    result = run("import", str(path))
    assert result.exit_code == 1, result.output  # bad lines are a runtime failure
    assert "Traceback" not in result.output
    reported = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(reported) == len(HOSTILE_LINES)
    assert f"{path}: line 2: not valid JSON (nested too deeply)" in reported[0]
    assert "3 new" in result.stdout
    links = {entry["link"] for entry in run_json("timeline", "--all", "--no-collapse")}
    assert links == {
        "https://archive.example/0",
        "https://archive.example/1",
        "https://a.example/y1",
    }


def test_import_in_worker_processes_reports_hostile_lines_too(tmp_path, run, run_json, monkeypatch):
    """`import --jobs 2`: a worker process parses the archive's pieces and reports the same
    line errors, by the same numbers, as parsing in place does."""
    from strikewatch import ingest

    monkeypatch.setattr(ingest, "BATCH_SIZE", 4)
    path = tmp_path / "hostile.jsonl"
    lines = [good_line(n) for n in range(6)]
    lines[2:2] = [line for line, _ in HOSTILE_LINES[:3]]
    path.write_text("\n".join(lines) + "\n")
    result = run("import", "--jobs", "2", str(path))
    assert result.exit_code == 1, result.output
    assert [line.split(": ")[2] for line in result.stderr.splitlines() if "error:" in line] == [
        "line 3",
        "line 4",
        "line 5",
    ]
    assert len(run_json("timeline", "--all", "--no-collapse")) == 6


def test_classify_jsonl_reports_hostile_lines_by_number(tmp_path, run):
    path = tmp_path / "in.jsonl"
    lines = [
        '{"title": "WGA strike begins"}',
        '{"title": ' + DEEP + "}",
        DEEP,
        '{"title": "WGA \\ud800 strike", "guilds": []}',
        '{"title": "WGA strike", "note": "\\udfff"}',
        '{"title": "SAG-AFTRA strike ends", "guilds": []}',
    ]
    path.write_text("\n".join(lines) + "\n")
    result = run("classify", "--jsonl", str(path))
    assert result.exit_code == 1, result.output
    assert [json.loads(line)["title"] for line in result.stdout.splitlines()] == [
        "WGA strike begins",
        "SAG-AFTRA strike ends",
    ]
    assert [line.split(":")[1].strip() for line in result.stderr.splitlines()] == [
        "line 2",
        "line 3",
        "line 4",
        "line 5",
    ]
    assert "nested too deeply" in result.stderr and "lone surrogate" in result.stderr


def test_classify_jsonl_bytes_that_are_not_utf8_are_their_lines_error(tmp_path, run):
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b'{"title": "WGA strike begins"}\n{"title": "bad \xff byte"}\n{"title": "x"}\n'
    )
    result = run("classify", "--jsonl", str(path))
    assert result.exit_code == 1, result.output
    assert len(result.stdout.splitlines()) == 2
    assert result.stderr.strip() == "error: line 2: not valid UTF-8"


def test_a_parser_surprise_on_import_is_that_files_error(tmp_path, run, monkeypatch):
    import feedparser

    def surprised(*args, **kwargs):
        raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

    monkeypatch.setattr(feedparser, "parse", surprised)
    odd = tmp_path / "odd.xml"
    odd.write_bytes(rss_items(("WGA strike", "https://odd.example/1", "2023-05-02T00:00:00Z")))
    archive = tmp_path / "good.jsonl"
    archive.write_text(good_line(1) + "\n")
    result = run("import", str(odd), str(archive))
    assert result.exit_code == 1, result.output
    assert (
        f"error: {odd}: unexpected error while parsing: UnicodeEncodeError: 'utf-8' codec can't"
        " encode character '\\ud800' in position 0: surrogates not allowed\n"
    ) in result.stderr
    assert "good.jsonl: 1 new" in result.stdout
