"""What the final review of the start-up, first-poll and standing changes found."""

from __future__ import annotations

from click.shell_completion import ShellComplete

from strikewatch.cli import cli


def test_completion_reads_a_database_whose_name_holds_uri_characters(tmp_path, run):
    """Completion opens the database read-only through an SQLite URI: a `#` or `?` in its name
    must not cut the URI short, which dropped `mode=ro`, found no names, and created an empty
    database file under the shortened name."""
    folder = tmp_path / "odd"
    folder.mkdir()
    database = folder / "news#1?.db"
    assert run("--db", str(database), "import", "--sample", "--quiet").exit_code == 0

    completer = ShellComplete(cli, {}, "strikewatch", "_STRIKEWATCH_COMPLETE")
    found = completer.get_completions(["--db", str(database), "timeline", "--source"], "dea")

    assert [item.value for item in found] == ["deadline"]
    # Its -wal and -shm files aside (any reader of a WAL database may leave them).
    assert {path.name.removesuffix("-wal").removesuffix("-shm") for path in folder.iterdir()} == {
        database.name
    }
