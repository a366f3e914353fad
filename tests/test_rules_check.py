"""`strikewatch rules check`: the examples and counterexamples written in the rule files."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from strikewatch.bundled import data_path
from strikewatch.classify.check import check_rules
from strikewatch.errors import RulesError


def test_every_event_and_modifier_block_has_examples_and_counterexamples() -> None:
    events = tomllib.loads((data_path("rules") / "events.toml").read_text(encoding="utf-8"))
    modifiers = tomllib.loads((data_path("rules") / "modifiers.toml").read_text(encoding="utf-8"))
    blocks = [*events["events"].items(), *((m["id"], m) for m in modifiers["modifiers"])]
    assert len(blocks) > 50
    for name, block in blocks:
        assert 1 <= len(block.get("examples", [])) <= 4, name
        assert 1 <= len(block.get("counterexamples", [])) <= 4, name
        assert 2 <= len(block["examples"]) + len(block["counterexamples"]) <= 6, name


def test_the_bundled_examples_hold() -> None:
    result = check_rules()
    assert result.failures == []
    assert result.tried > 150


def test_rules_check_command_passes_on_the_defaults(run) -> None:  # type: ignore[no-untyped-def]
    result = run("rules", "check")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("All ") and "hold" in result.stdout


def test_rules_check_prints_one_line_per_failing_example(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mine = tmp_path / "mine.toml"
    mine.write_text(
        """
[events.deal]
patterns = ["{reach} ...2 handshake"]
examples = ["WGA and studios reach a handshake", "WGA and studios shake hands"]
counterexamples = ["WGA talks end without a handshake", "WGA and AMPTP reach deal"]

[[modifiers]]
id = "hedge"
why = "is hedged"
words = ["reportedly"]
examples = ["WGA reportedly reaches deal with studios", "Studios and WGA reach deal"]
counterexamples = ["WGA reaches deal with studios. Picket lines reportedly thin"]
""",
        encoding="utf-8",
    )
    result = run("rules", "check", "--rules", str(mine))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{mine}: event 'deal' example 2: 'WGA and studios shake hands' is not tagged deal "
        "(tagged: no event)",
        f"{mine}: event 'deal' counterexample 2: 'WGA and AMPTP reach deal' is tagged deal",
        f"{mine}: modifier 'hedge' example 2: 'Studios and WGA reach deal' has nothing "
        "suppressed by this modifier (tagged: deal)",
    ]
    assert "3 of " in result.stderr and "failed" in result.stderr


def test_examples_with_a_summary_and_examples_added_to_a_default_modifier(tmp_path: Path) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text(
        """
[[modifiers]]
id = "negation"
words = ["nowhere close to"]
examples = ["WGA nowhere close to reaching a deal with studios"]
counterexamples = ["Writers picket || The WGA reached a deal with the AMPTP on Sunday."]
""",
        encoding="utf-8",
    )
    result = check_rules([mine])
    assert result.failures == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('[events.deal]\nexamples = "WGA reaches deal"\n', None),
        ("[events.deal]\nexamples = [3]\n", "examples entry 1 must be a non-empty string"),
        ('[events.deal]\nexampels = ["x"]\n', "unknown key 'exampels'"),
    ],
)
def test_examples_are_checked_like_the_rest_of_a_rules_file(
    tmp_path: Path, body: str, problem: str | None
) -> None:
    mine = tmp_path / "mine.toml"
    mine.write_text(body, encoding="utf-8")
    if problem is None:
        assert check_rules([mine]).failures == []  # a lone string is one example
        return
    with pytest.raises(RulesError, match=problem):
        check_rules([mine])
