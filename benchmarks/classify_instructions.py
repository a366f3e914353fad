"""Instructions per classified line, counted by valgrind's callgrind: a measure of the classifier
that the machine's noise does not move, for telling a 2% change from none before committing it.

    python benchmarks/classify_instructions.py [--lines 8000]

Run it on two checkouts (a `git worktree` of the old commit, with PYTHONPATH pointing at it) and
compare. It needs valgrind; it takes about a minute, most of it under valgrind. The count is of
tagging only: a run that tags no line is subtracted, so start-up and compiling the rules are not
in it (the rules are compiled into the cache first, so neither run compiles them).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

from common import headline, summary

TAG = """
import json, sys
from strikewatch.classify import load_classifier
with open(sys.argv[1], encoding="utf-8") as lines:
    items = [json.loads(line) for line in lines]
classifier = load_classifier()
classifier.warm_up()
for item in items:
    classifier.classify(item["title"], item.get("summary") or "")
"""


VALGRIND = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]


def instructions(path: str, env: dict[str, str]) -> int:
    completed = subprocess.run(
        [*VALGRIND, sys.executable, "-c", TAG, path],
        env=env,
        capture_output=True,
        text=True,
    )
    found = re.search(r"Collected : (\d+)", completed.stderr)
    if completed.returncode != 0 or found is None:
        raise SystemExit(f"valgrind run failed:\n{completed.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=8000)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    rng = random.Random(11)  # the same kind of lines as bench_classify
    with tempfile.TemporaryDirectory() as folder:
        empty = os.path.join(folder, "empty.jsonl")
        lines = os.path.join(folder, "lines.jsonl")
        open(empty, "w").close()
        with open(lines, "w", encoding="utf-8") as handle:
            for _ in range(args.lines):
                record = {"title": headline(rng)}
                if rng.random() < 0.5:
                    record["summary"] = summary(rng)
                handle.write(json.dumps(record) + "\n")
        # Fixed hashing, so that set and dict orders (and so the work) are the same every run.
        env = {**os.environ, "PYTHONHASHSEED": "0", "STRIKEWATCH_CACHE_DIR": folder}
        subprocess.run([sys.executable, "-c", TAG, empty], env=env, check=True)  # fill the cache
        base = instructions(empty, env)
        total = instructions(lines, env)
    print(f"{(total - base) / args.lines:,.0f} instructions per line ({args.lines:,} lines)")


if __name__ == "__main__":
    main()
