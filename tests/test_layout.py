"""The code's shape, as the team's rules state it: data flows one way (no import cycles), no
module uses another's private names, and the store stores what it is given."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "strikewatch"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, list[tuple[str, list[str]]]]:
    """Each module's imports of strikewatch modules (wherever they sit: in functions, under
    TYPE_CHECKING), each with the names it takes."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    found: dict[str, list[tuple[str, list[str]]]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: list[tuple[str, list[str]]] = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges += [(alias.name, []) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                    base = f"{base}.{node.module}" if node.module else base
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    if submodule in modules:
                        edges.append((submodule, []))
                    else:
                        edges.append((base, [alias.name]))
        found[name] = [
            (target, names)
            for target, names in edges
            if target.startswith("strikewatch") and target in modules and target != name
        ]
    return found


def test_the_import_graph_has_no_cycles():
    graph = {name: {target for target, _ in edges} for name, edges in imports().items()}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycle = [*path[path.index(name) :], name]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        for target in sorted(graph.get(name, ())):
            visit(target, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_no_module_takes_another_modules_private_names():
    taken = [
        f"{name} takes {target}.{imported}"
        for name, edges in imports().items()
        for target, names in edges
        for imported in names
        if imported.startswith("_") and not imported.startswith("__")
    ]
    assert taken == []


def test_the_store_does_not_tag_or_work_out_strike_days():
    """The pipeline tags items and asks status for their days; the store only stores them."""
    targets = {target for target, _ in imports()["strikewatch.store"]}
    assert not targets & {"strikewatch.classify", "strikewatch.status", "strikewatch.pipeline"}


def test_a_listing_loads_only_what_it_needs(tmp_path):
    """`timeline` opens the store and prints: the modules of other commands (Atom, alerts, the
    pipeline, status, the rule compiler) and the heavy libraries stay unloaded: they are
    imported at command level."""
    import json
    import subprocess
    import sys

    script = (
        "import sys; from strikewatch.cli import cli\n"
        "try:\n"
        "    cli(['--db', sys.argv[1], 'timeline', '--json'], prog_name='strikewatch')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('\\n' + __import__('json').dumps(sorted(sys.modules)))\n"
    )

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / "x.db")],
            capture_output=True,
            text=True,
            check=True,
        )

    run()  # creates the database (migrations use sqlite-utils and status)
    done = run()
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert "strikewatch.store" in loaded
    unneeded = {
        "strikewatch.atom",
        "strikewatch.alerts",
        "strikewatch.batch",
        "strikewatch.classify",
        "strikewatch.pipeline",
        "strikewatch.search",
        "strikewatch.status",
        "strikewatch.fetch",
        "strikewatch.parse",
        "feedparser",
        "requests",
        "rich",
        "sqlite_utils",
        "subprocess",
        "tomllib",
        "xml.etree.ElementTree",
    }
    assert loaded & unneeded == set()
