"""The API's routes: thin adapters from HTTP to :mod:`xcr_py.serve.views`.

GET routes are plain functions (Starlette runs them in its thread pool); every chain read
inside takes the backend's lock. No route writes anything.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, File, Path, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from xcr_py.errors import InputError
from xcr_py.serve import models, views
from xcr_py.serve.backend import Backend, NotFound
from xcr_py.serve.caching import cached_response, json_bytes
from xcr_py.serve.problems import ProblemError

__all__ = ["CID_PATTERN", "router"]

router = APIRouter()

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Not found (problem details)"},
    422: {"description": "Invalid request: the field and its limit (problem details)"},
    502: {"description": "The store or the chain did not answer (problem details)"},
}
# The CIDs XCR computes: CIDv1, base32, sha2-256, raw leaf (bafkrei...) or dag-pb (bafybei...).
# The pattern pins the digest length and the zero pad bits, so every string it admits decodes:
# a well-formed CID that is not stored is a 404, anything else a 422 naming the pattern.
CID_PATTERN = r"^baf(?:kr|yb)ei[a-h][a-z2-7]{50}[aeimquy4]$"
_CID = Annotated[str, Path(pattern=CID_PATTERN, description="asset CID: CIDv1, base32, "
                           "sha2-256, raw (bafkrei...) or dag-pb (bafybei...), 59 characters",
                           examples=["bafkreiflfhhqavgkwexuurbl734lhfa2kcbkmx3jbhfozl5ro5cl2revjq"])]
_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _backend(request: Request) -> Backend:
    backend: Backend | None = getattr(request.app.state, "backend", None)
    if backend is None:
        raise ProblemError(503, "no-backend", "the server has no store or chain open")
    return backend


def _run(fn: Any, *args: Any) -> views.View:
    try:
        return fn(*args)
    except NotFound as exc:
        raise ProblemError(404, f"{exc.what}-not-found", str(exc)) from None


def _json(request: Request, view: views.View) -> Response:
    return cached_response(request, json_bytes(view.body), "application/json", view.final)


@router.get("/v1/assets/{cid}", response_model=models.AssetView, responses=_PROBLEMS,
            summary="Impact label data and verification status of a stored asset",
            tags=["assets"])
def get_asset(request: Request, cid: _CID) -> Response:
    """Label figures (gross, removed, ratio, permanence, each with unit, source and method),
    the settlement, and the step-by-step verification of the stored asset's bytes."""
    return _json(request, _run(views.asset_view, _backend(request), cid))


@router.get("/v1/badge/{cid}.svg", responses={
    **_PROBLEMS, 200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}},
                       "description": "the badge (SVG)"}},
    response_class=Response, summary="The asset's impact badge", tags=["assets"])
def get_badge(request: Request, cid: _CID) -> Response:
    """The badge SVG; immutable once the retirement is final, ETag otherwise."""
    view = _run(views.badge_view, _backend(request), cid)
    return cached_response(request, view.body.encode(), "image/svg+xml", view.final)


@router.get("/v1/receipts/{token_id}", response_model=models.ReceiptView, responses=_PROBLEMS,
            summary="A receipt token and the document it names", tags=["receipts"])
def get_receipt(request: Request, token_id: Annotated[str, Path(
        pattern=r"^(0x[0-9a-fA-F]{1,64}|[0-9]{1,78})$",
        description="token id, decimal or 0x-hex, < 2**256")]) -> Response:
    """The on-chain record (owner, digests, energy, gross, removed, retirement) and the receipt
    or batch document its tokenURI names."""
    return _json(request, _run(views.receipt_view, _backend(request), token_id))


@router.get("/v1/retirements/{id}", response_model=models.RetirementView, responses=_PROBLEMS,
            summary="A removal retirement and its credit batch", tags=["retirements"])
def get_retirement(request: Request, id: Annotated[int, Path(
        ge=0, le=2**64 - 1, description="retirement id")]) -> Response:
    """Grams retired, status (pending / final), certificate, and the registry batch."""
    return _json(request, _run(views.retirement_view, _backend(request), id))


_CAMPAIGN = Annotated[str, Path(min_length=1, max_length=200, description="campaign name "
                                "(the receipts' asset.campaign)")]


@router.get("/v1/campaigns/{id}", response_model=models.CampaignView, responses=_PROBLEMS,
            summary="Campaign totals, its assets and the report's JSON", tags=["campaigns"])
def get_campaign(request: Request, id: _CAMPAIGN) -> Response:
    """Totals (energy, gross, removed, measured share) and the ``xcr.report/1`` document."""
    return _json(request, _run(views.campaign_view, _backend(request), id))


@router.get("/v1/campaigns/{id}/report", response_class=Response, responses={
    **_PROBLEMS, 200: {"content": {"text/html": {"schema": {"type": "string"}}},
                       "description": "the self-contained HTML report"}},
    summary="The campaign's HTML report", tags=["campaigns"])
def get_campaign_report(request: Request, id: _CAMPAIGN) -> Response:
    """The report as one HTML page with inline SVG plots (no external resources)."""
    view = _run(views.campaign_report_html, _backend(request), id)
    return cached_response(request, view.body.encode(), "text/html; charset=utf-8", view.final)


def _display_name(name: str | None) -> str:
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return _NAME.sub("_", base)[:120] or "upload"


@router.post("/v1/verify", response_model=models.VerdictView, responses={
    **_PROBLEMS, 400: {"description": "The body is not valid multipart/form-data (problem "
                                      "details)"},
    413: {"description": "Request body over the size limit (problem details)"}},
    summary="Verify an uploaded labelled file, step by step", tags=["verify"])
async def post_verify(
        request: Request,
        file: Annotated[UploadFile, File(description="the labelled asset (PNG, JPEG, or media "
                                                     "with a sidecar)")],
        sidecar: Annotated[UploadFile | None, File(
            description="optional <file>.xcr.json sidecar label")] = None,
) -> Response:
    """The same step-by-step verdict as ``xcr verify --json``, plus links to the receipt on IPFS
    and the token on the explorer. A completed verification answers 200 whether it passed
    (``ok``) or failed (``failed_step``); nothing is stored."""
    data = await file.read()
    if not data:
        raise InputError("file", "is empty (0 bytes); upload the labelled asset")
    # A browser form sends an unselected file input as an empty part: that is no sidecar.
    extra = (await sidecar.read() or None) if sidecar is not None else None
    backend = _backend(request)
    view = await run_in_threadpool(views.verify_view, backend, data,
                                   _display_name(file.filename), extra)
    return Response(json_bytes(view.body), media_type="application/json",
                    headers={"Cache-Control": "no-store"})
