"""`import`: feed files and JSON-lines archives through the pipeline, in batches."""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import signal
import sqlite3
import stat
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strikewatch import pipeline
from strikewatch.bundled import data_path
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

if TYPE_CHECKING:
    from strikewatch.classify import Classifier, Tags
    from strikewatch.store import Store

BATCH_SIZE = 5000
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
    jobs: int = 1,
) -> ImportReport:
    """Import one file; an archive's bad lines are reported, its good lines kept.

    With `jobs` above 1 (`import --jobs N`), an archive is parsed and tagged by jobs - 1 worker
    processes while this one stores; a script that asks for them must guard its entry point
    with `if __name__ == "__main__":`, as multiprocessing requires.
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
        archive = _Archive(classifier, jobs - 1, default_source)
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
        for batch, batch_tagger in batches:
            try:
                saved = pipeline.ingest(
                    store, batch_tagger, batch, source=default_source, bulk=archive is not None
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
            pipeline.finish(store)
        if archive is not None:
            store.finish_bulk_writes()
    return report


def _regular_or_missing(location: Path) -> bool:
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


def numbered_chunks(lines: Iterable[bytes], size: int) -> Iterator[tuple[int, list[bytes]]]:
    """Consecutive lines in lists of `size`, each with the number of its first line."""
    chunk: list[bytes] = []
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


_worker_classifier: Classifier | None = None


def _start_worker(classifier: Classifier) -> None:
    """A worker's first step: the rules it tags with (sent once, not with each piece). Ctrl-C
    reaches the whole process group but is the parent's to handle (it stops handing out work
    and waits for the pieces under way); SIGTERM ends a worker at once, whatever it inherited."""
    global _worker_classifier
    _worker_classifier = classifier
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _parse_and_tag(
    lines: list[bytes], first_line: int, default_source: str
) -> tuple[list[Item | ArchiveLineError], list[Tags]]:
    """A worker's share of an import: a piece of the archive parsed, and its items tagged."""
    assert _worker_classifier is not None, "the pool starts workers with _start_worker"
    classify = _worker_classifier.classify
    entries = list(parse_archive_lines(lines, default_source, first_line))
    tags = [classify(e.title, e.summary) for e in entries if isinstance(e, Item)]
    return entries, tags


class _Pretagged:
    """A Tagger answering from the tags a worker computed (the rules are the same, so the
    tags are too); anything else is classified here."""

    def __init__(self, classifier: Classifier, tags: dict[tuple[str, str], Tags]):
        self.version = classifier.version
        self._classifier = classifier
        self._tags = tags

    def classify(self, title: str, summary: str = "") -> Tags:
        tags = self._tags.get((title, summary or ""))
        return tags if tags is not None else self._classifier.classify(title, summary)


class _Archive:
    """A JSON-lines archive read in pieces. With workers, processes parse and tag the next
    pieces while this process stores the current one; without, each piece is parsed here and
    tagged as it is stored."""

    def __init__(self, classifier: Classifier, workers: int, default_source: str):
        self.classifier = classifier
        self.default_source = default_source
        self.workers = max(0, workers)
        self._pool: ProcessPoolExecutor | None = None
        if self.workers:
            # Never forked: a progress bar's thread may be running, and the database is open.
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context(
                "forkserver" if "forkserver" in methods else "spawn"
            )
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=(classifier,),
            )

    def batches(
        self, source: Path | bytes, report: ImportReport
    ) -> Iterator[tuple[list[Item], Any]]:
        """The archive's items in batches, in file order, each with the classifier to store it
        with; bad lines go to `report`. `source` is the file, or its content already read."""
        if isinstance(source, bytes):
            handle: Any = io.BytesIO(source)
        else:
            try:
                handle = open(source, "rb")  # noqa: SIM115 - closed below, once drained
            except OSError as error:
                raise ImportFileError(f"{source}: cannot read: {error.strerror or error}") from None
        waiting: deque[tuple[int, list[bytes], Future[Any] | None]] = deque()
        with handle:
            for first_line, lines in numbered_chunks(handle, BATCH_SIZE):
                work = None
                if self._pool is not None:
                    work = self._pool.submit(_parse_and_tag, lines, first_line, self.default_source)
                waiting.append((first_line, lines, work))
                if len(waiting) > self.workers:  # keep every worker busy before storing
                    yield self._collect(*waiting.popleft(), report)
            while waiting:
                yield self._collect(*waiting.popleft(), report)

    def _collect(
        self, first_line: int, lines: list[bytes], work: Future[Any] | None, report: ImportReport
    ) -> tuple[list[Item], Any]:
        if work is None:  # parsed here; tagged as it is stored
            entries = list(parse_archive_lines(lines, self.default_source, first_line))
            tags: list[Tags] = []
        else:
            entries, tags = work.result()
        batch = [entry for entry in entries if isinstance(entry, Item)]
        report.line_errors.extend(e for e in entries if isinstance(e, ArchiveLineError))
        if not tags:
            return batch, self.classifier
        by_text = {
            (item.title, item.summary or ""): tag for item, tag in zip(batch, tags, strict=True)
        }
        return batch, _Pretagged(self.classifier, by_text)

    def close(self) -> None:
        """Stop the workers, after the pieces they are tagging (the rest is dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
