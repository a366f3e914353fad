"""What `feeds add` checks before subscribing: is the address a feed, or a web page that
names its feed? Fetched once, within the same bounds as a poll; nothing is stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from strikewatch.errors import ParseError
from strikewatch.fetch import fetch_all
from strikewatch.parse import find_feed_links, is_html_page

if TYPE_CHECKING:
    import requests

# A page is read only for its <head>: far less than a feed may weigh.
PAGE_MAX_BYTES = 5 * 1024 * 1024


@dataclass
class Checked:
    """The address to subscribe to, and why it differs from the one given (if it does)."""

    url: str
    page: str | None = None  # the web page the feed was found on
    unchecked: str | None = None  # why the address could not be checked now


def check_address(session: requests.Session, url: str, *, timeout: float) -> Checked:
    """The feed to subscribe to for `url`: itself when it is a feed (or cannot be reached now:
    the next poll will say what is wrong), else the feed its page links to. Raises ParseError
    for a page that names no feed."""
    [fetched] = fetch_all(
        session, [{"name": url, "url": url}], timeout=timeout, max_bytes=PAGE_MAX_BYTES
    )
    if fetched.error is not None or fetched.result is None:
        return Checked(url=url, unchecked=str(fetched.error))
    body = fetched.result.body or b""
    if not is_html_page(body):
        return Checked(url=url)
    links = find_feed_links(body, fetched.result.url)
    if not links:
        raise ParseError(
            f"{url}: not a feed: a web page that names no feed "
            '(no <link rel="alternate" type="application/rss+xml"> or Atom); '
            "give the feed's own address"
        )
    return Checked(url=links[0], page=url)
