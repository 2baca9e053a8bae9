"""The impact label in a JPEG: one APP1 segment carrying ``http://ns.adobe.com/xap/1.0/\\0``
followed by the XMP packet.

Position rule: after SOI and after the leading run of APP0 (JFIF/JFXX) and Exif APP1 segments
that JFIF and Exif require first; before everything else. Removing exactly that segment restores
the original bytes, which is what the receipt's asset CID was computed over (the hard binding).

Reading validates the marker structure of the whole file: SOI, length-framed segments, at least
one SOF and one SOS, entropy-coded data scanned through byte stuffing and restart markers, and an
EOI. Bytes after EOI are kept as they are (Multi-Picture files store further images there). Any
defect is an :class:`~xcr_py.errors.InputError` with field ``jpeg``. A file already holding an
XCR label, or any other XMP packet (standard or extended), is refused by :func:`embed`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from xcr_py.embed.common import LabelSegment
from xcr_py.errors import InputError
from xcr_py.receipt.label import ImpactLabel, is_xcr_packet, parse_xmp, to_xmp

__all__ = ["MEDIA_TYPE", "XMP_HEADER", "embed", "extract", "find_label", "strip"]

MEDIA_TYPE = "image/jpeg"
XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\0"
XMP_EXTENSION_HEADER = b"http://ns.adobe.com/xmp/extension/\0"
_EXIF_HEADER = b"Exif\0\0"
_SOI, _EOI, _SOS, _APP0, _APP1 = 0xD8, 0xD9, 0xDA, 0xE0, 0xE1
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RST0..7 carry no length
_SOF = {*range(0xC0, 0xD0)} - {0xC4, 0xC8, 0xCC}  # DHT, JPG and DAC are not frame headers
_MAX_PACKET = 0xFFFF - 2 - len(XMP_HEADER)


@dataclass(frozen=True)
class _Segment:
    marker: int
    offset: int  # of the 0xFF that starts the marker
    end: int  # one past the segment (length-framed part only, not entropy-coded data)
    payload_start: int


def _segments(data: bytes) -> list[_Segment]:
    """Walk and validate the marker structure; raise InputError('jpeg', ...) on any defect."""
    n = len(data)
    if n < 4 or data[0] != 0xFF or data[1] != _SOI:
        raise InputError("jpeg", "does not start with the SOI marker (FF D8)")
    segments: list[_Segment] = []
    pos = 2
    seen_sof = seen_sos = False
    while True:
        if pos >= n:
            raise InputError("jpeg", f"truncated: ends at byte {n} without an EOI marker")
        if data[pos] != 0xFF:
            raise InputError("jpeg", f"expected a marker at byte {pos}, found {data[pos]:02x}")
        while pos + 1 < n and data[pos + 1] == 0xFF:  # fill bytes before a marker
            pos += 1
        if pos + 1 >= n:
            raise InputError("jpeg", f"truncated: marker at byte {pos} is incomplete")
        marker, start = data[pos + 1], pos
        pos += 2
        if marker == _EOI:
            break
        if marker in _STANDALONE:
            continue
        if marker in (0x00, _SOI):
            raise InputError("jpeg", f"invalid marker FF {marker:02x} at byte {start}")
        if pos + 2 > n:
            raise InputError("jpeg", f"truncated: segment FF {marker:02x} at byte {start}")
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2:
            raise InputError("jpeg", f"segment FF {marker:02x} at byte {start} has length {length}")
        if pos + length > n:
            raise InputError(
                "jpeg",
                f"truncated: segment FF {marker:02x} at byte {start} needs "
                f"{pos + length - n} more bytes",
            )
        segments.append(_Segment(marker, start, pos + length, pos + 2))
        pos += length
        seen_sof = seen_sof or marker in _SOF
        if marker == _SOS:
            if not seen_sof:
                raise InputError("jpeg", f"scan at byte {start} comes before any frame header")
            seen_sos = True
            pos = _skip_entropy_coded(data, pos)
    if not seen_sos:
        raise InputError("jpeg", "has no scan (SOS): no image data")
    return segments


def _skip_entropy_coded(data: bytes, pos: int) -> int:
    """Offset of the first marker after entropy-coded data starting at ``pos``."""
    n = len(data)
    while True:
        ff = data.find(b"\xff", pos)
        if ff < 0 or ff + 1 >= n:
            raise InputError("jpeg", "truncated: entropy-coded data runs to the end of the file")
        nxt = data[ff + 1]
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:  # stuffed byte or restart marker: still data
            pos = ff + 2
        elif nxt == 0xFF:  # fill byte; the marker follows
            pos = ff + 1
        else:
            return ff


def _scan(data: bytes) -> tuple[list[_Segment], list[LabelSegment], list[_Segment]]:
    segments = _segments(data)
    ours: list[LabelSegment] = []
    foreign: list[_Segment] = []
    for seg in segments:
        if seg.marker != _APP1:
            continue
        payload = data[seg.payload_start : seg.end]
        if payload.startswith(XMP_HEADER):
            packet = payload[len(XMP_HEADER) :]
            if is_xcr_packet(packet):
                ours.append(LabelSegment(MEDIA_TYPE, seg.offset, seg.end - seg.offset, packet))
                continue
            foreign.append(seg)
        elif payload.startswith(XMP_EXTENSION_HEADER):
            foreign.append(seg)
    return segments, ours, foreign


def _insert_at(data: bytes, segments: list[_Segment]) -> int:
    at = 2
    for seg in segments:
        is_exif = seg.marker == _APP1 and data[seg.payload_start : seg.end].startswith(_EXIF_HEADER)
        if seg.offset != at or not (seg.marker == _APP0 or is_exif):
            break
        at = seg.end
    return at


def _app1(packet: bytes) -> bytes:
    if len(packet) > _MAX_PACKET:
        raise InputError("label.xmp", f"is {len(packet)} bytes; a JPEG APP1 holds {_MAX_PACKET}")
    return b"\xff\xe1" + struct.pack(">H", 2 + len(XMP_HEADER) + len(packet)) + XMP_HEADER + packet


def find_label(data: bytes) -> LabelSegment | None:
    """Validate ``data`` as a JPEG and locate its XCR label segment, or None if it has none.

    Raises:
        InputError: a corrupt JPEG (field ``jpeg``) or more than one XCR label (``label``).
    """
    _, ours, _ = _scan(data)
    if len(ours) > 1:
        raise InputError("label", f"found {len(ours)} XCR label segments; a file carries one")
    return ours[0] if ours else None


def embed(data: bytes, label: ImpactLabel) -> bytes:
    """Return ``data`` with ``label`` inserted as one APP1 XMP segment (see the position rule).

    Raises:
        InputError: corrupt JPEG (``jpeg``); already labelled (``label``); carries a foreign
            XMP packet (``xmp``).
    """
    segments, ours, foreign = _scan(data)
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
    at = _insert_at(data, segments)
    return data[:at] + _app1(to_xmp(label)) + data[at:]


def extract(data: bytes) -> tuple[ImpactLabel, bytes]:
    """Read the label and recover the original bytes (the file minus the label segment).

    Raises:
        InputError: corrupt JPEG, no label, several labels, or a malformed label packet.
    """
    segment = find_label(data)
    if segment is None:
        raise InputError("label", "this JPEG carries no XCR label")
    return parse_xmp(segment.packet), segment.remove_from(data)


def strip(data: bytes) -> bytes:
    """``data`` without its XCR label segment; an unlabelled JPEG comes back unchanged."""
    segment = find_label(data)
    return data if segment is None else segment.remove_from(data)
