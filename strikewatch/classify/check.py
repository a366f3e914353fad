"""`strikewatch rules check`: every example and counterexample in the rule files, tried.

An event block's example must be tagged with that event and its counterexample must not; a
modifier block's example must have one of its event matches suppressed by that modifier and
its counterexample must not. So a rules editor sees at once what an edit broke.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from strikewatch.classify.book import Example, RuleBook, read_rule_book
from strikewatch.classify.cache import load_rules
from strikewatch.classify.engine import Classifier
from strikewatch.rulefiles import RuleFiles


@dataclass(frozen=True)
class CheckResult:
    """How many examples were tried, and one line per example that does not hold."""

    tried: int
    failures: list[str]


def check_rules(extra_rules: Sequence[str | Path] = ()) -> CheckResult:
    """Try the examples of the default rules extended by these user files."""
    rule_files = RuleFiles(extra_rules)
    book = read_rule_book(rule_files.sources)
    return check_book(book, load_rules(rule_files))


def check_book(book: RuleBook, classifier: Classifier) -> CheckResult:
    tried = 0
    failures: list[str] = []
    for kind, target, example in _examples(book):
        tried += 1
        problem = (
            _event_problem(classifier, target, example)
            if kind == "event"
            else _modifier_problem(classifier, target, example)
        )
        if problem:
            origin = example.origin
            failures.append(f"{origin.file}: {origin.rule}: '{example.text}' {problem}")
    return CheckResult(tried, failures)


def _examples(book: RuleBook) -> Iterator[tuple[str, str, Example]]:
    for eid, examples in book.event_examples.items():
        for example in examples:
            yield "event", eid, example
    for mid, modifier in book.modifiers.items():
        for example in modifier.examples:
            yield "modifier", mid, example


def _event_problem(classifier: Classifier, eid: str, example: Example) -> str:
    tags = classifier.classify(example.headline, example.summary)
    if (eid in tags.events) != example.counter:
        return ""
    tagged = ", ".join(tags.events) or "no event"
    return f"is tagged {eid}" if example.counter else f"is not tagged {eid} (tagged: {tagged})"


def _modifier_problem(classifier: Classifier, mid: str, example: Example) -> str:
    explanation = classifier.explain(example.headline, example.summary)
    rule = f"modifiers.{mid}"
    hits = [s for s in explanation.steps if s.status == "suppressed" and s.rule == rule]
    if bool(hits) != example.counter:
        return ""
    if example.counter:
        return f"has {hits[0].subject} suppressed by this modifier"
    tagged = ", ".join(explanation.tags.events) or "no event"
    return f"has nothing suppressed by this modifier (tagged: {tagged})"
