"""Reading one campaign's receipts and declared parameters from the outbox (and block store).

The tracker's outbox rows carry the asset CID, the receipt CID (and usually the receipt's
canonical bytes) and the generation ``params``; a row without receipt bytes is read from the
block store by its receipt CID. Rows not yet pinned have no receipt and are counted apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xcr_py.errors import InputError
from xcr_py.receipt import Receipt, parse_receipt

__all__ = ["CampaignData", "load_campaign"]


@dataclass(frozen=True)
class CampaignData:
    """A campaign's receipts, their params by asset CID, and rows without a receipt yet."""

    receipts: tuple[Receipt, ...]
    params: dict[str, dict[str, Any]]
    without_receipt: int


def load_campaign(outbox_path: Path, campaign: str,
                  get_bytes: Callable[[str], bytes] | None = None) -> CampaignData:
    """Receipts of ``campaign`` from the outbox at ``outbox_path``.

    Args:
        get_bytes: reads a block-store object by CID (for rows without receipt bytes).

    Raises:
        InputError: no outbox file, or no asset of that campaign.
        ReceiptInvalid: a stored receipt does not validate.
    """
    from xcr_py.oracle.outbox import Outbox

    if not Path(outbox_path).is_file():
        raise InputError("outbox", f"no outbox at {outbox_path} (nothing tracked yet, or "
                         "another chain.data_dir / --outbox)")
    receipts: list[Receipt] = []
    params: dict[str, dict[str, Any]] = {}
    pending = 0
    with Outbox(outbox_path) as box:
        items = [i for i in box.items() if i.payload.get("campaign") == campaign]
    if not items:
        raise InputError("campaign", f"no tracked asset has campaign {campaign!r}")
    for item in items:
        data = item.receipt_bytes
        rcid = item.receipt_cid or item.payload.get("receipt_cid")
        if data is None and item.receipt_path and Path(item.receipt_path).is_file():
            data = Path(item.receipt_path).read_bytes()
        if data is None and rcid and get_bytes is not None:
            data = get_bytes(rcid)
        if data is None:
            pending += 1
            continue
        receipt = parse_receipt(data)
        receipts.append(receipt)
        raw = item.payload.get("params") or {}
        params[receipt.asset.cid] = dict(raw) if isinstance(raw, dict) else {}
    return CampaignData(tuple(receipts), params, pending)
