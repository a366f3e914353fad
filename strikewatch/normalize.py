"""Links in their one stored form: an article's canonical link, a feed's address.

Dates are strikewatch.dates and HTML is strikewatch.text: a listing loads none of this
(urllib.parse alone costs a few milliseconds of a command's start)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from strikewatch.errors import UsageError
from strikewatch.sanitize import strip_controls

# Query parameters that identify a campaign or a click, not the page.
_TRACKING_PARAMS = {
    "fbclid",
    "gclid",
    "dclid",
    "msclkid",
    "yclid",
    "igshid",
    "mc_cid",
    "mc_eid",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "cmpid",
    "cmp",
    "ncid",
    "soc_src",
    "soc_trk",
    "ito",
    "ref",
    "ref_src",
    "rss",
    "sr_share",
    "s_cid",
    "share",
    "smid",
    "spm",
    "taid",
    "twclid",
    "vero_id",
    "wt.mc_id",
}


# Already canonical: lower-case http(s) host, no port, no query, no fragment.
_PLAIN_LINK_RE = re.compile(r"https?://[a-z0-9.-]+(?:/[^?#\s]*)?\Z")


_TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "hmb_", "oly_")


def canonical_link(url: str | None) -> str | None:
    """The link with tracking parameters, tracking fragments and default ports removed.

    Two feeds that point at the same article through different campaign tags give one item.
    The query's other parameters are kept exactly as written (same order, same encoding).
    A fragment is kept when it names a place (a day page's #post-2 is its own story) and
    dropped when it only tracks or points into the page's furniture (see _is_tracking_fragment).
    """
    if not url:
        return None
    url = strip_controls(url).strip()
    if not url:
        return None
    if _PLAIN_LINK_RE.match(url):
        return url if url.count("/") >= 3 else url + "/"
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme.lower() not in ("http", "https"):
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host
    if parts.username:
        netloc = f"{parts.username}@{host}"
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        netloc = f"{netloc}:{port}"
    query = _without_tracking(parts.query)
    fragment = "" if _is_tracking_fragment(parts.fragment) else _without_tracking(parts.fragment)
    return urlunsplit((scheme, netloc, parts.path or "/", query, fragment))


def feed_url(url: str) -> str:
    """An http(s) feed address in the one form it is stored under, so that
    HTTPS://DEADLINE.COM:443/feed/ and https://deadline.com/feed/ are one subscription: scheme and
    host in lower case, the default port dropped, an empty path made "/". The rest (path, query)
    is kept as written: servers may tell its case apart, and whether a trailing slash matters
    only the server's redirect can say. Raises UsageError for an address with no host, with
    spaces, or that is not a URL at all."""
    text = strip_controls(url).strip()
    accepted = "give an http(s) address such as https://deadline.com/feed/"
    if any(character.isspace() for character in text):
        raise UsageError(f"{text}: an address cannot contain spaces; {accepted}")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise UsageError(f"{text}: not a valid URL ({error}); {accepted}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UsageError(f"{text}: not an http(s) address; {accepted}")
    host = (parts.hostname or "").lower()
    if not host:
        raise UsageError(f"{text}: the address has no host; {accepted}")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != (443 if scheme == "https" else 80):
        netloc = f"{netloc}:{port}"
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    if userinfo:
        netloc = f"{userinfo}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, parts.fragment))


def _without_tracking(pairs: str) -> str:
    return "&".join(
        part for part in pairs.split("&") if part and not _is_tracking(part.split("=", 1)[0])
    )


def _is_tracking(key: str) -> bool:
    key = key.lower()
    return key in _TRACKING_PARAMS or key.startswith(_TRACKING_PREFIXES) or key in ("xtor",)


# Fragments that point into the article's own page, not at another story: its comments
# (WordPress's #comments, #respond, #disqus_thread), its "read more" mark (#more-123), and share
# widgets' click ids (#.VxY1a2b3c4 or #.VxY1a2b3c4.dpuf). Compiled on first use (re keeps it):
# only links with a fragment need it.
_FURNITURE_FRAGMENT = (
    r"(?:comments?|respond|disqus_thread|more-\d+|more|\.[A-Za-z0-9_-]{6,}(?:\.[a-z]{2,5})?)\Z"
)


def _is_tracking_fragment(fragment: str) -> bool:
    """True when the fragment says nothing about which story the link is."""
    return not fragment or bool(re.match(_FURNITURE_FRAGMENT, fragment, re.IGNORECASE))
