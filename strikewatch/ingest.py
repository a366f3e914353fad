"""Importing local files (RSS/Atom documents, JSON-lines archives) through the poll pipeline."""

from __future__ import annotations

import contextlib
import sqlite3
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strikewatch.errors import FeedError, ImportFileError, StoreError, unexpected_parse_error
from strikewatch.fetch import DEFAULT_MAX_BYTES, read_local
from strikewatch.parse import (
    ArchiveLineError,
    Item,
    looks_like_jsonl,
    looks_like_opml,
    parse_archive_lines,
    parse_feed,
)
from strikewatch.paths import data_path
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
    from strikewatch.store import Store

BATCH_SIZE = 5000
# An archive at least this large is tagged in a worker process while this one stores: below
# it, starting the worker costs more than it saves.
PARALLEL_TAGGING_MIN_BYTES = 2_000_000
TAG_WORKERS = 1 if usable_cores() > 1 else 0
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
    # A pipe (`import <(curl ...)`) or a device can be read only once, and may never end: it
    # is read whole, up to the cap, first. A regular file is read as it is processed.
    whole = None if _regular_or_missing(location) else _read_whole(path)
    head = read_file_start(path, 4096) if whole is None else whole[:4096]
    default_source = location.stem or "import"
    archive: _Archive | None = None
    if looks_like_jsonl(head):
        store.prepare_for_bulk_writes()
        large = (len(whole) if whole is not None else _size(location)) >= PARALLEL_TAGGING_MIN_BYTES
        archive = _Archive(classifier, tag_workers if large else 0, default_source)
        batches = archive.batches(location if whole is None else whole, report)
    elif looks_like_opml(head):
        raise ImportFileError(
            f"{path}: an OPML list of subscriptions, not a feed: use `strikewatch feeds import`"
        )
    else:
        body = whole if whole is not None else _read_whole(path)  # its own one-line errors
        try:
            parsed = parse_feed(body)
        except FeedError as error:
            raise ImportFileError(f"{path}: {error}") from None
        except Exception as error:  # hostile input can surprise any parser, as in poll
            raise ImportFileError(f"{path}: {unexpected_parse_error(error)}") from None
        report.warning = parsed.warning
        batches = iter([(parsed.items, classifier)])
    failed = True
    try:
        for batch, batch_classifier in batches:
            try:
                saved = store.save_items(
                    batch, source=default_source, classifier=batch_classifier, group_stories=False
                )
            except sqlite3.Error as error:
                # Each batch is committed as it is stored: say how much of the file was.
                raise StoreError(
                    f"{path}: {store.describe_error(error)}; {len(report.new_ids)} new and"
                    f" {len(report.updated_ids)} updated item(s) from it were stored before that"
                ) from None
            report.new_ids.extend(saved.new_ids)
            report.updated_ids.extend(saved.updated_ids)
            report.unchanged += saved.unchanged
            if on_items is not None:
                on_items(len(batch))
        failed = False
    finally:
        if archive is not None:
            archive.close()
        # Once per file rather than per batch: an archive in no particular order would
        # otherwise make every batch regroup most of the store. After a failure, best effort:
        # the next run groups whatever is left pending.
        with contextlib.suppress(*((sqlite3.Error,) if failed else ())):
            store.assign_stories()
        if archive is not None:
            store.finish_bulk_writes()
    return report


def _regular_or_missing(location: Path) -> bool:
    import stat

    try:
        return stat.S_ISREG(location.stat().st_mode)
    except OSError:
        return True  # read_file_start says what is wrong with it


def _read_whole(path: str | Path) -> bytes:
    """A feed document (or a pipe's whole content), read under the download cap."""
    try:
        return read_local(str(Path(path).expanduser()), max_bytes=DEFAULT_MAX_BYTES).body or b""
    except FeedError as error:
        raise ImportFileError(f"{path}: {error}") from None


def _size(location: Path) -> int:
    try:
        return location.stat().st_size
    except OSError:
        return 0


def _parse_and_tag(
    lines: list[bytes], first_line: int, default_source: str
) -> tuple[list[Item | ArchiveLineError], list[Tags]]:
    """A worker's share of an import: a piece of the archive parsed, and its items tagged."""
    classify = worker_classifier().classify
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


class _Archive:
    """A JSON-lines archive read in pieces. With workers, processes parse and tag the next
    pieces while this process stores the current one (parsing and tagging are over half of an
    import, so two cores do it in about half the time); without, or if they cannot start or
    die, pieces are parsed here and tagged as they are stored."""

    def __init__(self, classifier: Classifier, workers: int, default_source: str):
        self.classifier = classifier
        self.default_source = default_source
        # The database is open: the pool never forks.
        self._pool = LazyPool(
            workers,
            initializer=use_classifier,
            initargs=(classifier,),
            preload=["strikewatch.ingest"],
        )

    def batches(
        self, source: Path | bytes, report: ImportReport
    ) -> Iterator[tuple[list[Item], Any]]:
        """The archive's items in batches, in file order, each with the classifier to store it
        with; bad lines go to `report`. `source` is the file, or its content already read."""
        if isinstance(source, bytes):
            import io

            handle: Any = io.BytesIO(source)
        else:
            try:
                handle = open(source, "rb")  # noqa: SIM115 - closed below, once drained
            except OSError as error:
                raise ImportFileError(f"{source}: cannot read: {error.strerror or error}") from None
        waiting: deque[tuple[int, list[bytes], Future[Any] | None]] = deque()
        with handle:
            for first_line, lines in numbered_chunks(handle, BATCH_SIZE):
                work = self._pool.submit(_parse_and_tag, lines, first_line, self.default_source)
                waiting.append((first_line, lines, work))
                if len(waiting) > self._pool.workers:  # keep every worker busy before storing
                    yield self._collect(*waiting.popleft(), report)
            while waiting:
                yield self._collect(*waiting.popleft(), report)

    def _collect(
        self, first_line: int, lines: list[bytes], work: Future[Any] | None, report: ImportReport
    ) -> tuple[list[Item], Any]:
        entries, tags = self._pool.result(work, self._parse_here, lines, first_line)
        batch = [entry for entry in entries if isinstance(entry, Item)]
        report.line_errors.extend(e for e in entries if isinstance(e, ArchiveLineError))
        if not tags:
            return batch, self.classifier
        by_text = {
            (item.title, item.summary or ""): tag for item, tag in zip(batch, tags, strict=True)
        }
        return batch, _Pretagged(self.classifier, by_text)

    def _parse_here(
        self, lines: list[bytes], first_line: int
    ) -> tuple[list[Item | ArchiveLineError], list[Tags]]:
        """A piece parsed in this process; its items are tagged when stored."""
        return list(parse_archive_lines(lines, self.default_source, first_line)), []

    def close(self) -> None:
        self._pool.close()
