"""Loading the classifier: the compiled program of the rule files (strikewatch.rulefiles
reads them), cached.

The compiled rules are plain data (see program), cached in the user cache directory under a
hash of the rule files and of this package's source: parsing TOML costs more than all the
rest of start-up. A missing, corrupt or unwritable cache is simply ignored.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from strikewatch.classify.engine import Classifier
from strikewatch.classify.program import Program, from_data, to_data
from strikewatch.classify.tokens import FORMAT
from strikewatch.rulefiles import RuleFiles


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
    return load_rules(RuleFiles(extra_rules))


def load_rules(rule_files: RuleFiles) -> Classifier:
    """The cached program if it is there and sound, else the rules compiled (and cached)."""
    if rule_files.cache_path is not None:
        cached = _read_cache(rule_files.cache_path, rule_files.key)
        if cached is not None:
            try:
                return Classifier(cached)
            except (KeyError, TypeError, ValueError, IndexError):
                pass  # a cache from a different build: rebuild below

    from strikewatch.classify.compile import compile_rule_files

    program = replace(
        compile_rule_files(rule_files.sources, rule_files.version), key=rule_files.key
    )
    classifier = Classifier(program)
    if rule_files.cache_path is not None:
        _write_cache(rule_files.cache_path, program)
    return classifier
