"""The impact badge as a PNG, drawn with Pillow.

Same wording and colours as the SVG (:mod:`xcr_py.badge.text`, :data:`ACCENTS`). The font is
the one Pillow bundles (``ImageFont.load_default(size)``, Aileron), so nothing is read from the
system and the output depends only on the label and the Pillow version. The full statement,
with the full receipt CID, is stored in the PNG's ``Title`` and ``Description`` text chunks.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from xcr_py.badge.svg import ACCENTS
from xcr_py.badge.text import BadgeText, badge_text
from xcr_py.errors import InputError
from xcr_py.receipt.label import ImpactLabel

__all__ = ["render_png"]

_HEAD_SIZE, _BODY_SIZE, _PAD, _LINE = 13, 12, 10, 18
_MAX_SCALE = 8


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return (int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16))


def render_png(label: ImpactLabel, *, scale: int = 2, text: BadgeText | None = None) -> bytes:
    """The badge for ``label`` as PNG bytes.

    Args:
        label: the impact label to state.
        scale: pixel density, 1..8 (2 gives crisp text on high-DPI screens).
        text: pre-composed wording (defaults to :func:`xcr_py.badge.text.badge_text`).

    Raises:
        InputError: ``scale`` out of range.
    """
    if not isinstance(scale, int) or isinstance(scale, bool) or not 1 <= scale <= _MAX_SCALE:
        raise InputError("scale", f"must be an integer in 1..{_MAX_SCALE}, got {scale!r}")
    words = text or badge_text(label)
    head_font = ImageFont.load_default(size=_HEAD_SIZE * scale)
    body_font = ImageFont.load_default(size=_BODY_SIZE * scale)
    head, *body = words.lines
    pad, line = _PAD * scale, _LINE * scale
    text_w = max(head_font.getlength(head), *(body_font.getlength(b) for b in body))
    width = int(text_w) + 2 * pad + 1
    head_h = line + 6 * scale
    height = head_h + line * len(body) + pad
    accent = _rgb(ACCENTS[words.status])

    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle(
        (0, 0, width - 1, height - 1),
        radius=6 * scale,
        fill=(246, 248, 250),
        outline=accent,
        width=scale,
    )
    draw.rounded_rectangle(
        (0, 0, width - 1, head_h), radius=6 * scale, fill=accent, corners=(True, True, False, False)
    )
    draw.text((pad, line), head, font=head_font, fill=(255, 255, 255), anchor="ls")
    for i, text_line in enumerate(body):
        y = head_h + line * (i + 1) - 4 * scale
        draw.text((pad, y), text_line, font=body_font, fill=(36, 41, 47), anchor="ls")

    info = PngInfo()
    info.add_text("Title", words.headline)
    info.add_itxt("Description", words.title)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info, optimize=False)
    return out.getvalue()
