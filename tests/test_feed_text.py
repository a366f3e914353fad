"""Text as the feed meant it: plain text keeps its "<", "&" and ">", HTML is read by an HTML
parser, a stray control character goes alone. Real documents, through strikewatch's parse path."""

from __future__ import annotations

import pytest

from strikewatch.parse import parse_archive_lines, parse_feed
from strikewatch.sanitize import strip_controls
from strikewatch.text import plain_text

# RSS 2.0 as trade sites write it: titles escaped once (feedparser reads them as text/plain
# unless they look like HTML), descriptions holding escaped or CDATA HTML.
RSS_TEXT = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
  <title>Ratings &amp; Guilds &lt;daily&gt;</title>
  <link>https://ratings.example/</link>
  <description>Numbers</description>
  <item>
    <title>Ratings &lt; 1.0 for NBC as WGA strike drags on</title>
    <link>https://ratings.example/1</link>
    <description>Week 12: 1 &lt; 2 &amp; fewer viewers &gt; last year</description>
  </item>
  <item>
    <title>RSS &lt;&lt;&lt;Tutorial&gt;&gt;&gt; for guild members</title>
    <link>https://ratings.example/2</link>
    <description>&lt;p&gt;Step &lt;b&gt;one&lt;/b&gt;&lt;/p&gt;&lt;p&gt;Step two&lt;/p&gt;</description>
  </item>
  <item>
    <title><![CDATA[AMPTP offer: 5% < what writers asked & more]]></title>
    <link>https://ratings.example/3</link>
    <description><![CDATA[<p>Read the <a href="/offer?a=1&b=2" title="a > b">offer</a> here.</p><script>if (a < b) track()</script><style>p > a {color: red}</style><ul><li>wages</li><li>AI</li></ul>Talks <resume Monday]]></description>
  </item>
  <item>
    <title>AT&amp;amp;T &amp;lt;b&amp;gt;sponsors&amp;lt;/b&amp;gt; the &amp;#8220;Strike Fund&amp;#8221;</title>
    <link>https://ratings.example/4</link>
    <content:encoded><![CDATA[<div>One<br>two<br/>three</div><!-- ad slot --><p>four &amp;amp; five</p>]]></content:encoded>
  </item>
</channel>
</rss>"""

ATOM_TEXT = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="text">Guild &lt;News&gt; &amp; Notes</title>
  <id>tag:guild.example,2023:feed</id>
  <updated>2023-07-14T00:00:00Z</updated>
  <entry>
    <title type="text">SAG-AFTRA: 1 &lt; 2 &amp;amp; &lt;b&gt;not bold&lt;/b&gt;</title>
    <id>tag:guild.example,2023:1</id>
    <link href="https://guild.example/1"/>
    <updated>2023-07-14T00:00:00Z</updated>
    <summary type="text">Use &lt;br&gt; tags &amp; more</summary>
  </entry>
  <entry>
    <title type="html">DGA &amp;amp; AMPTP &lt;em&gt;meet&lt;/em&gt; &amp;lt;3</title>
    <id>tag:guild.example,2023:2</id>
    <link href="https://guild.example/2"/>
    <updated>2023-07-14T00:00:00Z</updated>
    <summary type="html">&lt;p&gt;Talks&lt;/p&gt;&lt;p&gt;resumed&lt;/p&gt;</summary>
  </entry>
  <entry>
    <title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">IATSE <b>vote</b> &amp;amp; 1 &lt; 2</div></title>
    <id>tag:guild.example,2023:3</id>
    <link href="https://guild.example/3"/>
    <updated>2023-07-14T00:00:00Z</updated>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Locals <i>ratify</i></p><p>a &lt; b</p></div></content>
  </entry>
</feed>"""


def test_rss_titles_keep_their_text_and_html_is_read_by_a_parser():
    parsed = parse_feed(RSS_TEXT)
    assert parsed.title == "Ratings & Guilds <daily>"
    got = [(item.title, item.summary) for item in parsed.items]
    assert got == [
        (
            "Ratings < 1.0 for NBC as WGA strike drags on",
            "Week 12: 1 < 2 & fewer viewers > last year",
        ),
        ("RSS <<<Tutorial>>> for guild members", "Step one Step two"),
        (
            "AMPTP offer: 5% < what writers asked & more",
            # the attribute's ">" leaves no debris, script and style go with their content,
            # list items are words apart, and a "<" never closed eats nothing
            "Read the offer here. wages AI Talks <resume Monday",
        ),
        # double-escaped: HTML (feedparser says so), its entities decoded once
        ("AT&T <b>sponsors</b> the “Strike Fund”", "One two three four &amp; five"),
    ]


def test_atom_text_html_and_xhtml_each_read_as_declared():
    parsed = parse_feed(ATOM_TEXT)
    assert parsed.title == "Guild <News> & Notes"
    got = [(item.title, item.summary) for item in parsed.items]
    assert got == [
        ("SAG-AFTRA: 1 < 2 &amp; <b>not bold</b>", "Use <br> tags & more"),
        ("DGA & AMPTP meet <3", "Talks resumed"),
        ("IATSE vote &amp; 1 < 2", "Locals ratify a < b"),
    ]


def test_a_title_missing_falls_back_to_the_summary_text_as_text():
    body = RSS_TEXT.replace(
        b"<title>Ratings &lt; 1.0 for NBC as WGA strike drags on</title>", b"<title></title>"
    )
    assert parse_feed(body).items[0].title == "Week 12: 1 < 2 & fewer viewers > last year"


def test_archive_fields_are_html_only_when_they_look_it():
    lines = [
        '{"title": "Ratings < 1.0 for NBC", "link": "https://a.example/1", "summary": "RSS <<<Tutorial>>>"}',
        '{"title": "<b>Marked</b> up", "link": "https://a.example/2", "summary": "x &amp; y<br>z"}',
        '{"title": "A & B <b>", "link": "https://a.example/3", "source": "<Trades & Co>"}',
    ]
    items = list(parse_archive_lines(lines, "archive"))
    assert [(i.title, i.summary, i.source) for i in items] == [
        ("Ratings < 1.0 for NBC", "RSS <<<Tutorial>>>", "archive"),
        ("Marked up", "x & y z", "archive"),
        ("A & B <b>", "", "<Trades & Co>"),
    ]


@pytest.mark.parametrize(
    ("mangled", "shown"),
    [
        # UTF-8 curly quotes read as Latin-1: the right double quote ends in "\x9d", which an
        # OSC pattern took for a string running to the end of the headline
        (
            "WGA says \u00e2\x80\x9cno\u00e2\x80\x9d to AMPTP offer",
            "WGA says \u00e2no\u00e2 to AMPTP offer",
        ),
        ("Strike \x9dday 40 of the walkout", "Strike day 40 of the walkout"),
        ("Guild \x98news\x9c today", "Guild news today"),
        ("Ko\x9eenek \x9fjoins \x90the picket", "Koenek joins the picket"),
        ("Home \x9b News", "Home News"),
    ],
)
def test_a_stray_c1_character_is_removed_alone(mangled, shown):
    assert plain_text(mangled) == shown
    assert " ".join(strip_controls(mangled).split()) == shown


def test_escape_sequences_from_a_feed_still_never_survive():
    for hostile in (
        "WGA \x1b]0;pwned\x07strike \x1b[2J\x9b31mbegins",
        "WGA \x1b]8;;https://evil.example\x1b\\strike\x1b]8;;\x1b\\ begins\x1bP+q\x1b\\",
    ):
        cleaned = plain_text(hostile)
        assert cleaned == "WGA strike begins"
    # a lone surrogate (from a numeric reference a loose parser let through) cannot be written
    assert plain_text("WGA \ud800strike") == "WGA strike"


def test_feed_text_reaches_the_timeline_as_the_feed_meant_it(tmp_path, run, run_json):
    path = tmp_path / "ratings.xml"
    path.write_bytes(RSS_TEXT)
    result = run("import", str(path))
    assert result.exit_code == 0, result.output
    titles = {entry["title"] for entry in run_json("timeline", "--all")}
    assert "Ratings < 1.0 for NBC as WGA strike drags on" in titles
    assert "RSS <<<Tutorial>>> for guild members" in titles
    shown = run("timeline", "--all").stdout
    assert "RSS <<<Tutorial>>>" in shown


def test_a_reference_to_no_character_costs_that_character_not_the_feed(tmp_path, run, run_json):
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Trade &#xD800;</title>
<link>https://trade.example/</link>
<item><title>WGA &#xD800;strike&#55296; &#x110000;begins</title><link>https://trade.example/a</link>
<guid>g&#xDC00;1</guid><description>Picket &#xDFFF; lines &#8217; &#x1F3AC;</description></item>
</channel></rss>"""
    parsed = parse_feed(body)
    [item] = parsed.items
    assert item.title == "WGA \ufffdstrike\ufffd \ufffdbegins"
    assert item.summary == "Picket \ufffd lines \u2019 \U0001f3ac"
    assert item.guid == "g\ufffd1"
    path = tmp_path / "odd.xml"
    path.write_bytes(body)
    result = run("import", str(path))
    assert result.exit_code == 0, result.output
    assert [entry["title"] for entry in run_json("timeline", "--all")] == [item.title]


def test_a_long_article_is_read_only_as_far_as_the_summary_needs():
    article = (
        "<div>" + "<p>Talks <b>resumed</b> at the <a href='x'>guild</a>.</p>" * 2000 + "</div>"
    )
    whole = plain_text(article)
    assert plain_text(article, 2000) == whole[:1999].rstrip() + "…"
    short = "<p>Only <i>this</i></p><script>x()</script>"
    assert plain_text(short, 2000) == "Only this"
