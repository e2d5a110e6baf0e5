"""The code follows the project's style: sqlfluff (dbt templater, .sqlfluff) finds nothing in the dbt
models, ruff (pyproject.toml) nothing in the Python.
`make lint` runs the same check; this test keeps it in `make test`, which CI runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_sqlfluff_finds_nothing_in_the_models(tmp_path):
    sqlfluff = str(Path(sys.executable).parent / "sqlfluff")
    # the dbt templater opens a connection: a scratch warehouse, not the user's
    # and its own target folder (runs of other tests read dbt_project/target)
    env = {
        **os.environ,
        "REDCAT_WAREHOUSE": str(tmp_path / "lint.duckdb"),
        "REDCAT_RAW_DIR": str(tmp_path / "raw"),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
    }
    done = subprocess.run(
        [sqlfluff, "lint", "dbt_project/models", "--format", "github-annotation-native", "--disable-progress-bar"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    violations = [line for line in done.stdout.splitlines() if line.startswith("::")]
    assert done.returncode == 0 and not violations, (
        f"sqlfluff found {len(violations)} violations (fix with `.venv/bin/sqlfluff fix <file>`, see .sqlfluff):\n"
        + "\n".join(violations[:30])
        + ("" if violations else done.stdout[-2000:] + done.stderr[-2000:])
    )


def test_ruff_finds_nothing_in_the_python():
    """`ruff check` and `ruff format --check` (configured in pyproject.toml) pass on every Python file."""
    ruff = str(Path(sys.executable).parent / "ruff")
    for args, fix in ((["check", "."], "ruff check --fix ."), (["format", "--check", "."], "ruff format .")):
        done = subprocess.run([ruff, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"`ruff {' '.join(args)}` failed (fix with `.venv/bin/{fix}`):\n" + (
            done.stdout[-3000:] + done.stderr[-2000:]
        )
