"""Request size limits, enforced before a body is read.

:class:`BodySizeLimit` is a plain ASGI middleware: a request whose ``Content-Length`` is over
the limit is answered 413 at once, without reading a byte of its body; a body without a
length (chunked) is counted as it streams and cut off with 413 as soon as it passes the
limit, so an oversized upload never reaches the multipart parser or the disk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xcr_py.serve.problems import PROBLEM_MEDIA_TYPE, Problem

__all__ = ["DEFAULT_MAX_BODY_BYTES", "BodySizeLimit", "Limits"]

DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
"""32 MiB: a large PNG/JPEG with its label and the multipart envelope."""


@dataclass(frozen=True)
class Limits:
    """Server limits. Units: bytes, seconds.

    Attributes:
        max_body_bytes: largest request body accepted (the upload plus its multipart envelope).
    """

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def __post_init__(self) -> None:
        from xcr_py.errors import InputError

        if not 1024 <= self.max_body_bytes <= 1024**3:
            raise InputError("max_body_bytes",
                             f"must be in [1024, 1 GiB], got {self.max_body_bytes}")


class _TooLarge(BaseException):
    """The body passed the limit (a BaseException: FastAPI turns Exceptions into 400)."""


def _problem_body(limit: int, path: str, seen: int | None) -> bytes:
    got = f"{seen} bytes" if seen is not None else f"more than {limit} bytes"
    problem = Problem(type="urn:xcr:problem:too-large", title="Content Too Large", status=413,
                      detail=f"request body: must be at most {limit} bytes, got {got}",
                      instance=path)
    return json.dumps(problem.model_dump(exclude_none=True)).encode()


class BodySizeLimit:
    """ASGI middleware answering 413 (problem details) for bodies over ``max_body_bytes``."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def _reject(self, scope: Scope, send: Send, seen: int | None) -> None:
        body = _problem_body(self.max_body_bytes, scope.get("path", ""), seen)
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count the streamed body."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length > self.max_body_bytes:
                await self._reject(scope, send, length)
                return
        limit = self.max_body_bytes
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if started:  # a response already began: nothing sensible left to send
                raise
            await self._reject(scope, send, None)
