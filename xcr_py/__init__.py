"""XCR: Explainable Carbon Removal for AI-generated media.

The public surface is listed in ``__all__``; everything else is an implementation detail.
"""

from __future__ import annotations

from xcr_py.errors import XcrError

__all__ = ["XcrError", "__version__"]

__version__ = "0.1.0"
