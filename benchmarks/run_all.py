"""Run every benchmark, then print one summary table: each measure beside its target.

    python benchmarks/run_all.py [--quick]

--quick shrinks the workloads for a smoke run (the targets are not judged fairly then); the
numbers in notes come from a full run on a quiet machine. The output starts with the command
line, the Python and the machine, for notes to cite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS_ENV, header, table

HERE = Path(__file__).resolve().parent
SCRIPTS = ("bench_poll.py", "bench_store.py", "bench_classify.py", "bench_parse.py")
QUICK = {
    "bench_poll.py": ["--feeds", "9", "30", "--items", "20", "--runs", "2"],
    "bench_store.py": ["--items", "20000", "--runs", "3"],
    "bench_classify.py": ["--lines", "5000", "--runs", "2"],
    "bench_parse.py": ["--feeds", "5", "--runs", "2"],
}


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    for line in header():
        print(line)
    print("mode: quick (smoke run, small workloads)" if quick else "mode: full")
    sys.stdout.flush()
    failed = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        results = Path(folder) / "results.jsonl"
        results.touch()
        for script in SCRIPTS:
            command = [sys.executable, str(HERE / script), *(QUICK[script] if quick else [])]
            print(f"\n$ {' '.join([Path(sys.executable).name, script, *command[2:]])}", flush=True)
            environment = {**os.environ, RESULTS_ENV: str(results)}
            if subprocess.run(command, cwd=HERE, env=environment).returncode != 0:
                failed.append(script)
        rows = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
    print(f"\n## summary ({time.perf_counter() - started:.0f} s)")
    for line in table(rows):
        print(line)
    missed = [row["measure"] for row in rows if row["verdict"] == "MISSED"]
    print(f"targets: {sum(row['verdict'] == 'ok' for row in rows)} met, {len(missed)} missed")
    if failed:
        print(f"failed to run: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
