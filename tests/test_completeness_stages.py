"""Completeness per callback stage end to end: a day whose store visits are complete but whose
every purchase callback is missing fails there, names the stage, exits 1 and is cleared by an
acceptance of that stage; the first days cannot be judged; the 50 % -> 100 % switch of
2024-07-01 raises no alarm."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import START, settings_for, small_options
from warehouse import rows

from orchestration.runner import run
from redcat import acceptances
from redcat.generate import Faults, PartnerDay, generate

NO_PURCHASES = dt.date(2024, 7, 7)  # 13 days after START: a baseline exists
END = dt.date(2024, 7, 8)
# more faults in the same world, on other days (a baseline of 10 days exists from 2024-07-04)
NO_BRAND, LOST_BRAND = dt.date(2024, 7, 5), "b0010"  # a brand without link clicks: store visits stay ok
TRUNCATED, CUT_HOUR = dt.date(2024, 7, 6), 14  # callbacks stop at 14:00 Asia/Shanghai
QUIET = dt.date(2024, 7, 8)  # a holiday: half the traffic on both sides, no alarm
FAULTS = Faults(
    drop_stage=((PartnerDay("taobao", NO_PURCHASES), "purchase"),),
    drop_brand=((PartnerDay("taobao", NO_BRAND), LOST_BRAND),),
    truncate_after_hour=((PartnerDay("taobao", TRUNCATED), CUT_HOUR),),
    quiet_days=(QUIET,),
)


def stages(settings):
    return {
        (d, s): (st, acc)
        for d, s, st, acc in rows(
            settings,
            "SELECT report_date, stage, status, is_accepted FROM marts.mart_callback_completeness_stages "
            "WHERE partner = 'taobao'",
        )
    }


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    home = tmp_path_factory.mktemp("stages")
    landing = home / "landing"
    generate(small_options(days=15, faults=FAULTS), landing)
    settings = settings_for(landing, home / "wh")
    out = {"settings": settings}
    out["incident"] = run(settings, START, END)
    out["incident_stages"] = stages(settings)
    out["days"] = {
        r[0]: r[1:]
        for r in rows(
            settings,
            "SELECT report_date, worst_status, failing_stages, failing_brands, profile_status, truncated_after_hour, "
            "blocks_marts FROM marts.mart_callback_completeness WHERE partner = 'taobao'",
        )
    }
    out["brands"] = rows(
        settings,
        "SELECT report_date, brand_id, status FROM marts.mart_callback_completeness_brands "
        "WHERE partner = 'taobao' AND status <> 'insufficient_data'",
    )
    acceptances.accept(
        settings, "taobao", NO_PURCHASES, "ops-oncall", "purchase feed down at taobao, confirmed", "purchase"
    )
    # the other incidents of the world are accepted as whole days (brand and profile tests have no stage)
    acceptances.accept(settings, "taobao", NO_BRAND, "ops-oncall", f"{LOST_BRAND} unmapped at taobao that day")
    acceptances.accept(settings, "taobao", TRUNCATED, "ops-oncall", "dump cut at 14:00, no re-delivery")
    out["cleared"] = run(settings, NO_BRAND, NO_PURCHASES)
    out["cleared_days"] = {
        r[0]: r[1:]
        for r in rows(
            settings,
            "SELECT report_date, blocks_marts, is_accepted FROM marts.mart_callback_completeness "
            "WHERE partner = 'taobao' AND report_date BETWEEN ? AND ?",
            [NO_BRAND, NO_PURCHASES],
        )
    }
    out["cleared_stages"] = stages(settings)
    out["brand_daily"] = rows(
        settings,
        "SELECT DISTINCT completeness_status, completeness_accepted FROM marts.mart_brand_daily "
        "WHERE report_date = ? AND partner = 'taobao'",
        [NO_PURCHASES],
    )
    return out


def test_missing_purchases_fail_the_day_and_name_the_stage(story):
    incident = story["incident"]
    assert incident.exit_code == 1
    (check,) = [c for c in incident.failed_checks if c.name == "callback_completeness"]
    assert f"taobao {NO_PURCHASES} stage purchase" in check.description
    assert "--stage purchase" in check.description and "re-deliver" in check.description
    assert [s for s in check.metadata["blocking_stages"] if str(NO_PURCHASES) in s] == [
        f"taobao {NO_PURCHASES} purchase"
    ]
    failing = {k for k, (s, _) in story["incident_stages"].items() if s == "fail" and k[0] == NO_PURCHASES}
    assert failing == {(NO_PURCHASES, "purchase")}
    assert story["days"][NO_PURCHASES][2:5] == (None, "ok", None)  # no brand, no truncation
    # store visits of that day are complete: the old check alone would have published it
    assert story["incident_stages"][(NO_PURCHASES, "store_visit")][0] == "ok"
    assert {c.name for c in incident.failed_checks} == {"callback_completeness"}


def test_first_days_are_insufficient_data_and_the_switch_raises_no_alarm(story):
    status = story["incident_stages"]
    first = [
        status[(START + dt.timedelta(days=i), s)][0] for i in range(9) for s in ("search", "add_to_cart", "purchase")
    ]
    assert set(first) == {"insufficient_data"}
    judged = {
        status[(d, s)][0]
        for (d, s) in status
        if s != "refund" and d not in (NO_PURCHASES, TRUNCATED) and d >= dt.date(2024, 7, 1)
    }
    assert "fail" not in judged and "ok" in judged


def test_accepting_the_stage_clears_the_day_flagged(story):
    assert story["cleared"].exit_code == 0, [c.description for c in story["cleared"].failed_checks]
    # whole-day acceptances clear the vanished brand and the truncated afternoon
    assert story["cleared_days"] == {NO_BRAND: (False, True), TRUNCATED: (False, True), NO_PURCHASES: (False, False)}
    assert story["cleared_stages"][(NO_PURCHASES, "purchase")] == ("fail", True)
    assert story["cleared_stages"][(NO_PURCHASES, "search")][1] is False
    assert story["brand_daily"] == [("fail", True)]


def test_a_vanished_brand_fails_its_day_and_is_named(story):
    worst, stages_failing, brands, profile, _, blocks = story["days"][NO_BRAND]
    assert (worst, brands, blocks) == ("fail", LOST_BRAND, True)
    assert stages_failing is None and profile == "ok"  # the partner's totals look fine
    assert {(d, b) for d, b, s in story["brands"] if s == "fail"} == {(NO_BRAND, LOST_BRAND)}
    assert len({b for d, b, s in story["brands"] if d == NO_BRAND}) >= 5  # several brands large enough to judge
    (check,) = [c for c in story["incident"].failed_checks if c.name == "callback_completeness"]
    assert f"taobao {NO_BRAND} brand {LOST_BRAND}" in check.description
    assert f"taobao {NO_BRAND} brand {LOST_BRAND}" in check.metadata["blocking_stages"]


def test_a_truncated_afternoon_fails_its_day_naming_the_cut(story):
    worst, _, brands, profile, cut, blocks = story["days"][TRUNCATED]
    assert (worst, profile, cut, blocks) == ("fail", "fail", CUT_HOUR, True)
    assert brands is None
    (check,) = [c for c in story["incident"].failed_checks if c.name == "callback_completeness"]
    assert f"taobao {TRUNCATED} truncated after {CUT_HOUR}:00" in check.description
    assert f"taobao {TRUNCATED} truncated after {CUT_HOUR}:00" in check.metadata["blocking_stages"]


def test_a_quiet_holiday_raises_no_alarm(story):
    worst, stages_failing, brands, profile, _, blocks = story["days"][QUIET]
    assert (stages_failing, brands, profile, blocks) == (None, None, "ok", False)
    assert worst == "ok" or worst == "insufficient_data"  # refunds may be too few to judge
    assert {s for (d, _), (s, _) in story["incident_stages"].items() if d == QUIET} <= {"ok", "insufficient_data"}
