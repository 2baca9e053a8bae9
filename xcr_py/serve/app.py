"""The FastAPI application: routes, problem details, the size limit and the viewer.

:func:`create_app` opens the configured store and chain once (a :class:`Backend`) and closes
them when the server stops; :func:`openapi_document` builds the same routes without opening
anything, for ``docs/openapi.json``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from xcr_py.config import XcrConfig
from xcr_py.serve.backend import Backend
from xcr_py.serve.limits import BodySizeLimit, Limits
from xcr_py.serve.problems import PROBLEM_MEDIA_TYPE, Problem, install_problem_handlers
from xcr_py.serve.routes import router
from xcr_py.serve.viewer import content_security_policy, viewer_html

__all__ = ["build_app", "create_app", "openapi_document"]

DESCRIPTION = """Read-only HTTP API over XCR's receipts, labels and verifications.

Every error is an RFC 9457 problem (`application/problem+json`). Every number carries its unit,
source and method. Token ids are decimal strings (256-bit). No endpoint writes anything: the
chain connection refuses every sending method, and uploads are verified in a temporary folder.
Request bodies are limited (default 32 MiB; `xcr serve --max-upload-mb`): larger ones are
answered 413 before they are read.
"""


def _version() -> str:
    try:
        return version("xcr")
    except PackageNotFoundError:  # running from a source tree without installing
        return "0.0.0"


def _file_parts(schemas: dict[str, Any]) -> None:
    """Multipart file fields as OpenAPI tools read them: ``format: binary``, never null.

    FastAPI writes an optional file as ``anyOf [string, null]`` with only ``contentMediaType``;
    generators (schemathesis) then send it as a text field, or the literal ``null``. An upload
    must also not be empty (the route answers 422), which ``minLength`` says.
    """
    for name, schema in schemas.items():
        if not name.startswith("Body_"):
            continue
        required = set(schema.get("required", []))
        for field, prop in schema.get("properties", {}).items():
            branches = prop.get("anyOf", [prop])
            binary = next((b for b in branches if b.get("contentMediaType")), None)
            if binary is None:
                continue
            part: dict[str, Any] = {"type": "string", "format": "binary",
                                    "contentMediaType": binary["contentMediaType"]}
            if field in required:
                part["minLength"] = 1
            part.update({k: prop[k] for k in ("title", "description") if k in prop})
            schema["properties"][field] = part


def _problem_only(doc: dict[str, Any]) -> dict[str, Any]:
    """Every 4xx/5xx response documented as application/problem+json with the Problem schema."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    _file_parts(schemas)
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for defn in schemas["Problem"].pop("$defs", {}).items():
        schemas[defn[0]] = defn[1]
    for path in doc.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = {PROBLEM_MEDIA_TYPE: {
                        "schema": {"$ref": "#/components/schemas/Problem"}}}
                    if status == "422":
                        response["description"] = ("Invalid request: the field and its limit "
                                                   "(problem details)")
    return doc


def build_app(backend: Backend | None, limits: Limits | None = None) -> FastAPI:
    """The application over ``backend`` (None: routes answer 503; used for the document).

    The backend is closed when the application shuts down.
    """
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if backend is not None:
                backend.close()

    # No /docs or /redoc: FastAPI's pages load Swagger UI / ReDoc from a CDN, and nothing this
    # server serves may depend on an external resource. /openapi.json stays.
    app = FastAPI(title="XCR API", version=_version(), description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.backend = backend
    install_problem_handlers(app)
    app.include_router(router)

    @app.get("/", response_class=HTMLResponse, summary="The receipt viewer", tags=["viewer"])
    def viewer() -> HTMLResponse:
        """Drop an image, see its verification step by step (no external resources)."""
        return HTMLResponse(viewer_html(), headers={
            "Content-Security-Policy": content_security_policy(),
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache"})

    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _problem_only(original())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(BodySizeLimit, max_body_bytes=(limits or Limits()).max_body_bytes)
    return app


def create_app(config: XcrConfig, *, limits: Limits | None = None,
               backend: Backend | None = None) -> FastAPI:
    """Open the configured store and chain (once) and build the application over them.

    Raises:
        ConfigError: no deployment file; ChainError: the chain cannot be opened (for the
            embedded chain: another process holds it).
    """
    return build_app(backend if backend is not None else Backend(config), limits)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the API (what ``docs/openapi.json`` holds)."""
    return build_app(None).openapi()
