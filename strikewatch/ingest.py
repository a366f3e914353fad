"""Importing local files (RSS/Atom documents, JSON-lines archives) through the poll pipeline."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strikewatch.errors import FeedError, ImportFileError
from strikewatch.fetch import DEFAULT_MAX_BYTES, read_local
from strikewatch.parse import (
    ArchiveLineError,
    Item,
    looks_like_jsonl,
    parse_archive_lines,
    parse_feed,
)
from strikewatch.paths import data_path

if TYPE_CHECKING:
    from concurrent.futures import Future

    from strikewatch.classify import Classifier, Tags
    from strikewatch.store import Store

BATCH_SIZE = 5000
# An archive at least this large is tagged in a worker process while this one stores: below
# it, starting the worker costs more than it saves.
PARALLEL_TAGGING_MIN_BYTES = 2_000_000
TAG_WORKERS = 1 if (os.cpu_count() or 1) > 1 else 0
SAMPLE_ARCHIVE = ("sample", "hollywood-labor-2023.jsonl")


@dataclass
class ImportReport:
    path: str
    new_ids: list[int] = field(default_factory=list)
    updated_ids: list[int] = field(default_factory=list)
    unchanged: int = 0
    line_errors: list[ArchiveLineError] = field(default_factory=list)
    warning: str | None = None


def sample_archive_path() -> Path:
    return data_path(*SAMPLE_ARCHIVE)


def read_file_start(path: str | Path, size: int) -> bytes:
    """The first `size` bytes of a local file, or one clear error naming it."""
    try:
        with open(Path(path).expanduser(), "rb") as handle:
            return handle.read(size)
    except FileNotFoundError:
        raise ImportFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImportFileError(f"{path}: is a directory") from None
    except OSError as error:
        raise ImportFileError(f"{path}: cannot read: {error.strerror or error}") from None


def import_file(
    store: Store,
    path: str | Path,
    classifier: Classifier,
    *,
    on_items: Callable[[int], None] | None = None,
    tag_workers: int = 0,
) -> ImportReport:
    """Import one file; an archive's bad lines are reported, its good lines kept.

    With `tag_workers` (the CLI asks for TAG_WORKERS), a large archive is tagged in that many
    worker processes while this process parses and stores; a script that asks for them must
    guard its entry point with `if __name__ == "__main__":`, as multiprocessing requires.
    """
    location = Path(path).expanduser()
    report = ImportReport(path=str(path))
    head = read_file_start(path, 4096)
    default_source = location.stem or "import"
    workers: _ArchiveWorkers | None = None
    bulk = looks_like_jsonl(head)
    if bulk:
        store.prepare_for_bulk_writes()
        if tag_workers > 0 and _size(location) >= PARALLEL_TAGGING_MIN_BYTES:
            workers = _ArchiveWorkers(classifier, tag_workers, default_source)
            batches = workers.batches(location, report)
        else:
            batches = _archive_batches(location, default_source, report)
    else:
        try:
            parsed = parse_feed(read_local(str(location), max_bytes=DEFAULT_MAX_BYTES).body or b"")
        except FeedError as error:
            raise ImportFileError(f"{path}: {error}") from None
        report.warning = parsed.warning
        batches = iter([parsed.items])
    try:
        for batch in batches:
            saved = store.save_items(
                batch,
                source=default_source,
                classifier=workers.classifier_for(batch) if workers is not None else classifier,
                group_stories=False,
            )
            report.new_ids.extend(saved.new_ids)
            report.updated_ids.extend(saved.updated_ids)
            report.unchanged += saved.unchanged
            if on_items is not None:
                on_items(len(batch))
    finally:
        if workers is not None:
            workers.close()
        # Once per file rather than per batch: an archive in no particular order would
        # otherwise make every batch regroup most of the store.
        store.assign_stories()
        if bulk:
            store.finish_bulk_writes()
    return report


def _size(location: Path) -> int:
    try:
        return location.stat().st_size
    except OSError:
        return 0


_worker_classifier: Classifier | None = None


def _start_worker(classifier: Classifier) -> None:
    global _worker_classifier
    _worker_classifier = classifier


def _parse_and_tag(
    lines: list[bytes], first_line: int, default_source: str
) -> tuple[list[Item | ArchiveLineError], list[Tags]]:
    """A worker's share of an import: a piece of the archive parsed, and its items tagged."""
    assert _worker_classifier is not None
    classify = _worker_classifier.classify
    entries = list(parse_archive_lines(lines, default_source, first_line))
    tags = [classify(e.title, e.summary) for e in entries if isinstance(e, Item)]
    return entries, tags


class _Pretagged:
    """The classifier as `Store.save_items` sees it, answering from tags a worker computed
    (the rules are the same, so the tags are too); anything else is classified here."""

    def __init__(self, classifier: Classifier, tags: dict[tuple[str, str], Tags]):
        self.version = classifier.version
        self._classifier = classifier
        self._tags = tags

    def classify(self, title: str, summary: str = "") -> Tags:
        tags = self._tags.get((title, summary or ""))
        return tags if tags is not None else self._classifier.classify(title, summary)


class _ArchiveWorkers:
    """Worker processes parse and tag the next pieces of an archive while this process stores
    the current one: parsing and tagging are over half of an import, so two cores do it in
    about half the time. If the workers cannot start or die, pieces are done in place."""

    def __init__(self, classifier: Classifier, workers: int, default_source: str):
        self.classifier = classifier
        self.workers = workers
        self.default_source = default_source
        self._pool: Any = None
        self._tags: dict[int, dict[tuple[str, str], Tags]] = {}

    def _submit(self, lines: list[bytes], first_line: int) -> Future[Any] | None:
        from strikewatch.workers import pool_errors, start_pool

        if not self.workers:
            return None
        try:
            if self._pool is None:
                # The database is open: never fork.
                self._pool = start_pool(
                    self.workers,
                    initializer=_start_worker,
                    initargs=(self.classifier,),
                    preload=["strikewatch.ingest"],
                )
            if self._pool is None:
                self.workers = 0
                return None
            return self._pool.submit(_parse_and_tag, lines, first_line, self.default_source)
        except pool_errors():
            self.close()
            return None

    def batches(self, location: Path, report: ImportReport) -> Iterator[list[Item]]:
        """The archive's items in batches, in file order; bad lines go to `report`."""
        from strikewatch.workers import lost_work_errors

        try:
            handle = open(location, "rb")  # noqa: SIM115 - closed below, once drained
        except OSError as error:
            raise ImportFileError(f"{location}: cannot read: {error.strerror or error}") from None
        waiting: deque[tuple[list[bytes], int, Future[Any] | None]] = deque()
        with handle:
            first_line = 1
            for lines in _pieces(handle, BATCH_SIZE):
                waiting.append((lines, first_line, self._submit(lines, first_line)))
                first_line += len(lines)
                if len(waiting) > self.workers:  # keep every worker busy before storing
                    yield self._collect(*waiting.popleft(), report, lost_work_errors())
            while waiting:
                yield self._collect(*waiting.popleft(), report, lost_work_errors())

    def _collect(
        self,
        lines: list[bytes],
        first_line: int,
        working: Future[Any] | None,
        report: ImportReport,
        broken: tuple[type[BaseException], ...],
    ) -> list[Item]:
        entries: list[Item | ArchiveLineError] | None = None
        if working is not None:
            try:
                entries, tags = working.result()
            except broken:
                self.close()
        if entries is None:
            entries = list(parse_archive_lines(lines, self.default_source, first_line))
            tags = []
        batch = [entry for entry in entries if isinstance(entry, Item)]
        report.line_errors.extend(e for e in entries if isinstance(e, ArchiveLineError))
        if tags:
            self._tags[id(batch)] = {
                (item.title, item.summary or ""): tag for item, tag in zip(batch, tags, strict=True)
            }
        return batch

    def classifier_for(self, batch: list[Item]) -> Any:
        tags = self._tags.pop(id(batch), None)
        return _Pretagged(self.classifier, tags) if tags else self.classifier

    def close(self) -> None:
        pool, self._pool, self.workers = self._pool, None, 0
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _pieces(handle: Any, size: int) -> Iterator[list[bytes]]:
    piece: list[bytes] = []
    for line in handle:
        piece.append(line)
        if len(piece) >= size:
            yield piece
            piece = []
    if piece:
        yield piece


def _archive_batches(
    location: Path, default_source: str, report: ImportReport
) -> Iterator[list[Item]]:
    try:
        handle = open(location, "rb")  # noqa: SIM115 - closed below, after the generator is drained
    except OSError as error:
        raise ImportFileError(f"{location}: cannot read: {error.strerror or error}") from None
    with handle:
        batch: list[Item] = []
        for entry in parse_archive_lines(handle, default_source):
            if isinstance(entry, ArchiveLineError):
                report.line_errors.append(entry)
                continue
            batch.append(entry)
            if len(batch) >= BATCH_SIZE:
                yield batch
                batch = []
        if batch:
            yield batch
