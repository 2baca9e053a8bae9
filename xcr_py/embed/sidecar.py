"""The impact label beside a file: ``<file>.xcr.json`` for audio and video (or any file that
cannot carry an embedded label, e.g. an image with a foreign XMP packet).

The media file is never modified, so its bytes are the bytes the receipt's asset CID names.
The sidecar is canonical JSON (:func:`xcr_py.content.canonical.canonical_json`)::

    {"asset": {"bytes": N, "name": "clip.wav", "sha256": "<hex>"},
     "label": {<ImpactLabel.to_dict()>},
     "schema": "xcr-label-sidecar/1"}

``asset.bytes`` and ``asset.sha256`` let :func:`read_sidecar` tell at once that a sidecar
belongs to another file or the file changed; ``asset.name`` is informational (files get renamed).
Writes are atomic (temporary file, fsync, link/rename): there is never a half-written sidecar.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from xcr_py.content.canonical import canonical_json
from xcr_py.errors import InputError
from xcr_py.receipt.label import ImpactLabel

__all__ = [
    "SIDECAR_SCHEMA",
    "SIDECAR_SUFFIX",
    "Sidecar",
    "parse_sidecar",
    "read_sidecar",
    "sidecar_bytes",
    "sidecar_path",
    "write_sidecar",
]

SIDECAR_SUFFIX = ".xcr.json"
SIDECAR_SCHEMA = "xcr-label-sidecar/1"
MAX_SIDECAR_BYTES = 64 * 1024
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class Sidecar:
    """A parsed sidecar: the label and the file it was written for."""

    label: ImpactLabel
    asset_name: str
    asset_bytes: int
    asset_sha256: str


def sidecar_path(media_path: str | os.PathLike[str]) -> Path:
    """``clip.wav`` -> ``clip.wav.xcr.json`` (same directory)."""
    path = Path(media_path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _digest(path: Path) -> tuple[int, str]:
    sha, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest()


def sidecar_bytes(
    label: ImpactLabel, asset_name: str, asset_bytes: int, asset_sha256: str
) -> bytes:
    """The canonical sidecar document for ``label`` and the described file."""
    doc = {
        "schema": SIDECAR_SCHEMA,
        "asset": {"name": asset_name, "bytes": asset_bytes, "sha256": asset_sha256},
        "label": label.to_dict(),
    }
    return canonical_json(doc, root="sidecar")


def write_sidecar(
    media_path: str | os.PathLike[str], label: ImpactLabel, *, replace: bool = False
) -> Path:
    """Write ``<media_path>.xcr.json`` for ``label`` atomically and return its path.

    Raises:
        InputError: the media file is missing (``media_path``), or a sidecar exists and
            ``replace`` is false (``sidecar``). Nothing is written in either case.
    """
    media = Path(media_path)
    if not media.is_file():
        raise InputError("media_path", f"{media} is not an existing file")
    target = sidecar_path(media)
    if target.exists() and not replace:
        raise InputError("sidecar", f"{target} already exists; pass replace=True to overwrite")
    size, sha = _digest(media)
    payload = sidecar_bytes(label, media.name, size, sha)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, target)
        else:
            try:  # link fails if the target appeared meanwhile: never overwrite by accident
                os.link(tmp, target)
            except FileExistsError as exc:
                raise InputError("sidecar", f"{target} already exists") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _reject_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise InputError(f"sidecar.{key}", "appears more than once")
        out[key] = value
    return out


def _reject_constant(name: str) -> object:
    raise InputError("sidecar", f"contains {name}, which is not JSON")


def parse_sidecar(doc: bytes) -> Sidecar:
    """Parse sidecar bytes (any valid JSON layout; :func:`write_sidecar` writes canonical).

    Raises:
        InputError: oversized, not JSON, wrong schema, or an invalid field (named).
    """
    if len(doc) > MAX_SIDECAR_BYTES:
        raise InputError("sidecar", f"is {len(doc)} bytes; limit is {MAX_SIDECAR_BYTES}")
    try:
        data = json.loads(
            doc.decode("utf-8"),
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError("sidecar", f"is not UTF-8 JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError("sidecar", "must be a JSON object")
    if data.get("schema") != SIDECAR_SCHEMA:
        raise InputError(
            "sidecar.schema", f"must be {SIDECAR_SCHEMA!r}, got {data.get('schema')!r}"
        )
    extra = sorted(set(data) - {"schema", "asset", "label"})
    if extra:
        raise InputError(f"sidecar.{extra[0]}", "is not a sidecar field")
    asset = data.get("asset")
    if not isinstance(asset, dict) or set(asset) != {"name", "bytes", "sha256"}:
        raise InputError("sidecar.asset", "must be an object with exactly name, bytes, sha256")
    name, size, sha = asset["name"], asset["bytes"], asset["sha256"]
    if not isinstance(name, str) or not name or len(name) > 255:
        raise InputError("sidecar.asset.name", "must be a file name of 1..255 characters")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InputError("sidecar.asset.bytes", f"must be an integer >= 0, got {size!r}")
    if not isinstance(sha, str) or len(sha) != 64 or set(sha) - set("0123456789abcdef"):
        raise InputError("sidecar.asset.sha256", "must be 64 lowercase hex digits")
    return Sidecar(ImpactLabel.from_dict(data.get("label")), name, size, sha)


def read_sidecar(media_path: str | os.PathLike[str]) -> Sidecar:
    """Read the sidecar of ``media_path`` and check it describes that file's current bytes.

    Raises:
        InputError: no sidecar (``sidecar``), a malformed one, or a size/SHA-256 that does not
            match the file (``sidecar.asset.bytes`` / ``sidecar.asset.sha256``).
    """
    media = Path(media_path)
    target = sidecar_path(media)
    if not target.is_file():
        raise InputError("sidecar", f"no sidecar at {target}")
    with target.open("rb") as fh:
        sidecar = parse_sidecar(fh.read(MAX_SIDECAR_BYTES + 1))
    if not media.is_file():
        raise InputError("media_path", f"{media} is not an existing file")
    size, sha = _digest(media)
    if size != sidecar.asset_bytes:
        raise InputError(
            "sidecar.asset.bytes", f"is {sidecar.asset_bytes} but {media.name} has {size} bytes"
        )
    if sha != sidecar.asset_sha256:
        raise InputError(
            "sidecar.asset.sha256",
            f"does not match {media.name}: the file changed after "
            "labelling, or the sidecar belongs to another file",
        )
    return sidecar
