"""Bytes to items: feed formats, text cleanup, links, dates, archives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from strikewatch.dates import parse_timestamp
from strikewatch.errors import ParseError
from strikewatch.normalize import canonical_link
from strikewatch.parse import ArchiveLineError, defuse_xml, parse_archive_lines, parse_feed
from strikewatch.text import plain_text
from tests.feeds import Story, atom, rss


def test_wordpress_rss_prefers_description_and_strips_html():
    body = rss(
        [
            Story(
                "Writers &amp; studios meet",
                "https://a.example/x?utm_source=rss",
                "2023-08-04T12:00:00-07:00",
                "Talks <b>resumed</b> on <a href='/x'>Friday</a>.",
            )
        ]
    )
    parsed = parse_feed(body)
    [item] = parsed.items
    assert item.title == "Writers & studios meet"
    assert item.summary == "Talks resumed on Friday."
    assert item.link == "https://a.example/x"
    assert item.published == datetime(2023, 8, 4, 19, 0, tzinfo=UTC)
    assert item.published_raw.startswith("Fri, 04 Aug 2023")
    assert parsed.warning is None


def test_atom_entries_and_offsets():
    parsed = parse_feed(
        atom([Story("DGA deal", "https://g.example/1", "2023-06-04T01:30:00+02:00", "Summary")])
    )
    [item] = parsed.items
    assert item.published == datetime(2023, 6, 3, 23, 30, tzinfo=UTC)
    assert item.guid == "tag:example.com,https://g.example/1"


def test_content_encoded_used_when_no_description():
    body = b"""<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>t</title>
    <item><title>Only content</title><link>https://a.example/c</link>
    <content:encoded><![CDATA[<p>The <em>full</em> story.</p><script>alert(1)</script>]]></content:encoded></item></channel></rss>"""
    [item] = parse_feed(body).items
    assert item.summary == "The full story."
    assert item.published is None


def test_malformed_feed_keeps_what_parsed():
    body = rss([Story("First story", "https://a.example/1", "2023-05-02T00:00:00+00:00")]).replace(
        b"</channel>", b"<item><title>broken & unescaped</title></channel>"
    )
    parsed = parse_feed(body)
    assert parsed.items[0].title == "First story"
    assert parsed.warning and parsed.warning.startswith("feed is malformed")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty response"),
        (b"   \n", "empty response"),
        (
            b"<!DOCTYPE html><html><head><title>Login</title></head><body>Sign in</body></html>",
            "not a feed: an HTML file",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not a"),
    ],
)
def test_unreadable_bodies_raise_one_clear_error(body, message):
    with pytest.raises(ParseError, match=message):
        parse_feed(body)


@pytest.mark.parametrize("one_line", [True, False])
def test_entity_declarations_are_never_expanded(one_line):
    decls = ['<!ENTITY a "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA">']
    for level in range(1, 9):
        previous = "a" if level == 1 else f"e{level - 1}"
        decls.append(f'<!ENTITY e{level} "{("&" + previous + ";") * 10}">')
    decls.append('<!ENTITY ext SYSTEM "file:///etc/passwd">')
    separator = "" if one_line else "\n"
    doctype = f"<!DOCTYPE rss [{separator}{separator.join(decls)}{separator}]>"
    body = f"""<?xml version="1.0"?>{separator}{doctype}
<rss version="2.0"><channel><title>bomb</title><item><title>WGA news &e8; &ext;</title><link>https://a.example/b</link></item></channel></rss>""".encode()
    cleaned = defuse_xml(body)
    assert b"<!ENTITY" not in cleaned and b"DOCTYPE" not in cleaned
    parsed = parse_feed(body)
    title = parsed.items[0].title if parsed.items else ""
    assert "AAAA" not in title and "root:" not in title


def test_plain_text_removes_controls_and_markup():
    assert (
        plain_text("<p>A\x1b[31mred\x1b[0m &amp; <b>bold</b>\x07</p>\n\n next")
        == "Ared & bold next"
    )
    assert plain_text("x" * 50, max_chars=10) == "xxxxxxxxx…"
    assert plain_text(None) == ""


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        (
            "HTTPS://Deadline.com:443/2023/05/x/?utm_source=rss&utm_medium=feed#comments",
            "https://deadline.com/2023/05/x/",
        ),
        ("https://variety.com/a?id=5&fbclid=abc&utm_campaign=z", "https://variety.com/a?id=5"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        # A fragment that names a place on a day page is part of the story's address...
        ("https://blog.example/2023/07/14#post-2", "https://blog.example/2023/07/14#post-2"),
        ("https://blog.example/day?utm_source=rss#post-1", "https://blog.example/day#post-1"),
        ("https://blog.example/#!/story/7", "https://blog.example/#!/story/7"),
        ("https://blog.example/p#comment-41", "https://blog.example/p#comment-41"),
        # ...one that only tracks, or points at the page's comments, is not.
        ("https://lemonde.example/a.html#xtor=RSS-3208", "https://lemonde.example/a.html"),
        ("https://site.example/a#ref=rss", "https://site.example/a"),
        ("https://site.example/a#utm_source=feed&utm_medium=rss", "https://site.example/a"),
        ("https://site.example/a#section-2&utm_source=feed", "https://site.example/a#section-2"),
        ("https://site.example/a/#respond", "https://site.example/a/"),
        ("https://site.example/a/#more-1234", "https://site.example/a/"),
        ("https://site.example/a/#disqus_thread", "https://site.example/a/"),
        ("https://site.example/a/#.VxYz1a2B3c4.dpuf", "https://site.example/a/"),
        ("https://site.example/a/#", "https://site.example/a/"),
        ("", None),
        (None, None),
    ],
)
def test_canonical_link(url, canonical):
    assert canonical_link(url) == canonical


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-05-02T03:15:00Z", datetime(2023, 5, 2, 3, 15, tzinfo=UTC)),
        ("2023-07-13T12:40:00-07:00", datetime(2023, 7, 13, 19, 40, tzinfo=UTC)),
        ("Tue, 02 May 2023 03:15:00 +0000", datetime(2023, 5, 2, 3, 15, tzinfo=UTC)),
        ("2023-05-02", datetime(2023, 5, 2, tzinfo=UTC)),
        ("last tuesday", None),
        ("", None),
    ],
)
def test_parse_timestamp(value, expected):
    moment = parse_timestamp(value)
    assert (moment.astimezone(UTC) if moment else None) == expected


def test_archive_lines_report_bad_lines_by_number():
    lines = [
        '{"title": "WGA strike begins", "link": "https://a.example/1", "published": "2023-05-02T07:00:00+00:00", "source": "deadline"}\n',
        "not json at all\n",
        "\n",
        '["a", "list"]\n',
        '{"title": "No link"}\n',
        '{"title": "Bad date", "link": "https://a.example/2", "published": "someday"}\n',
        b'{"title": "\xff bytes", "link": "https://a.example/3"}\n',
        '{"title": "<b>Marked</b> up", "link": "https://a.example/4?utm_source=x", "summary": "<p>x &amp; y</p>"}\n',
    ]
    results = list(parse_archive_lines(lines, "archive"))
    errors = [
        (entry.line_number, entry.message)
        for entry in results
        if isinstance(entry, ArchiveLineError)
    ]
    items = [entry for entry in results if not isinstance(entry, ArchiveLineError)]
    assert [number for number, _ in errors] == [2, 4, 5, 6, 7]
    assert "not valid JSON" in errors[0][1]
    assert "link" in errors[2][1] and "date" in errors[3][1] and "UTF-8" in errors[4][1]
    assert [item.source for item in items] == ["deadline", "archive"]
    assert (
        items[1].title == "Marked up"
        and items[1].summary == "x & y"
        and items[1].link == "https://a.example/4"
    )


def test_escape_sequences_are_removed_whole():
    from strikewatch.sanitize import strip_controls

    hostile = "WGA \x1b]0;pwned\x07strike \x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\ \x9b2J\x1b[31mbegins\x1b[0m"
    assert strip_controls(hostile) == "WGA strike link begins"


def test_skipping_feedparser_sanitizer_and_uri_resolution_changes_no_item(monkeypatch):
    """parse.FEEDPARSER_OPTIONS turns off work whose result plain_text throws away anyway."""
    from strikewatch import parse

    hostile_html = (
        "<p>Talks <b>resumed</b> at the <a href='/wga/news'>guild</a> &amp; studios.</p>"
        "<script>document.write('x')</script><style>p{color:red}</style>"
        "<iframe src='https://evil.example/'></iframe><img src='/i.jpg' onerror='alert(1)'/>"
        "<p style='display:none'>Hidden&nbsp;text</p><!-- comment --><object>obj</object>"
    )
    stories = [
        Story(
            "WGA &amp; AMPTP <em>meet</em>",
            f"/relative/{n}?utm_source=x",
            "2023-08-04T12:00:00-07:00",
            hostile_html,
        )
        for n in range(3)
    ]
    documents = [rss(stories), atom(stories)]
    ours = [
        parse.parse_feed(doc, base_url="https://deadline.example/feed/").items for doc in documents
    ]
    monkeypatch.setattr(
        parse, "FEEDPARSER_OPTIONS", {"sanitize_html": True, "resolve_relative_uris": True}
    )
    defaults = [
        parse.parse_feed(doc, base_url="https://deadline.example/feed/").items for doc in documents
    ]
    assert ours == defaults
    assert ours[0][0].summary.startswith("Talks resumed at the guild & studios.")
    assert "document.write" not in ours[0][0].summary and "color:red" not in ours[0][0].summary


def test_relative_entry_links_resolve_against_the_feed_address():
    body = rss(
        [Story("WGA news", "/2023/05/wga-news/?utm_source=rss", "2023-05-02T00:00:00+00:00")]
    )
    [item] = parse_feed(body, base_url="https://guild.example/feed/").items
    assert item.link == "https://guild.example/2023/05/wga-news/"
    [absolute] = parse_feed(
        rss([Story("WGA news", "https://other.example/x", "2023-05-02T00:00:00+00:00")]),
        base_url="https://guild.example/feed/",
    ).items
    assert absolute.link == "https://other.example/x"


DAY_PAGE_BLOG = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>Picket Line Notes</title>
    <link>https://notes.example/</link>
    <description>Short posts from the line, one page a day</description>
    <item>
      <title>Morning: pickets at the studio gates by six</title>
      <link>https://notes.example/2023/07/14#post-1</link>
      <pubDate>Fri, 14 Jul 2023 09:05:00 -0700</pubDate>
      <description>Pickets gathered early; SAG-AFTRA members joined the writers.</description>
    </item>
    <item>
      <title>Afternoon: the actors' strike begins at midnight</title>
      <link>https://notes.example/2023/07/14#post-2</link>
      <pubDate>Fri, 14 Jul 2023 15:40:00 -0700</pubDate>
      <description>The board's vote was unanimous.</description>
    </item>
    <item>
      <title>Evening: a tracked copy of the afternoon post</title>
      <link>https://notes.example/2023/07/14?utm_source=rss#xtor=RSS-1</link>
      <pubDate>Fri, 14 Jul 2023 20:00:00 -0700</pubDate>
      <description>Same page, no anchor: the page itself.</description>
    </item>
    <item>
      <title>Share this page</title>
      <link>/share?u=https://notes.example/2023/07/14&amp;utm_medium=feed</link>
      <pubDate>Fri, 14 Jul 2023 21:00:00 -0700</pubDate>
    </item>
  </channel>
</rss>"""


def test_posts_anchored_on_a_day_page_stay_separate_items():
    items = parse_feed(DAY_PAGE_BLOG, base_url="https://notes.example/feed.xml").items
    assert [item.guid for item in items] == [None, None, None, None]
    assert [item.link for item in items] == [
        "https://notes.example/2023/07/14#post-1",
        "https://notes.example/2023/07/14#post-2",
        "https://notes.example/2023/07/14",
        # relative, though its query holds "://": resolved against the feed's address
        "https://notes.example/share?u=https://notes.example/2023/07/14",
    ]


def test_day_page_posts_are_stored_as_separate_items(tmp_path, run, run_json):
    feed = tmp_path / "notes.xml"
    feed.write_bytes(DAY_PAGE_BLOG)
    assert run("import", str(feed)).exit_code == 0
    links = [entry["link"] for entry in run_json("timeline", "--all", "--no-collapse")]
    assert "https://notes.example/2023/07/14#post-1" in links
    assert "https://notes.example/2023/07/14#post-2" in links
    assert len(links) == 4
