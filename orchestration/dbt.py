"""The dbt project as partitioned Dagster assets.

Partition D (a delivery date) runs `dbt build` with the delivery window [D, D+1) in
REDCAT_WINDOW_START/REDCAT_WINDOW_END (an analyst passes the same as --vars start_date/end_date;
the environment keeps dbt's partial parsing, which a changed var defeats); the models rebuild
every report date the day's deliveries touch (int_reprocessing_dates). A range run passes the
half-open window of the whole range. Unit tests check SQL logic, not data: they run in CI
(`make test`) and in an analyst's `dbt build`, not in the scheduled runs. dbt tests are asset checks; the
test `callback_completeness` on mart_callback_completeness gates the business marts (dbt
skips them when it fails) and carries its evidence in the check's metadata.

REDCAT_DBT_TARGET=spark (`redcat run --target spark`) runs the same step with `dbt build --target
spark`: the evidence, column types and row counts are then read from Spark's tables
(redcat/warehouse_reader.py), once dbt has exited.
"""

import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets
from dagster_dbt.dbt_project import DagsterDbtProjectPreparer

from orchestration.partitions import daily_partitions
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from redcat import reference
from redcat.completeness import completeness_evidence, log_evaluation
from redcat.config import DBT_PROJECT_DIR, environment
from redcat.warehouse_reader import dbt_target, open_reader

COMPLETENESS_CHECK = "callback_completeness"
PARTNERS_SOURCE = "partners"  # dbt source of every partner's tables (models/staging/_sources.yml)
LAYER_GROUPS = {"staging": "staging", "intermediate": "intermediate", "marts": "marts", "bi": "bi"}

# The venv's dbt, wherever redcat runs from (its bin/ need not be on PATH).
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")


def _manifest_is_stale(project: DbtProject) -> bool:
    manifest = project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [
        project.project_dir / "dbt_project.yml",
        *project.project_dir.glob("models/**/*"),
        *project.project_dir.glob("macros/**/*"),
        *project.project_dir.glob("tests/**/*"),
        *(project.project_dir.parent / "seeds").glob("*"),
    ]
    return any(p.is_file() and p.stat().st_mtime > built for p in sources)


class StaleManifestPreparer(DagsterDbtProjectPreparer):
    """dagster-dbt's preparer (`dbt parse` under its guard against concurrent updates, partial-parse
    seed refresh), run whenever the project changed since the manifest was written: in `dagster
    dev` as dagster-dbt does, and also in `redcat run`, tests and CI, so the asset graph always
    matches the SQL. It parses with the venv's dbt (dagster-dbt's default looks for `dbt` on PATH)."""

    def prepare_if_dev(self, project: DbtProject) -> None:
        if _manifest_is_stale(project):
            self.prepare(project)

    def _prepare_manifest(self, project: DbtProject) -> None:
        DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE).cli(
            self._prepare_project_cli_args, target_path=project.target_path
        ).wait()
        self._invalidate_seeds_in_partial_parse(project)


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR)
StaleManifestPreparer().prepare_if_dev(dbt_project)


class RedcatTranslator(DagsterDbtTranslator):
    """Models keyed [schema, name as it appears in the warehouse] and grouped by layer; seeds in
    `reference`; sources keep dagster-dbt's [source, table], which the ingestion assets share."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "seed"):
            schema = dbt_resource_props["config"].get("schema") or "main"
            return dg.AssetKey([schema, dbt_resource_props.get("alias") or dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        return LAYER_GROUPS.get(fqn[1] if len(fqn) > 2 else "", None)

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return ["team:analytics-engineering"]

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        """The dbt source `partners.<table>` holds every configured partner's files: in Dagster
        its readers depend on each partner's ingestion asset (taobao/callbacks, jd/callbacks, ...)."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        deps = []
        for dep in spec.deps:
            path = dep.asset_key.path
            if len(path) == 2 and path[0] == PARTNERS_SOURCE:
                deps += [
                    dg.AssetDep(dg.AssetKey([partner, path[1]]), partition_mapping=dep.partition_mapping)
                    for partner in reference.partners()
                ]
            else:
                deps.append(dep)
        return spec.replace_attributes(deps=deps) if deps != list(spec.deps) else spec


translator = RedcatTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
    name="redcat_dbt",
    required_resource_keys={"warehouse", "progress", "dbt"},
)
def redcat_dbt(context: dg.AssetExecutionContext) -> Iterator:
    dbt: RedcatDbtCliResource = context.resources.dbt
    warehouse: WarehouseResource = context.resources.warehouse
    settings = warehouse.settings()
    try:
        target = dbt_target()  # duckdb, or spark: the same step, checks and evidence on either engine
    except ValueError as e:
        raise dg.Failure(description=str(e)) from None
    window = context.partition_time_window
    start, end = window.start.date().isoformat(), window.end.date().isoformat()
    progress = context.resources.progress
    partition = f"{start}..{end}"
    # dagster-dbt starts dbt with a copy of os.environ (it has no env argument): the warehouse's paths
    # and the window are set for that start only, so a long-lived Dagster process carries neither
    # one run's paths nor one partition's window into the next.
    with environment({**settings.export_env(), "REDCAT_WINDOW_START": start, "REDCAT_WINDOW_END": end}):
        # One target directory per warehouse and target instead of a new one per run: it keeps the
        # partial-parse state, and Spark's artifacts apart from DuckDB's.
        invocation = dbt.cli(
            ["build", "--exclude-resource-type", "unit_test", "--target", target],
            context=context,
            raise_on_error=False,
            target_path=settings.dbt_target_dir(target),
        )
    # The warehouse is dbt's until it exits (DuckDB has one writer, Spark's Derby metastore one
    # process): model outputs (to add row counts and column types) and the completeness check (to
    # add its evidence) are held and yielded after, read through the engine that holds the data.
    outputs: list[dg.Output] = []
    held: list[dg.AssetCheckResult] = []
    for event in invocation.stream():
        if isinstance(event, dg.AssetCheckResult) and event.check_name == COMPLETENESS_CHECK:
            held.append(event)
        elif isinstance(event, dg.Output):
            progress.update(context, "dbt", partition, f"built {event.output_name}")
            outputs.append(event)
        else:
            yield event
    invocation.wait()
    with open_reader(settings, target) as reader:  # read-only, closed before the ops log is written
        outputs = list(_with_table_metadata(outputs, context, reader))
        checked = []
        for event in held:
            result, rows = _with_evidence(event, reader)
            checked.append((result, rows, _completeness_by_partition(result, reader, set(context.partition_keys))))
    yield from outputs
    for result, rows, evaluations in checked:
        log_evaluation(settings.warehouse, rows, context.run.run_id)  # the ops log stays in the DuckDB file
        for evaluation in evaluations:
            context.log_event(evaluation)
        yield result
    failed_nodes = _failed_nodes(invocation)
    if failed_nodes:
        raise dg.Failure(
            description="dbt could not build: "
            + "; ".join(failed_nodes)
            + f". Models downstream of these were not built. Fix the model or its logic (the dbt log is in "
            f"{invocation.target_path / 'dbt.log'}), then re-run these partitions.",
        )


EVIDENCE_COLUMNS = {  # column -> Dagster table type, for the partner-day evidence table
    "report_date": "string",
    "partner": "string",
    "clicked_users": "int",
    "visited_users": "int",
    "observed_coverage": "float",
    "expected_coverage": "float",
    "ci_low": "float",
    "ci_high": "float",
    "p_value_below": "float",
    "status": "string",
    "accepted_by": "string",
    "worst_status": "string",
    "failing_stages": "string",
    "failing_brands": "string",
    "profile_status": "string",
    "truncated_after_hour": "int",
}
COVERAGE_FLOATS = ("observed_coverage", "expected_coverage", "ci_low", "ci_high", "p_value_below", "p_value_above")


def _evidence_table(rows: list[dict]) -> dg.MetadataValue:
    records = [
        dg.TableRecord(
            {
                c: (
                    str(r[c])
                    if t == "string" and r[c] is not None
                    else float(r[c])
                    if t == "float" and r[c] is not None
                    else r[c]
                )
                for c, t in EVIDENCE_COLUMNS.items()
            }
        )
        for r in rows
    ]
    return dg.MetadataValue.table(
        records, schema=dg.TableSchema(columns=[dg.TableColumn(c, t) for c, t in EVIDENCE_COLUMNS.items()])
    )


def _completeness_by_partition(checked: dg.AssetCheckResult, reader, partitions: set[str]) -> list:
    """The completeness check once per report date that is a partition of this run: passed when no
    partner-day of that date blocks, with each partner's coverage and p-value as floats (Dagster
    charts them over the partitions) and the evidence rows as a table."""
    from redcat.completeness import explain, explain_brand, explain_profile, read_brand_rows, read_rows

    brands: dict[str, list[dict]] = {}
    for b in read_brand_rows(reader):
        if b["blocks_marts"]:
            brands.setdefault(b["report_date"].isoformat(), []).append(b)
    by_day: dict[str, list[dict]] = {}
    for row in read_rows(reader):
        by_day.setdefault(row["report_date"].isoformat(), []).append(row)
    out = []
    for day in sorted(set(by_day) & partitions):
        rows = by_day[day]
        metadata: dict = {"partner_days": _evidence_table(rows)}
        for r in rows:
            for column in COVERAGE_FLOATS:
                if r[column] is not None:
                    metadata[f"{r['partner']}_{column}"] = dg.MetadataValue.float(float(r[column]))
        out.append(
            dg.AssetCheckEvaluation(
                asset_key=checked.asset_key,
                check_name=checked.check_name,
                partition=day,
                severity=checked.severity,
                passed=not any(r["blocks_marts"] for r in rows),
                metadata=metadata,
                description=" ".join(
                    [explain(r) for r in rows]
                    + [explain_brand(b) for b in brands.get(day, [])]
                    + [explain_profile(r) for r in rows if r["profile_blocks"]]
                ),
            )
        )
    return out


def _with_evidence(event: dg.AssetCheckResult, reader) -> tuple[dg.AssetCheckResult, list[dict]]:
    """The check result with its evidence, and the evidence's partner-day rows (for the ops log)."""
    evidence = completeness_evidence(reader)
    metadata = {
        **event.metadata,
        **{k: v for k, v in evidence.metadata.items() if k not in ("partner_days", "stage_tests")},
    }
    for column in COVERAGE_FLOATS:  # one partner-day: its figures as floats
        if isinstance(metadata.get(column), (int, float)):
            metadata[column] = dg.MetadataValue.float(float(metadata[column]))
    if evidence.rows:
        metadata["partner_days"] = _evidence_table(evidence.rows)
    # one row per partner-day and callback stage other than store visits (mart_callback_completeness_stages)
    metadata["stage_tests"] = dg.MetadataValue.md(evidence.metadata.get("stage_tests") or "")
    return dg.AssetCheckResult(
        asset_key=event.asset_key,
        check_name=event.check_name,
        passed=event.passed,
        severity=event.severity,
        metadata=metadata,
        description=evidence.description,
    ), evidence.rows


def _with_table_metadata(outputs: list[dg.Output], context, reader) -> Iterator[dg.Output]:
    """The actual column types of every table or view dbt built, and the row count of tables
    (a view's count would scan what it reads: the raw layer's history, or a whole mart)."""
    keys = {o.output_name: tuple(context.asset_key_for_output(o.output_name).path) for o in outputs}
    relations = sorted({path for path in keys.values() if len(path) == 2})
    columns = reader.columns(relations)
    tables = reader.base_tables(list(columns))
    counts = reader.counts(sorted(tables))
    for output in outputs:
        path = keys[output.output_name]
        if path not in columns:
            yield output
            continue
        metadata = {
            **output.metadata,
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(name, dtype) for name, dtype in columns[path]]
            ),
        }
        if path in counts:
            metadata["dagster/row_count"] = counts[path]
        yield output.with_metadata(metadata)


def _failed_nodes(invocation) -> list[str]:
    """Models, seeds or snapshots that errored. Failing data tests are not here: they are asset
    checks (blocking ones stop the marts and fail the step). Unit tests are not run here (CI)."""
    try:
        results = invocation.get_artifact("run_results.json")["results"]
    except Exception:  # no artifact: dbt failed before running anything
        error = invocation.get_error()
        return [str(error)] if error else []
    return [
        f"{r['unique_id']}: {(r.get('message') or '').strip()}"
        for r in results
        if r["status"] == "error" and not r["unique_id"].startswith(("test.", "unit_test."))
    ]


class RedcatDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without the dbt adapter it opens in-process before every command.
    That adapter serves only fetch_row_counts/fetch_column_metadata, which redcat does itself
    once dbt has exited (DuckDB has one writer); building it cost 2.5 s of every run."""

    def _initialize_dbt_core_adapter(self, args):  # noqa: ARG002 - dagster-dbt's signature
        return None


dbt_resource = RedcatDbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
