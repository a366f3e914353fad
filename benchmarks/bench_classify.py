"""(a) `classify --jsonl` over 50,000 lines against a bare loop that only reads and writes them.

python benchmarks/bench_classify.py [--lines 50000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import random

from common import (
    PYTHON,
    STRIKEWATCH,
    Ratio,
    headline,
    interleaved,
    report,
    run_command,
    summary,
    work_dir,
)

JSON_FLOOR = """
import json, sys
write = sys.stdout.write
with open(sys.argv[1], encoding="utf-8") as lines:
    for line in lines:
        if line.strip():
            write(json.dumps(json.loads(line), ensure_ascii=False) + "\\n")
"""


def make_input(lines: int) -> str:
    path = work_dir() / f"classify-{lines}.jsonl"
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
    path = make_input(args.lines)
    results = interleaved(
        args.runs,
        floor=lambda: run_command([PYTHON, "-c", JSON_FLOOR, path]),
        classify=lambda: run_command([*STRIKEWATCH, "classify", "--jsonl", path]),
    )
    ratios = [
        Ratio(
            f"classify --jsonl ({args.lines:,} lines) / JSON floor",
            results["classify"],
            results["floor"],
            3.0,
        )
    ]
    report("classify", ratios)
    return ratios


if __name__ == "__main__":
    main()
