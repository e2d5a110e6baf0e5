"""dbt-duckdb plugin (profiles.yml `plugins:`): lets dbt read a raw layer on object storage.

When REDCAT_RAW_DIR is a URI (s3://bucket/prefix), every dbt connection gets the same fsspec
filesystem that ingestion writes through (redcat/ingest/rawfs.py: REDCAT_S3_ENDPOINT_URL and
the AWS_* credentials), so the sources' `read_parquet('s3://...')` works without DuckDB's httpfs
extension. A local raw layer needs nothing and the plugin does nothing. dbt-duckdb's own
`filesystems:` profile option cannot be conditional on REDCAT_RAW_DIR, and would make every local
run require s3fs.
"""

from __future__ import annotations

import os

from dbt.adapters.duckdb.plugins import BasePlugin

from redcat.ingest import rawfs


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        raw = os.environ.get("REDCAT_RAW_DIR", "").strip()
        if rawfs.scheme(raw):
            rawfs.register(conn, raw)
