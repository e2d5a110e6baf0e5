"""Completeness per callback stage end to end: a day whose store visits are complete but whose
every purchase callback is missing fails there, names the stage, exits 1 and is cleared by an
acceptance of that stage; the first days cannot be judged; the 50 % -> 100 % switch of
2024-07-01 raises no alarm."""

from __future__ import annotations

import datetime as dt

import pytest
from warehouse import rows

from conftest import START, settings_for, small_options
from redcat import acceptances
from redcat.generate import Faults, PartnerDay, generate
from orchestration.runner import run

NO_PURCHASES = dt.date(2024, 7, 7)  # 13 days after START: a baseline exists
END = dt.date(2024, 7, 8)


def stages(settings):
    return {(d, s): (st, acc) for d, s, st, acc in rows(
        settings, "SELECT report_date, stage, status, is_accepted FROM marts.mart_callback_completeness_stages "
                  "WHERE partner = 'taobao'")}


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    home = tmp_path_factory.mktemp("stages")
    landing = home / "landing"
    generate(small_options(days=15, faults=Faults(drop_stage=((PartnerDay("taobao", NO_PURCHASES), "purchase"),))), landing)
    settings = settings_for(landing, home / "wh")
    out = {"settings": settings}
    out["incident"] = run(settings, START, END)
    out["incident_stages"] = stages(settings)
    acceptances.accept(settings, "taobao", NO_PURCHASES, "ops-oncall", "purchase feed down at taobao, confirmed", "purchase")
    out["cleared"] = run(settings, NO_PURCHASES, NO_PURCHASES)
    out["cleared_stages"] = stages(settings)
    out["brand_daily"] = rows(settings, "SELECT DISTINCT completeness_status, completeness_accepted FROM marts.mart_brand_daily "
                                        "WHERE report_date = ? AND partner = 'taobao'", [NO_PURCHASES])
    return out


def test_missing_purchases_fail_the_day_and_name_the_stage(story):
    incident = story["incident"]
    assert incident.exit_code == 1
    (check,) = [c for c in incident.failed_checks if c.name == "callback_completeness"]
    assert f"taobao {NO_PURCHASES} stage purchase" in check.description
    assert "--stage purchase" in check.description and "re-deliver" in check.description
    assert check.metadata["blocking_stages"] == [f"taobao {NO_PURCHASES} purchase"]
    failing = {k for k, (s, _) in story["incident_stages"].items() if s == "fail"}
    assert failing == {(NO_PURCHASES, "purchase")}
    # store visits of that day are complete: the old check alone would have published it
    assert story["incident_stages"][(NO_PURCHASES, "store_visit")][0] == "ok"
    assert {c.name for c in incident.failed_checks} == {"callback_completeness"}


def test_first_days_are_insufficient_data_and_the_switch_raises_no_alarm(story):
    status = story["incident_stages"]
    first = [status[(START + dt.timedelta(days=i), s)][0] for i in range(9) for s in ("search", "add_to_cart", "purchase")]
    assert set(first) == {"insufficient_data"}
    judged = {status[(d, s)][0] for (d, s) in status if s != "refund" and d != NO_PURCHASES and d >= dt.date(2024, 7, 1)}
    assert "fail" not in judged and "ok" in judged


def test_accepting_the_stage_clears_the_day_flagged(story):
    assert story["cleared"].exit_code == 0
    assert story["cleared_stages"][(NO_PURCHASES, "purchase")] == ("fail", True)
    assert story["cleared_stages"][(NO_PURCHASES, "search")][1] is False
    assert story["brand_daily"] == [("fail", True)]
