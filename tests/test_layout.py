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


def modules_loaded_by(*args: str) -> tuple[str, set[str]]:
    """What a command line prints, and the modules it loads, run in a fresh interpreter as a
    user runs it (each test's own environment: its cache and config folders)."""
    import json
    import subprocess
    import sys

    script = (
        "import sys; from strikewatch.cli import cli\n"
        "try:\n"
        "    cli(sys.argv[1:], prog_name='strikewatch')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('\\n' + __import__('json').dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=True
    )
    output, _, modules = done.stdout.rstrip("\n").rpartition("\n")
    return output, set(json.loads(modules))


def test_a_listing_loads_only_what_it_needs(tmp_path):
    """`timeline` opens the store and prints: the modules of other commands (Atom, alerts, the
    pipeline, status, the rule compiler) and the heavy libraries stay unloaded: they are
    imported at command level. Nor does it load what only feeds and subscriptions need (HTML
    to text, hashing, links and addresses: urllib.parse and pathlib, the rule files) or the
    dataclasses module (a frozen dataclass costs half a millisecond to define): a listing's
    start-up is most of its time."""
    db = str(tmp_path / "x.db")
    modules_loaded_by("--db", db, "timeline", "--json")  # creates the database (migrations)
    _, loaded = modules_loaded_by("--db", db, "timeline", "--json")
    assert "strikewatch.store" in loaded
    unneeded = {
        "strikewatch.atom",
        "strikewatch.alerts",
        "strikewatch.batch",
        "strikewatch.bundled",
        "strikewatch.classify",
        "strikewatch.normalize",
        "strikewatch.pipeline",
        "strikewatch.poll",
        "strikewatch.rulefiles",
        "strikewatch.subscriptions",
        "strikewatch.search",
        "strikewatch.status",
        "strikewatch.fetch",
        "strikewatch.parse",
        "strikewatch.text",
        "dataclasses",
        "feedparser",
        "hashlib",
        "html.parser",
        "ipaddress",
        "pathlib",
        "requests",
        "rich",
        "sqlite_utils",
        "subprocess",
        "tomllib",
        "urllib.parse",
        "xml.etree.ElementTree",
    }
    assert loaded & unneeded == set()


def test_an_unchanged_re_poll_loads_neither_parser_nor_classifier(three_feeds, run, db_path):
    """A poll whose feeds all answer 304 has no body to parse and no item to tag: the feed
    parser (feedparser, XML), the rule engine and its compiled program, and the TOML reader
    of the default feed list stay unloaded, and with no alert set, the alerts' delivery
    (subprocess). It is the run cron repeats all day."""
    assert run("poll").exit_code == 0  # the first poll: bodies parsed, items tagged
    output, loaded = modules_loaded_by("--db", str(db_path), "poll")
    assert "3 unchanged (304)" in output
    assert "strikewatch.rulefiles" in loaded  # the rules are still read and checked first
    unneeded = {
        "strikewatch.alerts",
        "strikewatch.classify",
        "strikewatch.classify.engine",
        "strikewatch.parse",
        "strikewatch.safexml",
        "feedparser",
        "subprocess",
        "tomllib",
        "xml.sax",
    }
    assert loaded & unneeded == set()
