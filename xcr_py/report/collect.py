"""Gather a campaign from its folder of labelled assets: receipts, tokens, retirements, verdicts.

A campaign is a folder (``xcr demo``'s output, or any folder of labelled files): every file
under it that carries an XCR label (embedded or sidecar) is one asset. Each asset is verified
with :func:`xcr_py.verify.verify_file` against the same store and chain, and its receipt,
receipt token and retirement are read; the report only adds them up.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from xcr_py.chain.gateway import CreditBatch, Receipt, Retirement, XcrGateway
from xcr_py.config import XcrConfig
from xcr_py.content.store import BlockStore
from xcr_py.embed.files import read_label
from xcr_py.embed.sidecar import sidecar_path
from xcr_py.errors import InputError, XcrError
from xcr_py.receipt import Receipt as ReceiptDoc
from xcr_py.receipt import parse_receipt
from xcr_py.receipt.label import ImpactLabel
from xcr_py.verify import ChainView, Verdict, verify_file
from xcr_py.verify.sources import read_gateway

__all__ = ["AssetEntry", "CampaignData", "RetirementEntry", "collect_campaign", "labelled_files"]

_EMBEDDED_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class RetirementEntry:
    """One retirement and the credit batch it came from (grams CO2e)."""

    retirement: Retirement
    credit: CreditBatch
    token_ids: tuple[int, ...]
    settling_tx: str | None


@dataclass(frozen=True)
class AssetEntry:
    """One labelled asset with what the store and chain say about it."""

    path: Path
    label: ImpactLabel
    verdict: Verdict
    receipt: ReceiptDoc | None
    token: Receipt | None
    settling_tx: str | None


@dataclass
class CampaignData:
    """Everything the report shows, before rendering."""

    folder: Path
    chain_id: int
    contracts: dict[str, str]
    assets: list[AssetEntry] = field(default_factory=list)
    retirements: dict[int, RetirementEntry] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def labelled_files(folder: Path) -> Iterator[Path]:
    """Candidate assets under ``folder``, sorted, recursive: PNG/JPEG files and any file with a
    ``.xcr.json`` sidecar (block stores, badges, CARs and configs are not candidates)."""
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.suffix.lower() in _EMBEDDED_SUFFIXES or sidecar_path(path).is_file():
            yield path


def _tx(gw: XcrGateway, token_id: int) -> str | None:
    from xcr_py.client.onchain import settling_tx

    try:
        return settling_tx(gw, token_id)
    except XcrError:
        return None


def collect_campaign(folder: str | os.PathLike[str], config: XcrConfig, *, store: BlockStore,
                     chain: ChainView, exclude: Path | None = None) -> CampaignData:
    """Read every labelled asset under ``folder``.

    Raises:
        InputError: ``folder`` is not a directory (``CAMPAIGN``), or holds no labelled asset.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError("CAMPAIGN", f"{root} is not a directory of labelled assets")
    gw = read_gateway(chain)
    dep = chain.deployment
    data = CampaignData(root, dep.chain_id, {"CarbonReceipt": dep.receipts,
                                             "RemovalCredits": dep.credits,
                                             "XcrController": dep.controller})
    tokens_tx: dict[int, str | None] = {}
    for path in labelled_files(root):
        if exclude is not None and exclude in path.parents:
            continue
        try:
            label = read_label(path, check_sidecar=False).label
        except XcrError:
            data.skipped.append(str(path.relative_to(root)))
            continue
        verdict = verify_file(path, config, store=store, chain=chain)
        try:
            receipt = parse_receipt(store.get(label.receipt_cid))
        except XcrError:
            receipt = None
        token = None
        if gw.receipt_exists(label.token_id):
            token = gw.receipt(label.token_id)
            if label.token_id not in tokens_tx:
                tokens_tx[label.token_id] = _tx(gw, label.token_id)
            rid = token.retirement_id
            entry = data.retirements.get(rid)
            if entry is None:
                retirement = gw.retirement(rid)
                data.retirements[rid] = RetirementEntry(
                    retirement, gw.credit_batch(retirement.batch_id), (label.token_id,),
                    tokens_tx[label.token_id])
            elif label.token_id not in entry.token_ids:
                data.retirements[rid] = RetirementEntry(
                    entry.retirement, entry.credit, (*entry.token_ids, label.token_id),
                    entry.settling_tx)
        data.assets.append(AssetEntry(path, label, verdict, receipt, token,
                                      tokens_tx.get(label.token_id)))
    if not data.assets:
        raise InputError("CAMPAIGN", f"{root} holds no file with an XCR label")
    return data
