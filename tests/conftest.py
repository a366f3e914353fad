"""Shared fixtures: a database in tmp_path and the CLI driven through CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from strikewatch import taxonomy
from strikewatch.cli import App, cli
from strikewatch.ingest import import_file
from strikewatch.store import Store
from tests import faultserver as fs
from tests.feeds import DEADLINE, GUILD, VARIETY, ConditionalFeed, atom, rss
from tests.season import SEASON, ArchiveClassifier


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads the developer's own ~/.config/strikewatch/rules.toml."""
    folder = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder / "strikewatch"


@pytest.fixture(autouse=True)
def bundled_taxonomy():
    """Parties and events a test's rules file adds do not outlive the test."""
    yield
    taxonomy.forget_additions()


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder for the run: the compiled rules are built once, not once per test."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def isolated_user_folders(
    tmp_path: Path, session_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test writes the compiled rules into the developer's ~/.cache/strikewatch, nor a
    database into ~/.local/share/strikewatch."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(session_cache))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("STRIKEWATCH_CACHE_DIR", raising=False)
    # The developer's own database and rules file are not the test's either.
    monkeypatch.delenv("STRIKEWATCH_DB", raising=False)
    monkeypatch.delenv("STRIKEWATCH_RULES", raising=False)


@pytest.fixture
def server():
    """A loopback server whose routes answer as a test tells them to (tests/faultserver.py)."""
    started = fs.FaultServer()
    yield started
    started.stop()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "strikewatch.db"


@pytest.fixture
def run(db_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Invoke the CLI against the test database; returns the click Result."""
    monkeypatch.delenv("STRIKEWATCH_DB", raising=False)
    monkeypatch.delenv("STRIKEWATCH_RULES", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")

    def invoke(*args: str, input: str | None = None):
        runner = CliRunner()
        return runner.invoke(
            cli, ["--db", str(db_path), *args], input=input, catch_exceptions=False
        )

    return invoke


@pytest.fixture
def run_json(run):
    """Invoke a listing command with --json and return the parsed output."""

    def invoke(*args: str):
        result = run(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    return invoke


@pytest.fixture
def three_feeds(httpserver, run):
    feeds = {
        "deadline": ConditionalFeed(rss(DEADLINE, title="Deadline")),
        "variety": ConditionalFeed(rss(VARIETY, title="Variety", wordpress=False)),
        "guild": ConditionalFeed(atom(GUILD), content_type="application/atom+xml"),
    }
    for name, feed in feeds.items():
        httpserver.expect_request(f"/{name}.xml").respond_with_handler(feed)
        result = run(
            "feeds", "add", httpserver.url_for(f"/{name}.xml"), "--name", name, "--no-check"
        )
        assert result.exit_code == 0, result.output
    return feeds


@pytest.fixture
def season_store(tmp_path: Path):
    """The labeled 2023 season, imported with the tags it expects."""
    store = Store.open(tmp_path / "season.db")
    import_file(store, SEASON, ArchiveClassifier())
    yield store
    store.close()


@pytest.fixture
def season_cli(run, monkeypatch: pytest.MonkeyPatch):
    """`run`, on a database holding the labeled 2023 season tagged as it expects."""
    monkeypatch.setattr(App, "classifier", lambda self, extra_rules=(): ArchiveClassifier())
    assert run("import", str(SEASON)).exit_code == 0
    return run
