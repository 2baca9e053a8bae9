"""Put an impact label into an asset, and take it out again byte-exactly.

The label is one removable segment (PNG ``iTXt``, JPEG APP1 XMP): removing exactly that
segment restores the bytes as rendered, so the receipt can name the asset's CID before the
label exists and a verifier can recover those bytes from the labelled file (the same idea as
C2PA's hard binding with an exclusion range). Audio and video are not modified: they get a
sidecar ``<file>.xcr.json`` (:mod:`xcr_py.embed.sidecar`).

Public API::

    embed(data, label) -> bytes            # refuses a file that is already labelled
    extract(data) -> (label, original)     # original = data minus the label segment
    strip(data) -> bytes                   # unlabelled data comes back unchanged
    relabel(data, label) -> bytes          # embed(strip(data), label)
    find_label(data) -> LabelSegment|None  # the exclusion range
    sniff_media_type(data) -> str | None
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from xcr_py.embed import jpeg, png
from xcr_py.embed.common import LabelSegment
from xcr_py.errors import InputError
from xcr_py.receipt.label import ImpactLabel

__all__ = [
    "EMBEDDABLE",
    "SIDECAR_MEDIA",
    "LabelSegment",
    "embed",
    "extract",
    "find_label",
    "relabel",
    "sniff_media_type",
    "strip",
]

EMBEDDABLE: dict[str, ModuleType] = {png.MEDIA_TYPE: png, jpeg.MEDIA_TYPE: jpeg}
"""Media types that carry the label inside the file, and the module that does it."""

SIDECAR_MEDIA = ("audio/", "video/")
"""Media type prefixes that get a sidecar ``.xcr.json`` instead of an embedded label."""

_Sniffer = Callable[[bytes], bool]
_SIGNATURES: tuple[tuple[str, _Sniffer], ...] = (
    ("image/png", lambda d: d.startswith(png.PNG_SIGNATURE)),
    ("image/jpeg", lambda d: d.startswith(b"\xff\xd8\xff")),
    ("image/gif", lambda d: d[:6] in (b"GIF87a", b"GIF89a")),
    ("image/webp", lambda d: d[:4] == b"RIFF" and d[8:12] == b"WEBP"),
    ("image/tiff", lambda d: d[:4] in (b"II*\0", b"MM\0*")),
    ("audio/wav", lambda d: d[:4] == b"RIFF" and d[8:12] == b"WAVE"),
    ("audio/flac", lambda d: d.startswith(b"fLaC")),
    ("audio/ogg", lambda d: d.startswith(b"OggS")),
    (
        "audio/mpeg",
        lambda d: d.startswith(b"ID3") or (len(d) > 1 and d[0] == 0xFF and (d[1] & 0xE0) == 0xE0),
    ),
    ("audio/mp4", lambda d: d[4:8] == b"ftyp" and d[8:11] == b"M4A"),
    ("video/mp4", lambda d: d[4:8] == b"ftyp"),
    ("video/webm", lambda d: d.startswith(b"\x1a\x45\xdf\xa3")),
)


def sniff_media_type(data: bytes) -> str | None:
    """Media type from the file's leading bytes (never from a name), or None if unknown."""
    head = bytes(data[:16])
    for media_type, matches in _SIGNATURES:
        if matches(head):
            return media_type
    return None


def _embedder(data: bytes) -> ModuleType:
    media_type = sniff_media_type(data)
    module = EMBEDDABLE.get(media_type or "")
    if module is not None:
        return module
    supported = ", ".join(EMBEDDABLE)
    if media_type and media_type.startswith(SIDECAR_MEDIA):
        raise InputError(
            "media_type",
            f"{media_type} is not modified: write a sidecar with "
            f"xcr_py.embed.sidecar.write_sidecar() (embedding supports {supported})",
        )
    found = media_type or f"unrecognised (first bytes {bytes(data[:8]).hex()})"
    raise InputError("media_type", f"{found}; embedding supports {supported} only")


def embed(data: bytes, label: ImpactLabel) -> bytes:
    """Insert ``label`` into a PNG or JPEG as one removable segment.

    Raises:
        InputError: unsupported media type (``media_type``), a corrupt file (``png``/``jpeg``),
            a file already labelled (``label``) or carrying a foreign XMP packet (``xmp``).
    """
    return bytes(_embedder(data).embed(data, label))


def extract(data: bytes) -> tuple[ImpactLabel, bytes]:
    """The label and the original bytes (``data`` minus exactly the label segment).

    Raises:
        InputError: unsupported or corrupt file, no label, several labels, malformed label.
    """
    label, original = _embedder(data).extract(data)
    return label, original


def strip(data: bytes) -> bytes:
    """``data`` without its XCR label; an unlabelled file comes back unchanged (validated)."""
    return bytes(_embedder(data).strip(data))


def find_label(data: bytes) -> LabelSegment | None:
    """Locate the label segment (the hard binding's exclusion range), or None."""
    segment: LabelSegment | None = _embedder(data).find_label(data)
    return segment


def relabel(data: bytes, label: ImpactLabel) -> bytes:
    """Replace the label (e.g. when a retirement turns final); the original bytes are kept."""
    return embed(strip(data), label)
