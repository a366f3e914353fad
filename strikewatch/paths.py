"""Where strikewatch keeps its database and the user's rules: the user folders of each
platform. Every command loads it, so it needs no pathlib (the bundled data files are
strikewatch.bundled's)."""

from __future__ import annotations

import os
import sys

from strikewatch.errors import UsageError

APP_NAME = "strikewatch"
DB_ENV_VAR = "STRIKEWATCH_DB"
RULES_ENV_VAR = "STRIKEWATCH_RULES"


def _user_dir(windows: tuple[str, str], macos: str, xdg: tuple[str, str]) -> str:
    """A per-user folder of this platform (what platformdirs answers, without depending on
    it): `windows` and `xdg` are (environment variable, default under the home folder)."""
    home = os.path.expanduser("~")
    if home == "~":  # no $HOME and no account entry (pathlib raises here too)
        raise UsageError("cannot find your home folder: set $HOME, or give --db or $STRIKEWATCH_DB")
    if sys.platform == "win32":
        base = os.environ.get(windows[0]) or os.path.join(home, *windows[1].split("/"))
        return os.path.join(base, APP_NAME)
    if sys.platform == "darwin":
        return os.path.join(home, "Library", macos, APP_NAME)
    return os.path.join(os.environ.get(xdg[0]) or os.path.join(home, *xdg[1].split("/")), APP_NAME)


def user_data_dir() -> str:
    """The platform's per-user data directory."""
    return _user_dir(
        ("LOCALAPPDATA", "AppData/Local"), "Application Support", ("XDG_DATA_HOME", ".local/share")
    )


def user_config_dir() -> str:
    """The platform's per-user configuration directory."""
    return _user_dir(
        ("APPDATA", "AppData/Roaming"), "Application Support", ("XDG_CONFIG_HOME", ".config")
    )


def user_cache_dir() -> str:
    """The platform's per-user cache directory (safe to delete: it only holds what can be made again)."""
    folder = _user_dir(("LOCALAPPDATA", "AppData/Local"), "Caches", ("XDG_CACHE_HOME", ".cache"))
    # On Windows, beside the app's data there.
    return os.path.join(folder, "Cache") if sys.platform == "win32" else folder


def default_db_path() -> str:
    """`$STRIKEWATCH_DB` if set, else strikewatch.db in the user data directory."""
    from_env = os.environ.get(DB_ENV_VAR)
    if from_env:
        return os.path.expanduser(from_env)
    return os.path.join(user_data_dir(), f"{APP_NAME}.db")


def user_rules_path() -> str:
    """The user's own rules, loaded after the defaults by every command when the file exists,
    so a cron poll and `classify` agree without repeating --rules."""
    return os.path.join(user_config_dir(), "rules.toml")


def configured_rule_files() -> list[str]:
    """The rules every command loads after the defaults: the user's own file when it exists,
    then those named in `$STRIKEWATCH_RULES` (separated like PATH)."""
    user_rules = user_rules_path()
    configured = [user_rules] if os.path.isfile(user_rules) else []
    from_env = os.environ.get(RULES_ENV_VAR, "").split(os.pathsep)
    return [*configured, *(part for part in from_env if part)]
