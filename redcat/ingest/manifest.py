"""Reading and checking `_manifest.json` against the files of a delivery."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from redcat import contract


class ManifestProblem(Exception):
    """The delivery cannot be trusted; nothing from the affected file is loaded."""


@dataclass(frozen=True)
class FileEntry:
    name: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    path: Path
    source: str
    delivery_date: str
    files: dict[str, FileEntry]
    program_version: str | None
    sampling_ratio: float | None


def inside_landing(path: Path, root: Path) -> None:
    """Refuse a file or folder that is (or passes through) a symlink leading out of the landing zone:
    the landing zone is what the senders deliver, a link elsewhere would load files nobody delivered."""
    target = path.resolve()
    if not target.is_relative_to(root.resolve()):
        raise ManifestProblem(
            f"{path} is a symbolic link to {target}, outside the landing zone {root}; redcat does not follow links "
            "out of the landing zone. Nothing was loaded from it. Copy the delivery into the landing zone (or "
            "link to a place inside it), then re-run this partition."
        )


def read_manifest(directory: Path, root: Path | None = None) -> Manifest:
    path = directory / contract.MANIFEST
    if root is not None and path.exists():
        inside_landing(path, root)
    if path.is_dir():
        raise ManifestProblem(
            f"{path} is a directory, not a manifest file, so the files of this delivery cannot be verified. "
            "Ask the sender to deliver _manifest.json as a file, then re-run this partition."
        )
    if not path.exists():
        raise ManifestProblem(
            f"{path} is missing, so the files of this delivery cannot be verified. "
            "Ask the sender to deliver the manifest, then re-run this partition."
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict) or not isinstance(raw.get("files"), list):
            raise TypeError("the top level must be an object with a files list")
        files = {f["name"]: FileEntry(str(f["name"]), int(f["rows"]), str(f["sha256"]).lower()) for f in raw["files"]}
        ratio = raw.get("sampling_ratio")
        return Manifest(
            path=path,
            source=str(raw["source"]),
            delivery_date=str(raw["delivery_date"]),
            files=files,
            program_version=raw.get("program_version"),
            sampling_ratio=float(ratio) if ratio is not None else None,
        )
    except OSError as e:
        raise ManifestProblem(
            f"{path} cannot be read ({type(e).__name__}: {e.strerror or e}). Check its permissions and that it is a "
            "complete file, or ask the sender to re-deliver it; then re-run this partition."
        ) from None
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ManifestProblem(
            f"{path} is not a valid manifest ({type(e).__name__}: {e}). Expected keys source, delivery_date "
            "and files[{name, rows, sha256}]. Ask the sender to re-deliver it, then re-run this partition."
        ) from None


def find_data_file(directory: Path, stem: str, manifest: Manifest, root: Path | None = None) -> tuple[Path, FileEntry]:
    """The file of a table (`stem` or `stem.gz`) and its manifest entry."""
    for name in (stem + ".gz", stem):
        if name in manifest.files:
            path = directory / name
            if root is not None and (path.exists() or path.is_symlink()):
                inside_landing(path, root)
            if path.is_dir():
                raise ManifestProblem(
                    f"{path} is a directory, not a data file. Ask the sender to complete the delivery, "
                    "then re-run this partition."
                )
            if not path.exists():
                raise ManifestProblem(
                    f"{manifest.path} lists {name} but {path} does not exist. "
                    "Ask the sender to complete the delivery, then re-run this partition."
                )
            return path, manifest.files[name]
    present = [p.name for p in directory.glob(stem + "*")]
    raise ManifestProblem(
        f"{manifest.path} does not list {stem}(.gz)"
        + (f" although {', '.join(present)} is present" if present else "")
        + ". Ask the sender for a manifest covering every file, then re-run this partition."
    )


def unlisted_files(directory: Path, manifest: Manifest) -> list[str]:
    """Files of a delivery folder that its manifest does not list (ignored, but worth a warning)."""
    listed = set(manifest.files) | {contract.MANIFEST}
    return sorted(p.name for p in directory.iterdir() if p.name not in listed and not p.name.startswith("."))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()
