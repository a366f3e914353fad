"""`classify --jsonl`: tag a stream of JSON objects, keeping order and every other key."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import IO, TYPE_CHECKING

from strikewatch.normalize import read_json_object
from strikewatch.workers import (
    LazyPool,
    numbered_chunks,
    usable_cores,
    use_classifier,
    worker_classifier,
)

if TYPE_CHECKING:
    from concurrent.futures import Future

    from strikewatch.classify import Classifier, Tags

# A chunk's output text and its bad lines as (number, why).
Tagged = tuple[str, list[tuple[int, str]]]

CHUNK_LINES = 500
# Inputs of at least this many chunks are tagged by worker processes (one per core) while this
# process reads and writes; below it, starting them costs more than they save.
PARALLEL_MIN_CHUNKS = 8
WORKERS = 0 if usable_cores() < 2 else min(usable_cores(), 8)


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
    chunks = numbered_chunks(lines, CHUNK_LINES)
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


def _tag_chunk(classifier: Classifier, first: int, lines: list[str]) -> Tagged:
    """Consecutive lines, numbered from `first`: their output text and their bad lines."""
    errors: list[tuple[int, str]] = []
    written: list[str] = []
    classify = classifier.classify
    dumps = json.dumps
    suffixes: dict[Tags, str] = {}  # the text appended for each distinct pair of tag lists
    for number, line in enumerate(lines, start=first):
        text = line.strip()
        if not text:
            continue
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                errors.append((number, "not valid UTF-8"))
                continue
        record = read_json_object(text)
        if isinstance(record, str):  # not JSON, too deep, not an object, or not text
            errors.append((number, record))
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


def _tag_chunk_in_worker(first: int, lines: list[str]) -> Tagged:
    return _tag_chunk(worker_classifier(), first, lines)


def _in_workers(
    classifier: Classifier,
    early: list[tuple[int, list[str]]],
    rest: Iterator[tuple[int, list[str]]],
    workers: int,
) -> Iterator[Tagged]:
    """Chunks tagged by worker processes, a few ahead, yielded in input order. Should the
    workers fail to start or die, the chunks they did not finish are tagged here."""
    # No threads and no database here: Linux workers are forked with the rules compiled.
    classifier.warm_up()
    pool = LazyPool(workers, initializer=use_classifier, initargs=(classifier,), may_fork=True)
    waiting: deque[tuple[tuple[int, list[str]], Future[Tagged] | None]] = deque()
    try:
        for chunk in chain(early, rest):
            waiting.append((chunk, pool.submit(_tag_chunk_in_worker, *chunk)))
            if len(waiting) > 2 * workers:
                chunk, future = waiting.popleft()
                yield pool.result(future, _tag_chunk, classifier, *chunk)
        for chunk, future in waiting:
            yield pool.result(future, _tag_chunk, classifier, *chunk)
    finally:
        pool.close()
