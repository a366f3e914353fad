"""Instructions per classified line, counted by valgrind's callgrind: a measure of the classifier
that the machine's noise does not move, for telling a 2% change from none before committing it.

    python benchmarks/classify_instructions.py [--lines 8000]

Run it on two checkouts (a `git worktree` of the old commit, with PYTHONPATH pointing at it) and
compare. It needs valgrind; it takes about a minute, most of it under valgrind. It runs the
command, `strikewatch classify --jsonl`, so it survives a redesign of the inside. The count is of
tagging (and reading and writing the lines) only: a run on an empty input is subtracted, so
start-up and loading the rules are not in it (the rules are compiled into the cache first, so
neither run compiles them).
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

# The command a user runs; valgrind follows any worker process it starts, and every process's
# count is added up.
CLASSIFY = [sys.executable, "-m", "strikewatch", "classify", "--jsonl"]


VALGRIND = [
    "valgrind",
    "--tool=callgrind",
    "--trace-children=yes",
    "--callgrind-out-file=/dev/null",
]


def instructions(path: str, env: dict[str, str]) -> int:
    completed = subprocess.run(
        [*VALGRIND, *CLASSIFY, path],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    found = re.findall(r"Collected : (\d+)", completed.stderr)
    if completed.returncode != 0 or not found:
        raise SystemExit(f"valgrind run failed:\n{completed.stderr[-2000:]}")
    return sum(int(count) for count in found)


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
        # Fixed hashing, so that set and dict orders (and so the work) are the same every run;
        # the rules' cache in the temporary folder, filled first, so neither run compiles them.
        env = {
            **os.environ,
            "PYTHONHASHSEED": "0",
            "STRIKEWATCH_CACHE_DIR": folder,
            "XDG_CACHE_HOME": folder,
            "NO_COLOR": "1",
        }
        subprocess.run([*CLASSIFY, empty], env=env, check=True, stdout=subprocess.DEVNULL)
        base = instructions(empty, env)
        total = instructions(lines, env)
    print(f"{(total - base) / args.lines:,.0f} instructions per line ({args.lines:,} lines)")


if __name__ == "__main__":
    main()
