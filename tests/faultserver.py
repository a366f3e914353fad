"""A tiny raw-socket HTTP server for fault tests: trickles, huge streams, lying headers.

pytest-httpserver answers whole responses at once; these faults need control of every byte and
every pause. Each FaultServer listens on its own loopback address (127.0.0.N), so feeds on
different servers count as different hosts for the poller's per-host limit.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

_addresses = itertools.count(20)


def _loopback_range_works() -> bool:
    """Linux routes all of 127/8 to loopback; some systems only configure 127.0.0.1."""
    probe = socket.socket()
    try:
        probe.bind(("127.0.0.2", 0))
        return True
    except OSError:
        return False
    finally:
        probe.close()


DISTINCT_HOSTS = _loopback_range_works()


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    received_at: float


Handler = Callable[["Exchange"], None]


@dataclass
class Exchange:
    """One request and the socket to answer it on."""

    server: FaultServer
    request: Request
    sock: socket.socket

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def respond(
        self,
        status: int | str = 200,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        content_length: bool = True,
    ) -> None:
        head = [f"HTTP/1.1 {status if isinstance(status, str) else f'{status} OK'}"]
        fields = {"Connection": "close", **(headers or {})}
        if content_length:
            fields.setdefault("Content-Length", str(len(body)))
        head += [f"{key}: {value}" for key, value in fields.items()]
        self.send(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    def stream(
        self, chunks: Iterable[bytes], headers: dict[str, str] | None = None, status: str = "200 OK"
    ) -> None:
        """A close-delimited body from a generator: nothing big is ever built in memory."""
        fields = {"Connection": "close", "Content-Type": "application/rss+xml", **(headers or {})}
        head = [f"HTTP/1.1 {status}"] + [f"{key}: {value}" for key, value in fields.items()]
        self.send(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        for chunk in chunks:
            if self.server.stopped.is_set():
                return
            self.send(chunk)

    def trickle(self, data: bytes, interval: float) -> None:
        """Send one byte per interval (until done, the client leaves, or the server stops)."""
        for index in range(len(data)):
            if self.server.stopped.wait(interval):
                return
            self.send(data[index : index + 1])


@dataclass
class FaultServer:
    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.host = f"127.0.0.{next(_addresses) % 250 + 2}" if DISTINCT_HOSTS else "127.0.0.1"
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((self.host, 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def route(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.url(path)

    def stop(self) -> None:
        self.stopped.set()
        with contextlib.suppress(OSError):
            self.listener.close()

    def hits(self, path: str) -> list[Request]:
        return [request for request in self.requests if request.path == path]

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            sock.settimeout(10)
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                data += chunk
            lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                key, _, value = line.partition(":")
                headers[key.strip().lower()] = value.strip()
            request = Request(method, path, headers, time.monotonic())
            self.requests.append(request)
            handler = self.routes.get(path)
            exchange = Exchange(self, request, sock)
            if handler is None:
                exchange.respond("404 Not Found", b"no such feed")
            else:
                handler(exchange)
        except OSError:
            pass  # the client hung up: that is what several faults are about
        finally:
            with self._lock:
                self.active -= 1
            with contextlib.suppress(OSError):
                sock.close()


# -- ready-made behaviours -----------------------------------------------------------------


def static(
    body: bytes, content_type: str = "application/rss+xml; charset=utf-8", **headers: str
) -> Handler:
    def handle(exchange: Exchange) -> None:
        exchange.respond(200, body, {"Content-Type": content_type, **headers})

    return handle


def status(code: str, body: bytes = b"", **headers: str) -> Handler:
    def handle(exchange: Exchange) -> None:
        exchange.respond(code, body, {"Content-Type": "text/plain", **headers})

    return handle


def delayed(seconds: float, handler: Handler) -> Handler:
    def handle(exchange: Exchange) -> None:
        if not exchange.server.stopped.wait(seconds):
            handler(exchange)

    return handle


def huge(total: int, chunk: bytes = b"<!-- padding -->" * 4096) -> Handler:
    """A feed that goes on for `total` bytes, produced on the fly."""

    def chunks() -> Iterator[bytes]:
        yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>'
        sent = 0
        while sent < total:
            yield chunk
            sent += len(chunk)

    def handle(exchange: Exchange) -> None:
        exchange.stream(chunks())

    return handle


def gzip_bomb(decompressed: int) -> Handler:
    """A small gzip body that inflates to `decompressed` bytes of whitespace."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = b" " * (1 << 20)
    parts = [compressor.compress(b'<?xml version="1.0"?><rss version="2.0"><channel>')]
    parts += [compressor.compress(block) for _ in range(decompressed // len(block))]
    parts.append(compressor.flush())
    body = b"".join(parts)

    def handle(exchange: Exchange) -> None:
        exchange.respond(
            200, body, {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}
        )

    return handle


def trickle_body(body: bytes, interval: float = 0.2) -> Handler:
    def handle(exchange: Exchange) -> None:
        exchange.send(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        )
        exchange.trickle(body, interval)

    return handle


def trickle_headers(interval: float = 0.2) -> Handler:
    """Headers that never end: one header byte per interval, forever."""

    def handle(exchange: Exchange) -> None:
        exchange.send(b"HTTP/1.1 200 OK\r\n")
        exchange.trickle(b"X-Slow: " + b"a" * 100000, interval)

    return handle


def silent() -> Handler:
    """Accepts the request and never answers."""

    def handle(exchange: Exchange) -> None:
        exchange.server.stopped.wait(60)

    return handle
