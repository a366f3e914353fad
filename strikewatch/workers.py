"""Worker processes, for the stages that are pure Python and would otherwise use one core:
parsing a large poll's feeds, tagging a large archive or a long `classify --jsonl` input."""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Sequence
from typing import Any


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
            max_workers=workers, mp_context=context, initializer=initializer, initargs=initargs
        )
    except (OSError, RuntimeError, ValueError, ImportError):
        return None


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
