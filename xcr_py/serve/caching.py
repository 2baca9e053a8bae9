"""HTTP caching for read views: a strong ETag over the body, and how long it may be kept.

A view that is *final* (its retirement is final on chain, so nothing it shows can change) is
``immutable`` for a year; a pending one gets a short ``max-age`` and must be revalidated, which
a client does cheaply with ``If-None-Match`` (answered 304 without a body).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import Request, Response

__all__ = ["FINAL_CACHE", "PENDING_CACHE", "cached_response", "etag_of", "json_bytes"]

FINAL_CACHE = "public, max-age=31536000, immutable"
PENDING_CACHE = "public, max-age=30, must-revalidate"


def json_bytes(body: Any) -> bytes:
    """Deterministic JSON (sorted keys), so equal documents have equal ETags."""
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def etag_of(content: bytes) -> str:
    """A strong ETag: the first 128 bits of the body's SHA-256."""
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return etag in {t.strip().removeprefix("W/") for t in header.split(",")}


def cached_response(request: Request, content: bytes, media_type: str, final: bool) -> Response:
    """The response with ETag and Cache-Control, or 304 when the client's copy is current."""
    etag = etag_of(content)
    headers = {"ETag": etag, "Cache-Control": FINAL_CACHE if final else PENDING_CACHE}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(content, media_type=media_type, headers=headers)
