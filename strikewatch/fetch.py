"""Getting a feed's bytes: politely (conditional GET), within bounds (time, size).

Two bounds hold whatever the server does:

- Time: `timeout` is a deadline for the whole request. `fetch` owns it: every socket wait
  (connecting, each read) is given only the time left, and the body is read as it arrives,
  so a server that trickles its body one byte a second is dropped at the deadline. What no
  socket timeout reaches (a DNS lookup, headers trickled a byte at a time) is bounded by
  `fetch_all`, which reports such a download as timed out a moment after its deadline and
  leaves its thread behind.
- Size: the body is streamed and decompressed by us, chunk by chunk, with a cap on the bytes
  received and on the bytes decompressed, so neither a huge body nor a gzip bomb can exhaust
  memory.
"""

from __future__ import annotations

import contextlib
import queue
import stat
import threading
import time
import zlib
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import requests.utils
import urllib3

from strikewatch import __version__
from strikewatch.dates import utcnow
from strikewatch.errors import FeedError, FetchError
from strikewatch.text import plain_text

USER_AGENT = f"strikewatch/{__version__} (+https://pypi.org/project/strikewatch/; feed poller)"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
CHUNK_SIZE = 64 * 1024
MAX_REDIRECTS = 5
PERMANENT_REDIRECTS = (301, 308)
REDIRECTS = (301, 302, 303, 307, 308)
RETRY_LATER_STATUSES = (429, 503)
GONE_STATUS = 410
# A Retry-After is honoured up to this long: a feed is held back, never silenced for good.
MAX_RETRY_AFTER = timedelta(hours=24)
# 429 without a Retry-After still means "slow down": wait this long, without counting a failure.
DEFAULT_RETRY_AFTER = timedelta(minutes=30)
# Feeds fetched at once, and at once from one host.
MAX_WORKERS = 8
MAX_PER_HOST = 2
# How long past its deadline fetch_all waits for a download before abandoning it.
ABANDON_AFTER = 2.0


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


class Unreachable(FetchError):
    """No HTTP answer at all (DNS, refused, unreachable, connect timeout): maybe our network."""


def is_remote(location: str) -> bool:
    """An http(s) address (well formed or not: normalize.feed_url says what is wrong)."""
    return location.lstrip()[:6].lower().startswith(("http:", "https:"))


def host_key(location: str) -> str:
    """The server a location lives on, for the per-host connection limit ('' for files)."""
    if not is_remote(location):
        return ""
    try:
        return (urlsplit(location).hostname or "").lower()
    except ValueError:
        return location


def new_session() -> requests.Session:
    """A session with our User-Agent, asking for what _Decoder can decompress."""
    session = FeedSession()
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept"] = (
        "application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
    )
    session.headers["Accept-Encoding"] = "gzip, deflate"
    return session


def parse_retry_after(value: str | None, now: datetime | None = None) -> datetime | None:
    """Retry-After is either a number of seconds or an HTTP date; capped at MAX_RETRY_AFTER."""
    if not value:
        return None
    now = now or utcnow()
    value = value.strip()
    if value.isdigit():
        return now + min(timedelta(seconds=int(value[:9])), MAX_RETRY_AFTER)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return min(max(moment, now), now + MAX_RETRY_AFTER)


def read_local(
    path: str, max_bytes: int = DEFAULT_MAX_BYTES, *, regular_only: bool = False
) -> FetchResult:
    """A feed file on disk, read with the same size cap as a download, whatever it is: a
    device (/dev/zero) or a pipe is read up to the cap and no further. `regular_only` refuses
    anything but a regular file before opening it (a subscribed feed: cron must never block
    on a pipe nobody writes to, nor read a device)."""
    location = Path(path).expanduser()
    too_large = f"file is larger than the {_megabytes(max_bytes)} limit"
    try:
        status = location.stat()
        if stat.S_ISDIR(status.st_mode):
            raise FetchError("is a directory, not a feed file")
        regular = stat.S_ISREG(status.st_mode)
        if regular_only and not regular:
            raise FetchError("not a regular file (a device or a pipe); a feed must be a file")
        if regular and status.st_size > max_bytes:
            raise FetchError(too_large)
        with open(location, "rb") as handle:
            body = handle.read(max_bytes + 1)  # a file may grow, a device never ends
    except FileNotFoundError:
        raise FetchError("no such file") from None
    except IsADirectoryError:
        raise FetchError("is a directory, not a feed file") from None
    except OSError as error:
        raise FetchError(f"cannot read file: {error.strerror or error}") from None
    if len(body) > max_bytes:
        raise FetchError(too_large)
    return FetchResult(status=None, body=body, url=str(path))


def _no_auth(request: Any) -> Any:
    return request


class FeedSession(requests.Session):
    """A requests.Session that reads the environment's proxy settings and netrc once per host.

    requests re-reads every environment variable (proxies, no_proxy) for every request, and looks
    for ~/.netrc (parsing it, if there is one) for every request too, which dominated an
    unchanged re-poll (benchmarks/bench_poll.py). The answers depend only on the host, and
    neither changes during a poll.
    """

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._netrc: dict[str | None, tuple[str, str] | None] = {}

    def _netrc_auth(self, url: str) -> tuple[str, str] | None:
        host = urlsplit(url).hostname
        if host not in self._netrc:
            self._netrc[host] = requests.utils.get_netrc_auth(url)
        return self._netrc[host]

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        if not self.trust_env or request.auth or self.auth:
            return super().prepare_request(request)
        # What requests would send: the netrc entry, else credentials in the URL, else
        # none (a no-op, so that requests does not look the netrc up again).
        try:
            auth = self._netrc_auth(request.url)
        except ValueError:  # not a URL: requests says what is wrong with it
            return super().prepare_request(request)
        if not auth:
            in_url = requests.utils.get_auth_from_url(request.url)
            auth = in_url if any(in_url) else _no_auth
        original, request.auth = request.auth, auth
        try:
            return super().prepare_request(request)
        finally:
            request.auth = original

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        """requests' own, with the netrc look-up cached (it runs for every redirect)."""
        headers = prepared_request.headers
        url = prepared_request.url
        if "Authorization" in headers and self.should_strip_auth(response.request.url, url):
            del headers["Authorization"]
        new_auth = self._netrc_auth(url) if self.trust_env else None
        if new_auth is not None:
            prepared_request.prepare_auth(new_auth)

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        if not self.trust_env or proxies:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, stream, verify, cert)
        settings = self._environment.get(key)
        if settings is None:
            settings = super().merge_environment_settings(url, {}, stream, verify, cert)
            self._environment[key] = settings
        return {**settings, "proxies": dict(settings["proxies"])}


# -- the request ---------------------------------------------------------------------------


def fetch(
    session: requests.Session,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> FetchResult:
    """GET a feed conditionally; `timeout` bounds the exchange, not just each read."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    progress = _Progress()
    deadline = time.monotonic() + timeout
    try:
        return _exchange(session, url, headers, deadline, max_bytes, progress)
    except FetchError:
        raise
    except (
        requests.exceptions.RequestException,
        urllib3.exceptions.HTTPError,
        OSError,
        ValueError,
    ) as error:
        if _read_timed_out(error) or time.monotonic() >= deadline:
            raise FetchError(_timed_out(timeout, progress)) from None
        message = _describe_request_error(error, progress)
        if message.startswith(("cannot connect", "timed out while connecting")):
            raise Unreachable(message) from None
        raise FetchError(message) from None
    except Exception as error:  # urllib3/http.client internals on hostile input
        raise FetchError(f"request failed: {type(error).__name__}") from None


def _read_timed_out(error: BaseException) -> bool:
    """A read given only the time left timed out: the deadline passed."""
    return isinstance(
        error, requests.exceptions.ReadTimeout | urllib3.exceptions.ReadTimeoutError | TimeoutError
    ) or (
        isinstance(error, requests.exceptions.ConnectionError) and "Read timed out" in repr(error)
    )


@dataclass
class _Progress:
    """How far a request got, so a timeout can say where it stalled."""

    phase: str = "connecting"
    received: int = 0


def _exchange(
    session: requests.Session,
    url: str,
    headers: dict[str, str],
    deadline: float,
    max_bytes: int,
    progress: _Progress,
) -> FetchResult:
    moved_to: str | None = None
    still_permanent = True
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        progress.phase = "waiting for the response"
        response = session.get(
            current,
            headers=headers,
            timeout=(min(remaining, 10.0), remaining),
            stream=True,
            allow_redirects=False,
            # requests reads the Location even when not following it: check it first.
            hooks={"response": _refuse_invalid_redirect},
        )
        with response:
            status = response.status_code
            if status in REDIRECTS and response.headers.get("Location"):
                target = _redirect_target(current, response.headers["Location"], status)
                if not is_remote(target):
                    raise FetchError(f"HTTP {status} redirect to a non-http address", status)
                # Only an unbroken chain of permanent hops from the subscribed URL moves it.
                if still_permanent and status in PERMANENT_REDIRECTS:
                    moved_to = target
                else:
                    still_permanent = False
                current = target
                continue
            if status == 304:
                _keep_alive(response)
                return FetchResult(
                    status=304,
                    body=None,
                    url=current,
                    etag=response.headers.get("ETag") or headers.get("If-None-Match"),
                    last_modified=response.headers.get("Last-Modified")
                    or headers.get("If-Modified-Since"),
                    moved_to=moved_to,
                )
            _raise_for_status(response)
            progress.phase = "body still arriving"
            body = _read_body(response, max_bytes, deadline, progress)
            _keep_alive(response)
            return FetchResult(
                status=status,
                body=body,
                url=current,
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                content_type=response.headers.get("Content-Type"),
                moved_to=moved_to,
            )
    raise FetchError(f"too many redirects (more than {MAX_REDIRECTS})")


def _redirect_target(current: str, location: str, status: int) -> str:
    """Where a redirect leads, or a FetchError naming the address when it is no usable one
    (`http://[::1`, a port out of range)."""

    try:
        target = urljoin(current, location.strip())
        parts = urlsplit(target)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not one
    except ValueError:
        raise FetchError(
            f"HTTP {status} redirected to an invalid address: {plain_text(location, 100)!r}",
            status,
        ) from None
    return target


def _refuse_invalid_redirect(response: requests.Response, *_args: Any, **_kwargs: Any) -> Any:
    """A requests response hook: a redirect to no usable address is a FetchError naming it,
    before requests itself trips over it with a bare ValueError."""
    status = response.status_code
    location = response.headers.get("Location")
    if status in REDIRECTS and location:
        try:
            _redirect_target(response.url, location, status)
        except FetchError:
            response.close()
            raise
    return response


def _keep_alive(response: requests.Response) -> None:
    """Give a fully read connection back to the pool for the host's next feed.

    requests closes the connection of a streamed response it did not read itself, so every
    feed of a host would pay for a new connection (and, over https, a new TLS handshake).
    """
    raw = response.raw
    if getattr(raw, "chunked", False) and response.status_code == 304:
        return  # http.client would wait for chunks a 304 never sends: let it be closed
    with contextlib.suppress(Exception):
        raw.drain_conn()  # nothing left but what http.client still holds for a 304
        raw.release_conn()


def _reason(response: requests.Response) -> str:
    """'HTTP 500 Internal Server Error', with the server's reason phrase made harmless."""
    status = response.status_code
    reason = plain_text(response.reason if isinstance(response.reason, str) else "", 60)
    if not reason:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    return f"HTTP {status} {reason}".strip()


def _raise_for_status(response: requests.Response) -> None:
    status = response.status_code
    if status in RETRY_LATER_STATUSES:
        until = parse_retry_after(response.headers.get("Retry-After"))
        if until is None and status == 429:
            until = utcnow() + DEFAULT_RETRY_AFTER
        if until is not None:
            raise RetryLater(
                f"{_reason(response)}: asked to wait, next try after {until:%Y-%m-%d %H:%M} UTC",
                status,
                until,
            )
        raise FetchError(_reason(response), status)
    if status == GONE_STATUS:
        raise Gone(f"{_reason(response)}: the feed was withdrawn; unsubscribed", status)
    if status >= 400 or status < 200:
        raise FetchError(_reason(response), status)
    if status in REDIRECTS:
        raise FetchError(f"{_reason(response)} without a Location", status)


def _read_body(
    response: requests.Response, max_bytes: int, deadline: float, progress: _Progress
) -> bytes:
    """Read the body as it arrives, each read given only the time left, and decompress it
    ourselves, so the cap applies to decompressed bytes."""
    declared = (response.headers.get("Content-Length") or "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(
            f"response too large ({_megabytes(int(declared))}, the limit is {_megabytes(max_bytes)})"
        )
    decoder = _Decoder.for_encoding(response.headers.get("Content-Encoding"))
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        if sock is not None:
            sock.settimeout(remaining)
        chunk = response.raw.read1(CHUNK_SIZE, decode_content=False)
        if not chunk:
            break
        progress.received += len(chunk)
        if progress.received > max_bytes:
            raise FetchError(f"response too large (over the {_megabytes(max_bytes)} limit)")
        data = decoder.decompress(chunk, max_bytes + 1 - size)
        size += len(data)
        if size > max_bytes:
            raise FetchError(
                f"response too large (over the {_megabytes(max_bytes)} limit once decompressed)"
            )
        chunks.append(data)
    tail = decoder.flush(max_bytes + 1 - size)
    size += len(tail)
    if size > max_bytes:
        raise FetchError(
            f"response too large (over the {_megabytes(max_bytes)} limit once decompressed)"
        )
    chunks.append(tail)
    return b"".join(chunks)


class _Decoder:
    """Incremental gzip/deflate decoding that never produces more than it is allowed to.

    Some servers label a plain body `Content-Encoding: gzip` (or deflate): the body's first
    bytes tell, so such a body is read as it is rather than refused as corrupt.
    """

    def __init__(self, encoding: str):
        self.encoding = encoding
        self._zlib: Any = None
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()  # zlib-wrapped; raw deflate detected below
        self._started = False
        self._head = b""  # the first bytes, held until there are enough to tell what they are

    @classmethod
    def for_encoding(cls, header: str | None) -> _Decoder:
        encodings = [part.strip().lower() for part in (header or "").split(",") if part.strip()]
        encodings = [part for part in encodings if part != "identity"]
        if len(encodings) > 1:
            raise FetchError(f"unsupported Content-Encoding {plain_text(header, 40)!r}")
        encoding = encodings[0] if encodings else ""
        if encoding not in ("", "gzip", "x-gzip", "deflate"):
            raise FetchError(f"unsupported Content-Encoding {plain_text(encoding, 40)!r}")
        return cls(encoding)

    def decompress(self, data: bytes, limit: int) -> bytes:
        if self._zlib is None:
            return data
        if not self._started:
            self._head += data
            if len(self._head) < _SNIFF_BYTES:
                return b""
            data = self._begin(whole=False)
            if self._zlib is None:
                return data
        return self._inflate(data, limit)

    def flush(self, limit: int) -> bytes:
        out = b""
        if not self._started and self._head:  # the whole body was shorter than the sniff
            head = self._begin(whole=True)
            if self._zlib is None:
                return head
            out = self._inflate(head, limit)
        if self._zlib is None:
            return out
        try:
            # Input that max_length held back still waits in unconsumed_tail.
            while self._zlib.unconsumed_tail and len(out) < limit:
                out += self._zlib.decompress(self._zlib.unconsumed_tail, max(1, limit - len(out)))
            if len(out) < limit:
                out += self._zlib.flush()
                if self._started and not self._zlib.eof:
                    # zlib takes a stream that stops early without complaint: say so here.
                    raise FetchError(
                        f"the {self.encoding}-compressed body was cut short (the connection"
                        " ended before the compressed data did)"
                    )
        except zlib.error:
            raise FetchError(
                f"the {self.encoding}-compressed body is corrupt or truncated"
            ) from None
        return out

    def _inflate(self, data: bytes, limit: int) -> bytes:
        try:
            return self._zlib.decompress(data, max(1, limit))
        except zlib.error:
            raise FetchError(
                f"the {self.encoding}-compressed body is corrupt or truncated"
            ) from None

    def _begin(self, whole: bool) -> bytes:
        """Choose the decoder from the body's first bytes (None: not compressed after all);
        returns those bytes, still to be decoded. `whole`: they are the entire body."""
        head, self._head = self._head, b""
        self._started = True
        if self.encoding != "deflate":
            if not head.startswith(_GZIP_MAGIC):
                self._zlib = None
            return head
        if len(head) >= 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0:
            return head  # a zlib header: what the standard calls deflate
        # Raw deflate, as some servers send it; or a document that was never compressed,
        # when it starts like one and does not decompress.
        probe = zlib.decompressobj(-zlib.MAX_WBITS)
        try:
            probe.decompress(head, CHUNK_SIZE)
            decompresses = probe.eof or not whole
        except zlib.error:
            decompresses = False
        if not decompresses and _looks_like_markup(head):
            self._zlib = None
            return head
        self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        return head


_GZIP_MAGIC = b"\x1f\x8b"
# Enough of the body to tell compressed from plain (a shorter body is judged whole).
_SNIFF_BYTES = 512


def _looks_like_markup(head: bytes) -> bool:
    """Starts like an XML or HTML document: a byte-order mark or blank space, then `<`."""
    return head.lstrip(b"\xef\xbb\xbf\xfe\xff\x00 \t\r\n")[:1] == b"<"


def _megabytes(size: int) -> str:
    megabytes = size / (1024 * 1024)
    return f"{megabytes:.0f} MB" if megabytes >= 1 else f"{size // 1024} KB"


def _timed_out(timeout: float, progress: _Progress) -> str:
    if progress.phase == "body still arriving" and progress.received:
        return (
            f"timed out after {timeout:g}s "
            f"(body still arriving, {_megabytes(progress.received)} received)"
        )
    return f"timed out after {timeout:g}s ({progress.phase})"


def _describe_request_error(error: BaseException, progress: _Progress) -> str:
    if isinstance(error, urllib3.exceptions.HTTPError):  # raised while streaming the body
        if isinstance(error, urllib3.exceptions.TimeoutError):
            return "timed out waiting for the server"
        reason = _connection_reason(error)
        return f"download interrupted: {reason}"

    if isinstance(error, requests.exceptions.SSLError):
        return "TLS/SSL error: the certificate could not be verified"
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return "timed out while connecting"
    if isinstance(error, requests.exceptions.Timeout):
        return "timed out waiting for the server"
    if isinstance(error, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return "not a valid URL"
    if isinstance(error, requests.exceptions.InvalidSchema):
        return "unsupported address scheme"
    if isinstance(error, requests.exceptions.ConnectionError | OSError):
        reason = _connection_reason(error)
        if progress.phase == "body still arriving":
            return f"download interrupted: {reason}"
        text = repr(error)
        if any(marker in text for marker in _NO_CONNECTION_MARKERS):
            return f"cannot connect: {reason}"
        return f"no usable answer: {reason}"
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return "download interrupted: broken chunked encoding"
    if isinstance(error, requests.exceptions.ContentDecodingError):
        return "download interrupted: the compressed body is corrupt"
    return f"request failed: {type(error).__name__}"


_NO_CONNECTION_MARKERS = (
    "NewConnectionError",
    "NameResolutionError",
    "Failed to establish",
    "Connection refused",
    "Network is unreachable",
    "No route to host",
    "gaierror",
)


def _connection_reason(error: BaseException) -> str:
    text = repr(error)
    for marker, reason in (
        ("Name or service not known", "unknown host"),
        ("nodename nor servname", "unknown host"),
        ("No address associated", "unknown host"),
        ("Temporary failure in name resolution", "DNS lookup failed"),
        ("Connection refused", "connection refused"),
        ("Network is unreachable", "network unreachable"),
        ("No route to host", "no route to host"),
        ("Read timed out", "read timed out"),
        ("IncompleteRead", "the server closed the connection before the end of the body"),
        ("InvalidChunkLength", "broken chunked encoding"),
        ("RemoteDisconnected", "the server closed the connection without answering"),
        ("Connection reset", "connection reset"),
        ("BadStatusLine", "the server did not answer in HTTP"),
        ("LineTooLong", "the server sent an over-long header line"),
        ("got more than", "the server sent too many headers"),
    ):
        if marker in text:
            return reason
    return "connection error"


# -- many feeds at once ------------------------------------------------------------------


@dataclass
class Fetched:
    """One feed's download as the calling thread receives it."""

    feed: dict[str, Any]
    result: FetchResult | None
    error: FeedError | None
    elapsed: float


def _fetch_one(
    session: requests.Session | None, feed: dict[str, Any], timeout: float, max_bytes: int
) -> FetchResult:
    url = feed["url"]
    if is_remote(url):
        if session is None:
            session = new_session()
        return fetch(
            session,
            url,
            etag=feed.get("etag"),
            last_modified=feed.get("last_modified"),
            timeout=timeout,
            max_bytes=max_bytes,
        )
    # Only a file named on this command line may be a pipe or a device (read up to the cap).
    return read_local(url, max_bytes=max_bytes, regular_only=feed.get("id") is not None)


def fetch_all(
    session: requests.Session | None,
    feeds: Sequence[dict[str, Any]],
    *,
    timeout: float,
    max_bytes: int,
    max_workers: int = MAX_WORKERS,
    per_host: int = MAX_PER_HOST,
    grace: float = ABANDON_AFTER,
) -> Iterator[Fetched]:
    """Download feeds concurrently (threads: downloading is waiting), yielding each as it
    completes.

    A feed is started only when its host has a free slot, so feeds stuck on one slow host
    never occupy the threads that other hosts' feeds need. `fetch` keeps each download's
    deadline; one still running `grace` seconds past it is stuck where no socket timeout
    reaches (a DNS lookup, headers trickled a byte at a time): it is reported as timed out and
    its thread, a daemon, is left behind.
    """
    queues: dict[str, deque[dict[str, Any]]] = {}
    for feed in feeds:
        queues.setdefault(host_key(feed["url"]), deque()).append(feed)
    hosts = deque(queues)
    busy: dict[str, int] = dict.fromkeys(queues, 0)
    results: queue.SimpleQueue[tuple[int, FetchResult | None, FeedError | None]] = (
        queue.SimpleQueue()
    )
    tasks: queue.SimpleQueue[tuple[int, dict[str, Any]] | None] = queue.SimpleQueue()
    threads: list[threading.Thread] = []
    abandoned = 0  # threads still stuck in a download given up on
    in_flight: dict[int, tuple[dict[str, Any], float, float]] = {}
    next_task = 0
    workers = max(1, max_workers)

    def work() -> None:
        while (next_one := tasks.get()) is not None:
            task, feed = next_one
            try:
                outcome = (task, _fetch_one(session, feed, timeout, max_bytes), None)
            except FeedError as error:
                outcome = (task, None, error)
            except Exception as error:  # a bug or a library surprise must not take the poll down
                outcome = (task, None, FeedError(f"unexpected error: {type(error).__name__}"))
            results.put(outcome)

    def start_more() -> None:
        nonlocal next_task
        idle_rounds = 0
        while len(in_flight) < workers and hosts and idle_rounds < len(hosts):
            host = hosts[0]
            hosts.rotate(-1)
            limit = per_host if host else workers  # local files: no politeness needed
            if not queues[host] or busy[host] >= limit:
                idle_rounds += 1
                continue
            idle_rounds = 0
            feed = queues[host].popleft()
            busy[host] += 1
            started = time.monotonic()
            in_flight[next_task] = (feed, started, started + timeout + grace)
            tasks.put((next_task, feed))
            if len(threads) - abandoned < len(in_flight):
                thread = threading.Thread(
                    target=work, name=f"strikewatch-fetch-{len(threads)}", daemon=True
                )
                thread.start()
                threads.append(thread)
            next_task += 1

    def finish(task: int) -> tuple[dict[str, Any], float]:
        feed, started, _ = in_flight.pop(task)
        busy[host_key(feed["url"])] -= 1
        return feed, time.monotonic() - started

    try:
        start_more()
        while in_flight:
            wait = max(0.0, min(hard for _, _, hard in in_flight.values()) - time.monotonic())
            try:
                task, result, error = results.get(timeout=wait)
            except queue.Empty:
                now = time.monotonic()
                for task in [t for t, (_, _, hard) in in_flight.items() if hard <= now]:
                    feed, elapsed = finish(task)
                    abandoned += 1
                    error = FetchError(
                        f"timed out after {timeout:g}s (no answer; the request was abandoned)"
                    )
                    yield Fetched(feed, None, error, elapsed)
            else:
                if task in in_flight:
                    feed, elapsed = finish(task)
                    yield Fetched(feed, result, error, elapsed)
                else:  # a late answer for a feed already reported: its thread is free again
                    abandoned -= 1
            start_more()
    finally:
        for _ in threads:
            tasks.put(None)
