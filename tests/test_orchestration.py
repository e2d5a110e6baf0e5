"""The Dagster code location: one Definitions, assets by layer, checks, pool, schedule, freshness."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from orchestration.definitions import defs
from orchestration.resources import WAREHOUSE_POOL
from redcat import reference

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def graph():
    return defs.resolve_asset_graph()


def test_assets_are_grouped_by_layer(graph):
    groups = {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups["taobao/callbacks"] == groups["content/note_events"] == "raw"
    assert groups["staging/stg_content__note_events"] == "staging"
    assert groups["intermediate/int_attribution_credits"] == "intermediate"
    assert groups["marts/mart_brand_daily"] == groups["marts/fct_attribution"] == "marts"
    assert groups["bi/mart_brand_daily"] == "bi"
    assert groups["reference/callback_sampling_policy"] == "reference"


def test_ingestion_assets_are_keyed_like_the_dbt_sources(graph):
    events = graph.get(dg.AssetKey(["staging", "stg_content__note_events"]))
    assert dg.AssetKey(["content", "note_events"]) in events.parent_keys
    # one dbt source holds every partner's callbacks; each partner's ingestion asset feeds it
    callbacks = graph.get(dg.AssetKey(["staging", "stg_partners__callbacks"]))
    assert {dg.AssetKey([p, "callbacks"]) for p in reference.partners()} <= set(callbacks.parent_keys)
    assert dg.AssetKey(["partners", "callbacks"]) not in graph.get_all_asset_keys()
    assert graph.get(dg.AssetKey(["taobao", "callbacks"])).is_materializable


def test_checks_sit_next_to_the_assets_they_guard(graph):
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    for partner in ("taobao", "jd"):
        for name in ("manifest_control_totals", "ledger_balance", "sampling_ratio_matches_policy", "delivery_arrived",
                     "volume_vs_trailing_median"):
            assert (f"{partner}/callbacks", name) in checks
    assert ("marts/mart_callback_completeness", "callback_completeness") in checks
    assert any(a == "intermediate/int_attribution_credits" and "credits_sum_to_one" in n for a, n in checks)
    blocking = {c.key.name for a in defs.assets if isinstance(a, dg.AssetsDefinition)
                for c in a.check_specs if c.blocking and c.key.asset_key == dg.AssetKey(["taobao", "callbacks"])}
    assert {"manifest_control_totals", "ledger_balance", "sampling_ratio_matches_policy"} <= blocking


def test_everything_that_writes_the_warehouse_shares_one_pool():
    pools = {a.node_def.name: a.node_def.pool for a in defs.assets if isinstance(a, dg.AssetsDefinition)}
    assert pools and set(pools.values()) == {WAREHOUSE_POOL}, pools


def test_partitions_are_asia_shanghai_days(graph):
    partitions = graph.get(dg.AssetKey(["marts", "mart_brand_daily"])).partitions_def
    assert partitions.timezone == "Asia/Shanghai"
    assert partitions == graph.get(dg.AssetKey(["content", "note_events"])).partitions_def


def test_partner_dumps_have_a_freshness_policy(graph):
    for partner in ("taobao", "jd"):
        assert graph.get(dg.AssetKey([partner, "callbacks"])).freshness_policy is not None


def test_daily_schedule_runs_the_previous_delivery_date_at_3_in_shanghai():
    schedule = defs.resolve_schedule_def("redcat_daily_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 3 * * *", "Asia/Shanghai")
    with dg.instance_for_test() as instance:
        tick = schedule.evaluate_tick(dg.build_schedule_context(
            instance=instance, scheduled_execution_time=dt.datetime(2024, 7, 16, 3, 0, tzinfo=SHANGHAI)))
    assert [(r.partition_key, r.job_name) for r in tick.run_requests] == [("2024-07-15", "redcat_daily")]
