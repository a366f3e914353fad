"""Getting a feed's bytes: politely (conditional GET), within bounds (time, size)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from strikewatch import __version__
from strikewatch.errors import FetchError
from strikewatch.normalize import utcnow

if TYPE_CHECKING:
    import requests

USER_AGENT = f"strikewatch/{__version__} (+https://pypi.org/project/strikewatch/; feed poller)"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
CHUNK_SIZE = 64 * 1024
PERMANENT_REDIRECTS = (301, 308)
RETRY_LATER_STATUSES = (429, 503)
GONE_STATUS = 410


@dataclass
class FetchResult:
    """What one request for a feed gave us; body is None when the server said 304."""

    status: int | None
    body: bytes | None
    url: str
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    moved_to: str | None = None


class RetryLater(FetchError):
    """429 or 503 with a Retry-After: the server asked us to wait, which is not a failure."""

    def __init__(self, message: str, status: int, until: datetime | None):
        super().__init__(message, status)
        self.until = until


class Gone(FetchError):
    """410 Gone: the feed has been withdrawn for good."""


def is_remote(location: str) -> bool:
    return urlsplit(location).scheme.lower() in ("http", "https")


def new_session() -> requests.Session:
    """A session with our User-Agent, so every request identifies the poller."""
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept"] = (
        "application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
    )
    return session


def parse_retry_after(value: str | None, now: datetime | None = None) -> datetime | None:
    """Retry-After is either a number of seconds or an HTTP date."""
    if not value:
        return None
    now = now or utcnow()
    value = value.strip()
    if value.isdigit():
        return now + timedelta(seconds=min(int(value), 7 * 86400))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return max(moment, now)


def read_local(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> FetchResult:
    """A feed file on disk, read with the same size cap as a download."""
    location = Path(path).expanduser()
    try:
        size = location.stat().st_size
        if size > max_bytes:
            raise FetchError(f"file is larger than the {max_bytes // (1024 * 1024)} MB limit")
        body = location.read_bytes()
    except FileNotFoundError:
        raise FetchError("no such file") from None
    except IsADirectoryError:
        raise FetchError("is a directory, not a feed file") from None
    except OSError as error:
        raise FetchError(f"cannot read file: {error.strerror or error}") from None
    return FetchResult(status=None, body=body, url=str(path))


def fetch(
    session: requests.Session,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> FetchResult:
    """GET a feed conditionally; `timeout` bounds the whole download, not just each read."""
    import requests

    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline = time.monotonic() + timeout
    try:
        response = session.get(
            url, headers=headers, timeout=(min(timeout, 10.0), timeout), stream=True
        )
    except requests.exceptions.Timeout:
        raise FetchError(f"timed out after {timeout:g}s") from None
    except requests.exceptions.TooManyRedirects:
        raise FetchError("too many redirects") from None
    except requests.exceptions.SSLError:
        raise FetchError("TLS/SSL error: the certificate could not be verified") from None
    except requests.exceptions.ConnectionError as error:
        raise FetchError(f"cannot connect: {_connection_reason(error)}") from None
    except requests.exceptions.RequestException as error:
        raise FetchError(f"request failed: {type(error).__name__}") from None

    with response:
        status = response.status_code
        moved_to = _permanent_target(response)
        if status == 304:
            return FetchResult(
                status=304,
                body=None,
                url=response.url,
                etag=response.headers.get("ETag") or etag,
                last_modified=response.headers.get("Last-Modified") or last_modified,
                moved_to=moved_to,
            )
        if status in RETRY_LATER_STATUSES:
            until = parse_retry_after(response.headers.get("Retry-After"))
            reason = f"HTTP {status} {response.reason or ''}".strip()
            if until is not None:
                raise RetryLater(
                    f"{reason}, asked to retry after {until:%Y-%m-%d %H:%M} UTC", status, until
                )
            raise FetchError(reason, status)
        if status == GONE_STATUS:
            raise Gone("HTTP 410 Gone: the feed was withdrawn, unsubscribing", status)
        if status >= 400:
            raise FetchError(f"HTTP {status} {response.reason or ''}".strip(), status)
        body = _read_capped(response, max_bytes, deadline, timeout)
        return FetchResult(
            status=status,
            body=body,
            url=response.url,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            content_type=response.headers.get("Content-Type"),
            moved_to=moved_to,
        )


def _read_capped(response, max_bytes: int, deadline: float, timeout: float) -> bytes:
    """Stream the (decompressed) body, giving up past the size cap or the deadline."""
    import requests

    declared = response.headers.get("Content-Length", "")
    if (
        declared.isdigit()
        and int(declared) > max_bytes
        and not response.headers.get("Content-Encoding")
    ):
        raise FetchError(
            f"response too large ({int(declared) // (1024 * 1024)} MB, limit {max_bytes // (1024 * 1024)} MB)"
        )
    chunks = []
    received = 0
    try:
        for chunk in response.iter_content(CHUNK_SIZE):
            received += len(chunk)
            if received > max_bytes:
                raise FetchError(
                    f"response too large (over the {max_bytes // (1024 * 1024)} MB limit)"
                )
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise FetchError(f"timed out after {timeout:g}s (body still arriving)")
    except requests.exceptions.RequestException as error:
        if isinstance(error, requests.exceptions.ConnectionError) and "Read timed out" in str(
            error
        ):
            raise FetchError(f"timed out after {timeout:g}s") from None
        raise FetchError(f"download interrupted: {type(error).__name__}") from None
    return b"".join(chunks)


def _permanent_target(response) -> str | None:
    """Follow the chain of 301/308 hops from the start; a 302/307 anywhere stops the update."""
    target = None
    for index, hop in enumerate(response.history):
        if hop.status_code not in PERMANENT_REDIRECTS:
            break
        following = response.history[index + 1] if index + 1 < len(response.history) else response
        target = following.url
    return target


def _connection_reason(error: Exception) -> str:
    text = str(error)
    for marker, reason in (
        ("Name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("Temporary failure in name resolution", "DNS lookup failed"),
        ("Connection refused", "connection refused"),
        ("Network is unreachable", "network unreachable"),
        ("Read timed out", "read timed out"),
        ("RemoteDisconnected", "server closed the connection"),
        ("Connection reset", "connection reset"),
    ):
        if marker in text:
            return reason
    return "connection error"
