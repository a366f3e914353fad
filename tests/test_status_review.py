"""status after the issue 16/17 review: archives of our own wording, imported and read back."""

from __future__ import annotations

import pytest

from tests.test_status import import_archive, report, standing

IATSE_MONDAY = report(
    "IATSE sets Monday strike date: crews will walk off at 12:01 a.m. unless a deal is reached",
    "2021-10-13T22:00:00+00:00",  # Wednesday afternoon in Los Angeles
)
# 00:20 on the Monday in Los Angeles: the strike day itself, twenty minutes after the deadline.
AVERTED_AFTER_MIDNIGHT = report(
    "Strike averted: IATSE and studios reach tentative agreement",
    "2021-10-18T07:20:00+00:00",
)


@pytest.mark.parametrize(
    "title",
    [
        "Strike averted: IATSE and studios reach tentative agreement",
        "Strike averted: IATSE and studios reach tentative agreement minutes before deadline",
    ],
)
def test_a_deal_just_after_midnight_on_the_strike_day_averts_it(run, run_json, tmp_path, title):
    averted = dict(AVERTED_AFTER_MIDNIGHT, title=title, link=AVERTED_AFTER_MIDNIGHT["link"] + "-x")
    import_archive(run, tmp_path, IATSE_MONDAY, averted)
    for as_of in ("2021-10-18", "2021-10-30"):
        iatse = standing(run_json, as_of)["iatse"]
        assert (iatse["on_strike"], iatse["strikes"], iatse["previous_strike"]) == (
            False,
            [],
            None,
        ), as_of
    assert standing(run_json, "2021-10-17")["iatse"]["pending"]["on"] == "2021-10-18"


def test_a_strike_reported_under_way_is_not_undone_by_a_deal_that_day(run, run_json, tmp_path):
    walked = report(
        "IATSE crews walk off sets as strike against the studios begins",
        "2021-10-18T15:00:00+00:00",  # 8 a.m. on the Monday
    )
    deal = report("IATSE and studios reach tentative agreement", "2021-10-18T23:00:00+00:00")
    import_archive(run, tmp_path, IATSE_MONDAY, walked, deal)
    iatse = standing(run_json, "2021-10-19")["iatse"]
    assert (iatse["on_strike"], iatse["strike_started"]) == (True, "2021-10-18")


def test_a_named_date_weeks_ahead_stays_pending_until_that_day(run, run_json, tmp_path):
    import_archive(
        run,
        tmp_path,
        report("SAG-AFTRA video game strike to begin Aug. 1", "2024-07-18T16:00:00+00:00"),
    )
    announced = standing(run_json, "2024-07-20")["sag-aftra"]
    assert (announced["on_strike"], announced["pending"]["on"]) == (False, "2024-08-01")
    assert announced["pending"]["contract"] == "interactive"
    begun = standing(run_json, "2024-08-02")["sag-aftra"]
    assert begun["strikes"] == [
        {"contract": "interactive", "started": "2024-08-01", "strike_day": 2}
    ]


def test_a_weekday_more_than_a_week_off_is_not_read_as_far_ahead(run, run_json, tmp_path):
    """Weekdays keep the one-week horizon; a vote date beyond it is not the strike's."""
    import_archive(
        run,
        tmp_path,
        report(
            "Writers strike ends as board lifts it",
            "2023-09-26T16:00:00-07:00",
            "Members will vote through Oct. 9.",
        ),
    )
    wga = standing(run_json, "2023-09-28")["wga"]
    assert wga["pending"] is None


@pytest.mark.parametrize(
    "ending",
    [
        report("SAG-AFTRA strike against the studios ends", "2023-11-09T10:00:00-08:00"),
        report(
            "Actors strike ends as SAG-AFTRA members return to work", "2023-11-09T10:00:00-08:00"
        ),
    ],
    ids=["a film and TV end", "an end naming no contract"],
)
def test_a_strike_headline_that_mentions_other_contracts_is_film_and_tv(
    run, run_json, tmp_path, ending
):
    began = report(
        "Actors strike begins: SAG-AFTRA walks out, and what it means for video games and"
        " commercials",
        "2023-07-14T09:00:00-07:00",
    )
    import_archive(run, tmp_path, began, ending)
    sag = standing(run_json, "2023-08-01")["sag-aftra"]
    assert [strike["contract"] for strike in sag["strikes"]] == ["tv-theatrical"]
    after = standing(run_json, "2023-12-01")["sag-aftra"]
    assert (after["on_strike"], after["strikes"]) == (False, [])
    assert after["previous_strike"]["contract"] == "tv-theatrical"


@pytest.mark.parametrize(
    ("title", "contract"),
    [
        ("Actors strike begins: what it means for video games", "tv-theatrical"),
        (
            "SAG-AFTRA strike begins against film and TV studios as video game talks go on",
            "tv-theatrical",
        ),
        ("Video game performers strike as talks with publishers fail", "interactive"),
        ("SAG-AFTRA begins strike against game companies", "interactive"),
        ("SAG-AFTRA commercials strike begins", "commercials"),
    ],
)
def test_the_contract_is_the_strikes(run, run_json, tmp_path, title, contract):
    import_archive(run, tmp_path, report(title, "2024-03-04T09:00:00-08:00"))
    sag = standing(run_json, "2024-03-05")["sag-aftra"]
    assert [strike["contract"] for strike in sag["strikes"]] == [contract]


@pytest.mark.parametrize(
    "title",
    [
        "WGA West staff strike; the guild says member services continue",
        "Guild workers at the WGA strike",
        "WGAE staff walk out over stalled contract talks",
    ],
)
def test_the_wga_staff_striking_is_not_the_wga_on_strike(run, run_json, tmp_path, title):
    import_archive(run, tmp_path, report(title, "2025-02-03T09:00:00-08:00"))
    wga = standing(run_json, "2025-02-04")["wga"]
    assert (wga["on_strike"], wga["strikes"], wga["pending"]) == (False, [], None)


def test_iatse_workers_striking_is_iatse_on_strike(run, run_json, tmp_path):
    import_archive(
        run,
        tmp_path,
        report("IATSE workers strike against the studios", "2025-02-03T09:00:00-08:00"),
    )
    assert standing(run_json, "2025-02-04")["iatse"]["on_strike"] is True


def test_a_one_day_strike_lasted_one_day(run, run_json, tmp_path):
    import_archive(
        run,
        tmp_path,
        report("IATSE crews walk off sets in strike against the studios", "2024-03-04T16:00:00Z"),
        report(
            "IATSE strike ends after one day as studios agree to deal",
            "2024-03-04T23:00:00Z",
            "Crews went back to work.",
        ),
    )
    previous = standing(run_json, "2024-03-10")["iatse"]["previous_strike"]
    assert (previous["started"], previous["last_day"], previous["days"]) == (
        "2024-03-04",
        "2024-03-04",
        1,
    )
    line = run("status", "--as-of", "2024-03-10", "--guild", "iatse").stdout.splitlines()[0]
    assert line.endswith("(last strike 2024-03-04 to 2024-03-04, 1 day)")


def test_before_the_first_report_status_says_none_up_to_that_day(run, run_json, tmp_path):
    import_archive(
        run,
        tmp_path,
        report("Writers strike begins against the studios", "2023-05-02T09:00:00-07:00"),
    )
    wga = standing(run_json, "2022-01-01")["wga"]
    assert (wga["data_through"], wga["first_report"]) == (None, "2023-05-02")
    line = run("status", "--as-of", "2022-01-01", "--guild", "wga").stdout.splitlines()[0]
    assert "no reports up to 2022-01-01" in line
    assert "no reports stored" not in line


def test_the_last_event_is_shown_on_its_los_angeles_day(run, run_json, tmp_path):
    # 7 p.m. on Oct. 16 in Los Angeles is Oct. 17 in UTC.
    import_archive(
        run,
        tmp_path,
        report("IATSE and studios reach tentative agreement", "2021-10-16T19:00:00-07:00"),
    )
    iatse = standing(run_json, "2021-10-20")["iatse"]
    assert iatse["last_event_day"] == "2021-10-16"
    out = run("status", "--as-of", "2021-10-20", "--guild", "iatse").stdout
    assert "last event: 2021-10-16 deal" in out
    assert "2021-10-17" not in out
