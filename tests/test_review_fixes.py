"""The review of issue 14's fixes: each finding pinned by behaviour."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_feeds import strikewatch_bounded


# -- 5: OPML nested a thousand deep ---------------------------------------------------------


def test_opml_nested_a_thousand_deep_is_read_without_a_traceback(tmp_path, db_path):
    deep = tmp_path / "deep.opml"
    depth = 1000
    deep.write_text(
        '<?xml version="1.0"?><opml version="2.0"><body>'
        + '<outline text="news">' * depth
        + '<outline text="deep" xmlUrl="https://deep.example/feed/"/>'
        + "</outline>" * depth
        + "</body></opml>"
    )
    result = strikewatch_bounded(db_path, "feeds", "import", str(deep))
    assert "Traceback" not in result.stderr
    assert result.returncode == 0, result.stderr
    listed = strikewatch_bounded(db_path, "feeds", "list", "--json")
    assert "https://deep.example/feed/" in listed.stdout


# -- 6: rules files are regular files of bounded size ---------------------------------------


def _fifo(tmp_path: Path) -> Path:
    fifo = tmp_path / "rules.fifo"
    os.mkfifo(fifo)
    return fifo


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
@pytest.mark.parametrize("kind", ["device", "fifo", "huge"])
@pytest.mark.parametrize("where", ["top", "classify"])
def test_a_rules_option_that_is_no_rules_file_is_a_usage_error(tmp_path, db_path, kind, where):
    if kind == "device":
        path = Path("/dev/zero")
    elif kind == "fifo":
        path = _fifo(tmp_path)
    else:
        path = tmp_path / "huge.toml"
        path.write_bytes(b"#" * (2 * 1024 * 1024))
    args = (
        ["--rules", str(path), "classify", "WGA strike begins"]
        if where == "top"
        else ["classify", "--rules", str(path), "WGA strike begins"]
    )
    result = strikewatch_bounded(db_path, *args, timeout=30)
    assert result.returncode == 2, result.stderr
    assert str(path) in result.stderr and "Traceback" not in result.stderr
    assert ("regular file" if kind != "huge" else "1 MB") in result.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_strikewatch_rules_naming_no_rules_file_is_one_line(tmp_path, db_path, kind):
    path = Path("/dev/zero") if kind == "device" else _fifo(tmp_path)
    env = {key: value for key, value in os.environ.items() if not key.startswith("STRIKEWATCH")}
    env.update(NO_COLOR="1", STRIKEWATCH_RULES=str(path))

    def limit_memory() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    result = subprocess.run(
        [sys.executable, "-m", "strikewatch", "--db", str(db_path), "classify", "WGA strike"],
        capture_output=True,
        text=True,
        timeout=30,
        preexec_fn=limit_memory,
        env=env,
    )
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line == f"Error: {path}: not a regular file (a device, pipe or folder); a rules file is a TOML file"


# -- 8: the size message, and parser surprises named with their message ---------------------


def test_importing_a_feed_file_over_the_cap_says_so(tmp_path, run):
    big = tmp_path / "big.xml"
    with big.open("wb") as handle:
        handle.write(b'<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>')
        handle.write(b"<!-- padding -->" * (21 * 1024 * 1024 // 16))
        handle.write(b"</channel></rss>")
    result = run("import", str(big))
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line == f"error: {big}: file is larger than the 20 MB limit"


def test_a_parser_surprise_in_a_poll_names_the_error_and_its_message(tmp_path, run, monkeypatch):
    import feedparser

    def surprised(*args, **kwargs):
        raise KeyError("channel")

    monkeypatch.setattr(feedparser, "parse", surprised)
    feed = tmp_path / "odd.xml"
    feed.write_text('<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>')
    result = run("poll", str(feed))
    assert result.exit_code == 1
    assert "unexpected error while parsing: KeyError: 'channel'" in result.stderr
    assert "cannot parse" not in result.stderr
