"""search: FTS5 over titles and summaries, best match first, safe with any input."""

from __future__ import annotations

import csv
import io
import json

import pytest

from strikewatch.errors import UsageError
from strikewatch.search import fts_query


def titles(result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [entry["title"] for entry in json.loads(result.stdout)]


def test_best_match_first_one_entry_per_story(season_cli):
    result = season_cli("search", "ratify", "--json")
    entries = json.loads(result.stdout)
    # Three ratification stories (WGA, DGA, SAG-AFTRA); each once, its other reports in also.
    assert len(entries) == 3
    assert len({entry["story"] for entry in entries}) == 3
    assert all(entry["also"] for entry in entries)
    assert entries[0]["score"] >= entries[-1]["score"]
    assert all("ratif" in entry["title"].lower() for entry in entries)


def test_title_matches_rank_above_summary_matches(season_cli):
    found = titles(season_cli("search", "turnout", "--json"))
    # "in record turnout" is in a title; the other two mentions are in summaries.
    assert found[0] == "DGA members approve new deal in record turnout"


@pytest.mark.parametrize(
    "query",
    [
        "sag-aftra deal",
        "deal)",
        "(deal",
        '"tentative deal',
        "wga: strike",
        "deal AND OR NOT",
        "NEAR(deal strike)",
        "title:deal",
        "^deal",
        "deal*",
        "'deal'",
        "écrivains grève",
    ],
)
def test_fts_syntax_in_queries_never_crashes(season_cli, query):
    result = season_cli("search", query)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output


def test_hyphenated_names_match_as_a_phrase(season_cli):
    found = titles(season_cli("search", "sag-aftra deal", "--json"))
    assert found == ["SAG-AFTRA reaches tentative deal; strike to end at 12:01 a.m. Thursday"]


def test_phrase_prefix_and_or(season_cli):
    assert set(titles(season_cli("search", '"tentative deal"', "--json"))) == {
        "Tentative deal reached in writers strike",
        "SAG-AFTRA reaches tentative deal; strike to end at 12:01 a.m. Thursday",
    }
    assert len(titles(season_cli("search", "counteroff*", "--json"))) == 1
    either = titles(season_cli("search", "counteroffer OR mandate", "--json"))
    assert set(either) == {
        "Studios deliver counteroffer to striking writers",
        "Writers give their guild a strike mandate with 97.85% yes vote",
    }


def test_filters_and_formats(season_cli):
    found = titles(
        season_cli("search", "strike", "--guild", "sag", "--event", "strike-ended", "--json")
    )
    assert found and all("SAG" in t or "ctor" in t for t in found)
    rows = list(
        csv.DictReader(io.StringIO(season_cli("search", "strike", "--csv", "--limit", "2").stdout))
    )
    assert len(rows) == 2 and {"title", "link", "score", "also"} <= set(rows[0])
    lines = season_cli("search", "strike", "--nl", "--limit", "3").stdout.splitlines()
    assert len(lines) == 3 and all(json.loads(line)["title"] for line in lines)
    table = season_cli("search", "strike", "--limit", "2").stdout.splitlines()
    assert table[0].split() == ["date", "source", "guilds", "events", "title"]


def test_no_words_is_one_line_usage_error(season_cli):
    for query in ('"', "()", "!!!", ""):
        result = season_cli("search", query)
        assert result.exit_code == 2, (query, result.output)
        assert "give at least one word" in result.stderr
        assert "Traceback" not in result.output


def test_search_follows_edits_and_deletes(season_cli, db_path):
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "UPDATE items SET title = 'Zanzibar accord' WHERE title LIKE 'Studios deliver%'"
        )
        conn.execute("DELETE FROM items WHERE title LIKE 'Writers give their guild%'")
    assert titles(season_cli("search", "zanzibar", "--json")) == ["Zanzibar accord"]
    assert titles(season_cli("search", "counteroffer", "--json")) == []
    assert titles(season_cli("search", "mandate", "--json")) == []


def test_fts_query_quotes_every_word():
    assert fts_query("sag-aftra deal") == '"sag aftra" "deal"'
    assert fts_query('deal) OR "tentative agreement') == '"deal" OR "tentative agreement"'
    assert fts_query("strik*") == '"strik" *'
    with pytest.raises(UsageError):
        fts_query("OR")


def test_rows_appended_by_other_tools_are_found(season_cli, db_path):
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO items (title, link, summary, published, first_seen, source, content_hash)"
            " VALUES ('Quokka guild formed', 'https://q.example/1', '', '2023-12-01T00:00:00+00:00',"
            " '2023-12-01T00:00:00+00:00', 'sqlite-utils', 'x')"
        )
    assert titles(season_cli("search", "quokka", "--json")) == ["Quokka guild formed"]
    assert titles(season_cli("search", "quokka", "--json")) == ["Quokka guild formed"]


def test_an_imported_archive_is_indexed_like_items_written_one_by_one(tmp_path, run, db_path):
    """An import indexes a batch's new items in one pass: the words of an entry the archive
    lists twice with different texts are the later text's; the index matches the table; the
    insert triggers are back for other tools."""
    import sqlite3

    lines = [
        {"title": f"Crew {n} ratify agreement", "link": f"https://a.example/{n}", "summary": ""}
        for n in range(30)
    ]
    lines.insert(10, {"title": "Draft headline about pickets", "link": "https://a.example/x"})
    lines.append({"title": "Final headline about walkouts", "link": "https://a.example/x"})
    archive = tmp_path / "a.jsonl"
    archive.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    assert run("import", "--quiet", str(archive)).exit_code == 0

    def found(query: str) -> list[str]:
        result = run("search", query, "--json", "--limit", "100")
        assert result.exit_code == 0, result.output
        return [entry["title"] for entry in json.loads(result.stdout)]

    assert found("walkouts") == ["Final headline about walkouts"]
    assert found("pickets") == []
    assert len(found("ratified")) == 30
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO items_fts (items_fts, rank) VALUES ('integrity-check', 1)")
        triggers = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        }
        assert {"items_ai", "items_bi", "items_au", "items_ad"} <= triggers
        conn.execute(
            "INSERT INTO items (title, summary, published, first_seen, source, content_hash)"
            " VALUES ('Another tool writes about lockouts', '', '2023-01-01T00:00:00+00:00',"
            " '2023-01-01T00:00:00+00:00', 'x', 'h')"
        )
    assert found("lockouts") == ["Another tool writes about lockouts"]
