"""The corpus: realistic feed documents of our own, each with the items it must yield.

Every document in tests/data/feeds/ goes through the real pipeline into a fresh database
(`strikewatch import`, or `feeds add` + `poll` over loopback HTTP when it needs an address to
resolve against or HTTP headers), and what `timeline --all --json --no-collapse` shows is compared
with NAME.expected.json beside it. tests/data/feeds/README.md says how to add a document.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import faultserver as fs

CORPUS = Path(__file__).resolve().parent / "data" / "feeds"
EXPECTED_SUFFIX = ".expected.json"
DOCUMENTS = sorted(
    path
    for path in CORPUS.iterdir()
    if path.is_file() and not path.name.endswith(EXPECTED_SUFFIX) and path.name != "README.md"
)

# Documents whose expectations do not hold yet, each with the reason (strict: an unexpected pass
# fails, so a fixed one is not forgotten).
XFAIL: dict[str, str] = {}


def expectations(document: Path) -> dict[str, Any]:
    return json.loads((CORPUS / (document.stem + EXPECTED_SUFFIX)).read_text(encoding="utf-8"))


def documents() -> list[Any]:
    return [
        pytest.param(
            document,
            id=document.name,
            marks=[pytest.mark.xfail(strict=True, reason=XFAIL[document.name])]
            if document.name in XFAIL
            else [],
        )
        for document in DOCUMENTS
    ]


def test_the_corpus_is_complete():
    stems = [document.stem for document in DOCUMENTS]
    described = {path.name.removesuffix(EXPECTED_SUFFIX) for path in CORPUS.glob("*.expected.json")}
    assert len(set(stems)) == len(stems), "one document per name"
    assert set(stems) == described, "every document needs its NAME.expected.json, and only those"
    assert len(stems) >= 20
    assert set(XFAIL) <= {document.name for document in DOCUMENTS}
    for document in DOCUMENTS:
        expected = expectations(document)
        assert expected["about"] and isinstance(expected["items"], list), document.name
        assert expected.get("via", "import") in ("import", "http"), document.name


def lines(stderr: str, kind: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"{kind}:")]


def said(stderr: str, kind: str, expected: list[str]) -> list[str]:
    """The expected phrases, each matched to its own line of that kind (order free)."""
    found = lines(stderr, kind)
    assert len(found) == len(expected), (kind, found)
    return [phrase for phrase in expected if any(phrase in line for line in found)]


def as_expected(stored: dict[str, Any], wanted: dict[str, Any], seen: tuple[str, str]) -> dict:
    """The stored entry in the expected entry's terms (its keys only), for one readable diff."""
    shown: dict[str, Any] = {}
    for key, value in wanted.items():
        if key == "published" and value == "first-seen":
            shown[key] = "first-seen" if seen[0] <= stored[key] <= seen[1] else stored[key]
        elif key == "summary":
            shown[key] = stored["summary"][: len(value)]
        elif key == "title_has":
            shown[key] = [part for part in value if part in stored["title"]]
        else:
            shown[key] = stored.get(key)
    return shown


def order(entry: dict[str, Any]) -> tuple[str, str]:
    return (entry.get("link") or "", entry.get("title") or " ".join(entry.get("title_has", ())))




@pytest.mark.parametrize("document", documents())
def test_each_document_yields_its_items(document: Path, server, run, run_json):
    expected = expectations(document)
    started = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="seconds")
    if expected.get("via", "import") == "import":
        result = run("import", str(document))
        root = None
    else:
        root = server.url("")
        body = document.read_bytes()
        url = server.route(f"/{document.name}", fs.static(body, expected["content_type"]))
        assert run("feeds", "add", url, "--name", document.stem).exit_code == 0
        result = run("poll")
    ended = (datetime.now(UTC) + timedelta(seconds=1)).isoformat(timespec="seconds")

    assert result.exit_code == expected.get("exit_code", 0), result.output
    assert "Traceback" not in result.output
    for kind in ("warning", "error"):
        phrases = expected.get(f"{kind}s", [])
        assert said(result.stderr, kind, phrases) == phrases

    wanted = [
        {
            key: value.replace("{server}", root) if root and key == "link" else value
            for key, value in item.items()
        }
        for item in expected["items"]
    ]
    stored = run_json("timeline", "--all", "--no-collapse")
    assert len(stored) == len(wanted), [entry["title"] for entry in stored]
    pairs = zip(sorted(stored, key=order), sorted(wanted, key=order), strict=True)
    assert [as_expected(entry, want, (started, ended)) for entry, want in pairs] == sorted(
        wanted, key=order
    )

    if root is not None:
        again = run("poll")
        assert again.exit_code == 0 and lines(again.stderr, "warning") == []
        [feed] = run_json("feeds", "list")
        assert (feed["health"], feed["error"]) == (expected.get("health", "ok"), None)
