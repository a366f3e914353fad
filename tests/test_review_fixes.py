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
