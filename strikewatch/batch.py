"""`classify --jsonl`: tag a stream of JSON objects, keeping order and every other key."""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from strikewatch.classify import Classifier, Tags

CHUNK_LINES = 500
# Inputs of at least this many chunks are tagged by worker processes (one per core) while this
# process reads and writes; below it, starting them costs more than they save.
PARALLEL_MIN_CHUNKS = 8
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
WORKERS = min(_CORES or 1, 8) if (_CORES or 1) > 1 else 0


def classify_jsonl(
    classifier: Classifier, lines: Iterable[str], out: IO[str], workers: int = 0
) -> list[tuple[int, str]]:
    """Write each object back with `guilds` and `events`; return the bad lines as (number, why).

    An object without those keys is written as it came, with the two keys appended to its
    text: re-serializing every line would cost more than classifying it, and leaving the
    rest of the line untouched keeps numbers, escapes and spacing exactly as they were.

    With `workers` (the CLI asks for WORKERS), a long input is tagged in that many worker
    processes, chunk by chunk, its output still in input order; a script that asks for them
    must guard its entry point with `if __name__ == "__main__":`, as multiprocessing requires.
    """
    errors: list[tuple[int, str]] = []
    chunks = _chunks(lines)
    early: list[tuple[int, list[str]]] = []
    if workers > 0:
        # Only an input that is long (and arrives quickly, as a file does) is worth workers.
        for chunk in chunks:
            early.append(chunk)
            if len(early) >= PARALLEL_MIN_CHUNKS:
                break
    if len(early) >= PARALLEL_MIN_CHUNKS:
        results = _in_workers(classifier, early, chunks, workers)
    else:
        results = (_tag_chunk(classifier, *chunk) for chunk in [*early, *chunks])
    for text, chunk_errors in results:
        if text:
            out.write(text)
            out.flush()
        errors.extend(chunk_errors)
    return errors


def _chunks(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    chunk: list[str] = []
    first = 1
    for number, line in enumerate(lines, start=1):
        if not chunk:
            first = number
        chunk.append(line)
        if len(chunk) >= CHUNK_LINES:
            yield first, chunk
            chunk = []
    if chunk:
        yield first, chunk


def _tag_chunk(
    classifier: Classifier, first: int, lines: list[str]
) -> tuple[str, list[tuple[int, str]]]:
    """Consecutive lines, numbered from `first`: their output text and their bad lines."""
    errors: list[tuple[int, str]] = []
    written: list[str] = []
    classify = classifier.classify
    loads, dumps = json.loads, json.dumps
    suffixes: dict[Tags, str] = {}  # the text appended for each distinct pair of tag lists
    for number, line in enumerate(lines, start=first):
        text = line.strip()
        if not text:
            continue
        try:
            record = loads(text)
        except ValueError as error:
            errors.append((number, f"not valid JSON ({getattr(error, 'msg', 'malformed')})"))
            continue
        if not isinstance(record, dict):
            errors.append((number, "not a JSON object"))
            continue
        title = record.get("title")
        summary = record.get("summary")
        if not isinstance(title, str):
            errors.append((number, "missing 'title' (a string)"))
            continue
        if summary is not None and not isinstance(summary, str):
            errors.append((number, "'summary' must be a string"))
            continue
        tags = classify(title, summary or "")
        if "guilds" in record or "events" in record:
            record["guilds"] = list(tags.guilds)
            record["events"] = list(tags.events)
            written.append(dumps(record, ensure_ascii=False))
        else:
            suffix = suffixes.get(tags)
            if suffix is None:
                suffix = suffixes[tags] = (
                    f'"guilds": {dumps(list(tags.guilds))}, "events": {dumps(list(tags.events))}}}'
                )
            # A JSON object's text ends with "}"; put the keys just before it.
            body = text[:-1].rstrip()
            written.append(f"{body}, {suffix}" if record else f"{body}{suffix}")
    return ("\n".join(written) + "\n" if written else ""), errors


_worker_classifier: Classifier | None = None


def _start_worker(classifier: Classifier) -> None:
    global _worker_classifier
    _worker_classifier = classifier


def _tag_chunk_in_worker(first: int, lines: list[str]) -> tuple[str, list[tuple[int, str]]]:
    assert _worker_classifier is not None
    return _tag_chunk(_worker_classifier, first, lines)


def _in_workers(
    classifier: Classifier,
    early: list[tuple[int, list[str]]],
    rest: Iterator[tuple[int, list[str]]],
    workers: int,
) -> Iterator[tuple[str, list[tuple[int, str]]]]:
    """Chunks tagged by worker processes, a few ahead, yielded in input order. Should the
    workers fail to start or die, the chunks they did not finish are tagged here."""
    from strikewatch.workers import lost_work_errors, pool_errors, start_pool

    # No threads and no database here: Linux workers are forked with the rules compiled.
    classifier.warm_up()
    pool = start_pool(workers, initializer=_start_worker, initargs=(classifier,), may_fork=True)
    broken, lost = pool_errors(), lost_work_errors()
    waiting: deque[tuple[tuple[int, list[str]], Any]] = deque()

    def submit(chunk: tuple[int, list[str]]) -> None:
        nonlocal pool
        future = None
        if pool is not None:
            try:
                future = pool.submit(_tag_chunk_in_worker, *chunk)
            except broken:
                pool.shutdown(wait=False, cancel_futures=True)
                pool = None
        waiting.append((chunk, future))

    def collect() -> tuple[str, list[tuple[int, str]]]:
        nonlocal pool
        chunk, future = waiting.popleft()
        if future is not None:
            try:
                return future.result()
            except lost:
                if pool is not None:
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = None
        return _tag_chunk(classifier, *chunk)

    try:
        for chunk in early:
            submit(chunk)
        for chunk in rest:
            submit(chunk)
            if len(waiting) > 2 * workers:
                yield collect()
        while waiting:
            yield collect()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
