"""Feed documents for tests: RSS shaped like WordPress output, and Atom."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import format_datetime
from xml.sax.saxutils import escape

from werkzeug import Request, Response


@dataclass
class Story:
    title: str
    link: str
    published: str  # ISO 8601 with offset
    summary: str = ""
    guid: str | None = None


def rss(stories: Sequence[Story], *, title: str = "Trade Feed", wordpress: bool = True) -> bytes:
    """An RSS 2.0 document shaped like WordPress output (content:encoded, dc:creator)."""
    from datetime import datetime

    items = []
    for story in stories:
        date = format_datetime(datetime.fromisoformat(story.published))
        guid = story.guid or story.link
        content = (
            f"<content:encoded><![CDATA[<p>{story.summary}</p><p>More text.</p>]]></content:encoded>"
            if wordpress
            else ""
        )
        items.append(
            f"""<item>
      <title>{escape(story.title)}</title>
      <link>{escape(story.link)}</link>
      <dc:creator><![CDATA[Staff]]></dc:creator>
      <pubDate>{date}</pubDate>
      <guid isPermaLink="false">{escape(guid)}</guid>
      <description><![CDATA[<p>{story.summary}</p>]]></description>
      {content}
    </item>"""
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>{escape(title)}</title>
    <link>https://example.com/</link>
    <description>Test feed</description>
    {"".join(items)}
  </channel>
</rss>""".encode()


def atom(stories: Sequence[Story], *, title: str = "Guild News") -> bytes:
    entries = []
    for story in stories:
        entries.append(
            f"""<entry>
    <title type="html">{escape(story.title)}</title>
    <link rel="alternate" href="{escape(story.link)}"/>
    <id>{escape(story.guid or "tag:example.com," + story.link)}</id>
    <updated>{story.published}</updated>
    <published>{story.published}</published>
    <summary type="html">{escape(story.summary)}</summary>
  </entry>"""
        )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>{escape(title)}</title>
  <id>tag:example.com,2023:feed</id>
  <updated>2023-11-01T00:00:00Z</updated>
  {"".join(entries)}
</feed>""".encode()


# Three outlets' coverage, as served by the `three_feeds` fixture (tests/conftest.py).
DEADLINE = [
    Story(
        "WGA and AMPTP reach tentative agreement to end writers strike",
        "https://deadline.example/2023/09/wga-deal/?utm_source=rss&utm_medium=rss",
        "2023-09-25T04:10:00+00:00",
        "After five days of talks the two sides have a deal.",
    ),
    Story(
        "Box office: superhero sequel tops quiet weekend",
        "https://deadline.example/2023/06/box-office/",
        "2023-06-04T17:00:00+00:00",
        "Ticket sales were flat.",
    ),
    Story(
        "Writers Guild of America goes on strike",
        "https://deadline.example/2023/05/wga-strike/",
        "2023-05-02T07:05:00+00:00",
        "Pickets go up at studios on Tuesday.",
    ),
]
# Pacific and Central European offsets: the order only comes out right if dates become UTC.
VARIETY = [
    Story(
        "SAG-AFTRA members vote to authorize strike",
        "https://variety.example/sag-vote",
        "2023-06-05T17:45:00-07:00",
        "Nearly 98% voted yes.",
    ),
    Story(
        "Writers Guild members ratify new contract with studios",
        "https://variety.example/wga-ratify",
        "2023-10-09T20:30:00-07:00",
        "The vote passed with 99%.",
    ),
    Story(
        "WGA strike authorization passes with 97.85%",
        "https://variety.example/wga-vote",
        "2023-04-18T01:15:00+02:00",
        "Members back a walkout.",
    ),
]
GUILD = [
    Story(
        "DGA reaches tentative deal with AMPTP",
        "https://guild.example/news/dga-deal",
        "2023-06-04T06:00:00Z",
        "The directors have a deal.",
    ),
    Story(
        "WGA board votes to end strike on Wednesday",
        "https://guild.example/news/wga-strike-ends",
        "2023-09-26T23:40:00-05:00",
        "Writers can return to work at 12:01 a.m.",
    ),
]


class ConditionalFeed:
    """Serves a document with an ETag and Last-Modified, and answers 304 when asked right."""

    def __init__(self, body: bytes, content_type: str = "application/rss+xml; charset=utf-8"):
        self.content_type = content_type
        self.requests: list[dict[str, str]] = []
        self.set(body)

    def set(self, body: bytes) -> None:
        self.body = body
        self.etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        self.last_modified = (
            "Wed, 01 Nov 2023 10:00:00 GMT"
            if len(self.requests) < 2
            else "Thu, 02 Nov 2023 10:00:00 GMT"
        )

    def __call__(self, request: Request) -> Response:
        self.requests.append(dict(request.headers))
        if request.headers.get("If-None-Match") == self.etag:
            return Response(status=304, headers={"ETag": self.etag})
        return Response(
            self.body,
            headers={
                "ETag": self.etag,
                "Last-Modified": self.last_modified,
                "Content-Type": self.content_type,
            },
        )


# The keys every timeline entry carries at least (the contract's JSON section).
ENTRY_KEYS = frozenset(
    {"id", "published", "title", "link", "source", "summary", "guilds", "events"}
)
