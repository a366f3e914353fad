"""Where strikewatch keeps its database and finds its bundled data files."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "strikewatch"
DB_ENV_VAR = "STRIKEWATCH_DB"


def _user_dir(windows: tuple[str, str], macos: str, xdg: tuple[str, str]) -> Path:
    """A per-user folder of this platform, without importing platformdirs (start-up cost):
    `windows` and `xdg` are (environment variable, default under the home folder)."""
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get(windows[0]) or home / windows[1]) / APP_NAME
    if sys.platform == "darwin":
        return home / "Library" / macos / APP_NAME
    return Path(os.environ.get(xdg[0]) or home / xdg[1]) / APP_NAME


def user_data_dir() -> Path:
    """The platform's per-user data directory."""
    return _user_dir(
        ("LOCALAPPDATA", "AppData/Local"), "Application Support", ("XDG_DATA_HOME", ".local/share")
    )


def user_config_dir() -> Path:
    """The platform's per-user configuration directory."""
    return _user_dir(
        ("APPDATA", "AppData/Roaming"), "Application Support", ("XDG_CONFIG_HOME", ".config")
    )


def user_cache_dir() -> Path:
    """The platform's per-user cache directory (safe to delete: only speeds up start-up)."""
    folder = _user_dir(("LOCALAPPDATA", "AppData/Local"), "Caches", ("XDG_CACHE_HOME", ".cache"))
    return folder / "Cache" if sys.platform == "win32" else folder  # beside the app's data there


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


def bundled_rule_files() -> list[Path]:
    """The default rules (data/rules/*.toml), in the order they are loaded."""
    return sorted(data_path("rules").glob("*.toml"))


def user_rules_path() -> Path:
    """The user's own rules, loaded after the defaults by every command when the file exists,
    so a cron poll and `classify` agree without repeating --rules."""
    return user_config_dir() / "rules.toml"
