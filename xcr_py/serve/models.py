"""Response shapes of the API (pydantic models; they are the OpenAPI document's schemas).

Every number carries its unit, where it came from (``source``) and how it was obtained
(``method``: ``measured``, ``estimated``, ``dataset``, ``declared``, ``on-chain``,
``recomputed`` or ``stated``), as in :class:`xcr_py.verify.Number`. Token ids are decimal
strings: they are 256-bit integers, beyond what JSON numbers carry exactly in browsers.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "AssetView",
    "CampaignAsset",
    "CampaignView",
    "CreditBatchView",
    "Links",
    "Quantity",
    "ReceiptView",
    "RetirementView",
    "SettlementView",
    "VerdictNumber",
    "VerdictStep",
    "VerdictView",
]


class Quantity(BaseModel):
    """A number with its unit, source and method."""

    value: int | str
    unit: str
    source: str
    method: str


class Links(BaseModel):
    """Where to look next: the receipt on IPFS, the token on the explorer, API resources."""

    receipt_ipfs: str | None = Field(default=None, description="ipfs://<receipt CID>")
    token_explorer: str | None = Field(
        default=None, description="the token through the configured explorer_url template")
    receipt_api: str | None = None
    retirement_api: str | None = None
    asset_api: str | None = None
    badge: str | None = None


class VerdictNumber(BaseModel):
    """One figure a verification step used (see ``xcr verify --json``)."""

    name: str
    value: int | str
    unit: str
    source: str
    method: str


class VerdictStep(BaseModel):
    """One verification step."""

    name: str
    title: str
    result: Literal["pass", "fail"]
    details: str
    numbers: list[VerdictNumber]


class VerdictView(BaseModel):
    """The verdict of ``xcr verify --json`` (schema ``xcr.verdict/1``), plus links."""

    schema_: str = Field(alias="schema")
    path: str = Field(description="the uploaded file's name, or store:<CID> for a stored asset")
    ok: bool
    mode: Literal["single", "batch"] | None
    failed_step: str | None
    steps: list[VerdictStep]
    links: Links | None = None


class SettlementView(BaseModel):
    """How an asset was settled: its receipt token and retirement."""

    mode: Literal["single", "batch"]
    chain_id: int
    contract: str
    token_id: str
    retirement_id: int
    retirement_status: Literal["pending", "final"]
    batch_document: str | None = Field(default=None, description="CID of the batch document")


class AssetView(BaseModel):
    """An asset's impact label data and its verification status."""

    cid: str
    media_type: str | None
    bytes: int
    model: str | None
    campaign: str | None
    receipt_cid: str
    settlement: SettlementView | None
    label: dict[str, Quantity | str] | None = Field(
        description="impact label figures (gross, removed, ratio, permanence) and their words")
    verification: VerdictView
    links: Links


class CreditBatchView(BaseModel):
    """A registry batch of removal credits, as RemovalCredits records it."""

    batch_id: int
    method: str
    permanence_years: int
    vintage: int
    issued: Quantity
    registry: str
    project_id: str
    serial_range: str
    metadata_cid: str


class RetirementView(BaseModel):
    """A retirement record read from RemovalCredits."""

    retirement_id: int
    beneficiary: str
    status: Literal["pending", "final"]
    certificate: str
    retired: Quantity
    credit_batch: CreditBatchView
    links: Links


class ReceiptView(BaseModel):
    """A receipt token's on-chain record and the document its tokenURI names."""

    token_id: str
    token_id_hex: str
    chain_id: int
    contract: str
    owner: str
    locked: bool
    mode: Literal["single", "batch"]
    is_claim: bool
    token_uri: str
    receipt_digest: str
    asset_digest: str | None
    energy: Quantity
    gross: Quantity
    removed: Quantity
    retirement_id: int
    retirement_status: Literal["pending", "final"]
    minted_at: int = Field(description="block time of the mint, unix seconds")
    document: dict[str, Any] | None = Field(
        description="the receipt (single) or batch document (batch) from the store")
    document_error: str | None = None
    links: Links


class CampaignAsset(BaseModel):
    """One asset of a campaign."""

    cid: str
    model: str | None
    receipt_cid: str
    energy: Quantity
    gross: Quantity
    links: Links


class CampaignView(BaseModel):
    """A campaign's totals, its assets, and its report document."""

    campaign: str
    assets: int
    totals: dict[str, Quantity]
    energy_methods: dict[str, int] = Field(description="assets per energy method")
    items: list[CampaignAsset]
    report: dict[str, Any] | None = Field(
        description="the campaign report's JSON (xcr report), when the report stage is present")
