"""The dbt project's SQL as dbt compiles it, for the simulation tests and benchmarks that run a
model's real SQL in a scratch DuckDB on simulated inputs.

One `dbt compile` of the whole project (about as long as compiling one model: parsing dominates)
serves every test module of a session (the `compiled_project` fixture in conftest.py). The
compiled SQL names its relations `warehouse.<schema>.<table>`: run it in a DuckDB file named
warehouse.duckdb (`CompiledProject.scratch`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from redcat.config import DBT_PROJECT_DIR

DBT = str(Path(sys.executable).parent / "dbt")


@dataclass(frozen=True)
class CompiledProject:
    root: Path  # <target>/compiled/redcat

    def sql(self, name: str) -> str:
        """A model's (or a data test's) compiled SQL, by its name."""
        found = list(self.root.rglob(f"{name}.sql"))
        assert len(found) == 1, f"{name}: {len(found)} compiled files under {self.root}"
        return found[0].read_text()

    @staticmethod
    def scratch(home: Path) -> Path:
        """Where a test's scratch warehouse for this SQL goes (the file name is what counts)."""
        return home / "warehouse.duckdb"


def compile_project(home: Path, dbt_vars: str | None = None) -> CompiledProject:
    """`dbt compile` of every model and test, with the project's vars (overridden by `dbt_vars`,
    YAML), for a warehouse named warehouse.duckdb; target and logs under `home`."""
    home = home.resolve()
    env = {
        **os.environ,
        "REDCAT_WAREHOUSE": str(home / "warehouse.duckdb"),
        "REDCAT_RAW_DIR": str(home / "raw"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    env.pop("REDCAT_DBT_TARGET", None)
    args = [DBT, "compile", "--target-path", str(home / "target"), "--log-path", str(home / "logs"), "--quiet"]
    done = subprocess.run(
        args + (["--vars", dbt_vars] if dbt_vars else []),
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"dbt compile failed:\n{done.stdout}{done.stderr}"
    return CompiledProject(home / "target" / "compiled" / "redcat")
