"""Unit tests for the rule engine: false friends, modifiers, summaries, user rules, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from strikewatch.classify import (
    EVENTS,
    GUILDS,
    Classifier,
    Tags,
    load_classifier,
    resolve_guild,
)
from strikewatch.errors import RulesError


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return load_classifier()


def tags(clf: Classifier, title: str, summary: str = "") -> Tags:
    return clf.classify(title, summary)


# ---- ids and aliases -------------------------------------------------------------------


def test_ids_in_contract_order() -> None:
    assert GUILDS == ("wga", "sag-aftra", "amptp", "dga", "iatse", "teamsters")
    assert EVENTS[0] == "meeting-requested" and EVENTS[-1] == "strike-ended"
    assert len(EVENTS) == 10


@pytest.mark.parametrize(
    ("name", "guild"),
    [
        ("sag", "sag-aftra"),
        ("SAG-AFTRA", "sag-aftra"),
        ("sagaftra", "sag-aftra"),
        ("WGA", "wga"),
        ("writers", "wga"),
        ("IA", "iatse"),
        ("Local 399", "teamsters"),
        ("nope", None),
    ],
)
def test_resolve_guild(name: str, guild: str | None) -> None:
    assert resolve_guild(name) == guild


# ---- core events -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "guilds", "events"),
    [
        ("WGA, AMPTP reach tentative deal", ("amptp", "wga"), ("deal",)),
        ("Scribes, studios ink new pact", ("amptp", "wga"), ("deal",)),
        ("SAG-AFTRA goes on strike", ("sag-aftra",), ("strike-started",)),
        ("Thesps walk off the job at midnight", ("sag-aftra",), ("strike-started",)),
        ("Writers return to work Wednesday as strike ends", ("wga",), ("strike-ended",)),
        ("SAG-AFTRA members ratify contract with 78% support", ("sag-aftra",), ("ratified",)),
        (
            "IATSE members authorize strike with 98.7% of the vote",
            ("iatse",),
            ("strike-authorized",),
        ),
        ("AMPTP suspends talks with SAG-AFTRA", ("amptp", "sag-aftra"), ("talks-stalled",)),
        ("Studios send counteroffer to WGA", ("amptp", "wga"), ("offer",)),
        ("DGA to open negotiations with AMPTP May 10", ("amptp", "dga"), ("talks-started",)),
        ("WGA and AMPTP negotiators return to the table", ("amptp", "wga"), ("talks-resumed",)),
        ("AMPTP asks WGA to meet Friday", ("amptp", "wga"), ("meeting-requested",)),
    ],
)
def test_events(
    clf: Classifier, title: str, guilds: tuple[str, ...], events: tuple[str, ...]
) -> None:
    assert tags(clf, title) == Tags(guilds, events)


def test_multi_event(clf: Classifier) -> None:
    t = tags(clf, "Writers and studios reach deal; strike to end Wednesday")
    assert t.events == ("deal", "strike-ended")


# ---- false friends ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "Ava Stone in talks to star in Night Harbor",
        "Marcus Lee signs overall deal with Netflix",
        "Showrunner inks first-look deal at Amazon",
        "Streamer makes an offer for festival darling Salt Road",
        "Lightning strike halts Echo Park Nine shoot",
        "UAW strike widens at Detroit plants",
        "WGA Awards nominations: Paper Crowns leads",
        "SAG Awards: full list of winners",
        "Review: a thriller that strikes back",
        "Actors' Equity and Broadway League reach tentative deal",
        "Writers Guild of Canada members ratify new agreement",
        "Writers share their favorite books of the year",
    ],
)
def test_false_friends_are_empty(clf: Classifier, title: str) -> None:
    assert tags(clf, title) == Tags(), clf.explain(title).steps


# ---- modifiers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "WGA-AMPTP talks: no deal yet",
        "Is a deal close for writers and studios?",
        "Will Hollywood writers strike?",
        "SAG-AFTRA talks could resume next week, sources say",
        "AMPTP denies report of tentative agreement with WGA",
        "If no deal is reached, actors will strike",
        "SAG-AFTRA threatens to strike as deadline looms",
        "Writers and studios near a deal",
        "WGA and AMPTP hope for a deal by Friday",
    ],
)
def test_modifiers_suppress(clf: Classifier, title: str) -> None:
    t = tags(clf, title)
    assert t.guilds, clf.explain(title).steps
    assert t.events == (), clf.explain(title).steps


# ---- headline and summary --------------------------------------------------------------


def test_summary_background_adds_nothing(clf: Classifier) -> None:
    t = tags(
        clf,
        "WGA West health plan posts enrollment numbers",
        "The update comes as the writers' strike, which began May 2, stretches into a fourth month.",
    )
    assert t.events == ()


def test_summary_supports_vague_headline(clf: Classifier) -> None:
    t = tags(clf, "Inside the room", "WGA and AMPTP negotiators returned to the table Friday.")
    assert t == Tags(("amptp", "wga"), ("talks-resumed",))


def test_no_party_no_event(clf: Classifier) -> None:
    assert tags(clf, "Talks resume") == Tags()


# ---- explain, version, determinism ------------------------------------------------------


def test_explain_names_rule_words_and_modifier(clf: Classifier) -> None:
    e = clf.explain("Is a deal close for WGA and AMPTP?")
    text = "\n".join(e.steps)
    assert "modifiers.question" in text
    assert "deal" in text
    assert e.steps[-1].startswith("Result:")
    d = e.to_dict()
    assert d["guilds"] == ["amptp", "wga"] and d["events"] == []
    json.dumps(d)

    e = clf.explain("WGA, AMPTP reach tentative deal")
    assert any("events.deal" in s and "reach tentative deal" in s for s in e.steps)


def test_version_is_stable(clf: Classifier) -> None:
    again = load_classifier()
    assert clf.version == again.version
    assert clf.version.startswith("default-") and len(clf.version) == len("default-") + 12
    title = "SAG-AFTRA and studios reach tentative agreement"
    assert clf.classify(title) == again.classify(title) == clf.classify_uncached(title)


# ---- user rules ------------------------------------------------------------------------


def test_user_rules_extend_defaults(tmp_path: Path) -> None:
    rules = tmp_path / "mine.toml"
    rules.write_text(
        """
[parties.wga]
aliases = ["penmonkeys guild"]

[lists]
deal = ["handshake"]

[events.deal]
patterns = ["{reach} ...2 {deal}"]
""",
        encoding="utf-8",
    )
    clf = load_classifier([rules])
    assert clf.version.startswith("custom-")
    assert clf.classify("Penmonkeys Guild seals handshake with AMPTP") == Tags(
        ("amptp", "wga"), ("deal",)
    )
    # defaults still work
    assert clf.classify("WGA goes on strike").events == ("strike-started",)


def test_user_rules_can_disable(tmp_path: Path) -> None:
    rules = tmp_path / "off.toml"
    rules.write_text('[disable]\nmodifiers = ["question"]\n', encoding="utf-8")
    clf = load_classifier([rules])
    assert clf.classify("WGA and AMPTP reach deal?").events == ("deal",)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('[events.deal]\npatterns = ["{reach} {pacts}"]\n', "event 'deal' pattern"),
        ('[events.deal]\npatterns = ["{reach} {pacts}"]\n', "unknown word list '{pacts}'"),
        ('[events.nope]\npatterns = ["x"]\n', "unknown event"),
        ('[parties.ufc]\naliases = ["x"]\n', "unknown party"),
        ('[[modifiers]]\nid = "m"\nwhere = "nowhere"\nwords = ["x"]\n', "unknown where"),
        ("[lists\n", "not valid TOML"),
        ('[disable]\nmodifiers = ["nope"]\n', "no modifier 'nope'"),
        ("[bogus]\nx = 1\n", "unknown section 'bogus'"),
    ],
)
def test_validation_errors_name_file_rule_problem(tmp_path: Path, body: str, needle: str) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(body, encoding="utf-8")
    with pytest.raises(RulesError) as err:
        load_classifier([rules])
    message = str(err.value)
    assert "rules.toml" in message
    assert needle in message
    assert "\n" not in message


def test_missing_rules_file(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read"):
        load_classifier([tmp_path / "absent.toml"])
