"""The impact label in a PNG: one ``iTXt`` chunk with keyword ``XML:com.adobe.xmp``.

Position rule: the label chunk is inserted immediately after ``IHDR`` (the first chunk), so
readers that stop at the first ``IDAT`` still see it, and the rest of the file is untouched.
Removing exactly that chunk restores the original bytes; :func:`extract` does so and returns
them, which is what the receipt's asset CID was computed over (the hard binding).

Reading validates the whole file: signature, chunk framing, every CRC, ``IHDR`` first, at
least one ``IDAT``, ``IEND`` last and nothing after it. Anything else is an
:class:`~xcr_py.errors.InputError` with field ``png``. A file already holding an XCR label,
or any other XMP packet, is refused by :func:`embed` (a file holds one XMP packet; merging
into a foreign one would break the removable-segment rule): strip first, or use a sidecar.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from xcr_py.embed.common import LabelSegment
from xcr_py.errors import InputError
from xcr_py.receipt.label import MAX_PACKET_BYTES, ImpactLabel, is_xcr_packet, parse_xmp, to_xmp

__all__ = ["MEDIA_TYPE", "PNG_SIGNATURE", "XMP_KEYWORD", "embed", "extract", "find_label", "strip"]

MEDIA_TYPE = "image/png"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
XMP_KEYWORD = b"XML:com.adobe.xmp"
_MAX_CHUNK = 2**31 - 1  # PNG spec: chunk length fits in 31 bits


@dataclass(frozen=True)
class _Chunk:
    type: bytes
    offset: int  # of the length field
    size: int  # of the data

    @property
    def data_start(self) -> int:
        return self.offset + 8

    @property
    def end(self) -> int:
        return self.offset + 12 + self.size


def _chunks(data: bytes) -> list[_Chunk]:
    """Walk and validate every chunk; raise InputError('png', ...) on any defect."""
    if not data.startswith(PNG_SIGNATURE):
        raise InputError("png", "does not start with the PNG signature")
    view = memoryview(data)
    chunks: list[_Chunk] = []
    pos, n = len(PNG_SIGNATURE), len(data)
    while True:
        if pos == n:
            raise InputError("png", f"truncated: ends at byte {n} without an IEND chunk")
        if n - pos < 12:
            raise InputError("png", f"truncated: chunk header at byte {pos} is incomplete")
        size, ctype = struct.unpack_from(">I4s", data, pos)
        if size > _MAX_CHUNK:
            raise InputError("png", f"chunk at byte {pos} declares {size} bytes; limit is 2**31-1")
        if not ctype.isalpha() or not ctype.isascii():
            raise InputError("png", f"chunk at byte {pos} has an invalid type {ctype!r}")
        chunk = _Chunk(ctype, pos, size)
        if chunk.end > n:
            raise InputError(
                "png",
                f"truncated: {ctype.decode()} chunk at byte {pos} needs {chunk.end - n} more bytes",
            )
        (stored,) = struct.unpack_from(">I", data, chunk.end - 4)
        computed = zlib.crc32(view[pos + 4 : chunk.end - 4])
        if stored != computed:
            raise InputError(
                "png",
                f"{ctype.decode()} chunk at byte {pos}: CRC mismatch "
                f"(stored {stored:08x}, computed {computed:08x})",
            )
        if not chunks and (ctype != b"IHDR" or size != 13):
            raise InputError("png", "the first chunk must be a 13-byte IHDR")
        chunks.append(chunk)
        pos = chunk.end
        if ctype == b"IEND":
            break
    if pos != n:
        raise InputError("png", f"{n - pos} bytes follow the IEND chunk; a PNG ends at IEND")
    if not any(c.type == b"IDAT" for c in chunks):
        raise InputError("png", "has no IDAT chunk (no image data)")
    return chunks


def _xmp_text(data: bytes, chunk: _Chunk) -> bytes | None:
    """The XMP text of an ``iTXt`` chunk with the XMP keyword, else None."""
    if chunk.type != b"iTXt":
        return None
    body = data[chunk.data_start : chunk.data_start + chunk.size]
    keyword, sep, rest = body.partition(b"\0")
    if keyword != XMP_KEYWORD:
        return None
    if not sep or len(rest) < 2:
        raise InputError("png", f"iTXt chunk at byte {chunk.offset} is malformed")
    flag, method, rest = rest[0], rest[1], rest[2:]
    parts = rest.split(b"\0", 2)
    if len(parts) != 3:
        raise InputError("png", f"iTXt chunk at byte {chunk.offset} is malformed")
    text = parts[2]
    if flag == 0:
        return text
    if flag != 1 or method != 0:
        raise InputError("png", f"iTXt chunk at byte {chunk.offset}: unknown compression")
    try:
        # Bounded: enough to tell ours from a foreign packet; parse_xmp rejects anything longer.
        return zlib.decompressobj().decompress(text, MAX_PACKET_BYTES + 1)
    except zlib.error as exc:
        raise InputError("png", f"iTXt chunk at byte {chunk.offset}: bad zlib data") from exc


def _scan(data: bytes) -> tuple[list[_Chunk], list[LabelSegment], list[_Chunk]]:
    chunks = _chunks(data)
    ours: list[LabelSegment] = []
    foreign: list[_Chunk] = []
    for chunk in chunks:
        text = _xmp_text(data, chunk)
        if text is None:
            continue
        if is_xcr_packet(text):
            ours.append(LabelSegment(MEDIA_TYPE, chunk.offset, chunk.end - chunk.offset, text))
        else:
            foreign.append(chunk)
    return chunks, ours, foreign


def _itxt_chunk(packet: bytes) -> bytes:
    # keyword, NUL, compression flag 0, method 0, empty language tag, empty translated keyword
    body = b"iTXt" + XMP_KEYWORD + b"\0\0\0\0\0" + packet
    return struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))


def find_label(data: bytes) -> LabelSegment | None:
    """Validate ``data`` as a PNG and locate its XCR label chunk, or None if it has none.

    Raises:
        InputError: a corrupt PNG (field ``png``) or more than one XCR label (field ``label``).
    """
    _, ours, _ = _scan(data)
    if len(ours) > 1:
        raise InputError("label", f"found {len(ours)} XCR label chunks; a file carries one")
    return ours[0] if ours else None


def embed(data: bytes, label: ImpactLabel) -> bytes:
    """Return ``data`` with ``label`` inserted as one ``iTXt`` chunk right after ``IHDR``.

    Raises:
        InputError: corrupt PNG (``png``); already labelled (``label``); carries a foreign
            XMP packet (``xmp``).
    """
    chunks, ours, foreign = _scan(data)
    if ours:
        raise InputError(
            "label",
            f"the file already carries an XCR label at byte {ours[0].offset}; "
            "strip() it first (or use relabel())",
        )
    if foreign:
        raise InputError(
            "xmp",
            f"the file already carries a foreign XMP packet at byte {foreign[0].offset}; "
            "a file holds one XMP packet, so label it with a sidecar instead",
        )
    at = chunks[0].end
    return data[:at] + _itxt_chunk(to_xmp(label)) + data[at:]


def extract(data: bytes) -> tuple[ImpactLabel, bytes]:
    """Read the label and recover the original bytes (the file minus the label chunk).

    Raises:
        InputError: corrupt PNG, no label, several labels, or a malformed label packet.
    """
    segment = find_label(data)
    if segment is None:
        raise InputError("label", "this PNG carries no XCR label")
    return parse_xmp(segment.packet), segment.remove_from(data)


def strip(data: bytes) -> bytes:
    """``data`` without its XCR label chunk; an unlabelled PNG comes back unchanged."""
    segment = find_label(data)
    return data if segment is None else segment.remove_from(data)
