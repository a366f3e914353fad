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


@pytest.mark.parametrize(
    ("name", "event"),
    [
        ("deal", "deal"),
        ("Strike Started", "strike-started"),
        ("strike_ended", "strike-ended"),
        ("Tentative Agreement", "deal"),
        ("walkout", "strike-started"),
        ("talks", "talks-started"),
        ("party", None),
        ("--", None),
    ],
)
def test_resolve_event(name: str, event: str | None) -> None:
    from strikewatch.taxonomy import resolve_event

    assert resolve_event(name) == event


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
    text = "\n".join(e.lines)
    assert "modifiers.question" in text
    assert "deal: suppressed" in text
    d = e.to_dict()
    assert d["guilds"] == ["amptp", "wga"] and d["events"] == []
    assert d["rules_version"] == clf.version
    assert all(
        {"subject", "status", "words", "rule", "why", "where", "text"} <= set(s) for s in d["steps"]
    )
    json.dumps(d)

    e = clf.explain("WGA, AMPTP reach tentative deal")
    assert "deal: matched 'reach tentative deal' (rule events.deal #1)" in e.lines
    assert "wga: from 'wga' (rule parties.wga.aliases)" in e.lines
    assert str(e).startswith("guilds: amptp, wga\nevents: deal\n")


def test_explain_says_why_a_name_counts_and_what_was_suppressed(clf: Classifier) -> None:
    e = clf.explain("WGA says it will not go on strike")
    assert any(
        line.startswith("strike-started: suppressed") and "'not'" in line and "negation" in line
        for line in e.lines
    ), e.lines
    e = clf.explain("Studios and writers resume talks")
    assert any(
        line.startswith("amptp: from 'studios' (labor context: 'talks'") for line in e.lines
    ), e.lines
    e = clf.explain("Hollywood labor this week", "The AMPTP asked SAG-AFTRA to meet Thursday.")
    assert any("in the summary (its sentence reports an event)" in line for line in e.lines)


def test_explain_agrees_with_classify(clf: Classifier) -> None:
    for title, summary in [
        ("WGA and AMPTP reach tentative deal; strike to end Wednesday", ""),
        ("Inside the room", "WGA and AMPTP negotiators returned to the table Friday."),
        ("Box office: sequel leads the weekend", ""),
        ("Actors' strike: what performers can promote", ""),
    ]:
        assert clf.explain(title, summary).tags == clf.classify_uncached(title, summary)


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
        ('[lists]\nBad-Name = ["x"]\n', "list 'Bad-Name': list names use lowercase letters"),
        ('[lists]\nunion = ["x"]\n', "'{union}' is built from the party aliases"),
        ('[context]\n"two words" = ["x"]\n', "context names use lowercase letters"),
        ("[parties.wga]\nname = 3\n", "party 'wga': name must be a string"),
        ('[parties.wga]\nacronyms = ["W-G"]\n', "'W-G': an acronym is letters and digits only"),
        ("[parties.wga]\naliases = [2]\n", "party 'wga' aliases: aliases entry 1"),
        ('[[false_friends]]\nid = "f"\nwhy = 1\nphrases = ["x"]\n', "why must be a string"),
        ('[events.deal]\nname = 1\npatterns = ["x"]\n', "event 'deal': name must be a string"),
        ('[[modifiers]]\nid = "m"\nwhy = []\nwords = ["x"]\n', "modifier 'm': why must be"),
        ("[others]\nnames = [1]\n", "others names"),
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


# ---- taxonomy --------------------------------------------------------------------------


def test_ids_come_from_the_taxonomy() -> None:
    from strikewatch import classify, taxonomy

    assert classify.GUILDS is taxonomy.GUILDS
    assert classify.EVENTS is taxonomy.EVENTS
    for alias, guild in taxonomy.GUILD_ALIASES.items():
        assert resolve_guild(alias) == guild
        assert resolve_guild(alias.upper().replace("-", " ")) == guild


# ---- more wording (styles the labeled set has little of) ----------------------------------


@pytest.mark.parametrize(
    ("title", "guilds", "events"),
    [
        ("Video game voice actors go on strike over AI", ("sag-aftra",), ("strike-started",)),
        ("Actors strike over", ("sag-aftra",), ("strike-ended",)),
        ("UPDATE: DGA Ratifies New Contract With 87% Approval", ("dga",), ("ratified",)),
        (
            "EXCLUSIVE: AMPTP Asks WGA To Return To Table Next Week",
            ("amptp", "wga"),
            ("meeting-requested",),
        ),
        (
            "Negotiations between IATSE and AMPTP to begin May 17",
            ("amptp", "iatse"),
            ("talks-started",),
        ),
        (
            "Sarandos, Zaslav meet with SAG-AFTRA leadership",
            ("amptp", "sag-aftra"),
            ("talks-resumed",),
        ),
        ("Strike over: IATSE members back on sets Monday", ("iatse",), ("strike-ended",)),
        ("WGA negotiators head into final week of talks with AMPTP", ("amptp", "wga"), ()),
        ("SAG-AFTRA, AMPTP agree to extend contract talks to July 12", ("amptp", "sag-aftra"), ()),
        ("Actors' strike: what performers can and cannot promote", ("sag-aftra",), ()),
        ("Bob Iger extends Disney contract through 2026", (), ()),
    ],
)
def test_more_wording(
    clf: Classifier, title: str, guilds: tuple[str, ...], events: tuple[str, ...]
) -> None:
    assert tags(clf, title) == Tags(guilds, events), clf.explain(title).lines


def test_summary_names_the_other_side_of_a_negotiation(clf: Classifier) -> None:
    t = tags(
        clf,
        "SAG-AFTRA talks collapse as contract extension runs out",
        "The union said the AMPTP refused to meet its core proposals.",
    )
    assert t == Tags(("amptp", "sag-aftra"), ("talks-stalled",))
    # a strike authorization is the members' own vote: the AMPTP there is background
    t = tags(
        clf,
        "SAG-AFTRA members approve strike authorization",
        "Members voted on the eve of the union's talks with the AMPTP.",
    )
    assert t.guilds == ("sag-aftra",)


# ---- compiled-rules cache ------------------------------------------------------------------


def test_cache_is_written_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIKEWATCH_CACHE_DIR", str(tmp_path / "cache"))
    first = load_classifier()
    files = list((tmp_path / "cache").glob("rules-*.bin"))
    assert len(files) == 1
    second = load_classifier()
    title = "WGA, AMPTP reach tentative deal"
    assert first.version == second.version
    assert first.classify(title) == second.classify(title) == Tags(("amptp", "wga"), ("deal",))


@pytest.mark.parametrize("damage", [b"", b"garbage", b"0" * 64 + b"\nnot marshal"])
def test_corrupt_cache_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: bytes
) -> None:
    monkeypatch.setenv("STRIKEWATCH_CACHE_DIR", str(tmp_path))
    load_classifier()
    (cached,) = tmp_path.glob("rules-*.bin")
    cached.write_bytes(damage)
    clf = load_classifier()
    assert clf.classify("SAG-AFTRA goes on strike").events == ("strike-started",)
    assert cached.read_bytes() != damage  # rewritten


def test_unwritable_or_disabled_cache_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("STRIKEWATCH_CACHE_DIR", str(blocker / "cache"))
    assert load_classifier().classify("SAG-AFTRA goes on strike").guilds == ("sag-aftra",)
    monkeypatch.setenv("STRIKEWATCH_CACHE_DIR", "")
    assert load_classifier().classify("SAG-AFTRA goes on strike").guilds == ("sag-aftra",)


def test_user_rules_get_their_own_cache_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIKEWATCH_CACHE_DIR", str(tmp_path / "cache"))
    rules = tmp_path / "mine.toml"
    rules.write_text('[parties.wga]\naliases = ["penmonkeys"]\n', encoding="utf-8")
    assert load_classifier([rules]).classify("Penmonkeys go on strike").guilds == ("wga",)
    rules.write_text('[parties.dga]\naliases = ["penmonkeys"]\n', encoding="utf-8")
    assert load_classifier([rules]).classify("Penmonkeys go on strike").guilds == ("dga",)
    assert load_classifier().classify("Penmonkeys go on strike") == Tags()


def test_unknown_setting_event_is_reported(tmp_path: Path) -> None:
    rules = tmp_path / "x.toml"
    rules.write_text('[settings]\ncounterpart_events = ["deals"]\n', encoding="utf-8")
    with pytest.raises(
        RulesError, match=r"x\.toml: settings\.counterpart_events: unknown event 'deals'"
    ):
        load_classifier([rules])


# ---- the command line ------------------------------------------------------------------


def test_cli_classify(run) -> None:  # type: ignore[no-untyped-def]
    result = run("classify", "WGA, AMPTP reach tentative deal")
    assert result.exit_code == 0
    assert result.output == "guilds: amptp, wga\nevents: deal\n"
    result = run("classify", "Box office: sequel leads the weekend")
    assert result.output == "guilds: (none)\nevents: (none)\n"
    result = run(
        "classify",
        "Inside the room",
        "--summary",
        "WGA and AMPTP negotiators returned to the table.",
    )
    assert "events: talks-resumed" in result.output


def test_cli_classify_json(run) -> None:  # type: ignore[no-untyped-def]
    result = run("classify", "--json", "SAG-AFTRA goes on strike")
    assert result.exit_code == 0
    assert json.loads(result.output) == {"guilds": ["sag-aftra"], "events": ["strike-started"]}


def test_cli_classify_explain(run) -> None:  # type: ignore[no-untyped-def]
    result = run("classify", "--explain", "WGA, AMPTP reach tentative deal")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "guilds: amptp, wga"
    assert lines[1] == "events: deal"
    assert "  deal: matched 'reach tentative deal' (rule events.deal #1)" in lines
    assert any(line.startswith("rules default-") for line in lines)

    result = run("classify", "--explain", "Is a deal close for WGA and AMPTP?")
    assert "events: (none)" in result.output
    assert "deal: suppressed" in result.output and "modifiers.question" in result.output


def test_cli_classify_explain_prints_text_literally(run) -> None:  # type: ignore[no-untyped-def]
    title = "[bold red]WGA[/bold red] goes on strike \x1b[2J\x07"
    result = run("classify", "--explain", title)
    assert result.exit_code == 0
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "events: strike-started" in result.output
    assert "read headline as: bold red wga bold red goes on strike" in result.output


def test_cli_classify_explain_json(run) -> None:  # type: ignore[no-untyped-def]
    result = run("classify", "--explain", "--json", "WGA goes on strike")
    data = json.loads(result.output)
    assert data["events"] == ["strike-started"]
    assert any(step["rule"].startswith("events.strike-started") for step in data["steps"])
    assert data["rules_version"].startswith("default-")


def test_cli_classify_jsonl(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lines = [
        json.dumps({"id": 1, "title": "WGA goes on strike", "url": "https://x.example/1"}),
        json.dumps({"title": "Box office: sequel leads", "extra": {"nested": [1, 2.50]}}),
        json.dumps({"id": 3, "title": "Talks resume", "summary": "SAG-AFTRA and the AMPTP met."}),
        json.dumps({"id": 4, "title": "Old tags", "guilds": ["wga"], "events": ["deal"]}),
    ]
    result = run("classify", "--jsonl", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o.get("id") for o in out] == [1, None, 3, 4]
    assert out[0] == {
        "id": 1,
        "title": "WGA goes on strike",
        "url": "https://x.example/1",
        "guilds": ["wga"],
        "events": ["strike-started"],
    }
    assert out[1]["extra"] == {"nested": [1, 2.50]} and out[1]["guilds"] == []
    assert out[2]["guilds"] == ["amptp", "sag-aftra"] and out[2]["events"] == ["talks-resumed"]
    assert out[3]["guilds"] == [] and out[3]["events"] == []  # stale tags replaced

    path = tmp_path / "in.jsonl"
    path.write_text(lines[0] + "\n", encoding="utf-8")
    result = run("classify", "--jsonl", str(path))
    assert json.loads(result.stdout)["events"] == ["strike-started"]


def test_cli_classify_jsonl_reports_bad_lines(run) -> None:  # type: ignore[no-untyped-def]
    text = "\n".join(
        [
            json.dumps({"title": "WGA goes on strike"}),
            "{not json",
            json.dumps(["a list"]),
            json.dumps({"summary": "no title"}),
            "",
            json.dumps({"title": "SAG-AFTRA goes on strike"}),
        ]
    )
    result = run("classify", "--jsonl", input=text + "\n")
    assert result.exit_code == 1
    good = [json.loads(line) for line in result.stdout.splitlines()]
    assert [g["title"] for g in good] == ["WGA goes on strike", "SAG-AFTRA goes on strike"]
    assert "error: line 2: not valid JSON" in result.stderr
    assert "error: line 3: not a JSON object" in result.stderr
    assert "error: line 4: missing 'title'" in result.stderr


def test_cli_reclassify_after_user_rules(run, tmp_path: Path, db_path: Path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    archive = tmp_path / "archive.jsonl"
    archive.write_text(
        json.dumps(
            {
                "title": "Penmonkeys walk off the job at midnight",
                "link": "https://x.example/penmonkeys",
                "published": "2023-05-02T00:01:00+00:00",
                "source": "x",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    assert run("import", str(archive)).exit_code == 0

    def stored() -> tuple[str, str, str]:
        with sqlite3.connect(db_path) as conn:
            return conn.execute("SELECT guilds, events, rules_version FROM items").fetchone()

    guilds, events, before = stored()
    assert json.loads(guilds) == [] and json.loads(events) == []
    assert before.startswith("default-")

    rules = tmp_path / "mine.toml"
    rules.write_text('[parties.wga]\naliases = ["penmonkeys"]\n', encoding="utf-8")
    result = run("reclassify", "--rules", str(rules))
    assert result.exit_code == 0, result.output
    assert "1 changed" in result.output
    guilds, events, after = stored()
    assert json.loads(guilds) == ["wga"] and json.loads(events) == ["strike-started"]
    assert after.startswith("custom-") and after != before

    result = run("classify", "--rules", str(rules), "Penmonkeys walk off the job at midnight")
    assert "guilds: wga" in result.output


def test_rules_in_the_user_config_folder_apply_to_every_command(  # type: ignore[no-untyped-def]
    run, isolated_config: Path, tmp_path: Path
) -> None:
    headline = "Penmonkeys walk off the job at midnight"
    assert "guilds: (none)" in run("classify", headline).output
    listed = run("path", "--rules")
    assert listed.exit_code == 0
    assert [Path(line).name for line in listed.stdout.splitlines()] == [
        "events.toml",
        "lists.toml",
        "modifiers.toml",
        "parties.toml",
        "settings.toml",
    ]
    assert "rules.toml" in listed.stderr  # says where the user's own file would go

    isolated_config.mkdir(parents=True)
    (isolated_config / "rules.toml").write_text(
        '[parties.wga]\naliases = ["penmonkeys"]\n', encoding="utf-8"
    )
    assert "guilds: wga" in run("classify", headline).output
    assert run("path", "--rules").stdout.splitlines()[-1] == str(isolated_config / "rules.toml")

    archive = tmp_path / "archive.jsonl"
    archive.write_text(
        json.dumps({"title": headline, "link": "https://x.example/p", "published": "2023-05-02"})
        + "\n",
        encoding="utf-8",
    )
    assert run("import", str(archive)).exit_code == 0
    assert [entry["guilds"] for entry in json.loads(run("timeline", "--json").stdout)] == [["wga"]]

    (isolated_config / "rules.toml").write_text("[parties.wga\n", encoding="utf-8")
    broken = run("classify", headline)
    assert broken.exit_code != 0
    assert "rules.toml" in broken.output and "Traceback" not in broken.output


def test_jsonl_in_chunks_matches_one_chunk(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A long input is tagged and written chunk by chunk: same output, same order, same
    bad-line numbers as in one piece."""
    import io

    from strikewatch import batch

    classifier = load_classifier()
    titles = [
        "WGA and AMPTP reach tentative agreement",
        "Box office: animated sequel leads the weekend",
        "SAG-AFTRA members vote to authorize strike",
        "No deal yet as writers' talks resume",
    ]
    lines = []
    for number in range(1, 48):
        if number % 11 == 0:
            lines.append("[1, 2]\n")
        elif number % 13 == 0:
            lines.append("{oops\n")
        else:
            lines.append(json.dumps({"n": number, "title": titles[number % 4]}) + "\n")
    serial, parallel = io.StringIO(), io.StringIO()
    serial_errors = batch.classify_jsonl(classifier, lines, serial)
    monkeypatch.setattr(batch, "CHUNK_LINES", 5)
    parallel_errors = batch.classify_jsonl(classifier, lines, parallel)
    assert parallel.getvalue() == serial.getvalue()
    assert parallel_errors == serial_errors
    assert [number for number, _ in serial_errors] == [11, 13, 22, 26, 33, 39, 44]
    out = [json.loads(line) for line in parallel.getvalue().splitlines()]
    assert [record["n"] for record in out] == [n for n in range(1, 48) if n % 11 and n % 13]
    assert out[1]["n"] == 2 and out[1]["events"] == ["strike-authorized"]


def test_user_rules_can_disable_patterns_aliases_and_list_words(tmp_path: Path) -> None:
    rules = tmp_path / "off.toml"
    rules.write_text(
        '[disable]\npatterns = ["{reach} ...4 {deal}"]\naliases = ["Producers"]\n'
        'words = { deal = ["accord"] }\n',
        encoding="utf-8",
    )
    default, custom = load_classifier(), load_classifier([rules])
    assert default.classify("WGA and producers reach tentative accord").guilds == ("amptp", "wga")
    assert custom.classify("WGA and producers reach tentative accord").guilds == ("wga",)
    assert default.classify("WGA and AMPTP reach accord").events == ("deal",)
    assert custom.classify("WGA and AMPTP reach accord").events == ()
    for body, message in [
        (
            '[disable]\npatterns = ["Nope"]\n',
            "disable patterns: no event pattern 'nope' to disable",
        ),
        ('[disable]\naliases = ["Nope"]\n', "disable aliases: no party alias 'nope' to disable"),
        (
            '[disable]\nwords = { deal = ["nope"] }\n',
            "disable words 'deal': 'nope' is not in the list",
        ),
    ]:
        rules.write_text(body, encoding="utf-8")
        with pytest.raises(RulesError) as raised:
            load_classifier([rules])
        assert str(raised.value) == f"{rules}: {message}"


def test_tests_keep_the_compiled_rules_out_of_the_users_cache(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The autouse fixture points the cache (and data) folders into pytest's temporary base:
    the suite once wrote compiled rules into the developer's ~/.cache/strikewatch."""
    from strikewatch.paths import user_cache_dir, user_data_dir

    base = tmp_path_factory.getbasetemp()
    load_classifier()
    assert Path(user_cache_dir()).is_relative_to(base)
    assert Path(user_data_dir()).is_relative_to(base)
    assert list(Path(user_cache_dir()).glob("rules-*.bin"))


# ---- rules a reporter can edit ----------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "guilds", "events"),
    [
        # A look-alike only hides its words: the actors are still the ones on strike.
        ("Star Wars actors strike", ("sag-aftra",), ("strike-started",)),
        ("Crews on the Studio City lot walk off the job", ("iatse",), ("strike-started",)),
        # An organisation we do not track owns the event it is named with.
        ("Writers Guild of Canada members go on strike", (), ()),
        ("Actors Equity members go on strike", (), ()),
    ],
)
def test_lookalikes_only_mask_and_untracked_organisations_own_their_events(
    clf: Classifier, title: str, guilds: tuple[str, ...], events: tuple[str, ...]
) -> None:
    assert tags(clf, title) == Tags(guilds, events)


def test_explain_tells_a_lookalike_from_an_untracked_organisation(clf: Classifier) -> None:
    lookalike = clf.explain("Star Wars actors strike").lines[0]
    assert "looks like a name of SAG-AFTRA" in lookalike
    assert "parties.sag-aftra.lookalikes" in lookalike
    organisation = clf.explain("Writers Guild of Canada members go on strike").lines[0]
    assert "parties.wga.not" in organisation


def test_a_user_file_can_add_lookalikes(tmp_path: Path) -> None:
    rules = tmp_path / "mine.toml"
    rules.write_text('[parties.wga]\nlookalikes = ["writers block"]\n', encoding="utf-8")
    assert load_classifier().classify("Writers block strikes again") == Tags()
    assert load_classifier([rules]).classify("Writers block strikes again") == Tags()
    headline = "Writers block studios' gates as strike begins"
    assert load_classifier([rules]).classify(headline).events == ()


def test_patterns_are_numbered_in_the_file_that_has_them(tmp_path: Path) -> None:
    """The defaults have twenty-odd deal patterns; the user's first one is their pattern 1."""
    rules = tmp_path / "mine.toml"
    rules.write_text(
        '[events.deal]\npatterns = ["{reach} ...2 handshake", "{nosuch} deal"]\n', encoding="utf-8"
    )
    with pytest.raises(
        RulesError, match=r"^.*mine\.toml: event 'deal' pattern 2: unknown word list"
    ):
        load_classifier([rules])


def test_engine_settings_have_their_own_file() -> None:
    from strikewatch.bundled import data_path

    settings = (data_path("rules") / "settings.toml").read_text(encoding="utf-8")
    modifiers = (data_path("rules") / "modifiers.toml").read_text(encoding="utf-8")
    assert "\n[settings]\n" in settings and "summary_background" in settings
    assert "\n[settings" not in modifiers


@pytest.mark.parametrize(
    "body",
    [
        "x = " + "[" * 1000 + "]" * 1000,
        "[lists]\nx = " + "{a = " * 1000 + "1" + "}" * 1000,
    ],
)
def test_a_rules_file_nested_a_thousand_deep_is_one_line(tmp_path: Path, body: str) -> None:
    """tomllib recurses once per level: this was a RecursionError and 3,000 lines of trace."""
    import subprocess
    import sys

    rules = tmp_path / "deep.toml"
    rules.write_text(body + "\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "strikewatch", "classify", "--rules", str(rules), "WGA strikes"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f"Error: {rules}: tables or arrays nested too deeply (a rules file needs three levels)"
    ]


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("deal? pact? accord? agreement? contract? {reach}", "5 optional words make matching slow"),
        ("{reach} ...9 deal ...9 with ...9 studios ...9 today", "tried 10,000 ways at every word"),
        ("{reach} ...40 deal", "'...40': a gap is at most 10 words"),
    ],
)
def test_a_pattern_whose_matching_cost_can_explode_is_refused(
    tmp_path: Path, pattern: str, why: str
) -> None:
    rules = tmp_path / "slow.toml"
    rules.write_text(f'[events.deal]\npatterns = ["{pattern}"]\n', encoding="utf-8")
    with pytest.raises(RulesError, match=r"slow\.toml: event 'deal' pattern 1: ") as caught:
        load_classifier([rules])
    assert why in str(caught.value) and "\n" not in str(caught.value)


def test_the_cached_program_is_the_compiled_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The frozen program goes through marshal and back with every named field intact."""
    from strikewatch.classify.program import from_data, to_data

    monkeypatch.setenv("STRIKEWATCH_CACHE_DIR", str(tmp_path / "cache"))
    compiled = load_classifier()
    cached = load_classifier()  # read back from the cache just written
    assert list((tmp_path / "cache").glob("rules-*.bin"))
    assert cached.program == compiled.program
    assert from_data(to_data(compiled.program)) == compiled.program
    headline = "SAG-AFTRA denies report of a deal as talks resume"
    assert cached.explain(headline).to_dict() == compiled.explain(headline).to_dict()
