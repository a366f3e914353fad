"""Feeds and timelines leaving and entering strikewatch: OPML both ways, Atom export."""

from __future__ import annotations

from xml.etree import ElementTree

import feedparser
import pytest

READER_OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="Trades" title="Trades">
      <outline text="Deadline" title="Deadline" type="rss" xmlUrl="https://deadline.com/feed/" htmlUrl="https://deadline.com/"/>
      <outline text="The Hollywood Reporter" type="rss" xmlUrl="https://www.hollywoodreporter.com/feed/"/>
      <outline text="Labor">
        <outline type="rss" xmlUrl="https://www.wga.org/news-events/news/rss"/>
        <outline title="Variety" type="rss" url="https://variety.com/feed/"/>
      </outline>
    </outline>
    <outline text="Deadline again" type="rss" XMLURL="https://deadline.com/feed/"/>
    <outline text="A podcast" type="rss" xmlUrl="ftp://example.com/podcast.xml"/>
    <outline text="Just a folder"/>
  </body>
</opml>
"""


def test_import_reader_opml_nested_missing_titles_variants_duplicates(tmp_path, run, run_json):
    path = tmp_path / "reader.opml"
    path.write_text(READER_OPML)
    result = run("feeds", "import", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        "Subscribed to 4 feed(s) from reader.opml; 1 duplicate(s) skipped, 1 unusable"
    )
    assert "skipped ftp://example.com/podcast.xml" in result.stderr
    feeds = {feed["url"]: feed for feed in run_json("feeds", "list")}
    assert set(feeds) == {
        "https://deadline.com/feed/",
        "https://www.hollywoodreporter.com/feed/",
        "https://www.wga.org/news-events/news/rss",
        "https://variety.com/feed/",
    }
    assert feeds["https://deadline.com/feed/"]["name"] == "Deadline"
    assert feeds["https://www.hollywoodreporter.com/feed/"]["name"] == "hollywoodreporter"
    assert feeds["https://www.hollywoodreporter.com/feed/"]["title"] == "The Hollywood Reporter"
    assert feeds["https://www.wga.org/news-events/news/rss"]["name"] == "wga"
    again = run("feeds", "import", str(path))
    assert again.stdout.strip().startswith(
        "Subscribed to 0 feed(s) from reader.opml; 5 duplicate(s)"
    )


def test_opml_round_trip(tmp_path, run, run_json, db_path):
    local = tmp_path / "guild.xml"
    local.write_text("<rss/>")
    assert run("feeds", "add", "https://deadline.com/feed/", "--no-check").exit_code == 0
    assert (
        run("feeds", "add", "https://variety.com/feed/", "--name", "Var", "--no-check").exit_code
        == 0
    )
    assert run("feeds", "add", str(local), "--name", "guild-local").exit_code == 0
    assert run("feeds", "add", "https://gone.example/feed", "--no-check").exit_code == 0
    assert run("feeds", "remove", "gone").exit_code == 0
    exported = run("feeds", "export")
    assert exported.exit_code == 0
    root = ElementTree.fromstring(exported.stdout.encode())
    assert root.tag == "opml" and root.get("version") == "2.0"
    outlines = root.findall("./body/outline")
    assert [outline.get("text") for outline in outlines] == ["deadline", "guild-local", "Var"]
    assert all(outline.get("type") == "rss" for outline in outlines)
    assert outlines[1].get("xmlUrl") == local.resolve().as_uri()

    opml = tmp_path / "export.opml"
    opml.write_text(exported.stdout)
    before = {(feed["name"], feed["url"]) for feed in run_json("feeds", "list") if feed["active"]}
    other_db = tmp_path / "other.db"
    from click.testing import CliRunner

    from strikewatch.cli import cli

    # A file:// entry is subscribed only when asked for.
    result = CliRunner().invoke(cli, ["--db", str(other_db), "feeds", "import", str(opml)])
    assert result.exit_code == 0, result.output
    assert "Subscribed to 2 feed(s)" in result.stdout and "1 unusable" in result.stdout
    assert f"skipped {local.resolve().as_uri()}: a local file: taken only with --allow-files" in (
        result.stderr
    )
    result = CliRunner().invoke(
        cli, ["--db", str(other_db), "feeds", "import", "--allow-files", str(opml)]
    )
    assert result.exit_code == 0, result.output
    assert "Subscribed to 1 feed(s)" in result.stdout
    listed = CliRunner().invoke(cli, ["--db", str(other_db), "feeds", "list", "--json"])
    import json

    after = {(feed["name"], feed["url"]) for feed in json.loads(listed.stdout)}
    assert after == before


@pytest.mark.parametrize(
    "document",
    [
        # a billion laughs: must not expand
        """<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<opml version="2.0"><body><outline text="&d;" xmlUrl="https://x.example/feed"/></body></opml>""",
        # an external entity: must not be read
        """<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline text="&secret;" xmlUrl="https://x.example/feed"/></body></opml>""",
    ],
)
def test_opml_entities_are_refused(tmp_path, run, run_json, document):
    path = tmp_path / "evil.opml"
    path.write_text(document)
    result = run("feeds", "import", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}: not valid OPML (undefined entity")
    assert len(result.stderr.strip().splitlines()) == 1
    assert run_json("feeds", "list") == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not xml at all", "not valid OPML"),
        ("<rss version='2.0'><channel/></rss>", "not an OPML document"),
    ],
)
def test_bad_opml_is_one_line(tmp_path, run, content, message):
    path = tmp_path / "bad.opml"
    path.write_text(content)
    result = run("feeds", "import", str(path))
    assert result.exit_code == 1 and message in result.stderr
    missing = run("feeds", "import", str(tmp_path / "nope.opml"))
    assert missing.exit_code == 1 and "no such file" in missing.stderr


def test_atom_export_is_read_back_by_feedparser(season_cli):
    result = season_cli("export", "--atom", "--guild", "wga")
    assert result.exit_code == 0, result.output
    parsed = feedparser.parse(result.stdout.encode())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "strikewatch: Hollywood labor timeline (guilds=wga)"
    entries = parsed.entries
    assert len(entries) == 10  # the WGA stories, once each
    assert entries[0].title == "WGA members ratify contract with 99% yes vote"  # newest first
    deal = next(entry for entry in entries if entry.title.startswith("WGA reaches tentative"))
    assert (
        deal.link
        == "https://backlot.example/2023/wga-reaches-tentative-agreement-with-studios-after-146-days"
    )
    assert deal.published.startswith("2023-09-25T02:50:00")
    terms = {(tag.term, tag.scheme) for tag in deal.tags}
    assert ("wga", "https://strikewatch.invalid/guilds") in terms
    assert ("deal", "https://strikewatch.invalid/events") in terms
    related = [link.href for link in deal.links if link.rel == "related"]
    assert related == [
        "https://reel.example/2023/writers-and-amptp-strike-a-tentative-deal",
        "https://marquee.example/2023/tentative-deal-reached-in-writers-strike",
    ]
    assert "Also reported by reel: Writers and AMPTP strike a tentative deal" in deal.summary
    assert deal.author == "backlot"
    assert len({entry.id for entry in entries}) == len(entries)


def test_atom_ids_are_stable_and_filters_apply(season_cli):
    first = feedparser.parse(season_cli("export", "--atom").stdout.encode())
    second = feedparser.parse(season_cli("export", "--atom").stdout.encode())
    assert [entry.id for entry in first.entries] == [entry.id for entry in second.entries]
    assert all(
        entry.id.startswith("tag:strikewatch.invalid,2023:story:") for entry in first.entries
    )
    deals = feedparser.parse(season_cli("export", "--atom", "--event", "deal").stdout.encode())
    assert len(deals.entries) == 3
    empty = feedparser.parse(
        season_cli("export", "--atom", "--since", "2030-01-01").stdout.encode()
    )
    assert not empty.bozo and empty.entries == []


def test_atom_is_written_in_batches_that_do_not_show(season_cli, monkeypatch):
    """The feed is serialised a few entries at a time and the timeline read a few at a time;
    where either splits must not change a byte."""
    whole = season_cli("export", "--atom").stdout
    monkeypatch.setattr("strikewatch.atom.ENTRY_BATCH", 2)
    monkeypatch.setattr("strikewatch.store.LISTING_BATCH", 3)
    assert season_cli("export", "--atom").stdout == whole
    assert whole.startswith('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns=')
    assert whole.count("\n  <entry>\n    <id>") == 19 and whole.endswith("</entry>\n</feed>\n")
    empty = season_cli("export", "--atom", "--since", "2030-01-01").stdout
    assert empty.endswith("</generator>\n</feed>\n") and "<entry>" not in empty


def test_export_needs_a_format(season_cli):
    result = season_cli("export")
    assert result.exit_code == 2 and "--atom" in result.stderr


def test_atom_keeps_feed_text_literal(tmp_path, run):
    import json

    path = tmp_path / "nasty.jsonl"
    path.write_text(
        json.dumps(
            {
                "title": "WGA <b>strike</b> & \x1b[2J begins",
                "link": "https://x.example/n?a=1&b=2",
                "published": "2023-05-02T00:00:00Z",
            }
        )
        + "\n"
    )
    assert run("import", str(path)).exit_code == 0
    [stored] = json.loads(run("timeline", "--all", "--json").stdout)
    exported = run("export", "--atom", "--all").stdout
    assert "\x1b" not in exported
    parsed = feedparser.parse(exported.encode())
    assert not parsed.bozo
    [entry] = parsed.entries
    assert entry.title == stored["title"] == "WGA strike & begins"
    assert entry.link == "https://x.example/n?a=1&b=2"


def test_atom_export_writes_only_http_links(tmp_path, run):
    import json

    from strikewatch.atom import write_atom

    links = [
        "javascript:alert(document.cookie)",
        " JaVaScRiPt:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "file:///etc/passwd",
        "https://guild.example/safe",
    ]
    path = tmp_path / "links.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {
                    "title": f"WGA story {n}",
                    "link": link,
                    "published": f"2023-05-0{n + 1}T00:00:00Z",
                }
            )
            + "\n"
            for n, link in enumerate(links)
        )
    )
    assert run("import", str(path)).exit_code == 0
    exported = run("export", "--atom", "--all", "--no-collapse").stdout
    root = ElementTree.fromstring(exported.encode())
    namespace = "{http://www.w3.org/2005/Atom}"
    entries = root.findall(f"{namespace}entry")
    assert len(entries) == 5
    hrefs = [link.get("href") for entry in entries for link in entry.iter(f"{namespace}link")]
    assert hrefs == ["https://guild.example/safe"]
    assert all(entry.find(f"{namespace}id").text.startswith("tag:") for entry in entries)
    for scheme in ("javascript:", "data:", "file:"):
        assert scheme not in exported.lower()

    # The other outlets' reports are links too.
    entry = {
        "id": 1,
        "title": "WGA strike",
        "link": "https://guild.example/a",
        "source": "guild",
        "published": "2023-05-02T00:00:00+00:00",
        "also": [
            {"source": "x", "title": "t", "link": "javascript:alert(1)", "published": "2023"},
            {"source": "y", "title": "u", "link": "https://trade.example/b", "published": "2023"},
        ],
    }
    document = "".join(write_atom([entry]))
    assert "javascript" not in document and 'href="https://trade.example/b"' in document


def test_a_malformed_opml_entry_is_skipped_and_the_others_imported(tmp_path, run, run_json):
    path = tmp_path / "mixed.opml"
    path.write_text(
        """<?xml version="1.0"?>
<opml version="2.0"><head><title>feeds</title></head><body>
  <outline text="broken" xmlUrl="http://[::1"/>
  <outline text="nohost" xmlUrl="https:///feed/"/>
  <outline text="spaced" xmlUrl="https://guild.example/my feed/"/>
  <outline text="guild" xmlUrl="HTTPS://Guild.Example:443/feed/"/>
</body></opml>"""
    )
    result = run("feeds", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "Subscribed to 1 feed(s)" in result.stdout and "3 unusable" in result.stdout
    assert "Traceback" not in result.output
    assert f"warning: {path}: skipped http://[::1: not a valid URL (Invalid IPv6 URL)" in (
        result.stderr
    )
    assert "skipped https:///feed/: the address has no host" in result.stderr
    assert "skipped https://guild.example/my feed/: an address cannot contain spaces" in (
        result.stderr
    )
    assert [feed["url"] for feed in run_json("feeds", "list")] == ["https://guild.example/feed/"]
