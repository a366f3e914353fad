"""(a) Information, no target (issue 15 withdrew it): how fast `classify --jsonl` tags, against a
bare loop that only reads and writes the same JSON lines, and the command's throughput once
started.

    python benchmarks/bench_classify.py [--lines 50000] [--runs 5]

The command is driven through its command line only. Its start-up (Python, imports, loading the
rules) is a run on a one-line input; the rest of a run is tagging, reading and writing.
"""

from __future__ import annotations

import argparse
import json
import random

from common import (
    PYTHON,
    STRIKEWATCH,
    Ratio,
    breakdown,
    headline,
    interleaved,
    print_header,
    report,
    run_command,
    summary,
    work_dir,
)

# What the command must at least do: read each line, parse it, write it back.
JSON_FLOOR = """
import json, sys
write = sys.stdout.write
with open(sys.argv[1], encoding="utf-8") as lines:
    for line in lines:
        if line.strip():
            write(json.dumps(json.loads(line), ensure_ascii=False) + "\\n")
"""


def make_input(lines: int, name: str) -> str:
    path = work_dir() / f"classify-{name}.jsonl"
    rng = random.Random(11)
    with open(path, "w", encoding="utf-8") as handle:
        for index in range(lines):
            record = {"id": index, "title": headline(rng)}
            if rng.random() < 0.5:
                record["summary"] = summary(rng)
            handle.write(json.dumps(record) + "\n")
    return str(path)


def main() -> list[Ratio]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print_header()
    path = make_input(args.lines, str(args.lines))
    one_line = make_input(1, "1")
    results = interleaved(
        args.runs,
        floor=lambda: run_command([PYTHON, "-c", JSON_FLOOR, path]),
        classify=lambda: run_command([*STRIKEWATCH, "classify", "--jsonl", path]),
        start_up=lambda: run_command([*STRIKEWATCH, "classify", "--jsonl", one_line]),
    )
    ratio = Ratio(
        f"classify --jsonl ({args.lines:,} lines) / JSON floor",
        results["classify"],
        results["floor"],
        None,
    )
    whole = ratio.subject.median
    start_up = results["start_up"].median
    report(
        "classify",
        [ratio],
        [
            *breakdown(
                "where the time goes (medians):",
                [
                    ("the whole command", whole),
                    ("start-up: a run on a one-line input", start_up),
                    ("tagging, reading and writing (the difference)", whole - start_up),
                ],
            ),
            f"throughput once started: {(args.lines - 1) / max(whole - start_up, 1e-9):,.0f} lines/s",
        ],
    )
    return [ratio]


if __name__ == "__main__":
    main()
