"""The files strikewatch ships in data/: the default rules, the default feed list, the sample
archive."""

from __future__ import annotations

from pathlib import Path


def data_path(*parts: str) -> Path:
    """A file shipped in data/: inside the installed package, or in the source checkout."""
    installed = Path(__file__).resolve().parent / "data"
    if installed.is_dir():
        return installed.joinpath(*parts)
    return Path(__file__).resolve().parent.parent.joinpath("data", *parts)


def bundled_rule_files() -> list[Path]:
    """The default rules (data/rules/*.toml), in the order they are loaded."""
    return sorted(data_path("rules").glob("*.toml"))
