"""Loading the classifier: the rule files read, and their compiled program cached.

The compiled rules are plain data (see program), cached in the user cache directory under a
hash of the rule files and of this package's source: parsing TOML costs more than all the
rest of start-up. A missing, corrupt or unwritable cache is simply ignored.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import stat
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from strikewatch import taxonomy
from strikewatch.classify.engine import Classifier
from strikewatch.classify.explain import Tags
from strikewatch.classify.program import Program, from_data, to_data
from strikewatch.classify.tokens import FORMAT
from strikewatch.errors import RulesError
from strikewatch.paths import bundled_rule_files, data_path, user_cache_dir

CACHE_ENV_VAR = "STRIKEWATCH_CACHE_DIR"
# A rules file is a few kilobytes of TOML; anything past this is not one.
MAX_RULES_BYTES = 1024 * 1024


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
        return f"larger than the {MAX_RULES_BYTES // 1024 // 1024} MB a rules file may be"
    return None


def _read_rules_file(path: Path, label: str) -> bytes:
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
        raise RulesError(f"{label}: larger than the 1 MB a rules file may be")
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


def _read_cache(path: Path, key: str) -> Program | None:

    try:
        blob = path.read_bytes()
    except OSError:
        return None
    digest, _, payload = blob.partition(b"\n")
    if hashlib.sha256(payload).hexdigest().encode() != digest:
        return None  # torn or corrupt: never hand bad bytes to marshal
    try:
        program = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None
    if not isinstance(program, dict) or program.pop("format", None) != FORMAT:
        return None
    if program.get("key") != key:
        return None
    try:
        return from_data(program)
    except (KeyError, TypeError, ValueError):
        return None  # a cache from a different build: rebuild


def _write_cache(path: Path, program: Program) -> None:

    folder = path.parent
    try:
        payload = marshal.dumps({"format": FORMAT, **to_data(program)})
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".rules-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        # Keep the folder small: a handful of rule sets is plenty.
        olds = sorted(folder.glob("rules-*.bin"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in olds[8:]:
            old.unlink(missing_ok=True)
    except (OSError, ValueError):
        pass  # an unwritable cache only costs start-up time


def load_classifier(extra_rules: Sequence[str | Path] = ()) -> Classifier:
    """The default rules from data/rules/, extended by each user file in order."""
    return RuleSet(extra_rules).load()


def deferred_classifier(extra_rules: Sequence[str | Path] = ()) -> Classifier | DeferredClassifier:
    """`load_classifier` for a command that may have nothing to tag (a poll whose feeds bring no
    new or changed items): the rules are read now, and compiled now unless a compiled copy is
    cached, so a mistake in them is reported before any work starts, either way; the cached
    copy is read only when the first item is tagged."""
    rule_set = RuleSet(extra_rules)
    path = rule_set.cache_path
    if path is None or not os.path.isfile(path):  # isfile: an unreadable cache is no cache
        return rule_set.load()
    return DeferredClassifier(rule_set)


class DeferredClassifier:
    """What storing items needs of a Classifier (`classify`, `version`), loading it on the
    first `classify`."""

    def __init__(self, rule_set: RuleSet) -> None:
        self.version = rule_set.version
        self._rule_set = rule_set
        self._loaded: Classifier | None = None

    def classify(self, title: str, summary: str = "") -> Tags:
        if self._loaded is None:
            self._loaded = self._rule_set.load()
        return self._loaded.classify(title, summary)


class RuleSet:
    """The rule files in order, read, and where their compiled program is cached."""

    def __init__(self, extra_rules: Sequence[str | Path]) -> None:

        files: list[tuple[Path, str]] = [(p, f"rules/{p.name}") for p in _default_rule_files()]
        files += [(Path(p), str(p)) for p in extra_rules]
        raws: list[bytes] = []
        digest = hashlib.sha256()
        for path, label in files:
            raw = _read_rules_file(path, label)
            raws.append(raw)
            digest.update(path.name.encode() + b"\0" + raw + b"\0")
        prefix = "custom" if extra_rules else "default"
        self.version = f"{prefix}-{digest.hexdigest()[:12]}"
        # The cache key also covers the source of this package, so a changed strikewatch never
        # reads a program compiled by an older one.
        here = Path(__file__).resolve().parent
        for module in sorted(here.glob("*.py")):
            try:
                digest.update(module.name.encode() + b"\0" + module.read_bytes())
            except OSError:
                digest.update(str(FORMAT).encode())
        self.key = f"{FORMAT}-{sys.version_info[0]}.{sys.version_info[1]}-{digest.hexdigest()}"
        self.sources = [(label, raw) for (_, label), raw in zip(files, raws, strict=True)]
        # The parties and events a user's file adds are known before any command runs, even
        # when the compiled program comes from the cache.
        taxonomy.add_from_rules_files(extra_rules)
        folder = _cache_folder()
        self.cache_path = folder / f"rules-{self.key[:40]}.bin" if folder is not None else None

    def load(self) -> Classifier:
        """The cached program if it is there and sound, else the rules compiled (and cached)."""
        if self.cache_path is not None:
            cached = _read_cache(self.cache_path, self.key)
            if cached is not None:
                try:
                    return Classifier(cached)
                except (KeyError, TypeError, ValueError, IndexError):
                    pass  # a cache from a different build: rebuild below

        from strikewatch.classify.compile import compile_rule_files

        program = replace(compile_rule_files(self.sources, self.version), key=self.key)
        classifier = Classifier(program)
        if self.cache_path is not None:
            _write_cache(self.cache_path, program)
        return classifier
