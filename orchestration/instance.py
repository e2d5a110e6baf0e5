"""The one persistent Dagster instance of a warehouse: REDCAT_DAGSTER_HOME, default
`<warehouse dir>/dagster` (redcat/config.py).

`redcat run`, `make ui` (webserver and daemon, hence the schedule and the sensors) all open this
instance, so every run, materialisation, partition and check result is in one place, and the
concurrency pool `redcat_warehouse` (limit 1, orchestration/dagster.yaml) admits one warehouse
writer at a time across all of them.

`python -m orchestration.instance` prepares the directory and prints it (used by `make ui`).
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import dagster as dg

INSTANCE_YAML = Path(__file__).with_name("dagster.yaml")
# tags of runs started by `redcat run` (which process on which host: see release_abandoned_runs)
ENTRY_TAG, PID_TAG, HOST_TAG = "redcat/entry", "redcat/pid", "redcat/host"


def prepare_home(home: Path) -> Path:
    """Create the instance directory with redcat's dagster.yaml (pools, telemetry) unless one
    is there already (an operator's own configuration, e.g. Postgres storage, is kept)."""
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists():
        shutil.copyfile(INSTANCE_YAML, target)
    return home


def instance_for(home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(prepare_home(home)))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def release_abandoned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Runs of `redcat run` on this host whose process is gone (killed) still hold their pool
    slot and show as STARTED: mark them failed and free their slots, so the next run does not wait
    for a writer that no longer exists. Returns what was done, for the log."""
    done = []
    host = socket.gethostname()
    records = instance.get_runs(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING], tags={ENTRY_TAG: "redcat run"}
        )
    )
    for run in records:
        pid = run.tags.get(PID_TAG)
        if run.tags.get(HOST_TAG) != host or not pid or not pid.isdigit() or _alive(int(pid)):
            continue
        instance.report_run_failed(run, message=f"the redcat run process (pid {pid}) ended without finishing")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        done.append(f"released run {run.run_id}: its process {pid} had ended without finishing")
    return done


if __name__ == "__main__":
    from redcat.config import Settings

    print(prepare_home(Settings.from_env().dagster_home))
    sys.exit(0)
