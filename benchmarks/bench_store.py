"""(c) The reading commands on a 200,000-item store, each against a Python process that only opens
the database with sqlite3 (target at most 4x each), and (d) `import` of those 200,000 items
(target under 40 s, scaled in proportion for other sizes; its ratio to a bare json+insert loop
is information).

    python benchmarks/bench_store.py [--items 200000] [--runs 21]

The commands are what a user types: `timeline --guild wga --limit 50 --json`, `since DATE --json`
(DATE leaves about 2,000 items), `status --json` and `search "tentative agreement" --json` (the
default limit of 20). `status` answers the question users ask most, so it must be as quick as
`timeline`.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from datetime import datetime, timedelta

from common import (
    PYTHON,
    STRIKEWATCH,
    Limit,
    Measurement,
    Ratio,
    command_output,
    interleaved,
    print_header,
    report,
    run_command,
    work_dir,
    write_jsonl,
)

BARE_OPEN = "import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute('select 1').fetchall()"
# What an import must at least do: read each line, parse it, insert a row. Its floor, for scale.
BARE_INSERT = """
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[2])
db.execute("create table if not exists t (title, link unique, published, summary, source)")
with db, open(sys.argv[1], encoding="utf-8") as lines:
    db.executemany("insert or ignore into t values (?, ?, ?, ?, ?)",
                   ((r["title"], r["link"], r["published"], r["summary"], r["source"]) for r in map(json.loads, lines)))
"""
SEARCH_QUERY = "tentative agreement"
READ_TARGET = 4.0
IMPORT_ITEMS, IMPORT_SECONDS = 200_000, 40.0  # the target, scaled for other sizes


def since_date(archive, keep: int = 2000) -> str:
    """The day from which about `keep` of the archive's items on are newer, as YYYY-MM-DD."""
    with open(archive, encoding="utf-8") as lines:
        published = sorted((json.loads(line)["published"] for line in lines), reverse=True)
    return published[min(keep, len(published) - 1)][:10]


def last_day(archive) -> str:
    """The archive's newest publication day, as YYYY-MM-DD (in Los Angeles, near enough)."""
    with open(archive, encoding="utf-8") as lines:
        newest = max(json.loads(line)["published"] for line in lines)
    return (datetime.fromisoformat(newest) - timedelta(hours=8)).date().isoformat()


def main() -> list[Ratio | Limit]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=200_000)
    # A run takes a fraction of a second: many keep the medians steady on a noisy machine.
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    print_header()
    folder = work_dir()
    archive = write_jsonl(folder / f"store-{args.items}.jsonl", args.items)
    db = folder / f"store-{args.items}.db"
    floor_db = folder / "floor.db"
    for path in (db, floor_db):
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)

    import_seconds = run_command([*STRIKEWATCH, "--db", str(db), "import", "--quiet", str(archive)])
    floor_seconds = run_command([PYTHON, "-c", BARE_INSERT, str(archive), str(floor_db)])
    with sqlite3.connect(db) as conn:  # `items` is documented in the README's schema
        stored = conn.execute("select count(*) from items").fetchone()[0]
    since = since_date(archive)

    def strikewatch(*arguments: str) -> list[str]:
        return [*STRIKEWATCH, "--db", str(db), *arguments]

    commands = {
        "timeline --guild wga --limit 50 --json": strikewatch(
            "timeline", "--guild", "wga", "--limit", "50", "--json"
        ),
        f"since {since} --json": strikewatch("since", since, "--json"),
        "status --json": strikewatch("status", "--json"),
        f'search "{SEARCH_QUERY}" --json': strikewatch("search", SEARCH_QUERY, "--json"),
    }
    # The generated archive ends years ago, so plain `status` finds it stale (no weekly chart
    # to draw). A store polled today answers for its newest day: shown beside it, for information.
    live = f"status --json --as-of {last_day(archive)}"
    informative = {live: strikewatch("status", "--json", "--as-of", last_day(archive))}
    # What every command pays before its own work: the interpreter with click (the CLI's
    # framework), and strikewatch's start-up (--version reads no database).
    floors = {
        "python -c 'import click'": [PYTHON, "-c", "import click"],
        "strikewatch --version": [*STRIKEWATCH, "--version"],
    }
    # Each measures real work: every command finds something on this store.
    found = {
        name: len(json.loads(command_output(command)))
        for name, command in {**commands, **informative}.items()
    }
    empty = [name for name, count in found.items() if not count]
    if empty:
        raise SystemExit(f"found nothing, so measured nothing: {', '.join(empty)}")

    results = interleaved(
        args.runs,
        bare=lambda: run_command([PYTHON, "-c", BARE_OPEN, str(db)]),
        **{
            name: (lambda command=command: run_command(command))
            for name, command in {**commands, **informative, **floors}.items()
        },
    )
    measures: list[Ratio | Limit] = [
        Ratio(f"{name} / bare sqlite3 open", results[name], results["bare"], READ_TARGET)
        for name in commands
    ]
    measures += [
        Ratio(f"{name} / bare sqlite3 open", results[name], results["bare"], None)
        for name in (*informative, *floors)
    ]
    imported = Measurement("import", [import_seconds])
    measures += [
        Limit(f"import {stored:,} items", imported, IMPORT_SECONDS * args.items / IMPORT_ITEMS),
        Ratio(
            f"import {stored:,} items / bare json+insert loop",
            imported,
            Measurement("floor", [floor_seconds]),
            None,
        ),
    ]
    report(
        "store",
        measures,
        [f"entries found: {', '.join(f'{name}: {count}' for name, count in found.items())}"],
    )
    return measures


if __name__ == "__main__":
    main()
