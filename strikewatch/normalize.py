"""Turning what feeds say into clean values: plain text, canonical links, UTC timestamps."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from html import unescape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from strikewatch.errors import UsageError
from strikewatch.sanitize import strip_controls

SUMMARY_MAX_CHARS = 2000


_SPACE_RE = re.compile(r"\s+")


# What text that is really HTML carries: a closing tag, a line break, or an entity.
_MARKUP_HINT_RE = re.compile(
    r"</[A-Za-z][\w-]*\s*>|<br\s*/?>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z]\w*);"
)


# Elements whose edges separate words (a browser would start a new line or cell there).
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br caption dd details dialog div dl dt fieldset figcaption "
    "figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table "
    "tbody td tfoot th thead tr ul".split()
)
# Elements whose content a reader never sees.
_HIDDEN_TAGS = frozenset({"script", "style", "template", "noscript", "head", "title"})


def looks_like_markup(text: str) -> bool:
    """Whether text that does not say what it is (an archive's field) is HTML: a closing tag,
    a <br> or an entity reference. "1 < 2" and "RSS <<<Tutorial>>>" are text."""
    return ("<" in text or "&" in text) and _MARKUP_HINT_RE.search(text) is not None


class _TextOf(HTMLParser):
    """Collects the text a reader of some HTML sees."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)

    def unknown_decl(self, data: str) -> None:
        if data.startswith("CDATA["):  # CDATA left inside HTML: its text is text
            self.handle_data(data[6:])


def html_to_text(markup: str, enough: int | None = None) -> str:
    """The text a reader of this HTML sees, by a real HTML parser: tags go whole (an attribute
    holding ">" included), block edges become spaces, script and style go with their content,
    entities are decoded once. A "<" that no ">" follows cannot start a tag, so it is text,
    whatever the Python version's parser would do with an unfinished tag at the end.

    With `enough`, reading stops once that many characters of text (spaces collapsed) are in
    hand: a summary keeps its first 2,000, and an article's full HTML can be ten times that."""
    last_close = markup.rfind(">")
    if markup.find("<", last_close + 1) >= 0:
        markup = markup[: last_close + 1] + markup[last_close + 1 :].replace("<", "&lt;")
    parser = _TextOf()
    start, piece = 0, 8192 if enough is not None else len(markup)
    while start < len(markup):
        parser.feed(markup[start : start + piece])
        # Pieces double: a tag left open across them is scanned again on each feed, which
        # stays linear only if the pieces grow.
        start, piece = start + piece, piece * 2
        if enough is not None and sum(map(len, parser.parts)) > enough:
            text = " ".join("".join(parser.parts).split())
            if len(text) > enough:
                return text
    parser.close()
    return "".join(parser.parts)


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


def plain_text(value: str | None, max_chars: int | None = None, *, html: bool = True) -> str:
    """One line of plain, printable text. With `html` (the default), `value` is HTML, reduced
    to its text; without, it is already text and keeps its "<", "&" and ">" as written."""
    if not value:
        return ""
    text = value
    if html and ("<" in text or "&" in text):
        text = html_to_text(text, max_chars) if "<" in text else unescape(text)
    # Most headlines are already clean: isprintable() rules out controls, bidi marks, tabs,
    # newlines and odd spaces in one C call, and saves two regex passes per field.
    if not text.isprintable() or "  " in text:
        text = _SPACE_RE.sub(" ", strip_controls(text))
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
# widgets' click ids (#.VxY1a2b3c4 or #.VxY1a2b3c4.dpuf).
_FURNITURE_FRAGMENT_RE = re.compile(
    r"(?:comments?|respond|disqus_thread|more-\d+|more|\.[A-Za-z0-9_-]{6,}(?:\.[a-z]{2,5})?)\Z",
    re.IGNORECASE,
)


def _is_tracking_fragment(fragment: str) -> bool:
    """True when the fragment says nothing about which story the link is."""
    return not fragment or bool(_FURNITURE_FRAGMENT_RE.match(fragment))


def to_utc_iso(moment: datetime) -> str:
    """ISO 8601 in UTC, to the second: the one format every stored timestamp uses."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def parse_timestamp(value: str | None) -> datetime | None:
    """Read the dates feeds and archives use (ISO 8601, RFC 822 and its loose cousins); None
    when unusable, and when its time zone is one this reader does not know (never a guess)."""
    return read_timestamp(value)[0]


def read_timestamp(value: str | None) -> tuple[datetime | None, str | None]:
    """The instant a date names, and the zone name that kept it from being read, if that was
    the trouble. A date that names no zone is UTC; a zone it names but we cannot read gives no
    instant, since taking it as UTC would put the story hours away from where it happened."""
    if not value or not isinstance(value, str):
        return None, None
    text = value.strip()
    if not text:
        return None, None
    candidate = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        return _read_written_date(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None, None
    return moment, None


_MONTHS = {
    name: number
    for number, name in enumerate(
        "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1
    )
}
# Zone names feeds write, as hours from UTC. The generic US names (ET, CT, MT, PT) follow
# daylight saving time, as the publisher writing them does.
_FIXED_ZONES = {
    "ut": 0, "utc": 0, "gmt": 0, "z": 0,
    "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
    "akst": -9, "akdt": -8, "hst": -10,
}  # fmt: skip
_US_GENERIC_ZONES = {"et": -5, "ct": -6, "mt": -7, "pt": -8}


# RFC 822 and the loose forms around it: "Tue, 2 May 2023 3:15 PM PDT", "May 2, 2023 15:15 ET",
# "2023/05/02 03:15 GMT+2", each with an optional zone and (comment).
_WRITTEN_DATE_RE = re.compile(
    r"(?:[a-z]{3,9}\.?,?\s+)?"  # weekday
    r"(?:(?P<d1>\d{1,2})[\s-]+(?P<m1>[a-z]{3,9})\.?,?[\s-]+(?P<y1>\d{4}|\d{2})"
    r"|(?P<m2>[a-z]{3,9})\.?\s+(?P<d2>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y2>\d{4})"
    r"|(?P<y3>\d{4})[-/.](?P<m3>\d{1,2})[-/.](?P<d3>\d{1,2}))"
    r"(?:(?:\s*,\s*|\s+|t)(?:at\s+)?(?P<hour>\d{1,2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:\.\d+)?)?\s*(?P<ampm>[ap]\.?m\b\.?)?)?"
    r"(?:\s*(?P<zone>[a-z][a-z_/]*(?:\s*[+-]\s*\d{1,2}(?::?\d{2})?)?|[+-]\d{1,2}(?::?\d{2})?))?"
    r"(?:\s*\([^()]*\))?",
    re.IGNORECASE,
)


def _read_written_date(text: str) -> tuple[datetime | None, str | None]:
    match = _WRITTEN_DATE_RE.fullmatch(text)
    if match is None:
        return None, None
    parts = match.groupdict()
    month_name = parts["m1"] or parts["m2"]
    month = _MONTHS.get(month_name[:3].lower()) if month_name else int(parts["m3"])
    year_text = parts["y1"] or parts["y2"] or parts["y3"]
    year = int(year_text)
    if len(year_text) == 2:  # RFC 2822's rule for two-digit years
        year += 2000 if year < 50 else 1900
    hour, minute = int(parts["hour"] or 0), int(parts["minute"] or 0)
    if parts["ampm"]:
        if not 1 <= hour <= 12:
            return None, None
        hour = hour % 12 + (12 if parts["ampm"][0].lower() == "p" else 0)
    try:
        local = datetime(
            year, month or 0, int(parts["d1"] or parts["d2"] or parts["d3"]), hour, minute,
            int(parts["second"] or 0),
        )  # fmt: skip
    except (TypeError, ValueError):
        return None, None
    zone = parts["zone"]
    if zone is None:
        return local.replace(tzinfo=UTC), None
    offset = _zone_offset(zone, local)
    if offset is None:
        return None, zone
    try:
        return local.replace(tzinfo=timezone(offset)).astimezone(UTC), None
    except (OverflowError, ValueError):
        return None, None


def _zone_offset(zone: str, local: datetime) -> timedelta | None:
    """How far `zone` is from UTC at the local time `local`; None for a zone we cannot read."""
    name = re.match(r"[a-z]*", zone, re.IGNORECASE).group(0).lower()  # type: ignore[union-attr]
    number = zone[len(name) :].replace(" ", "")
    if number:  # "+0200", "-07:00", "GMT+2", "UTC-05:00"
        if name not in ("", "gmt", "utc", "ut"):
            return None
        digits = number[1:].replace(":", "")
        hours, minutes = (digits, "0") if len(digits) <= 2 else (digits[:-2], digits[-2:])
        offset = timedelta(hours=int(hours), minutes=int(minutes))
        if offset > timedelta(hours=14) or int(minutes) >= 60:
            return None
        return -offset if number[0] == "-" else offset
    if name in _FIXED_ZONES:
        return timedelta(hours=_FIXED_ZONES[name])
    if name in _US_GENERIC_ZONES:
        standard = _US_GENERIC_ZONES[name]
        return timedelta(hours=standard + 1 if _us_daylight_time(local) else standard)
    return None


def _us_daylight_time(local: datetime) -> bool:
    """Whether US daylight saving time is in force at this local wall-clock time (the rules
    since 2007: from the second Sunday of March to the first Sunday of November, 2 a.m.)."""
    march_first = datetime(local.year, 3, 1)
    november_first = datetime(local.year, 11, 1)
    start = march_first + timedelta(days=(6 - march_first.weekday()) % 7 + 7, hours=2)
    end = november_first + timedelta(days=(6 - november_first.weekday()) % 7, hours=2)
    return start <= local.replace(tzinfo=None) < end


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# No story strikewatch tracks was written before this; a date earlier is a placeholder
# (Hugo writes "Mon, 01 Jan 0001" on undated pages) or a mistake.
EARLIEST_DATE = datetime(1900, 1, 1, tzinfo=UTC)


def plausible_date(moment: datetime | None, now: datetime | None = None) -> datetime | None:
    """The date, or None when it cannot be a story's: before 1900, or more than a day ahead
    of `now` (a clock or a time zone can be a few hours out; a year cannot)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment < EARLIEST_DATE or moment > (now or utcnow()) + timedelta(days=1):
        return None
    return moment


def usable_date(published: datetime | None, first_seen: datetime) -> datetime | None:
    """The item's own date, or None when it is missing, in the future or before 1900."""
    if (
        published is None
        or published > first_seen + timedelta(minutes=5)
        or published < EARLIEST_DATE
    ):
        return None
    return published


def content_hash(*fields: str | None) -> str:
    """A stable fingerprint of an item's text, to spot edits and items without guid or link."""
    text = "".join(f"{field or ''}\x1f" for field in fields)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def read_json_object(line: str) -> dict[str, Any] | str:
    """One JSON-lines record, or why it is not one (for the caller to report by line number):
    not JSON, nested past what the parser can follow, not an object, or holding a lone
    surrogate ("\\ud800"), which is no character: it could be neither stored nor printed."""
    try:
        record = json.loads(line)
    except RecursionError:
        return "not valid JSON (nested too deeply)"
    except ValueError as error:
        return f"not valid JSON ({getattr(error, 'msg', None) or 'malformed'})"
    if not isinstance(record, dict):
        return "not a JSON object"
    # Only a \u escape can write one (the line itself was valid UTF-8); pairs are fine.
    if "\\u" in line and _SURROGATE_ESCAPE_RE.search(line):
        for key, value in record.items():
            if _holds_lone_surrogate(key):
                return "a key holds a lone surrogate (a \\ud800-\\udfff escape), not text"
            if _holds_lone_surrogate(value):
                return f"{key[:40]!r} holds a lone surrogate (a \\ud800-\\udfff escape), not text"
    return record


_SURROGATE_ESCAPE_RE = re.compile(r"\\u[dD][89a-fA-F]")


def _holds_lone_surrogate(value: Any) -> bool:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
