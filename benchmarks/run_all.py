"""Run every benchmark and print each ratio beside its target.

    python benchmarks/run_all.py [--quick]

--quick shrinks the workloads (for a smoke run); the numbers in notes come from a full run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUICK = {
    "bench_classify.py": ["--lines", "5000", "--runs", "3"],
    "bench_poll.py": ["--feeds", "20", "--items", "20", "--runs", "2"],
    "bench_store.py": ["--items", "20000", "--runs", "3"],
    "bench_parse.py": ["--feeds", "5", "--runs", "2"],
}


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    failed = 0
    for script in ("bench_classify.py", "bench_poll.py", "bench_store.py", "bench_parse.py"):
        extra = QUICK[script] if quick else []
        completed = subprocess.run([sys.executable, str(HERE / script), *extra], cwd=HERE)
        failed += completed.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
