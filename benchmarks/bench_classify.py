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
    breakdown,
    command_output,
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


# What the command does after start-up: the same call, timed in-process once the rules are
# loaded and compiled. When this alone exceeds what the target allows for the whole run, no
# faster start-up can meet it.
TAGGING_ONLY = """
import os, sys, time
from strikewatch.batch import WORKERS, classify_jsonl
from strikewatch.classify import load_classifier
if __name__ == "__main__":
    classifier = load_classifier()
    classifier.warm_up()
    with open(sys.argv[1], encoding="utf-8") as lines, open(os.devnull, "w") as out:
        started = time.perf_counter()
        classify_jsonl(classifier, lines, out, workers=WORKERS)
        print(time.perf_counter() - started, WORKERS)
"""


def tagging_only(path: str, workers_seen: list[int]) -> float:
    """Seconds `classify --jsonl` spends tagging `path`, start-up and rule compiling left out."""
    seconds, workers = command_output([PYTHON, "-c", TAGGING_ONLY, path]).split()
    workers_seen.append(int(workers))
    return float(seconds)


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
    workers: list[int] = []
    results = interleaved(
        args.runs,
        floor=lambda: run_command([PYTHON, "-c", JSON_FLOOR, path]),
        classify=lambda: run_command([*STRIKEWATCH, "classify", "--jsonl", path]),
        tagging=lambda: tagging_only(path, workers),
    )
    ratio = Ratio(
        f"classify --jsonl ({args.lines:,} lines) / JSON floor",
        results["classify"],
        results["floor"],
        3.0,
    )
    allowed = ratio.baseline.median * 3.0
    tagging = results["tagging"].median
    report(
        "classify",
        [ratio],
        breakdown(
            "where the time goes (medians):",
            [
                ("the whole command", ratio.subject.median),
                (f"tagging alone, in {workers[0]} worker(s), start-up left out", tagging),
                ("start-up, compiling the rules and the rest", ratio.subject.median - tagging),
                ("what the target allows for the whole command", allowed),
            ],
        ),
    )
    return [ratio]


if __name__ == "__main__":
    main()
