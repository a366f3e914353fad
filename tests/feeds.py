"""Feed documents for tests: RSS shaped like WordPress output, and Atom."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import format_datetime
from xml.sax.saxutils import escape


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
