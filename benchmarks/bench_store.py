"""(c) timeline/since (and, for information, status) on a 200,000-item store against a process
that only opens it with sqlite3, and (d) importing those 200,000 items.

    python benchmarks/bench_store.py [--items 200000] [--runs 21]
"""

from __future__ import annotations

import argparse
import sqlite3

from common import (
    PYTHON,
    STRIKEWATCH,
    Measurement,
    Ratio,
    interleaved,
    report,
    run_command,
    work_dir,
    write_jsonl,
)

BARE_OPEN = "import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute('select 1').fetchall()"
# What an import must at least do: read each line, parse it, insert a row. The floor for (d).
BARE_INSERT = """
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[2])
db.execute("create table if not exists t (title, link unique, published, summary, source)")
with db, open(sys.argv[1], encoding="utf-8") as lines:
    db.executemany("insert or ignore into t values (?, ?, ?, ?, ?)",
                   ((r["title"], r["link"], r["published"], r["summary"], r["source"]) for r in map(json.loads, lines)))
"""


def main() -> list[Ratio]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=200_000)
    # A run takes a fraction of a second: many keep the medians steady on a noisy machine.
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    folder = work_dir()
    archive = write_jsonl(folder / f"store-{args.items}.jsonl", args.items)
    db = folder / f"store-{args.items}.db"
    floor_db = folder / "floor.db"
    for path in (db, floor_db):
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)

    import_seconds = run_command([*STRIKEWATCH, "--db", str(db), "import", "--quiet", str(archive)])
    floor_seconds = run_command([PYTHON, "-c", BARE_INSERT, str(archive), str(floor_db)])
    with sqlite3.connect(db) as conn:
        stored = conn.execute("select count(*) from items").fetchone()[0]
        since = conn.execute(
            "select published from items order by published desc limit 1 offset 2000"
        ).fetchone()[0][:10]

    results = interleaved(
        args.runs,
        bare=lambda: run_command([PYTHON, "-c", BARE_OPEN, str(db)]),
        timeline=lambda: run_command(
            [*STRIKEWATCH, "--db", str(db), "timeline", "--guild", "wga", "--limit", "50", "--json"]
        ),
        since=lambda: run_command([*STRIKEWATCH, "--db", str(db), "since", since, "--json"]),
        status=lambda: run_command([*STRIKEWATCH, "--db", str(db), "status", "--json"]),
    )
    ratios = [
        Ratio(
            "timeline --guild wga --limit 50 --json / bare sqlite3",
            results["timeline"],
            results["bare"],
            5.0,
        ),
        Ratio(f"since {since} --json / bare sqlite3", results["since"], results["bare"], 5.0),
        # No target: every guild's standing, from all the store's strike reports.
        Ratio("status --json / bare sqlite3", results["status"], results["bare"], None),
        Ratio(
            f"import {stored:,} items / bare json+insert loop",
            Measurement("import", [import_seconds]),
            Measurement("floor", [floor_seconds]),
            None,
        ),
    ]
    report(
        "store",
        ratios,
        [f"import of {stored:,} items took {import_seconds:.1f}s (target: well under 60s)"],
    )
    return ratios


if __name__ == "__main__":
    main()
