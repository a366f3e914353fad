"""Turning what feeds say into clean values: plain text, canonical links, UTC timestamps."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import cache

from strikewatch.sanitize import strip_controls

SUMMARY_MAX_CHARS = 2000


@cache
def _markup_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """Hidden blocks, line-breaking tags, any tag, runs of space; compiled at first use, as
    compiling them at import cost every listing's start-up."""
    return (
        re.compile(
            r"<(script|style|template|noscript)\b[^>]*>.*?</\1\s*>|<!--.*?-->|<!\[CDATA\[|\]\]>",
            re.IGNORECASE | re.DOTALL,
        ),
        re.compile(r"<\s*(br|/p|/div|/li|/h[1-6]|/tr|/blockquote)\b[^>]*>", re.IGNORECASE),
        re.compile(r"<[^>]*>?"),
        re.compile(r"\s+"),
    )


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


@cache
def _plain_link_pattern() -> re.Pattern[str]:
    """Already canonical: lower-case http(s) host, no port, no query, no fragment."""
    return re.compile(r"https?://[a-z0-9.-]+(?:/[^?#\s]*)?\Z")


_TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "hmb_", "oly_")


def plain_text(value: str | None, max_chars: int | None = None) -> str:
    """Reduce HTML (or text with entities) to one line of plain, printable text."""
    if not value:
        return ""
    text = value
    hidden_blocks, break_tags, tags, spaces = _markup_patterns()
    if "<" in text:
        text = hidden_blocks.sub(" ", text)
        text = break_tags.sub(" ", text)
        text = tags.sub("", text)
    if "&" in text:
        from html import unescape  # here: the listings never need it, and it costs them 3 ms

        text = unescape(text)
    # Most headlines are already clean: isprintable() rules out controls, bidi marks, tabs,
    # newlines and odd spaces in one C call, and saves two regex passes per field.
    if not text.isprintable() or "  " in text:
        text = spaces.sub(" ", strip_controls(text))
    text = text.strip()
    if max_chars is not None and len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return text


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
    if _plain_link_pattern().match(url):
        return url if url.count("/") >= 3 else url + "/"
    from urllib.parse import urlsplit, urlunsplit

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
    from urllib.parse import urlsplit, urlunsplit

    from strikewatch.errors import UsageError

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


@cache
def _furniture_fragment() -> re.Pattern[str]:
    """Fragments that point into the article's own page, not at another story: its comments
    (WordPress's #comments, #respond, #disqus_thread), its "read more" mark (#more-123), and
    share widgets' click ids (#.VxY1a2b3c4 or #.VxY1a2b3c4.dpuf)."""
    return re.compile(
        r"(?:comments?|respond|disqus_thread|more-\d+|more|\.[A-Za-z0-9_-]{6,}(?:\.[a-z]{2,5})?)\Z",
        re.IGNORECASE,
    )


def _is_tracking_fragment(fragment: str) -> bool:
    """True when the fragment says nothing about which story the link is."""
    return not fragment or bool(_furniture_fragment().match(fragment))


def to_utc_iso(moment: datetime) -> str:
    """ISO 8601 in UTC, to the second: the one format every stored timestamp uses."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def parse_timestamp(value: str | None) -> datetime | None:
    """Read the dates feeds and archives use (ISO 8601, RFC 822); None when unusable."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    candidate = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        # Imported here: email.utils (and the socket module it pulls in) costs read-only
        # commands like `timeline` a noticeable share of their start-up.
        from email.utils import parsedate_to_datetime

        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return moment


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def published_or_seen(published: datetime | None, first_seen: datetime) -> datetime:
    """An item's date: its own, unless missing or in the future, then when we first saw it."""
    if published is None or published > first_seen + timedelta(minutes=5):
        return first_seen
    return published


def content_hash(*fields: str | None) -> str:
    """A stable fingerprint of an item's text, to spot edits and items without guid or link."""
    import hashlib

    text = "".join(f"{field or ''}\x1f" for field in fields)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
