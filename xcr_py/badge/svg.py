"""The impact badge as a self-contained, deterministic SVG.

No external fonts, images, stylesheets or scripts: generic font families only, and every text
run has an explicit ``textLength`` (computed from a fixed width table, not from the fonts
installed), so the layout is the same everywhere and the same label always gives the same
bytes. The short CID is drawn; the full receipt CID, chain, contract and token id are in the
``<title>`` (read by screen readers and shown as a tooltip), and the label's RDF is in
``<metadata>`` for machines.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from xcr_py.badge.text import BadgeText, badge_text
from xcr_py.receipt.label import ImpactLabel, rdf_description

__all__ = ["ACCENTS", "render_svg", "text_width"]

ACCENTS = {"neutral": "#1a7f37", "pending": "#9a6700", "partial": "#57606a"}
"""Header colour per badge status: green only for a final, covering removal."""

_FONT = "DejaVu Sans,Verdana,Arial,sans-serif"
_HEAD_SIZE, _BODY_SIZE, _PAD, _LINE = 13, 12, 10, 18
# Approximate advance widths (em) of DejaVu Sans / Verdana-like faces; only used to size the
# text boxes, textLength then makes every renderer fit the text to exactly that box.
_EM = {
    **dict.fromkeys("ijl'|!", 0.28),
    **dict.fromkeys("frt()[]/ .,:;·", 0.36),
    **dict.fromkeys("mwMW@%", 0.96),
    **dict.fromkeys("0123456789", 0.64),
}


def text_width(text: str, size: float, bold: bool = False) -> float:
    """Layout width of ``text`` in px at ``size`` px (deterministic, font-independent)."""
    em = sum(_EM.get(ch, 0.72 if ch.isupper() else 0.6) for ch in text)
    return round(em * size * (1.1 if bold else 1.0), 1)


def _text(x: float, y: float, text: str, size: int, fill: str, bold: bool = False) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (
        f'<text x="{x}" y="{y}" font-size="{size}"{weight} fill="{fill}" '
        f'textLength="{text_width(text, size, bold)}" lengthAdjust="spacingAndGlyphs">'
        f"{escape(text)}</text>"
    )


def render_svg(label: ImpactLabel, text: BadgeText | None = None) -> str:
    """The badge for ``label`` as an SVG document (UTF-8 text, deterministic).

    Args:
        label: the impact label to state.
        text: pre-composed wording (defaults to :func:`xcr_py.badge.text.badge_text`).
    """
    words = text or badge_text(label)
    head, *body = words.lines
    width = round(
        max(text_width(head, _HEAD_SIZE, True), *(text_width(b, _BODY_SIZE) for b in body))
        + 2 * _PAD
    )
    head_h = _LINE + 6
    height = head_h + _LINE * len(body) + _PAD
    accent = ACCENTS[words.status]
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'role="img" aria-labelledby="xcr-title xcr-desc">',
        f'<title id="xcr-title">{escape(words.title)}</title>',
        f'<desc id="xcr-desc">{escape(words.one_line)}</desc>',
        f"<metadata>{rdf_description(label)}</metadata>",
        f"<g font-family={quoteattr(_FONT)}>",
        f'<rect width="{width}" height="{height}" rx="6" fill="#f6f8fa" stroke="{accent}"/>',
        f'<path d="M6 0H{width - 6}a6 6 0 0 1 6 6V{head_h}H0V6a6 6 0 0 1 6-6z" fill="{accent}"/>',
        _text(_PAD, _LINE, head, _HEAD_SIZE, "#ffffff", bold=True),
    ]
    for i, line in enumerate(body):
        parts.append(_text(_PAD, head_h + _LINE * (i + 1) - 4, line, _BODY_SIZE, "#24292f"))
    parts += ["</g>", "</svg>"]
    return "\n".join(parts) + "\n"
