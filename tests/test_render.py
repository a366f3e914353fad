"""emit, the one way listings are printed: every format, written as the rows come."""

from __future__ import annotations

import csv
import io
import json

import pytest

from strikewatch.render import TIMELINE_COLUMNS, emit

ROWS = [
    {"id": n, "title": f"Story \u00e9 {n}", "guilds": ["wga"], "also": [{"source": "x"}]}
    for n in range(1, 1203)  # more than two batches
]


@pytest.mark.parametrize("rows", [ROWS, ROWS[:1], []])
def test_json_nl_and_csv_read_back_as_the_rows(rows):
    out = io.StringIO()
    emit(iter(rows), "json", TIMELINE_COLUMNS, stream=out)
    text = out.getvalue()
    assert json.loads(text) == rows
    assert text == (
        "[\n  " + ",\n  ".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n]\n"
        if rows
        else "[]\n"
    )

    out = io.StringIO()
    emit(iter(rows), "nl", TIMELINE_COLUMNS, stream=out)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == rows
    assert out.getvalue().endswith("\n") or not rows

    out = io.StringIO()
    emit(iter(rows), "csv", TIMELINE_COLUMNS, stream=out)
    table = list(csv.reader(io.StringIO(out.getvalue())))
    assert len(table) == len(rows) + 1
    if rows:
        assert table[0] == ["id", "title", "guilds", "also"]
        assert table[-1][:3] == [str(rows[-1]["id"]), rows[-1]["title"], "wga"]


def test_json_is_written_while_the_rows_are_still_being_read():
    def rows():
        yield from ROWS
        raise RuntimeError("the database went away")

    out = io.StringIO()
    with pytest.raises(RuntimeError):
        emit(rows(), "json", TIMELINE_COLUMNS, stream=out)
    # Whole batches went out before the failure: nothing waited for the end.
    assert out.getvalue().startswith('[\n  {"id": 1, ')
    assert '{"id": 1000, ' in out.getvalue()


def test_tables_and_the_empty_message(capsys):
    out = io.StringIO()
    emit(iter([]), None, TIMELINE_COLUMNS, stream=out, empty_message="No items match.")
    assert out.getvalue() == "" and capsys.readouterr().err == "No items match.\n"
    emit(iter(ROWS[:3]), None, TIMELINE_COLUMNS, stream=out)
    assert out.getvalue().count("Story") == 3
