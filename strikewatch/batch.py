"""`classify --jsonl`: tag a stream of JSON objects, keeping order and every other key."""

from __future__ import annotations

import json
from collections.abc import Iterable
from itertools import islice
from typing import IO, TYPE_CHECKING

from strikewatch.text import read_json_object

if TYPE_CHECKING:
    from strikewatch.classify import Classifier, Tags

# Lines tagged, then written and flushed, at a time: output follows a slow input closely.
CHUNK_LINES = 500


def classify_jsonl(
    classifier: Classifier, lines: Iterable[str], out: IO[str]
) -> list[tuple[int, str]]:
    """Write each object back with `guilds` and `events`; return the bad lines as (number, why).

    An object without those keys is written as it came, with the two keys appended to its
    text: re-serializing every line would cost more than classifying it, and leaving the
    rest of the line untouched keeps numbers, escapes and spacing exactly as they were.
    """
    errors: list[tuple[int, str]] = []
    remaining = iter(lines)
    first = 1
    while chunk := list(islice(remaining, CHUNK_LINES)):
        text, chunk_errors = _tag_chunk(classifier, first, chunk)
        first += len(chunk)
        if text:
            out.write(text)
            out.flush()
        errors.extend(chunk_errors)
    return errors


def _tag_chunk(
    classifier: Classifier, first: int, lines: list[str]
) -> tuple[str, list[tuple[int, str]]]:
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
