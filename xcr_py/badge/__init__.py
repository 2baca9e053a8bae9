"""The visual impact badge: what was measured and what was removed, as SVG and PNG.

The wording (units, precision, conservative rounding, when "carbon neutral" may appear) is
decided once in :mod:`xcr_py.badge.text`; the renderers only draw it.
"""

from __future__ import annotations

from xcr_py.badge.png import render_png
from xcr_py.badge.svg import render_svg
from xcr_py.badge.text import BadgeText, badge_text, format_mass_mg

__all__ = ["BadgeText", "badge_text", "format_mass_mg", "render_png", "render_svg"]
