"""The viewer page (``GET /``): one package-data HTML file with its style and script inline.

It loads nothing from the network: the Content-Security-Policy allows only this page's own
inline style and script (pinned by their SHA-256 hashes) and requests to this server.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib import resources

__all__ = ["content_security_policy", "viewer_html"]


@cache
def viewer_html() -> str:
    """The page's HTML."""
    return (resources.files("xcr_py.serve") / "static" / "viewer.html").read_text("utf-8")


def _hash(body: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"


@cache
def content_security_policy() -> str:
    """A CSP allowing the page's inline style and script by hash, and fetches to itself only."""
    html = viewer_html()
    styles = " ".join(_hash(s) for s in re.findall(r"<style>(.*?)</style>", html, re.S))
    scripts = " ".join(_hash(s) for s in re.findall(r"<script>(.*?)</script>", html, re.S))
    return (f"default-src 'none'; style-src {styles}; script-src {scripts}; "
            "connect-src 'self'; img-src 'self' data: blob:; form-action 'none'; "
            "base-uri 'none'; frame-ancestors 'none'")
