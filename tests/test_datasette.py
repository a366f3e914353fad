"""`strikewatch datasette`: metadata Datasette accepts, checked through Datasette's own test client
(skipped cleanly when the optional extra `strikewatch[datasette]` is not installed)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_metadata_describes_every_column_of_the_readme_schema_table(run):
    assert run("import", "--sample").exit_code == 0
    result = run("datasette")
    assert result.exit_code == 0, result.output
    meta = json.loads(result.stdout)
    [database] = meta["databases"].values()
    tables = database["tables"]
    table_rows = re.findall(
        r"^\| `(\w+)`(?: \(view\))? \| (.+) \|$", README.split("## The database", 1)[1], re.M
    )
    assert {name for name, _ in table_rows} >= {"feeds", "items", "tags", "timeline"}
    for name, about in table_rows:
        assert tables[name].get("description") or tables[name].get("hidden"), name
        for column in re.findall(r"`(\w+)`", about):
            if name in ("feeds", "items") and column in tables[name]["columns"]:
                assert tables[name]["columns"][column]
    # the README names these columns in the schema table: each has its description
    for column in ("title", "link", "published", "story_id", "effective_day", "guilds", "events"):
        assert tables["items"]["columns"][column]
    for hidden in ("_sqlite_migrations", "items_fts", "items_fts_data", "items_fts_idx"):
        assert tables[hidden] == {"hidden": True}
    assert tables["timeline"]["sort_desc"] == "published"
    assert tables["timeline"]["facets"] == ["source", {"array": "guilds"}, {"array": "events"}]
    assert {"search", "new_since", "strike_reports_wga", "strike_reports_sag_aftra"} <= set(
        database["queries"]
    )


def test_datasette_serves_it(run, db_path, tmp_path):
    datasette_app = pytest.importorskip("datasette.app")
    assert run("import", "--sample").exit_code == 0
    meta = json.loads(run("datasette").stdout)
    name = db_path.stem

    async def scenario():
        datasette = datasette_app.Datasette([str(db_path)], metadata=meta)
        client = datasette.client
        page = await client.get(f"/{name}/timeline")
        assert page.status_code == 200
        html = page.text
        # a timeline row links to its item
        assert re.search(rf'<a href="/{name}/items/\d+">\d+</a>', html)
        facets = (await client.get(f"/{name}/timeline.json?_extra=facet_results")).json()
        results = facets["facet_results"]
        results = results.get("results", results)  # Datasette 1.0 nests them
        assert {"source", "guilds", "events"} <= set(results)
        rows = (await client.get(f"/{name}/timeline.json?_shape=array")).json()
        published = [row["published"] for row in rows]
        assert published == sorted(published, reverse=True)  # newest first
        index = (await client.get(f"/{name}.json")).json()
        shown = {table["name"] for table in index["tables"] if not table["hidden"]}
        assert (
            "items" in shown and "_sqlite_migrations" not in shown and "items_fts_data" not in shown
        )
        found = (
            await client.get(f"/{name}/search.json?query=tentative+agreement&_shape=array")
        ).json()
        assert found and "tentative" in (found[0]["title"] + found[0]["summary"]).lower()
        reports = (await client.get(f"/{name}/strike_reports_wga.json?_shape=array")).json()
        assert reports[0]["effective_day"] == "2023-05-02"
        new = (await client.get(f"/{name}/new_since.json?since=2023-11-01&_shape=array")).json()
        assert new and all(row["published"] >= "2023-11-01" for row in new)
        about = await client.get(f"/{name}/items")
        assert "One row per item" in about.text

    asyncio.run(scenario())


def test_serve_without_datasette_says_how_to_install(run, monkeypatch):
    import importlib.util

    assert run("import", "--sample").exit_code == 0
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "datasette" else real(name, *a),
    )
    result = run("datasette", "--serve")
    assert result.exit_code == 1
    assert "pip install 'strikewatch[datasette]'" in result.stderr
