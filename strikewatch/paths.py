"""Where strikewatch keeps its database and finds its bundled data files."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "strikewatch"
DB_ENV_VAR = "STRIKEWATCH_DB"


def user_data_dir() -> Path:
    """The platform's per-user data directory, without importing platformdirs (start-up cost)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / APP_NAME
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_NAME
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_NAME


def default_db_path() -> Path:
    """`$STRIKEWATCH_DB` if set, else strikewatch.db in the user data directory."""
    from_env = os.environ.get(DB_ENV_VAR)
    if from_env:
        return Path(from_env).expanduser()
    return user_data_dir() / f"{APP_NAME}.db"


def data_path(*parts: str) -> Path:
    """A file shipped in data/: inside the installed package, or in the source checkout."""
    installed = Path(__file__).resolve().parent / "data"
    if installed.is_dir():
        return installed.joinpath(*parts)
    return Path(__file__).resolve().parent.parent.joinpath("data", *parts)


def user_config_dir() -> Path:
    """The platform's per-user configuration directory."""
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
        return Path(base) / APP_NAME
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_NAME
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / APP_NAME


def user_rules_path() -> Path:
    """The user's own rules, loaded after the defaults by every command when the file exists,
    so a cron poll and `classify` agree without repeating --rules."""
    return user_config_dir() / "rules.toml"


def user_cache_dir() -> Path:
    """The platform's per-user cache directory (safe to delete: only speeds up start-up)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / APP_NAME / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / APP_NAME
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / APP_NAME
