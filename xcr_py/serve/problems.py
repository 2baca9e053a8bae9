"""RFC 9457 problem details: every error the API returns is ``application/problem+json``.

A problem names its ``type`` (a ``urn:xcr:problem:*`` URN, or ``about:blank`` when the HTTP
status says it all), a short ``title``, the ``status``, a ``detail`` for this occurrence and
the ``instance`` (the request path). Validation problems add ``errors``: one entry per bad
field, naming the field and the limit it broke, like :class:`~xcr_py.errors.InputError`.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from xcr_py.errors import ChainError, ContentError, InputError, XcrError

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "FieldError",
    "Problem",
    "ProblemError",
    "install_problem_handlers",
    "problem_response",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
_log = logging.getLogger("xcr.serve")


class FieldError(BaseModel):
    """One invalid request field: where it is and what limit it broke."""

    field: str = Field(description="dotted location, e.g. `path.cid` or `body.file`")
    problem: str = Field(description="what is wrong, including the limit")


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    type: str = Field(default="about:blank", description="problem type URI")
    title: str = Field(description="short summary of the problem type")
    status: int = Field(ge=400, le=599, description="HTTP status code")
    detail: str = Field(default="", description="explanation of this occurrence")
    instance: str = Field(default="", description="the request path")
    errors: list[FieldError] | None = Field(default=None,
                                            description="invalid fields (validation problems)")


class ProblemError(Exception):
    """Raised by a route to answer with a problem.

    Args:
        status: HTTP status.
        slug: short type name; the type URI becomes ``urn:xcr:problem:<slug>``.
        detail: what went wrong this time.
        errors: invalid fields, if any.
    """

    def __init__(self, status: int, slug: str, detail: str,
                 errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.errors = errors


def problem_response(status: int, detail: str, *, instance: str = "", slug: str | None = None,
                     errors: list[FieldError] | None = None,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    """A ``application/problem+json`` response."""
    problem = Problem(
        type=f"urn:xcr:problem:{slug}" if slug else "about:blank",
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=instance,
        errors=errors,
    )
    return JSONResponse(problem.model_dump(exclude_none=True), status_code=status,
                        media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error (ours, validation, routing, unexpected) with problem details."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc.status, exc.detail, instance=request.url.path,
                                slug=exc.slug, errors=exc.errors)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [FieldError(field=_location(e.get("loc", ())), problem=str(e.get("msg", "")))
                  for e in exc.errors()]
        detail = "; ".join(f"{e.field}: {e.problem}" for e in errors) or "invalid request"
        return problem_response(422, detail, instance=request.url.path, slug="invalid-request",
                                errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem_response(exc.status_code, detail, instance=request.url.path,
                                headers=dict(exc.headers or {}))

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> JSONResponse:
        return problem_response(422, str(exc), instance=request.url.path, slug="invalid-input",
                                errors=[FieldError(field=exc.field, problem=exc.problem)])

    @app.exception_handler(XcrError)
    async def _xcr(request: Request, exc: XcrError) -> JSONResponse:
        # The store or the chain could not answer: the server is up, a dependency is not.
        if isinstance(exc, ContentError):
            status, slug = 502, "store-unavailable"
        elif isinstance(exc, ChainError):
            status, slug = 502, "chain-unavailable"
        else:
            status, slug = 500, "internal"
        _log.warning("%s %s: %s", request.method, request.url.path, exc)
        return problem_response(status, f"{type(exc).__name__}: {exc}",
                                instance=request.url.path, slug=slug)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        _log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(500, "unexpected server error (logged)",
                                instance=request.url.path, slug="internal")
