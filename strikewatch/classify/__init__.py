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
    cache     loading: the compiled program of the rule files, cached

The rule files themselves are read by strikewatch.rulefiles, which loads none of this package:
a poll reads them before fetching, and loads the classifier only when an item needs tags.
"""

from strikewatch.classify.cache import load_classifier, load_rules
from strikewatch.classify.engine import Classifier
from strikewatch.classify.explain import Explanation, Step, Tags
from strikewatch.rulefiles import CACHE_ENV_VAR, RuleFiles
from strikewatch.taxonomy import EVENTS, GUILDS, resolve_guild

__all__ = [
    "CACHE_ENV_VAR",
    "EVENTS",
    "GUILDS",
    "Classifier",
    "Explanation",
    "RuleFiles",
    "Step",
    "Tags",
    "load_classifier",
    "load_rules",
    "resolve_guild",
]
