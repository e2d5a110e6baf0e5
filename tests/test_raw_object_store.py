"""The raw layer on object storage (REDCAT_RAW_DIR=s3://bucket/prefix): ingestion, its crash-safe
commit and dbt's staging read it through fsspec, against moto's S3 server on 127.0.0.1, started
here. The same two delivery days are ingested into a local folder too: the object store must hold
the same partitions, rows and ledger."""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import START, settings_for

from redcat import acceptances, contract, reference
from redcat.config import DBT_PROJECT_DIR
from redcat.ingest import rawfs, rawstore
from redcat.ingest.balance import ledger_balance_problem
from redcat.ingest.loader import LOADED, Loader

BUCKET = "redcat-raw"
DAYS = (START, START + dt.timedelta(days=1))
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def s3():
    """A moto S3 server on 127.0.0.1 (a free port), its endpoint and credentials in the environment,
    and one bucket. Yields the fsspec filesystem ingestion uses."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv(rawfs.ENDPOINT_ENV, f"http://{host}:{port}")
            env.setenv("AWS_ACCESS_KEY_ID", "redcat-test")
            env.setenv("AWS_SECRET_ACCESS_KEY", "redcat-test")
            env.setenv("AWS_DEFAULT_REGION", "us-east-1")
            env.delenv("AWS_PROFILE", raising=False)
            fs = rawfs.filesystem(f"s3://{BUCKET}")
            fs.mkdir(BUCKET)
            yield fs
    finally:
        server.stop()


def ingest(settings) -> list:
    with Loader(settings) as loader:
        results = []
        for day in DAYS:
            for table in contract.ALL_TABLES:
                res = loader.load(table, day)
                results.append((res, ledger_balance_problem(loader.con, table, res)))
    return results


@pytest.fixture(scope="module")
def ingested(s3, clean_landing, tmp_path_factory):
    """The first two days of the clean world, into a local raw folder and into s3://."""
    local = settings_for(clean_landing, tmp_path_factory.mktemp("raw_local"))
    remote = settings_for(clean_landing, tmp_path_factory.mktemp("raw_s3")).with_(raw_dir=f"s3://{BUCKET}/wh/raw/")
    return local, ingest(local), remote, ingest(remote)


def partitions(settings) -> dict:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return {
            (s, t, str(d)): (load_id, path, rows)
            for s, t, d, load_id, path, rows in con.execute(
                "SELECT source, table_name, delivery_date, load_id, path, rows FROM ops.raw_partitions"
            ).fetchall()
        }


def rows_of(path: str, columns: str = "*") -> list:
    with rawfs.register(duckdb.connect(), path) as con:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(f"SELECT {columns} FROM read_parquet(?) ORDER BY ALL", [path]).fetchall()


def test_settings_keep_an_object_store_uri_and_resolve_a_local_path(tmp_path):
    from redcat.config import Settings

    remote = Settings.from_env(warehouse=tmp_path / "w.duckdb", raw_dir="s3://bucket/some/prefix/")
    assert remote.raw_dir == "s3://bucket/some/prefix"
    assert remote.export_env()["REDCAT_RAW_DIR"] == "s3://bucket/some/prefix"
    local = Settings.from_env(warehouse=tmp_path / "w.duckdb", raw_dir=f"file://{tmp_path}/raw")
    assert local.raw_dir == tmp_path / "raw"


def test_ingest_into_s3_matches_a_local_ingest(ingested, s3):
    local, local_results, remote, remote_results = ingested
    root = f"s3://{BUCKET}/wh/raw"
    assert remote.raw_dir == root
    loaded = [res for res, _ in remote_results if res.status == LOADED]
    assert len(loaded) >= len(contract.ALL_TABLES), "both days deliver most tables"
    assert [problem for _, problem in remote_results] == [None] * len(remote_results), "ledger balance on s3"
    assert [(r.status, r.rows_loaded, r.rows_quarantined, r.rows_duplicate) for r, _ in remote_results] == [
        (r.status, r.rows_loaded, r.rows_quarantined, r.rows_duplicate) for r, _ in local_results
    ]

    # the objects: one data.parquet per partition, the same layout as the local folder, no pending left
    objects = {p[len(root) + 1 :] for p in rawfs.glob(root, "**") if p.endswith(".parquet")}
    local_files = {str(p.relative_to(local.raw_dir)) for p in Path(local.raw_dir).rglob("*.parquet")}
    assert objects == local_files
    assert not [o for o in objects if rawstore.PENDING_PREFIX in o]
    assert "_operator/completeness_acceptances.parquet" in objects
    partners = [p for p in reference.partners() if any(t.source == p for t in contract.ALL_TABLES)]
    assert {f"partners/callbacks/partner={p}/dt={START}/data.parquet" for p in partners} <= objects

    # the ledger: every partition committed, pointing at its object, with the local ingest's row counts
    mine, theirs = partitions(remote), partitions(local)
    assert mine.keys() == theirs.keys() and len(mine) == len(objects) - 1  # all but the acceptances file
    for key, (_load_id, path, rows) in mine.items():
        assert path == rawstore.data_path(root, *key), key
        assert rawfs.exists(path)
        assert rows == theirs[key][2], key

    # the rows read back through fsspec equal the local partition's (load_id differs by design)
    for key, (_load_id, path, _rows) in mine.items():
        columns = "* EXCLUDE (load_id)" if key[1] == "deliveries" else "*"
        assert rows_of(path, columns) == rows_of(theirs[key][1], columns), key


class Killed(Exception):
    """The process dies here (an Exception, not KeyboardInterrupt: a failing test must not stop pytest)."""


def test_crashes_around_the_object_store_publish_are_rolled_forward(s3, clean_landing, tmp_path, monkeypatch):
    """Two crash windows: after the ledger commit, before any publish (the local test's); and on
    object storage only, after the copy to data.parquet but before the pending object's delete.
    The next load's recovery rolls both forward; an orphan of a load that never committed goes."""
    settings = settings_for(clean_landing, tmp_path).with_(raw_dir=f"s3://{BUCKET}/crash/raw")
    partner = reference.partners()[0]
    table = contract.CALLBACKS[partner]
    deliveries = rawstore.data_path(settings.raw_dir, partner, "deliveries", START.isoformat())
    with Loader(settings) as loader:
        first = loader.load(table, START)
    assert rows_of(deliveries, "load_id") == [(first.load_id,)]

    def killed(*args):
        raise Killed("killed right after the commit")

    monkeypatch.setattr(rawstore, "publish", killed)
    with Loader(settings) as loader, pytest.raises(Killed):
        loader.load(table, START)
    monkeypatch.undo()
    second = partitions(settings)[(partner, "deliveries", START.isoformat())][0]
    assert second != first.load_id, "the ledger committed the second load"
    assert rows_of(deliveries, "load_id") == [(first.load_id,)], "readers still see the first load's object"
    pending = rawstore.pending_path(settings.raw_dir, partner, "deliveries", START.isoformat(), second)
    assert rawfs.exists(pending)
    orphan = rawstore.pending_path(settings.raw_dir, partner, table.table, START.isoformat(), "0" * 32)
    s3.pipe_file(orphan, b"a load that was killed before its commit")
    with Loader(settings) as loader:
        recovered = sorted(loader.recovered)
    assert [line.split(" ")[0] for line in recovered] == ["removed", "rolled", "rolled"], recovered
    assert rows_of(deliveries, "load_id") == [(second,)]
    assert not rawfs.glob(settings.raw_dir, f"**/{rawstore.PENDING_PREFIX}*")

    copy_only = rawfs.publish

    def copied_then_killed(source, target):
        s3.copy(source, target)
        raise Killed("killed between the copy and the delete")

    monkeypatch.setattr(rawfs, "publish", copied_then_killed)
    with Loader(settings) as loader, pytest.raises(Killed):
        loader.load(table, START)
    monkeypatch.setattr(rawfs, "publish", copy_only)
    third = partitions(settings)[(partner, table.table, START.isoformat())]
    assert len(rawfs.glob(settings.raw_dir, f"**/{rawstore.PENDING_PREFIX}*")) == 2, "both pending objects remain"
    with Loader(settings) as loader:
        assert [line.startswith("rolled forward") for line in loader.recovered] == [True, True]
    assert rows_of(deliveries, "load_id") == [(third[0],)]
    assert len(rows_of(third[1])) == third[2] == first.rows_loaded
    assert not rawfs.glob(settings.raw_dir, f"**/{rawstore.PENDING_PREFIX}*")

    # an operator's acceptance (`redcat accept`) is written to the same object store, whole
    acceptances.accept(settings, partner, START, "ops", "partner outage, confirmed")
    assert [(r[0], r[1], r[3]) for r in acceptances.read(settings)] == [(partner, START, "partner outage, confirmed")]
    assert rawfs.exists(acceptances.path(settings)) and acceptances.path(settings).startswith("s3://")


def test_an_unusable_object_store_is_refused_with_what_to_do(s3, clean_landing, tmp_path, monkeypatch):
    missing = settings_for(clean_landing, tmp_path / "a").with_(raw_dir="s3://no-such-bucket/raw")
    with pytest.raises(rawfs.RawStoreProblem, match="bucket 'no-such-bucket' does not exist.*Create it"):
        Loader(missing)
    assert not missing.warehouse.exists(), "nothing is created before the raw layer is usable"

    endpoint, port = os.environ[rawfs.ENDPOINT_ENV], closed_port()
    monkeypatch.setenv(rawfs.ENDPOINT_ENV, f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    unreachable = settings_for(clean_landing, tmp_path / "b").with_(raw_dir=f"s3://{BUCKET}/raw")
    with pytest.raises(rawfs.RawStoreProblem, match=f"127.0.0.1:{port}.*Check that the endpoint is reachable"):
        Loader(unreachable)

    monkeypatch.setenv(rawfs.ENDPOINT_ENV, endpoint)
    done = subprocess.run(
        [sys.executable, "-m", "redcat.cli", "ingest", "--from", str(START), "--to", str(START)],
        env={**os.environ, **missing.export_env()},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr
    assert "no-such-bucket" in done.stderr and "Create it" in done.stderr


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then closed)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dbt_staging_reads_raw_from_s3_as_from_a_local_folder(ingested, tmp_path):
    """dbt build of the staging models (views over the raw layer, and their tests) on each warehouse:
    through the profile's plugin (redcat/dbt_rawfs.py) dbt reads s3:// with the same rows as local."""
    local, _, remote, _ = ingested
    counts = {}
    for name, settings in (("local", local), ("s3", remote)):
        env = {
            **os.environ,
            **settings.export_env(),
            "REDCAT_WINDOW_START": str(DAYS[0]),
            "REDCAT_WINDOW_END": str(DAYS[-1] + dt.timedelta(days=1)),
        }
        args = ["build", "--select", "staging", "resource_type:seed", "--indirect-selection", "cautious"]
        args += ["--exclude-resource-type", "unit_test"]
        done = subprocess.run(
            [str(BIN / "dbt"), *args, "--target-path", str(tmp_path / f"target-{name}")],
            cwd=DBT_PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, done.stdout[-3000:]
        with rawfs.register(duckdb.connect(str(settings.warehouse), read_only=True), settings.raw_dir) as con:
            views = [
                v
                for (v,) in con.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'staging' ORDER BY 1"
                ).fetchall()
            ]
            counts[name] = {v: con.execute(f"SELECT count(*) FROM staging.{v}").fetchone()[0] for v in views}
            sources = [
                sql for (sql,) in con.execute("SELECT sql FROM duckdb_views() WHERE schema_name = 'staging'").fetchall()
            ]
        assert all((f"'{settings.raw_dir}/" in sql) for sql in sources), "each view reads this raw layer"
    assert len(counts["local"]) >= 6
    assert counts["s3"] == counts["local"]
    assert sum(counts["s3"].values()) > 0
