"""Information, no target: feedparser with its defaults (HTML sanitizer, relative-URI resolution)
against the options strikewatch parses with (both off), on WordPress-style feeds with a few KB of
HTML per item. strikewatch turns item HTML into plain text itself, so the two give it the same
items (tests/test_parse.py pins that); this says what the options save.

    python benchmarks/bench_parse.py [--feeds 20] [--items 50] [--runs 5]

It calls feedparser directly, not strikewatch's internals, so it survives their redesign.
"""

from __future__ import annotations

import argparse
import random
import time

import feedparser
from bench_poll import feed_document
from common import Measurement, Ratio, print_header, report

OURS = {"sanitize_html": False, "resolve_relative_uris": False}
DEFAULTS = {"sanitize_html": True, "resolve_relative_uris": True}


def parse_all(documents: list[bytes], options: dict[str, bool]) -> tuple[float, int]:
    """Seconds to parse every document with `options`, and how many entries came out."""
    started = time.perf_counter()
    entries = sum(len(feedparser.parse(document, **options).entries) for document in documents)
    return time.perf_counter() - started, entries


def main() -> list[Ratio]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print_header()
    rng = random.Random(3)
    documents = [feed_document(index, args.items, rng) for index in range(args.feeds)]
    ours = Measurement("ours", [])
    defaults = Measurement("defaults", [])
    for _ in range(args.runs):
        seconds, entries_ours = parse_all(documents, OURS)
        ours.seconds.append(seconds)
        seconds, entries_default = parse_all(documents, DEFAULTS)
        defaults.seconds.append(seconds)
    if entries_ours != entries_default:
        raise SystemExit(f"the options changed the entries: {entries_ours} != {entries_default}")
    ratios = [
        Ratio(
            f"feedparser {args.feeds}x{args.items} items: our options / defaults",
            ours,
            defaults,
            None,
        )
    ]
    report("parse", ratios, [f"entries per run: {entries_ours:,}"])
    return ratios


if __name__ == "__main__":
    main()
