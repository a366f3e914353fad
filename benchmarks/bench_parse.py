"""feedparser's defaults (HTML sanitizer, relative-URI resolution) against the options strikewatch
uses, on WordPress-style feeds with a few KB of HTML per item. Both produce the same items.

    python benchmarks/bench_parse.py [--feeds 20] [--items 50] [--runs 5]
"""

from __future__ import annotations

import argparse
import random
import time

from bench_poll import feed_document
from common import Measurement, Ratio, report

from strikewatch import parse


def parse_all(documents: list[bytes], options: dict[str, bool]) -> tuple[float, list]:
    saved = dict(parse.FEEDPARSER_OPTIONS)
    parse.FEEDPARSER_OPTIONS.update(options)
    try:
        started = time.perf_counter()
        items = [parse.parse_feed(document).items for document in documents]
        return time.perf_counter() - started, items
    finally:
        parse.FEEDPARSER_OPTIONS.clear()
        parse.FEEDPARSER_OPTIONS.update(saved)


def main() -> list[Ratio]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(3)
    documents = [feed_document(index, args.items, rng) for index in range(args.feeds)]
    ours = Measurement("ours", [])
    defaults = Measurement("defaults", [])
    for _ in range(args.runs):
        seconds, items_ours = parse_all(
            documents, {"sanitize_html": False, "resolve_relative_uris": False}
        )
        ours.seconds.append(seconds)
        seconds, items_default = parse_all(
            documents, {"sanitize_html": True, "resolve_relative_uris": True}
        )
        defaults.seconds.append(seconds)
    same = items_ours == items_default
    ratios = [
        Ratio(
            f"parse {args.feeds}x{args.items} items: ours / feedparser defaults",
            ours,
            defaults,
            None,
        )
    ]
    report("parse", ratios, [f"items identical: {same}"])
    if not same:
        raise SystemExit("the options changed the parsed items")
    return ratios


if __name__ == "__main__":
    main()
