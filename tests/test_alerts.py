"""Alerting: a failed check and a failed run reach a webhook (a real HTTP receiver on 127.0.0.1)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
import pytest

from orchestration.alerts import alert_on_check_failure, alert_on_run_failure

daily = dg.DailyPartitionsDefinition(start_date="2024-07-01")


@dg.asset(partitions_def=daily, check_specs=[dg.AssetCheckSpec("rows_balance", asset="tiny")])
def tiny(context):
    yield dg.MaterializeResult()
    context.log_event(
        dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey("tiny"),
            check_name="rows_balance",
            passed=False,
            partition=context.partition_key,
            description="3 rows missing",
        )
    )
    yield dg.AssetCheckResult(check_name="rows_balance", passed=False, description="3 rows missing")


@dg.asset
def broken():
    raise RuntimeError("the warehouse is gone")


@pytest.fixture
def receiver():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def test_a_failed_check_and_a_failed_run_reach_the_webhook(receiver, monkeypatch):
    url, received = receiver
    with dg.instance_for_test() as instance:
        dg.materialize([tiny], instance=instance, partition_key="2024-07-02", raise_on_error=False)
        # nothing configured: the sensor skips and sends nothing
        monkeypatch.delenv("REDCAT_ALERT_WEBHOOK", raising=False)
        monkeypatch.delenv("REDCAT_ALERT_COMMAND", raising=False)
        skipped = alert_on_check_failure(dg.build_sensor_context(instance=instance))
        assert isinstance(skipped, dg.SkipReason) and received == []

        monkeypatch.setenv("REDCAT_ALERT_WEBHOOK", url)
        context = dg.build_sensor_context(instance=instance)
        alert_on_check_failure(context)
        checks = [a for a in received if a["kind"] == "check_failure"]
        assert {(a["asset"], a["check"], a["partition"]) for a in checks} == {
            ("tiny", "rows_balance", "2024-07-02"),
            ("tiny", "rows_balance", None),
        }
        assert all("3 rows missing" in a["summary"] for a in checks)
        again = alert_on_check_failure(dg.build_sensor_context(instance=instance, cursor=context.cursor))
        assert isinstance(again, dg.SkipReason) and len(received) == 2, "each failure is sent once"

        result = dg.materialize([broken], instance=instance, raise_on_error=False)
        run = instance.get_run_by_id(result.run_id)
        failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        alert_on_run_failure(
            dg.build_run_status_sensor_context(
                sensor_name="alert_on_run_failure", dagster_instance=instance, dagster_run=run, dagster_event=failure
            ).for_run_failure()
        )
    runs = [a for a in received if a["kind"] == "run_failure"]
    assert len(runs) == 1 and runs[0]["run_id"] == result.run_id and "failed" in runs[0]["summary"]


def test_a_command_receives_the_alert_on_stdin(tmp_path, monkeypatch):
    from redcat import alerts

    out = tmp_path / "alert.json"
    monkeypatch.delenv("REDCAT_ALERT_WEBHOOK", raising=False)
    monkeypatch.setenv("REDCAT_ALERT_COMMAND", f"tee {out}")
    assert alerts.send({"kind": "check_failure", "summary": "x"}) == ["command tee: exit 0"]
    assert json.loads(out.read_text())["summary"] == "x"
