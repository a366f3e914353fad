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


# What the command does after start-up: the same call with the same rules, timed in-process
# once they are loaded and compiled. When this alone exceeds what the target allows for the
# whole run, no faster start-up can meet it.
TAGGING_ONLY = """
import os, sys, time
from strikewatch.batch import WORKERS, classify_jsonl
from strikewatch.classify import load_classifier
from strikewatch.paths import configured_rule_files
if __name__ == "__main__":
    classifier = load_classifier(configured_rule_files())
    classifier.warm_up()
    with open(sys.argv[1], encoding="utf-8") as lines, open(os.devnull, "w") as out:
        started = time.perf_counter()
        classify_jsonl(classifier, lines, out, workers=WORKERS)
        print(time.perf_counter() - started)
"""


def tagging_only(path: str) -> float:
    """Seconds `classify --jsonl` spends tagging `path`, start-up and rule compiling left out."""
    return float(command_output([PYTHON, "-c", TAGGING_ONLY, path]))


def tagged_where(lines: int) -> str:
    """Where `classify --jsonl` tags an input of `lines` lines on this machine."""
    from strikewatch.batch import CHUNK_LINES, PARALLEL_MIN_CHUNKS, WORKERS

    if WORKERS and lines >= CHUNK_LINES * PARALLEL_MIN_CHUNKS:
        return f"in {WORKERS} worker processes"
    return "in the command's own process"


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
        tagging=lambda: tagging_only(path),
    )
    ratio = Ratio(
        f"classify --jsonl ({args.lines:,} lines) / JSON floor",
        results["classify"],
        results["floor"],
        3.0,
    )
    whole = ratio.subject.median
    tagging = results["tagging"].median
    report(
        "classify",
        [ratio],
        breakdown(
            "where the time goes (medians):",
            [
                ("the whole command", whole),
                (f"tagging alone, {tagged_where(args.lines)}", tagging),
                ("the rest: start-up, compiling the rules (the difference)", whole - tagging),
                ("what the target allows for the whole command", ratio.allowed),
            ],
        ),
    )
    return [ratio]


if __name__ == "__main__":
    main()
