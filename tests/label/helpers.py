"""Builders shared by the label tests: labels, and real PNG/JPEG files made with Pillow."""

from __future__ import annotations

import io
import random
import struct
import zlib
from typing import Any

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from xcr_py.receipt.label import ImpactLabel

RECEIPT_CID = "bafkreibnoelefnzgwbcacyt4vh52ymxvzbjq7mmqhtcnwarfq4lzegsiqe"
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def make_label(**overrides: Any) -> ImpactLabel:
    """A valid label (measured, 1.1 g gross, 1.3 g removed, final) with fields overridden."""
    fields: dict[str, Any] = {
        "receipt_cid": RECEIPT_CID,
        "chain_id": 31337,
        "receipt_contract": CONTRACT,
        "token_id": 42,
        "gross_mg": 1_100,
        "removed_mg": 1_300,
        "ratio_bps": 12_000,
        "method": "measured",
        "removal_method": "biochar",
        "permanence_years": 100,
        "retirement_status": "final",
    }
    fields.update(overrides)
    return ImpactLabel(**fields)


def _noise_image(size: tuple[int, int], mode: str, seed: int) -> Image.Image:
    rng = random.Random(seed)
    rgb = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    return rgb if mode == "RGB" else rgb.convert(mode)


def png_bytes(
    size: tuple[int, int] = (32, 24),
    mode: str = "RGB",
    *,
    seed: int = 0,
    text: dict[str, str] | None = None,
    xmp: bytes | None = None,
) -> bytes:
    """A real PNG from Pillow, optionally with tEXt chunks or a (foreign) XMP iTXt chunk."""
    info = PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    if xmp is not None:
        info.add_itxt("XML:com.adobe.xmp", xmp.decode())
    out = io.BytesIO()
    _noise_image(size, mode, seed).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def jpeg_bytes(
    size: tuple[int, int] = (32, 24),
    mode: str = "RGB",
    *,
    seed: int = 0,
    exif: bool = False,
    xmp: bytes | None = None,
    **save: Any,
) -> bytes:
    """A real JPEG from Pillow, optionally with EXIF, a foreign XMP packet or save options."""
    image = _noise_image(size, mode, seed)
    if exif:
        ex = Image.Exif()
        ex[0x010F] = "XCR test camera"  # Make
        ex[0x0131] = "pillow"  # Software
        save["exif"] = ex.tobytes()
    if xmp is not None:
        save["xmp"] = xmp
    out = io.BytesIO()
    save.setdefault("quality", 85)
    image.save(out, format="JPEG", **save)
    return out.getvalue()


def png_chunk(ctype: bytes, body: bytes) -> bytes:
    """One PNG chunk with a correct CRC."""
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def png_chunk_spans(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, offset, end) of every chunk, without validation (for tampering in tests)."""
    spans, pos = [], 8
    while pos < len(data):
        (size,) = struct.unpack_from(">I", data, pos)
        ctype = data[pos + 4 : pos + 8]
        spans.append((ctype, pos, pos + 12 + size))
        pos += 12 + size
    return spans


def fix_png_crc(data: bytes, offset: int) -> bytes:
    """Recompute the CRC of the chunk at ``offset`` (an attacker who edits a chunk does this)."""
    (size,) = struct.unpack_from(">I", data, offset)
    end = offset + 12 + size
    crc = zlib.crc32(data[offset + 4 : end - 4])
    return data[: end - 4] + struct.pack(">I", crc) + data[end:]


def wav_bytes(n_samples: int = 64) -> bytes:
    """A minimal valid 16-bit mono PCM WAV file."""
    data = bytes(range(256))[: n_samples * 2]
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body
