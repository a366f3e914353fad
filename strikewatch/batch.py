"""`classify --jsonl`: tag a stream of JSON objects, keeping order and every other key."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from strikewatch.classify import Classifier

FLUSH_EVERY = 512


def classify_jsonl(
    classifier: Classifier, lines: Iterable[str], out: IO[str]
) -> list[tuple[int, str]]:
    """Write each object back with `guilds` and `events`; return the bad lines as (number, why)."""
    errors: list[tuple[int, str]] = []
    pending: list[str] = []
    classify = classifier.classify
    loads, dumps = json.loads, json.dumps
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = loads(line)
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
        record["guilds"] = list(tags.guilds)
        record["events"] = list(tags.events)
        pending.append(dumps(record, ensure_ascii=False))
        if len(pending) >= FLUSH_EVERY:
            out.write("\n".join(pending) + "\n")
            pending.clear()
    if pending:
        out.write("\n".join(pending) + "\n")
    out.flush()
    return errors
