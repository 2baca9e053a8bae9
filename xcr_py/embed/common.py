"""Types shared by the format-specific embedders."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LabelSegment"]


@dataclass(frozen=True)
class LabelSegment:
    """Where the XCR label sits in a file: the exclusion range of the hard binding.

    Removing ``data[offset:offset + length]`` gives back the bytes as rendered, which are
    what the receipt's asset CID names.

    Attributes:
        media_type: ``image/png`` or ``image/jpeg``.
        offset: byte offset of the segment (PNG chunk length field / JPEG ``0xFF`` marker).
        length: bytes of the whole segment, framing and checksum included.
        packet: the XMP packet it carries.
    """

    media_type: str
    offset: int
    length: int
    packet: bytes

    @property
    def end(self) -> int:
        """Offset one past the segment's last byte."""
        return self.offset + self.length

    def remove_from(self, data: bytes) -> bytes:
        """``data`` without this segment."""
        return data[: self.offset] + data[self.end :]
