"""Rule-based tagging of headlines: which guilds are involved, which labor events happened.

The rules live in data/rules/*.toml so that a non-programmer can add a word or a pattern.
This package reads them and runs them; each module imports only those above it in this list:

    tokens    how a text is read: words, and the two-character code of each word
    book      the rule book: the TOML files read, checked and merged
    patterns  phrases and patterns as regexes over word codes
    program   the compiled rules: a frozen program with named fields
    compile   the rule book compiled into a program (only when the cache has none)
    explain   what tagging yields: tags, and the steps `classify --explain` shows
    engine    the `Classifier`, which runs a program over a headline and its summary
    cache     loading: the rule files read, the compiled program cached
"""

from strikewatch.classify.cache import (
    CACHE_ENV_VAR,
    DeferredClassifier,
    RuleSet,
    deferred_classifier,
    load_classifier,
)
from strikewatch.classify.engine import Classifier
from strikewatch.classify.explain import Explanation, Step, Tags
from strikewatch.taxonomy import EVENTS, GUILDS, resolve_guild

__all__ = [
    "CACHE_ENV_VAR",
    "EVENTS",
    "GUILDS",
    "Classifier",
    "DeferredClassifier",
    "Explanation",
    "RuleSet",
    "Step",
    "Tags",
    "deferred_classifier",
    "load_classifier",
    "resolve_guild",
]
