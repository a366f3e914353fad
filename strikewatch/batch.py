"""`classify --jsonl`: tag a stream of JSON objects, keeping order and every other key."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from strikewatch.classify import Classifier, Tags

FLUSH_EVERY = 512


def classify_jsonl(
    classifier: Classifier, lines: Iterable[str], out: IO[str]
) -> list[tuple[int, str]]:
    """Write each object back with `guilds` and `events`; return the bad lines as (number, why).

    An object without those keys is written as it came, with the two keys appended to its
    text: re-serializing every line would cost more than classifying it, and leaving the
    rest of the line untouched keeps numbers, escapes and spacing exactly as they were.
    """
    errors: list[tuple[int, str]] = []
    pending: list[str] = []
    classify = classifier.classify
    loads, dumps = json.loads, json.dumps
    suffixes: dict[Tags, str] = {}  # the text appended for each distinct pair of tag lists
    for number, line in enumerate(lines, start=1):
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
            pending.append(dumps(record, ensure_ascii=False))
        else:
            suffix = suffixes.get(tags)
            if suffix is None:
                suffix = suffixes[tags] = (
                    f'"guilds": {dumps(list(tags.guilds))}, "events": {dumps(list(tags.events))}}}'
                )
            # A JSON object's text ends with "}"; put the keys just before it.
            body = text[:-1].rstrip()
            pending.append(f"{body}, {suffix}" if record else f"{body}{suffix}")
        if len(pending) >= FLUSH_EVERY:
            out.write("\n".join(pending) + "\n")
            pending.clear()
    if pending:
        out.write("\n".join(pending) + "\n")
    out.flush()
    return errors
