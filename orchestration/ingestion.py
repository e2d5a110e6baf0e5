"""Ingestion assets: one per landing table, keyed like the dbt source it feeds
(`content/note_events`, `taobao/callbacks`, ...), partitioned by Asia/Shanghai delivery date.

Each asset loads its partitions through `redcat.ingest.loader` and reports its checks
right after materialising:

| check | blocking | fails when |
| --- | --- | --- |
| manifest_control_totals | yes | sha256 or row count differ from the manifest, the manifest or file is unreadable, a content dump is missing |
| sampling_ratio_matches_policy (partners) | yes | the manifest's programme or ratio disagrees with the policy seed |
| ledger_balance | yes | loaded + quarantined + duplicates != declared, or the raw file does not hold what the ledger says |
| delivery_arrived (partners) | no | the partner's dump for the day did not arrive (the completeness check then says no_delivery) |
| quarantine_rate | no | more than 1 % of a file's lines were quarantined |
| volume_vs_trailing_median | no | the sampling-normalised volume is outside 0.5x-2x the 14-day median |
| no_later_duplicates | no | an earlier delivery, loaded late, repeats keys already in later partitions (`redcat run` re-runs them) |
| landing_warnings | no | a delivery folder holds files its manifest does not list, or a refund exceeds its order's purchase |
"""

import datetime as dt
from collections.abc import Iterator

import dagster as dg

from orchestration.partitions import daily_partitions
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from redcat import contract, reference
from redcat.contract import SourceTable
from redcat.ingest.balance import ledger_balance_problem
from redcat.ingest.loader import (
    DELIVERIES_TABLE,
    LOADED,
    NO_DELIVERY,
    NOT_IN_PROGRAMME,
    REJECTED,
    Loader,
    LoadResult,
)
from redcat.ingest.quality import QUARANTINE_WARN_SHARE, volume_verdict

GROUP = "raw"

DESCRIPTIONS = {
    "note_events": "Content-side events (read, like, collect, comment, share, link_click), validated and deduplicated "
    "(first delivery wins). One Parquet file per delivery date, sorted by event_time.",
    "notes": "Notes published or changed, as delivered (a later delivery restates a note; staging keeps the latest).",
    "ad_spend": "Ad spend rows of the delivery date, by campaign, note and funding source (brand or partner).",
    "callbacks": "Partner callbacks (search, store_visit, add_to_cart, purchase, refund) of sampled users, "
    "validated and deduplicated (first delivery wins).",
    "deliveries": "One row per delivery date: arrival status, programme version and sampling ratio of the partner's "
    "manifest. dbt reads it for the completeness check (no_delivery).",
}


def _is_partner(table: SourceTable) -> bool:
    return table.source in reference.partners()


def _freshness(table: SourceTable) -> dg.FreshnessPolicy | None:
    if not _is_partner(table):
        return None
    # The partner's dump for day D is due D + deadline hours (seeds/partners.csv); the daily run
    # at 03:00 ingests it, so a materialisation older than a day at 04:00 means it is late.
    return dg.FreshnessPolicy.cron(
        deadline_cron="0 4 * * *", lower_bound_delta=dt.timedelta(hours=24), timezone="Asia/Shanghai"
    )


RAW_TYPES = {"timestamp": "TIMESTAMPTZ", "date": "DATE", "amount": "DECIMAL(18,2)"}


def _column_schema(table: SourceTable) -> dg.TableSchema:
    """The raw Parquet columns: the contract's fields, typed, plus lineage."""
    fields = [
        dg.TableColumn(
            f.name, RAW_TYPES.get(f.kind, "VARCHAR"), description=("enum: " + ", ".join(f.enum)) if f.enum else None
        )
        for f in table.fields
    ]
    lineage = [
        dg.TableColumn("delivery_date", "DATE", description="dt= of the delivery"),
        dg.TableColumn("source_file", "VARCHAR", description="landing file, relative to the landing zone"),
        dg.TableColumn("source_line", "BIGINT", description="line in that file"),
    ]
    return dg.TableSchema(columns=fields + lineage)


def _check_specs(table: SourceTable, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    specs = [
        dg.AssetCheckSpec(
            "manifest_control_totals",
            asset=key,
            blocking=True,
            description="Every file matches its manifest's sha256 and row count; nothing is loaded from a file that does not.",
        ),
        dg.AssetCheckSpec(
            "ledger_balance",
            asset=key,
            blocking=True,
            description="loaded + quarantined + duplicates = declared rows, and the raw file holds exactly the loaded rows.",
        ),
        dg.AssetCheckSpec(
            "quarantine_rate",
            asset=key,
            description=f"At most {QUARANTINE_WARN_SHARE:.0%} of a file's lines are quarantined.",
        ),
        dg.AssetCheckSpec(
            "volume_vs_trailing_median",
            asset=key,
            description="Sampling-normalised volume within 0.5x-2x of the trailing 14-day median.",
        ),
        dg.AssetCheckSpec(
            "landing_warnings",
            asset=key,
            description="Nothing odd but loadable: no unlisted files in the delivery folder, no refund above "
            "its order's purchase (docs/ingestion.md).",
        ),
    ]
    if _is_partner(table):
        specs += [
            dg.AssetCheckSpec(
                "sampling_ratio_matches_policy",
                asset=key,
                blocking=True,
                description="The manifest's programme version and sampling ratio equal seeds/callback_sampling_policy.csv.",
            ),
            dg.AssetCheckSpec(
                "delivery_arrived",
                asset=key,
                description="The partner's dump arrived (a missing one is reported as no_delivery by the completeness check).",
            ),
        ]
    if table.dedup == "first":
        specs.append(
            dg.AssetCheckSpec(
                "no_later_duplicates",
                asset=key,
                description="Loading an earlier delivery late did not leave its keys duplicated in later partitions.",
            )
        )
    return specs


def build_ingestion_asset(table: SourceTable) -> dg.AssetsDefinition:
    key = dg.AssetKey([table.source, table.table])
    specs = [
        dg.AssetSpec(
            key,
            description=DESCRIPTIONS[table.table],
            group_name=GROUP,
            kinds={"duckdb", "parquet"},
            owners=["team:data-engineering"],
            freshness_policy=_freshness(table),
            metadata={
                "landing_file": f"dt=YYYY-MM-DD/{contract.delivery_dir(table.source)}/{table.stem}[.gz]",
                "key": ", ".join(table.key),
                "dedup": f"{table.dedup} delivery wins",
                "dagster/column_schema": _column_schema(table),
            },
        ),
    ]
    if _is_partner(table):
        specs.append(
            dg.AssetSpec(
                dg.AssetKey([table.source, DELIVERIES_TABLE]),
                description=DESCRIPTIONS[DELIVERIES_TABLE],
                group_name=GROUP,
                kinds={"parquet"},
                owners=["team:data-engineering"],
            )
        )

    @dg.multi_asset(
        name=f"ingest_{table.source}_{table.table}",
        specs=specs,
        check_specs=_check_specs(table, key),
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        required_resource_keys={"warehouse", "progress"},
    )
    def ingest(context: dg.AssetExecutionContext) -> Iterator:
        warehouse: WarehouseResource = context.resources.warehouse
        settings = warehouse.settings()
        days = [dt.date.fromisoformat(k) for k in context.partition_keys]
        progress = context.resources.progress
        step = f"{table.source}/{table.table}"
        results: list[LoadResult] = []
        with Loader(settings, run_id=context.run.run_id) as loader:
            for line in loader.recovered:
                context.log.warning(line)
            for day in days:
                loader.progress = lambda stage, d=day: progress.update(context, step, d.isoformat(), stage)
                res = loader.load(table, day, reloading_until=days[-1])
                results.append(res)
                progress.done(step, res.delivery_date, _one_line(res))
                (context.log.error if res.status == REJECTED else context.log.info)(
                    f"{step} {res.delivery_date}: {_one_line(res)}"
                )
                for warning in res.warnings:
                    context.log.warning(f"{step} {res.delivery_date}: {warning}")
            checks = list(_evaluate_checks(table, key, loader, results))
        yield dg.MaterializeResult(asset_key=key, metadata=_metadata(results))
        if _is_partner(table):
            yield dg.MaterializeResult(
                asset_key=dg.AssetKey([table.source, DELIVERIES_TABLE]),
                metadata={"statuses": dg.MetadataValue.json({r.delivery_date: r.status for r in results})},
            )
        for event in checks:
            if isinstance(event, dg.AssetCheckEvaluation):
                context.log_event(event)  # one per delivery date, recorded with its partition
            else:
                yield event

    return ingest


def _one_line(res: LoadResult) -> str:
    if res.status == LOADED:
        return (
            f"loaded {res.rows_loaded:,} of {res.rows_declared:,} declared rows, quarantined {res.rows_quarantined:,}, "
            f"duplicates {res.rows_duplicate:,} ({res.seconds:.1f} s)"
        )
    return f"{res.status}: {res.message}"


def _metadata(results: list[LoadResult]) -> dict:
    loaded = [r for r in results if r.status == LOADED]
    meta = {
        "dagster/row_count": sum(r.rows_loaded for r in results),
        "rows_declared": sum(r.rows_declared or 0 for r in loaded),
        "rows_quarantined": sum(r.rows_quarantined for r in results),
        "rows_duplicate": sum(r.rows_duplicate for r in results),
        "statuses": dg.MetadataValue.json({r.delivery_date: r.status for r in results}),
        "seconds": round(sum(r.seconds for r in results), 2),
    }
    rows = [
        "| delivery date | status | declared | loaded | quarantined | duplicates | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    rows += [
        f"| {r.delivery_date} | {r.status} | {r.rows_declared if r.rows_declared is not None else ''} | {r.rows_loaded} "
        f"| {r.rows_quarantined} | {r.rows_duplicate} | {r.seconds:.2f} |"
        for r in results
    ]
    meta["partitions"] = dg.MetadataValue.md("\n".join(rows))
    return meta


def _checked(
    days: list[str],
    key,
    name,
    failures: list[tuple[str, str]],
    passed_note: str,
    *,
    severity=dg.AssetCheckSeverity.ERROR,
    metadata: dict | None = None,
) -> list:
    """One AssetCheckEvaluation per delivery date (so a partition's check history in the UI is its
    own, and a failed range marks only the dates that failed), then the step's AssetCheckResult."""
    by_day: dict[str, list[str]] = {}
    for day, text in failures:
        by_day.setdefault(day, []).append(text)
    per_partition = [
        dg.AssetCheckEvaluation(
            asset_key=key,
            check_name=name,
            passed=day not in by_day,
            severity=severity,
            partition=day,
            description="; ".join(by_day[day]) if day in by_day else passed_note,
            metadata={"failures": len(by_day.get(day, []))},
        )
        for day in days
    ]
    texts = [text for _, text in failures]
    meta = dict(metadata or {})
    meta["failed_partitions"] = dg.MetadataValue.int(len(by_day))
    if texts:
        meta["failures"] = dg.MetadataValue.md("\n".join(f"- {f}" for f in texts))
    return [
        *per_partition,
        dg.AssetCheckResult(
            asset_key=key,
            check_name=name,
            passed=not texts,
            severity=severity,
            metadata=meta,
            description=(texts[0] if len(texts) == 1 else f"{len(by_day)} partitions failed; first: {texts[0]}")
            if texts
            else passed_note,
        ),
    ]


def _evaluate_checks(table: SourceTable, key: dg.AssetKey, loader: Loader, results: list[LoadResult]) -> Iterator:
    """Each check's overall result (which blocks downstream when it fails), after one evaluation
    per delivery date (`_per_partition`): failures are (delivery date, what) pairs."""
    partner = _is_partner(table)
    days = [r.delivery_date for r in results]
    _result = lambda *a, **kw: _checked(days, *a, **kw)  # noqa: E731

    def where(r):
        return f"{table.source}/{table.table} dt={r.delivery_date}"

    manifest_failures = [
        (r.delivery_date, f"{where(r)}: {r.message}")
        for r in results
        if (r.status == REJECTED and r.rejected_by in ("manifest", "contract"))
        or (not partner and r.status == NO_DELIVERY)
    ]
    yield from _result(
        key,
        "manifest_control_totals",
        manifest_failures,
        f"{sum(r.status == LOADED for r in results)} file(s) match their manifests",
    )

    balance_failures = [
        (r.delivery_date, f"{where(r)}: {m}") for r in results if (m := ledger_balance_problem(loader.con, table, r))
    ]
    yield from _result(
        key,
        "ledger_balance",
        balance_failures,
        "loaded + quarantined + duplicates = declared for every loaded file, and the raw files agree",
    )

    heavy = [
        (
            r.delivery_date,
            f"{where(r)}: {r.rows_quarantined:,} of {r.rows_declared:,} lines quarantined "
            f"({r.quarantine_by_reason}); see ops.quarantine for the lines and reasons",
        )
        for r in results
        if r.status == LOADED and r.rows_declared and r.rows_quarantined / r.rows_declared > QUARANTINE_WARN_SHARE
    ]
    yield from _result(
        key,
        "quarantine_rate",
        heavy,
        "quarantined lines below 1 % of every file",
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "quarantined": sum(r.rows_quarantined for r in results),
            "by_reason": dg.MetadataValue.json(_sum_reasons(results)),
        },
    )

    verdicts = [
        volume_verdict(loader.con, table.source, table.table, dt.date.fromisoformat(r.delivery_date))
        for r in results
        if r.status == LOADED
    ]
    yield from _result(
        key,
        "volume_vs_trailing_median",
        [(v.day, v.message) for v in verdicts if not v.ok],
        "; ".join(v.message for v in verdicts[-3:]) or "nothing loaded",
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"days": dg.MetadataValue.json([v.__dict__ for v in verdicts])},
    )

    warned = [(r.delivery_date, f"{where(r)}: {w}") for r in results for w in r.warnings]
    yield from _result(
        key,
        "landing_warnings",
        warned,
        "no unlisted files, no refund above its order",
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"warnings": len(warned), "over_refunds": sum(r.over_refunds for r in results)},
    )

    if partner:
        policy_failures = [
            (r.delivery_date, f"{where(r)}: {r.message}")
            for r in results
            if r.status == REJECTED and r.rejected_by == "policy"
        ]
        yield from _result(
            key,
            "sampling_ratio_matches_policy",
            policy_failures,
            "every manifest's programme and ratio match the policy seed",
        )
        missing = [(r.delivery_date, f"{where(r)}: {r.message}") for r in results if r.status == NO_DELIVERY]
        yield from _result(
            key,
            "delivery_arrived",
            missing,
            "every programme day's dump arrived",
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"not_in_programme": sum(r.status == NOT_IN_PROGRAMME for r in results)},
        )
    if table.dedup == "first":
        conflicts = [
            (
                r.delivery_date,
                f"{where(r)}: {r.later_conflicts:,} of its keys are also in later partitions; re-run "
                "the later delivery dates so the first delivery wins",
            )
            for r in results
            if r.later_conflicts
        ]
        yield from _result(
            key,
            "no_later_duplicates",
            conflicts,
            "no key of these deliveries appears in later partitions",
            severity=dg.AssetCheckSeverity.WARN,
        )


def _sum_reasons(results: list[LoadResult]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in results:
        for reason, n in r.quarantine_by_reason.items():
            out[reason] = out.get(reason, 0) + n
    return out


ingestion_assets = [build_ingestion_asset(t) for t in contract.ALL_TABLES]
INGESTION_KEYS = [dg.AssetKey([t.source, t.table]) for t in contract.ALL_TABLES]
