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
        for name in (
            "manifest_control_totals",
            "ledger_balance",
            "sampling_ratio_matches_policy",
            "delivery_arrived",
            "volume_vs_trailing_median",
        ):
            assert (f"{partner}/callbacks", name) in checks
    assert ("marts/mart_callback_completeness", "callback_completeness") in checks
    assert any(a == "intermediate/int_attribution_credits" and "credits_sum_to_one" in n for a, n in checks)
    blocking = {
        c.key.name
        for a in defs.assets
        if isinstance(a, dg.AssetsDefinition)
        for c in a.check_specs
        if c.blocking and c.key.asset_key == dg.AssetKey(["taobao", "callbacks"])
    }
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
        tick = schedule.evaluate_tick(
            dg.build_schedule_context(
                instance=instance, scheduled_execution_time=dt.datetime(2024, 7, 16, 3, 0, tzinfo=SHANGHAI)
            )
        )
    assert [(r.partition_key, r.job_name) for r in tick.run_requests] == [("2024-07-15", "redcat_daily")]


def test_a_redcat_run_is_recorded_in_the_persistent_instance(clean_built):
    """`redcat run` materialises into REDCAT_DAGSTER_HOME (<warehouse dir>/dagster), the instance
    `make ui` opens: the run, every partition of its range and the check results are there."""
    settings, outcome = clean_built
    assert settings.dagster_home == settings.warehouse.parent / "dagster"
    assert (settings.dagster_home / "dagster.yaml").exists()
    instance = dg.DagsterInstance.from_config(str(settings.dagster_home))
    try:
        record = instance.get_run_by_id(outcome.run_id)
        assert record is not None and record.status == dg.DagsterRunStatus.SUCCESS
        assert record.tags["dagster/asset_partition_range_start"] == "2024-06-24"
        mart = dg.AssetKey(["marts", "mart_brand_daily"])
        materialised = instance.get_materialized_partitions(mart)
        assert {(dt.date(2024, 6, 24) + dt.timedelta(days=i)).isoformat() for i in range(16)} <= materialised
        # the compaction after the publication looked at the warehouse's dead space and said what it did
        (compaction,) = [
            e.asset_materialization
            for e in instance.fetch_materializations(dg.AssetKey(["ops", "warehouse_compaction"]), limit=1).records
        ]
        assert isinstance(compaction.metadata["free_share_before"], dg.FloatMetadataValue)
        # the one-writer pool is configured on this instance, so it holds for redcat run and `make ui` alike
        # checks recorded per partition: one evaluation per delivery date, and typed completeness evidence
        evaluations = [
            e.dagster_event.event_specific_data
            for e in instance.all_logs(outcome.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        ]
        balance = {
            e.partition
            for e in evaluations
            if e.check_name == "ledger_balance" and e.asset_key == dg.AssetKey(["taobao", "callbacks"])
        }
        assert {(dt.date(2024, 6, 24) + dt.timedelta(days=i)).isoformat() for i in range(16)} < balance | {None}
        completeness = [e for e in evaluations if e.check_name == "callback_completeness" and e.partition]
        assert len(completeness) >= 15 and all(e.passed for e in completeness)
        assert isinstance(completeness[0].metadata["taobao_observed_coverage"], dg.FloatMetadataValue)
        assert isinstance(completeness[0].metadata["partner_days"], dg.TableMetadataValue)
        assert outcome.partition_checks and not any(c.partition is None for c in outcome.partition_checks)
        pool = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
        assert pool.slot_count == 1 and not pool.claimed_slots, "one writer, and the slot is free after the run"
    finally:
        instance.dispose()
    log = settings.logs_dir / f"{outcome.run_id}.log"
    assert outcome.log_path == str(log) and (settings.logs_dir / "latest").resolve() == log.resolve()
    text = log.read_text()
    assert "Running with dbt=" in text or "Completed successfully" in text or "OK created" in text, text[:2000]
    assert "== Dagster events ==" in text and "STEP_SUCCESS redcat_dbt" in text


def test_imports_go_one_way():
    """orchestration/ uses redcat/, never the reverse: no module of redcat imports the code location."""
    import re
    from pathlib import Path

    import redcat

    offenders = [
        f"{p}:{n}"
        for p in Path(redcat.__file__).parent.rglob("*.py")
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if re.match(r"\s*(from|import)\s+orchestration\b", line)
    ]
    assert not offenders, offenders
