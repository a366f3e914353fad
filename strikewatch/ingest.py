"""Importing local files (RSS/Atom documents, JSON-lines archives) through the poll pipeline."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

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
    from strikewatch.classify import Classifier
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
) -> ImportReport:
    """Import one file; an archive's bad lines are reported, its good lines kept."""
    location = Path(path).expanduser()
    report = ImportReport(path=str(path))
    head = read_file_start(path, 4096)
    default_source = location.stem or "import"
    if looks_like_jsonl(head):
        store.prepare_for_bulk_writes()
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
                batch, source=default_source, classifier=classifier, group_stories=False
            )
            report.new_ids.extend(saved.new_ids)
            report.updated_ids.extend(saved.updated_ids)
            report.unchanged += saved.unchanged
            if on_items is not None:
                on_items(len(batch))
    finally:
        # Once per file rather than per batch: an archive in no particular order would
        # otherwise make every batch regroup most of the store.
        store.assign_stories()
    return report


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
