"""Completeness end to end: an incomplete partner-day fails exactly there, withholds the marts,
is noticed when re-delivered, and is cleared by the re-delivery or by an operator's acceptance."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import replace

import dagster as dg
import pytest
from conftest import START, settings_for, small_options
from warehouse import rows

from orchestration.runner import run
from redcat import acceptances
from redcat.generate import Faults, PartnerDay, generate

LOST = dt.date(2024, 7, 5)  # taobao loses half of its users' callbacks (100 % sampling period)
MISSING = dt.date(2024, 7, 7)  # taobao's dump never arrives
END = dt.date(2024, 7, 9)


def marts_end(settings):
    return rows(settings, "SELECT max(report_date) FROM marts.mart_brand_daily")[0][0]


def completeness(settings):
    return {
        (d, p): (s, acc)
        for d, p, s, acc in rows(
            settings, "SELECT report_date, partner, status, is_accepted FROM marts.mart_callback_completeness"
        )
    }


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """Runs the stages once; the tests read what each stage left behind."""
    home = tmp_path_factory.mktemp("incident")
    landing = home / "landing"
    generate(
        small_options(
            faults=Faults(
                lose_callbacks=((PartnerDay("taobao", LOST), 0.5),), drop_delivery=(PartnerDay("taobao", MISSING),)
            )
        ),
        landing,
    )
    settings = settings_for(landing, home / "wh")
    out = {"settings": settings, "landing": landing}
    out["clean"] = run(settings, START, LOST - dt.timedelta(days=1))
    out["clean_end"] = marts_end(settings)
    out["incident"] = run(settings, LOST, END)
    out["incident_end"] = marts_end(settings)
    out["incident_status"] = completeness(settings)

    # the partner re-delivers the lossy day; the sensor notices before anyone re-runs
    target = landing / f"dt={LOST}" / "partner=taobao"
    shutil.rmtree(target)
    shutil.copytree(landing / "_ground_truth" / "redelivery" / f"dt={LOST}" / "partner=taobao", target)
    from orchestration.automation import late_delivery_sensor
    from orchestration.resources import WarehouseResource

    def sensor_tick():
        resource = WarehouseResource(
            landing_dir=str(landing), warehouse=str(settings.warehouse), raw_dir=str(settings.raw_dir)
        )
        with dg.instance_for_test() as instance:
            return late_delivery_sensor(dg.build_sensor_context(instance=instance, resources={"warehouse": resource}))

    out["sensor_after_redelivery"] = sensor_tick()
    # the missing day will not come: an operator accepts it
    acceptances.accept(settings, "taobao", MISSING, "ops-oncall", "JD-style outage at the partner, confirmed by email")
    out["cleared"] = run(settings, LOST, END)
    out["cleared_end"] = marts_end(settings)
    out["cleared_status"] = completeness(settings)
    out["sensor_after_rerun"] = sensor_tick()
    return out


def test_a_clean_window_with_50_percent_sampling_passes(story):
    assert story["clean"].exit_code == 0
    statuses = {s for (d, p), (s, _) in story["incident_status"].items() if d < LOST}
    assert statuses == {"ok"}
    assert (
        rows(story["settings"], "SELECT count(*) FROM marts.mart_callback_completeness WHERE sampling_ratio = 0.5")[0][
            0
        ]
        >= 7
    )


def test_an_incomplete_partner_day_fails_exactly_there_and_withholds_the_marts(story):
    incident = story["incident"]
    assert incident.exit_code == 1
    (check,) = [c for c in incident.failed_checks if c.name == "callback_completeness"]
    assert f"taobao {LOST}" in check.description and f"taobao {MISSING}" in check.description
    assert "re-deliver" in check.description and "redcat accept" in check.description
    assert set(check.metadata["blocking_partner_days"]) == {f"taobao {LOST}", f"taobao {MISSING}"}
    failing = {(d, s) for (d, p), (s, _) in story["incident_status"].items() if s not in ("ok",)}
    assert failing == {(LOST, "fail"), (MISSING, "no_delivery")}
    # BI keeps the last good state: nothing after the clean run was published
    assert story["clean_end"] == LOST - dt.timedelta(days=1) == story["incident_end"]
    assert {c.name for c in incident.failed_checks} == {"callback_completeness"}


def test_the_sensor_notices_the_redelivery(story):
    requests = story["sensor_after_redelivery"]
    assert [r.partition_key for r in requests] == [LOST.isoformat()]
    assert "re-delivered" in requests[0].tags["redcat/reason"]
    assert isinstance(story["sensor_after_rerun"], dg.SkipReason)


def test_redelivery_and_acceptance_clear_the_incident(story):
    assert story["cleared"].exit_code == 0
    assert story["cleared_end"] == END
    status = story["cleared_status"]
    assert status[(LOST, "taobao")] == ("ok", False)
    assert status[(MISSING, "taobao")] == ("no_delivery", True)
    flagged = rows(
        story["settings"],
        "SELECT DISTINCT completeness_status, completeness_accepted FROM marts.mart_brand_daily "
        "WHERE report_date = ? AND partner = 'taobao'",
        [MISSING],
    )
    assert flagged == [("no_delivery", True)]
    (check,) = [c for c in story["cleared"].checks if c.name == "callback_completeness"]
    assert check.passed and "ops-oncall" in check.description


def test_a_day_too_small_to_judge_is_insufficient_data_and_does_not_block(tmp_path):
    landing = tmp_path / "landing"
    opts = small_options(days=2)
    generate(replace(opts, scale=replace(opts.scale, events_per_day=2500, users=600)), landing)
    settings = settings_for(landing, tmp_path / "wh")
    outcome = run(settings, START, START + dt.timedelta(days=1))
    assert outcome.exit_code == 0
    assert {s for s, _ in completeness(settings).values()} == {"insufficient_data"}
