"""Label a file on disk, or read the label of one, whichever carrier it uses.

PNG and JPEG carry the label inside (:func:`xcr_py.embed.embed`); audio and video, or any file
when ``sidecar=True``, get ``<file>.xcr.json`` (:mod:`xcr_py.embed.sidecar`). Writes are atomic:
the labelled file is written to a temporary file in the target directory, fsynced, then
renamed over the target, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from xcr_py.embed import SIDECAR_MEDIA, embed, find_label, relabel, sniff_media_type
from xcr_py.embed.common import LabelSegment
from xcr_py.embed.sidecar import (
    MAX_SIDECAR_BYTES,
    parse_sidecar,
    read_sidecar,
    sidecar_path,
    write_sidecar,
)
from xcr_py.errors import InputError
from xcr_py.receipt.label import ImpactLabel, parse_xmp

__all__ = ["LabelledAsset", "read_label", "write_label"]


@dataclass(frozen=True)
class LabelledAsset:
    """A file's label and the bytes the receipt's asset CID must match.

    Attributes:
        label: the impact label read from the file or its sidecar.
        carrier: ``"embedded"`` (PNG/JPEG segment) or ``"sidecar"``.
        media_type: sniffed from the file's bytes (None if unknown).
        original: the bytes as rendered: the file minus the label segment, or the whole file
            when the label is in a sidecar.
        segment: the embedded segment (the exclusion range), None for a sidecar.
    """

    label: ImpactLabel
    carrier: Literal["embedded", "sidecar"]
    media_type: str | None
    original: bytes
    segment: LabelSegment | None


def _atomic_write(target: Path, payload: bytes) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_label(
    path: str | os.PathLike[str],
    label: ImpactLabel,
    *,
    out: str | os.PathLike[str] | None = None,
    replace: bool = False,
    sidecar: bool = False,
) -> Path:
    """Label the file at ``path`` and return the path written.

    Args:
        path: the rendered asset.
        label: the label to attach.
        out: where to write the labelled PNG/JPEG (default: ``path`` itself, atomically).
            Not allowed for sidecars, which always sit beside the media file.
        replace: replace an existing label (embedded or sidecar) instead of refusing.
        sidecar: write a sidecar even for a PNG/JPEG (e.g. one holding a foreign XMP packet).

    Raises:
        InputError: missing file (``path``), unsupported format (``media_type``), already
            labelled and not ``replace`` (``label`` / ``sidecar``), ``out`` given for a sidecar.
            Nothing is written in any of these cases.
    """
    source = Path(path)
    if not source.is_file():
        raise InputError("path", f"{source} is not an existing file")
    with source.open("rb") as fh:
        head = fh.read(16)
    media_type = sniff_media_type(head)
    if sidecar or (media_type or "").startswith(SIDECAR_MEDIA):
        if out is not None:
            raise InputError("out", "a sidecar is always written beside the media file")
        return write_sidecar(source, label, replace=replace)
    data = source.read_bytes()
    labelled = relabel(data, label) if replace else embed(data, label)
    target = Path(out) if out is not None else source
    _atomic_write(target, labelled)
    return target


def read_label(path: str | os.PathLike[str], *, check_sidecar: bool = True) -> LabelledAsset:
    """Read the label of the file at ``path``: embedded if it has one, else its sidecar.

    Args:
        path: the labelled asset.
        check_sidecar: for a sidecar, check its recorded size and SHA-256 against the file
            (a verifier that recomputes the CID anyway may pass False to report a changed
            file at its own CID step).

    Raises:
        InputError: missing file, corrupt file, malformed label, no label and no sidecar
            (``label``), or a sidecar that does not match the file.
    """
    source = Path(path)
    if not source.is_file():
        raise InputError("path", f"{source} is not an existing file")
    data = source.read_bytes()
    media_type = sniff_media_type(data)
    embeddable = media_type in ("image/png", "image/jpeg")
    segment = find_label(data) if embeddable else None
    if segment is not None:
        return LabelledAsset(
            parse_xmp(segment.packet), "embedded", media_type, segment.remove_from(data), segment
        )
    if not sidecar_path(source).is_file():
        raise InputError("label", f"{source.name} carries no XCR label and has no sidecar")
    if check_sidecar:
        found = read_sidecar(source).label
    else:
        with sidecar_path(source).open("rb") as fh:
            found = parse_sidecar(fh.read(MAX_SIDECAR_BYTES + 1)).label
    return LabelledAsset(found, "sidecar", media_type, data, None)
