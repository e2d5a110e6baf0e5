"""Where failures are announced: a webhook, a command, or nowhere (the default).

REDCAT_ALERT_WEBHOOK  URL that receives a JSON POST per failure (Slack/Teams/any HTTP endpoint
                      behind a relay; the body is the alert as below)
REDCAT_ALERT_COMMAND  command run per failure with the alert as JSON on stdin (e.g. a script
                      that calls `mail` or a pager), split like a shell line, no shell

An alert: {"kind": "run_failure" | "check_failure", "summary": one line, "run_id", "job",
"asset", "check", "partition", "description", "dagster_home"}. The Dagster sensors that send
them are `alert_on_run_failure` and `alert_on_check_failure` (docs/operations.md)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import urllib.request

TIMEOUT_SECONDS = 10


def configured() -> dict[str, str]:
    return {k: v for k in ("REDCAT_ALERT_WEBHOOK", "REDCAT_ALERT_COMMAND") if (v := os.environ.get(k, "").strip())}


def send(alert: dict) -> list[str]:
    """Deliver one alert to every configured target; returns what was done (for the sensor's log).
    A target that fails is reported, never raised: one broken hook must not stop the others."""
    targets = configured()
    body = json.dumps(alert, default=str).encode()
    done = []
    if "REDCAT_ALERT_WEBHOOK" in targets:
        url = targets["REDCAT_ALERT_WEBHOOK"]
        request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                done.append(f"webhook {url}: HTTP {response.status}")
        except OSError as e:
            done.append(f"webhook {url} failed: {e}")
    if "REDCAT_ALERT_COMMAND" in targets:
        command = shlex.split(targets["REDCAT_ALERT_COMMAND"])
        try:
            proc = subprocess.run(command, input=body, capture_output=True, timeout=TIMEOUT_SECONDS)
            done.append(f"command {command[0]}: exit {proc.returncode}")
        except (OSError, subprocess.TimeoutExpired) as e:
            done.append(f"command {command[0]} failed: {e}")
    return done
