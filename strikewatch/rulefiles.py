"""The rule files in use, read and checked, and where their compiled program is cached.

What a command that tags needs to know before any work starts: a rules file that cannot be
read is reported at once, and the version stored with each item's tags is known. None of the
classifier (strikewatch.classify: the engine, the compiled program) is loaded for it, so a
poll whose feeds bring nothing to tag never loads that (see poll.DeferredClassifier).
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

from strikewatch import taxonomy
from strikewatch.bundled import bundled_rule_files, data_path
from strikewatch.errors import RulesError
from strikewatch.paths import user_cache_dir

CACHE_ENV_VAR = "STRIKEWATCH_CACHE_DIR"
# A rules file is a few kilobytes of TOML; anything past this is not one.
MAX_RULES_BYTES = 1024 * 1024
_TOO_LARGE = f"larger than the {MAX_RULES_BYTES // 1024 // 1024} MB a rules file may be"
# The classifier's source: a compiled program is only ever read by the code that compiled it.
CLASSIFY_SOURCE = Path(__file__).resolve().parent / "classify"


def rules_file_problem(path: str | Path) -> str | None:
    """Why `path` cannot be a rules file (a device, a pipe, over MAX_RULES_BYTES), or None.
    Checked with stat, which neither blocks on a FIFO nor reads a device; a missing or
    unreadable file is left for the read to report."""

    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a device, pipe or folder); a rules file is a TOML file"
    if info.st_size > MAX_RULES_BYTES:
        return _TOO_LARGE
    return None


def read_rules_file(path: Path, label: str) -> bytes:
    """The bytes of one rules file: a regular file, at most MAX_RULES_BYTES (RulesError else)."""

    problem = rules_file_problem(path)
    if problem is not None:
        raise RulesError(f"{label}: {problem}")
    try:
        # O_NONBLOCK: a FIFO put in place after the check must not hang the open.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise RulesError(f"{label}: not a regular file; a rules file is a TOML file")
            raw = handle.read(MAX_RULES_BYTES + 1)
    except OSError as exc:
        raise RulesError(f"{label}: cannot read rules file ({exc.strerror or exc})") from exc
    if len(raw) > MAX_RULES_BYTES:
        raise RulesError(f"{label}: {_TOO_LARGE}")
    return raw


def _default_rule_files() -> list[Path]:
    files = bundled_rule_files()
    if not files:
        raise RulesError(f"{data_path('rules')}: no rule files (*.toml) found")
    return files


def _cache_folder() -> Path | None:
    """Where compiled rules are cached; $STRIKEWATCH_CACHE_DIR set to "" switches it off."""
    configured = os.environ.get(CACHE_ENV_VAR)
    if configured is not None:
        return Path(configured).expanduser() if configured.strip() else None
    return Path(user_cache_dir())


class RuleFiles:
    """The rule files in order, read, and where their compiled program is cached."""

    def __init__(self, extra_rules: Sequence[str | Path]) -> None:

        files: list[tuple[Path, str]] = [(p, f"rules/{p.name}") for p in _default_rule_files()]
        files += [(Path(p), str(p)) for p in extra_rules]
        raws: list[bytes] = []
        digest = hashlib.sha256()
        for path, label in files:
            raw = read_rules_file(path, label)
            raws.append(raw)
            digest.update(path.name.encode() + b"\0" + raw + b"\0")
        prefix = "custom" if extra_rules else "default"
        self.version = f"{prefix}-{digest.hexdigest()[:12]}"
        # The cache key also covers the source of the classifier, so a changed strikewatch never
        # reads a program compiled by an older one.
        for module in sorted(CLASSIFY_SOURCE.glob("*.py")):
            try:
                digest.update(module.name.encode() + b"\0" + module.read_bytes())
            except OSError:
                digest.update(module.name.encode() + b"\0unreadable\0")
        self.key = f"{sys.version_info[0]}.{sys.version_info[1]}-{digest.hexdigest()}"
        self.sources = [(label, raw) for (_, label), raw in zip(files, raws, strict=True)]
        # The parties and events a user's file adds are known before any command runs, even
        # when the compiled program comes from the cache.
        taxonomy.add_from_rules_files(extra_rules)
        folder = _cache_folder()
        self.cache_path = folder / f"rules-{self.key[:40]}.bin" if folder is not None else None

    @property
    def cached(self) -> bool:
        """Whether a compiled copy is there to read (isfile: an unreadable one is none)."""
        return self.cache_path is not None and os.path.isfile(self.cache_path)
