"""Where the raw layer lives: a local folder or object storage, through fsspec.

REDCAT_RAW_DIR is a local path (the default, `<warehouse dir>/raw`) or a URI such as
`s3://bucket/redcat/raw`. For s3:// (s3fs, `pip install 'redcat[s3]'`):

    REDCAT_S3_ENDPOINT_URL   an S3-compatible server (MinIO, Ceph, moto: http://host:port); unset: AWS
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE, AWS_DEFAULT_REGION
                             botocore's usual credential chain

Every path here is a string: an absolute local path, or a URI with its scheme (`s3://bucket/key`),
which is also how `ops.raw_partitions.path` records it. DuckDB reads and writes such URIs through
the same fsspec filesystem registered on its connection (`register`), since its httpfs extension
is not assumed. Object storage has no rename: `publish` copies the pending object to data.parquet
(a server-side copy; readers see the old or the new object whole, never a part) and then deletes
the pending object (rawstore.py).
"""

from __future__ import annotations

import os
import posixpath
import re
from functools import cache
from pathlib import Path

import duckdb

ENDPOINT_ENV = "REDCAT_S3_ENDPOINT_URL"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


class RawStoreProblem(Exception):
    """The raw layer's location cannot be used (no fsspec driver, endpoint unreachable, bucket missing)."""


def scheme(location: str | Path) -> str | None:
    """The URI scheme of a remote location (s3, gs, ...), None for a local path (file:// included)."""
    m = _SCHEME.match(str(location))
    if not m or m.group(1).lower() == "file":
        return None
    return m.group(1).lower()


def normalise(location: str | Path) -> Path | str:
    """A local location as an absolute Path; a remote one as its URI without a trailing slash."""
    text = str(location)
    if scheme(text):
        return text.rstrip("/")
    if text.lower().startswith("file://"):
        text = text[len("file://") :]
    return Path(text).expanduser().resolve()


@cache
def _filesystem(protocol: str, endpoint: str):
    import fsspec

    options: dict = {}
    if protocol in ("s3", "s3a"):
        try:
            import s3fs  # noqa: F401
        except ImportError:
            raise RawStoreProblem(
                f"REDCAT_RAW_DIR is an {protocol}:// URI but s3fs is not installed; pip install 'redcat[s3]'"
            ) from None
        # No listing cache: a glob must see what DuckDB or another process wrote a moment ago.
        options = {"use_listings_cache": False, "endpoint_url": endpoint or None}
        protocol = "s3"
    try:
        return fsspec.filesystem(protocol, **options)
    except (ImportError, ValueError) as e:
        raise RawStoreProblem(
            f"REDCAT_RAW_DIR uses {protocol}:// but fsspec has no usable filesystem for it ({e}); "
            "install its fsspec driver or use a local path or s3://"
        ) from None


def filesystem(path: str | Path):
    """The fsspec filesystem of a remote path (None for a local one)."""
    protocol = scheme(path)
    return _filesystem(protocol, os.environ.get(ENDPOINT_ENV, "").strip()) if protocol else None


def join(root: str | Path, *parts: str) -> str:
    return posixpath.join(str(root), *parts) if scheme(root) else str(Path(root).joinpath(*parts))


def parent(path: str) -> str:
    return posixpath.dirname(path) if scheme(path) else str(Path(path).parent)


def name(path: str) -> str:
    return posixpath.basename(path) if scheme(path) else Path(path).name


def exists(path: str) -> bool:
    fs = filesystem(path)
    return fs.exists(path) if fs else Path(path).exists()


def glob(root: str | Path, pattern: str) -> list[str]:
    """Files under `root` matching `pattern` (relative, with * per level), as full paths."""
    fs = filesystem(root)
    if not fs:
        return [str(p) for p in Path(root).glob(pattern)]
    prefix = f"{scheme(root)}://"
    return [prefix + p for p in fs.glob(join(root, pattern))]


def makedirs(directory: str) -> None:
    """Local only: object storage has no directories."""
    if not scheme(directory):
        Path(directory).mkdir(parents=True, exist_ok=True)


def remove(path: str) -> None:
    """Delete a file; one that is already gone is fine."""
    fs = filesystem(path)
    if not fs:
        Path(path).unlink(missing_ok=True)
    elif fs.exists(path):
        fs.rm_file(path)


def publish(source: str, target: str) -> None:
    """Make `source` visible as `target` and remove `source`. Local: os.replace (atomic).
    Object storage: a server-side copy (the target object changes whole) then a delete; a crash
    between the two leaves both, and the caller's recovery repeats the copy (idempotent)."""
    fs = filesystem(source)
    if not fs:
        os.replace(source, target)
        return
    fs.copy(source, target)
    fs.rm_file(source)


def put(local_file: str | Path, target: str) -> None:
    """Install a finished local file as `target`: os.replace locally (same folder: atomic), one
    upload for object storage (an object appears whole when its upload completes)."""
    fs = filesystem(target)
    if not fs:
        os.replace(local_file, target)
        return
    fs.put_file(str(local_file), target)
    os.unlink(local_file)


def register(con: duckdb.DuckDBPyConnection, path: str | Path) -> duckdb.DuckDBPyConnection:
    """Let DuckDB read and write `path`'s filesystem (nothing to do for a local path)."""
    fs = filesystem(path)
    if fs and not con.filesystem_is_registered(scheme(path) if scheme(path) != "s3a" else "s3"):
        con.register_filesystem(fs)
    return con


def check(root: str | Path) -> None:
    """Fail early, saying what and what to do, when a remote raw layer cannot be reached."""
    fs = filesystem(root)
    if not fs:
        return
    bucket = str(root)[len(f"{scheme(root)}://") :].split("/", 1)[0]
    endpoint = os.environ.get(ENDPOINT_ENV, "").strip() or "the provider's default endpoint"
    try:
        fs.ls(f"{scheme(root)}://{bucket}", detail=False)
    except FileNotFoundError:
        raise RawStoreProblem(
            f"REDCAT_RAW_DIR={root}: bucket {bucket!r} does not exist at {endpoint}. Create it (or fix the URI "
            f"or {ENDPOINT_ENV}), then re-run."
        ) from None
    except PermissionError as e:
        raise RawStoreProblem(
            f"REDCAT_RAW_DIR={root}: access to bucket {bucket!r} at {endpoint} was refused ({e}). Check "
            "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and the bucket's policy."
        ) from None
    except Exception as e:  # botocore's connection and credential errors have no common base here
        raise RawStoreProblem(
            f"REDCAT_RAW_DIR={root}: cannot list bucket {bucket!r} at {endpoint}: {type(e).__name__}: {e}. "
            f"Check that the endpoint is reachable ({ENDPOINT_ENV}) and the credentials are set, then re-run."
        ) from None
