"""Worker processes, for the stages that are pure Python and would otherwise use one core:
parsing a large poll's feeds, tagging a large archive or a long `classify --jsonl` input."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future

    from strikewatch.classify import Classifier

T = TypeVar("T")
Line = TypeVar("Line", str, bytes)


def usable_cores() -> int:
    """The cores this process may run on (a container's or taskset's share, where known)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def start_pool(
    workers: int,
    *,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    preload: Sequence[str] = (),
    may_fork: bool = False,
) -> Any:
    """A ProcessPoolExecutor, or None when this system cannot start one.

    A process with threads running or a database open must never fork: its workers come from a
    forkserver (or, where there is none, spawn), which `preload` warms with modules. With
    `may_fork` (no threads, no database), Linux workers are forked and start at once with
    everything the parent has loaded.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    if may_fork and sys.platform.startswith("linux") and "fork" in methods:
        context = multiprocessing.get_context("fork")
    elif "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        if preload:
            context.set_forkserver_preload(list(preload))
    else:
        context = multiprocessing.get_context("spawn")
    try:
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(os.getpid(), initializer, initargs),
        )
    except (OSError, RuntimeError, ValueError, ImportError):
        return None


def _start_worker(
    starter: int, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]
) -> None:
    """Every worker's first step. Ctrl-C reaches the whole process group, but it is the parent's
    to handle: it stops handing out work and waits for what is running, so workers ignore it
    (else each prints its own traceback). SIGTERM ends a worker at once, as by default, whatever
    a forked one inherited. And a worker whose `starter` (the process that started the pool) was
    killed outright exits instead of waiting for work for ever."""
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    watch = threading.Thread(target=_exit_without, args=(starter, os.getppid()), daemon=True)
    watch.start()
    if initializer is not None:
        initializer(*initargs)


def _exit_without(starter: int, parent: int, every: float = 0.5) -> None:
    """Exit once `starter` has ended. A forked worker is then another process's child; one from a
    forkserver finds `starter` ended (its forkserver, `parent`, waits for its workers)."""
    import time

    while os.getppid() == parent and not _ended(starter):
        time.sleep(every)
    os._exit(1)


def _ended(pid: int) -> bool:
    """Whether process `pid` has ended. A killed process stays a zombie until its own parent reads
    its exit status, and a parent that first reads the output to its end (cron mailing it, Python's
    `subprocess.run`) would wait for ever on workers that wait for that: a zombie has ended."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):  # /proc lists every process, and no longer this one
            return True
    except OSError:
        pass
    if os.name != "posix":  # there os.kill(pid, 0) would end the process
        return False
    try:  # no /proc (macOS): whether it exists at all, zombie or not
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, and is not ours: keep working
        pass
    return False


def pool_errors() -> tuple[type[BaseException], ...]:
    """What submitting to a pool raises when its workers cannot start or have died: the work
    is then done in the calling process instead."""
    from concurrent.futures.process import BrokenProcessPool

    return (OSError, RuntimeError, ValueError, ImportError, BrokenProcessPool)


def lost_work_errors() -> tuple[type[BaseException], ...]:
    """What a result raises when the pool lost the work (a worker died, or the pool was shut
    down with the work still queued): it is then done in the calling process. Anything else
    a result raises is the work's own error, and is the caller's to handle."""
    from concurrent.futures import CancelledError
    from concurrent.futures.process import BrokenProcessPool

    return (BrokenProcessPool, CancelledError)


class LazyPool:
    """Worker processes started with the first piece of work. Work the pool cannot take, or
    loses, is done in the calling process instead, so no caller depends on the pool working:
    `submit` returns None for work to do in place, and `result` does it."""

    def __init__(
        self,
        workers: int,
        *,
        initializer: Callable[..., None] | None = None,
        initargs: tuple[Any, ...] = (),
        preload: Sequence[str] = (),
        may_fork: bool = False,
    ):
        self.workers = max(0, workers)
        self._start = {
            "initializer": initializer,
            "initargs": initargs,
            "preload": preload,
            "may_fork": may_fork,
        }
        self._pool: Any = None

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T] | None:
        if not self.workers:
            return None
        try:
            if self._pool is None:
                self._pool = start_pool(self.workers, **self._start)
                if self._pool is None:
                    self.workers = 0
                    return None
            return self._pool.submit(fn, *args, **kwargs)
        except pool_errors():
            self.close()
            return None

    def result(
        self, future: Future[T] | None, fn: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> T:
        """The work's result: from its worker, or `fn(*args, **kwargs)` here when it was not
        submitted or the pool lost it (its own errors are raised either way)."""
        if future is not None:
            try:
                return future.result()
            except lost_work_errors():
                self.close()
        return fn(*args, **kwargs)

    def close(self) -> None:
        pool, self._pool, self.workers = self._pool, None, 0
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def numbered_chunks(lines: Iterable[Line], size: int) -> Iterator[tuple[int, list[Line]]]:
    """Consecutive lines in lists of `size`, each with the number of its first line."""
    chunk: list[Line] = []
    first = 1
    for number, line in enumerate(lines, start=1):
        if not chunk:
            first = number
        chunk.append(line)
        if len(chunk) >= size:
            yield first, chunk
            chunk = []
    if chunk:
        yield first, chunk


_classifier: Classifier | None = None


def use_classifier(classifier: Classifier) -> None:
    """A pool initializer: the rules this worker tags with (sent once, not with each task)."""
    global _classifier
    _classifier = classifier


def worker_classifier() -> Classifier:
    assert _classifier is not None, "use_classifier was not the pool's initializer"
    return _classifier
