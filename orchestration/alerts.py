"""Alerting sensors: a failed run, or a failed asset check, is sent to REDCAT_ALERT_WEBHOOK and/or
REDCAT_ALERT_COMMAND (redcat/alerts.py). Neither set: the sensors skip, nothing is sent.

They run in the Dagster daemon of `make ui` (or any daemon on the same instance) and see every
run of the instance, `redcat run`'s included."""

from __future__ import annotations

import json

import dagster as dg

from redcat import alerts

FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
RECENT_RUNS = 100


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    default_status=dg.DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=False,
    minimum_interval_seconds=30,
    description="Sends a failed run to REDCAT_ALERT_WEBHOOK / REDCAT_ALERT_COMMAND (default: none).",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext):
    if not alerts.configured():
        return dg.SkipReason("no REDCAT_ALERT_WEBHOOK or REDCAT_ALERT_COMMAND set")
    run = context.dagster_run
    tags = run.tags
    span = tags.get("dagster/partition") or "..".join(
        t for t in (tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")) if t
    )
    message = context.failure_event.message or "failed"
    for line in alerts.send(
        {
            "kind": "run_failure",
            "summary": f"redcat run {run.run_id[:8]} ({run.job_name} {span}) failed: {message}",
            "run_id": run.run_id,
            "job": run.job_name,
            "partition": span or None,
            "description": message,
            "dagster_home": context.instance.root_directory,
        }
    ):
        context.log.info(line)


@dg.sensor(
    name="alert_on_check_failure",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Sends every failed asset check (per partition where recorded) to REDCAT_ALERT_WEBHOOK / "
    "REDCAT_ALERT_COMMAND (default: none).",
)
def alert_on_check_failure(context: dg.SensorEvaluationContext):
    # Finished runs not looked at yet (the cursor keeps the ids of the last ones it saw; SQLite
    # storage is sharded by run, so the check results are read run by run).
    seen = json.loads(context.cursor) if context.cursor else []
    finished = context.instance.get_runs(filters=dg.RunsFilter(statuses=FINISHED), limit=RECENT_RUNS)
    new = [run for run in reversed(finished) if run.run_id not in seen]
    if not new:
        return dg.SkipReason("no newly finished runs")
    context.update_cursor(json.dumps([run.run_id for run in finished]))
    if not alerts.configured():
        return dg.SkipReason("no REDCAT_ALERT_WEBHOOK or REDCAT_ALERT_COMMAND set")
    sent = 0
    for run in new:
        for entry in context.instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
            evaluation = entry.dagster_event.event_specific_data
            if evaluation.passed:
                continue
            asset, check = evaluation.asset_key.to_user_string(), evaluation.check_name
            where = f" {evaluation.partition}" if evaluation.partition else ""
            for line in alerts.send(
                {
                    "kind": "check_failure",
                    "summary": f"{evaluation.severity.value} {asset} {check}{where}: {(evaluation.description or '')[:300]}",
                    "run_id": run.run_id,
                    "job": run.job_name,
                    "asset": asset,
                    "check": check,
                    "partition": evaluation.partition,
                    "severity": evaluation.severity.value,
                    "description": evaluation.description,
                    "dagster_home": context.instance.root_directory,
                }
            ):
                context.log.info(line)
            sent += 1
    if not sent:
        return dg.SkipReason(f"{len(new)} newly finished run(s), no failed check")
    return None
