"""Measure the classifier against labeled headlines: precision and recall per event and party.

    python -m strikewatch.evaluate [FILE ...] [--rules FILE] [--quiet] [--json] [--bench N]

With no FILE, the labeled set shipped with the tests (tests/data/labeled/headlines.jsonl) is
used. The same `evaluate()` function backs tests/test_classifier_quality.py, so the table a
rules editor sees is the one the test enforces.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strikewatch import taxonomy
from strikewatch.classify import Classifier, load_classifier
from strikewatch.errors import RulesError

DEFAULT_LABELED = (
    Path(__file__).resolve().parent.parent / "tests" / "data" / "labeled" / "headlines.jsonl"
)


@dataclass
class Score:
    """Counts for one label (an event or a party) over a labeled set."""

    label: str
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float:
        """1.0 when nothing was predicted: no false alarms were raised."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """1.0 when nothing was there to find."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "support": self.support,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
        }


@dataclass
class Miss:
    """One labeled line the classifier got wrong, with what it said and what was expected."""

    line: int
    title: str
    summary: str
    expected_guilds: tuple[str, ...]
    got_guilds: tuple[str, ...]
    expected_events: tuple[str, ...]
    got_events: tuple[str, ...]
    source: str = ""

    def describe(self) -> str:
        parts = []
        if self.expected_guilds != self.got_guilds:
            parts.append(f"guilds want {list(self.expected_guilds)} got {list(self.got_guilds)}")
        if self.expected_events != self.got_events:
            parts.append(f"events want {list(self.expected_events)} got {list(self.got_events)}")
        where = f"{self.source}:{self.line}" if self.source else str(self.line)
        text = self.title + (f"  || {self.summary}" if self.summary else "")
        return f"{where}: {text}\n    " + "; ".join(parts)


@dataclass
class Report:
    """Scores per event and per party, plus the lines that were misclassified."""

    events: dict[str, Score]
    guilds: dict[str, Score]
    misses: list[Miss] = field(default_factory=list)
    total: int = 0
    version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "rules_version": self.version,
            "events": [s.to_dict() for s in self.events.values()],
            "guilds": [s.to_dict() for s in self.guilds.values()],
            "misses": [m.__dict__ for m in self.misses],
        }

    def table(self) -> str:
        """The plain-text table printed by the command."""
        lines = [f"{self.total} labeled lines, rules {self.version}", ""]
        for title, scores in (("event", self.events), ("party", self.guilds)):
            lines.append(
                f"{title:<18} {'support':>7} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} {'recall':>7}"
            )
            for s in scores.values():
                lines.append(
                    f"{s.label:<18} {s.support:>7} {s.tp:>4} {s.fp:>4} {s.fn:>4} "
                    f"{s.precision:>9.3f} {s.recall:>7.3f}"
                )
            lines.append("")
        return "\n".join(lines)


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Labeled lines from a JSONL file; each gets `_line` (1-based) and `_source`."""
    records: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as fh:
        for n, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not JSON ({exc.msg})") from exc
            if not isinstance(rec, dict) or not isinstance(rec.get("title"), str):
                raise ValueError(f"{path}:{n}: expected an object with a title")
            rec["_line"] = n
            rec["_source"] = Path(path).name
            records.append(rec)
    return records


def evaluate(classifier: Classifier, records: Iterable[dict[str, Any]]) -> Report:
    """Score `classifier` on labeled records (title, summary?, guilds, events)."""
    events = {e: Score(e) for e in taxonomy.event_ids()}  # with what the rules files add
    guilds = {g: Score(g) for g in taxonomy.guild_ids()}
    misses: list[Miss] = []
    total = 0
    for i, rec in enumerate(records, 1):
        total += 1
        title = rec.get("title") or ""
        summary = rec.get("summary") or ""
        tags = classifier.classify(title, summary)
        want_g = tuple(sorted(rec.get("guilds") or ()))
        want_e = tuple(sorted(rec.get("events") or ()))
        for label, want, got, scores in (
            ("g", want_g, tags.guilds, guilds),
            ("e", want_e, tags.events, events),
        ):
            del label
            for x in set(want) | set(got):
                if x not in scores:
                    continue
                if x in want and x in got:
                    scores[x].tp += 1
                elif x in got:
                    scores[x].fp += 1
                else:
                    scores[x].fn += 1
        if want_g != tags.guilds or want_e != tags.events:
            misses.append(
                Miss(
                    line=int(rec.get("_line", i)),
                    title=title,
                    summary=summary,
                    expected_guilds=want_g,
                    got_guilds=tags.guilds,
                    expected_events=want_e,
                    got_events=tags.events,
                    source=str(rec.get("_source", "")),
                )
            )
    return Report(events, guilds, misses, total, classifier.version)


def benchmark(classifier: Classifier, records: Sequence[dict[str, Any]], n: int) -> float:
    """Microseconds per headline, without the memo, over `n` lines cycling through `records`."""
    items = [(r.get("title") or "", r.get("summary") or "") for r in records]
    if not items:
        return 0.0
    run = classifier.classify_uncached
    start = time.perf_counter()
    for i in range(n):
        title, summary = items[i % len(items)]
        run(title, summary)
    return (time.perf_counter() - start) / n * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m strikewatch.evaluate",
        description="Per-event and per-party precision/recall of the rules on labeled JSONL.",
    )
    parser.add_argument("files", nargs="*", help=f"labeled JSONL (default: {DEFAULT_LABELED})")
    parser.add_argument(
        "--rules", action="append", default=[], help="extra rules file (repeatable)"
    )
    parser.add_argument("--quiet", action="store_true", help="table only, no misclassified lines")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--explain", action="store_true", help="explain each misclassified line")
    parser.add_argument(
        "--bench",
        type=int,
        default=0,
        metavar="N",
        help="also time N classifications (µs/headline)",
    )
    args = parser.parse_args(argv)
    try:
        t0 = time.perf_counter()
        classifier = load_classifier(args.rules)
        load_ms = (time.perf_counter() - t0) * 1000
        records: list[dict[str, Any]] = []
        for f in args.files or [DEFAULT_LABELED]:
            records += read_records(f)
    except (RulesError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = evaluate(classifier, records)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    print(report.table())
    if args.bench:
        us = benchmark(classifier, records, args.bench)
        print(f"rules loaded in {load_ms:.1f} ms; {us:.1f} µs/headline over {args.bench} lines")
    if not args.quiet:
        print(f"{len(report.misses)} misclassified:")
        for miss in report.misses:
            print(miss.describe())
            if args.explain:
                for step in classifier.explain(miss.title, miss.summary).steps:
                    print(f"      - {step}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
