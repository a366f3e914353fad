"""The README documents every command and option that --help offers, and its two lines stay true."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from strikewatch.cli import cli

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
CI = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()


def walk(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        if isinstance(command, click.Group):
            yield from walk(command, path)
        else:
            yield path, command


COMMANDS = list(walk(cli))


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(path) for path, _ in COMMANDS]
)
def test_every_command_and_option_is_documented(path, command):
    heading = f"### `strikewatch {' '.join(path)}"
    assert heading in README, f"README has no section for `strikewatch {' '.join(path)}`"
    section = README.split(heading, 1)[1].split("\n### ", 1)[0]
    options = [
        opt
        for param in command.params
        if isinstance(param, click.Option)
        for opt in param.opts
        if opt.startswith("--")
    ]
    filters = README.split("Filters, shared by", 1)[1].split("\n### ", 1)[0]
    for option in options:
        # --db after the command is the top-level option's other place (documented once).
        assert option in section or option in filters or option in ("--help", "--db"), (
            f"{option} of {' '.join(path)} not in README"
        )
    assert (command.help or "").strip(), f"{' '.join(path)} has no --help text"


def test_top_level_options_documented():
    for param in cli.params:
        for opt in param.opts:
            if opt.startswith("--") and opt not in ("--help",):
                assert opt in README


def test_quick_start_and_test_lines_are_what_ci_runs():
    quick_start = re.search(r"```bash\n(pip install \. && .+)\n```", README).group(1)
    tests_line = re.search(r"```bash\n(pip install '\.\[test\]' && .+)\n```", README).group(1)
    assert "import --sample" in quick_start and "timeline --guild wga" in quick_start
    assert "pip install --quiet --disable-pip-version-check ." in CI
    assert (
        "strikewatch --db demo.db import --sample" in CI
        and "strikewatch --db demo.db timeline --guild wga" in CI
    )
    assert tests_line.endswith("python -m pytest")
    assert "'.[test]'" in CI and "python -m pytest" in CI


def test_supported_pythons_agree_in_readme_ci_and_package_metadata():
    import tomllib

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    classified = [
        line.rsplit(" :: ", 1)[1]
        for line in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", line)
    ]
    assert classified == ["3.11", "3.12", "3.13"]
    assert project["requires-python"] == ">=3.11"
    assert re.search(r"^supported=\((.+)\)$", CI, re.M).group(1).split() == classified
    assert "Python 3.11, 3.12 or 3.13" in README


def test_rules_example_loads_and_extends_the_defaults(tmp_path):
    from strikewatch.classify import load_classifier

    section = README.split("\n## Rules\n", 1)[1].split("\n## ", 1)[0]
    example = re.search(r"```toml\n(.+?)```", section, re.S).group(1)
    rules = tmp_path / "rules.toml"
    rules.write_text(example, encoding="utf-8")
    headline = "Scribes union talks with studios run aground"
    tags = load_classifier([rules]).classify(headline)
    assert tags.guilds == ("amptp", "wga") and tags.events == ("talks-stalled",)
    assert load_classifier().classify(headline).events == ()
    from strikewatch.classify.check import check_rules

    assert check_rules([rules]).failures == []  # its examples hold
