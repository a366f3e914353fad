"""What `feeds add` checks before subscribing: is the address a feed, or a web page that
names its feed? Fetched once, within the same bounds as a poll; nothing is stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from strikewatch.errors import FetchError, ParseError, UsageError
from strikewatch.fetch import fetch, fetch_all
from strikewatch.normalize import feed_url
from strikewatch.parse import find_feed_links, is_html_page, other_kind_of_file

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
    moved_from: str | None = None  # the address given, when it redirected permanently to url


def check_address(session: requests.Session, url: str, *, timeout: float) -> Checked:
    """The feed to subscribe to for `url`: itself when it is a feed (or cannot be reached now:
    the next poll will say what is wrong), else the feed its page links to, checked in turn.
    A permanent redirect (301, 308) is followed to the address it names, which is the one
    subscribed, so a feed already subscribed there is recognised. Raises ParseError for a page
    that names no feed, a feed link that is itself a page, or an OPML list."""
    [fetched] = fetch_all(
        session, [{"name": url, "url": url}], timeout=timeout, max_bytes=PAGE_MAX_BYTES
    )
    if fetched.error is not None or fetched.result is None:
        return Checked(url=url, unchecked=str(fetched.error))
    result = fetched.result
    here = stored_form(result.moved_to) if result.moved_to else url
    moved_from = url if here != url else None
    body = result.body or b""
    other = other_kind_of_file(body)
    if other is not None:
        raise ParseError(f"{url}: {other}")
    if not is_html_page(body):
        return Checked(url=here, moved_from=moved_from)
    links = find_feed_links(body, result.url)
    if not links:
        raise ParseError(
            f"{url}: not a feed: a web page that names no feed "
            '(no <link rel="alternate" type="application/rss+xml"> or Atom); '
            "give the feed's own address"
        )
    feed = stored_form(links[0])
    try:
        found = fetch(session, feed, timeout=timeout, max_bytes=PAGE_MAX_BYTES)
    except FetchError as error:
        return Checked(url=feed, page=url, unchecked=str(error))
    if is_html_page(found.body or b"") or other_kind_of_file(found.body or b"") is not None:
        raise ParseError(
            f"{url}: the feed this page names ({feed}) is not a feed either;"
            " give the feed's own address"
        )
    return Checked(url=stored_form(found.moved_to) if found.moved_to else feed, page=url)


def stored_form(url: str) -> str:
    """An address as `feeds add` stores it (normalize.feed_url), or as it is if it is none."""
    try:
        return feed_url(url)
    except UsageError:
        return url
