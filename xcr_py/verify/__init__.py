"""Independent verification of a labelled asset, from the file alone.

::

    from xcr_py.verify import verify_file
    verdict = verify_file("out/cat.png", config)         # opens the configured store and chain
    verdict.ok, verdict.failed_step, verdict.to_json()

Steps, in order (verification stops at the first failure): ``label``, ``asset_cid``,
``receipt``, ``receipt_asset``, ``footprint``, ``receipt_schema``, ``token``, ``retirement``,
and in batch mode ``batch_document``, ``batch_leaf``, ``inclusion_proof``, ``batch_totals``.
See ``docs/verify.md``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from xcr_py.config import XcrConfig
from xcr_py.content.store import BlockStore
from xcr_py.errors import XcrError
from xcr_py.verify import offchain, onchain
from xcr_py.verify.offchain import Failed, OffChain
from xcr_py.verify.onchain import OnChain
from xcr_py.verify.sources import ChainView, open_chain, open_verify_store, read_gateway
from xcr_py.verify.verdict import Number, Step, Verdict

__all__ = ["STEPS", "ChainView", "Number", "Step", "Verdict", "verify_file"]

STEPS: dict[str, str] = {
    "label": "Read the impact label",
    "asset_cid": "Recover the original bytes and recompute the asset CID",
    "receipt": "Fetch the receipt and recompute its CID and digest",
    "receipt_asset": "Receipt names this asset",
    "footprint": "Recompute the footprint from the receipt's factors",
    "receipt_schema": "Receipt validates against its schema",
    "token": "Receipt token on chain",
    "retirement": "Removal retirement on chain",
    "batch_document": "Batch document from the batch token's digest",
    "batch_leaf": "This asset's leaf in the batch",
    "inclusion_proof": "Merkle inclusion proof (off chain and on chain)",
    "batch_totals": "Batch totals: removed >= ratio x sum of gross",
}
"""Step name -> title, in the order steps run."""

Outcome = tuple[str, tuple[Number, ...]]


class _Run:
    def __init__(self) -> None:
        self.steps: list[Step] = []

    def step(self, name: str, check: Callable[[], Outcome]) -> bool:
        try:
            details, numbers = check()
        except Failed as exc:
            self.steps.append(Step(name, STEPS[name], "fail", exc.details, exc.numbers))
            return False
        except XcrError as exc:  # a stage error inside a check is this step's failure
            self.steps.append(Step(name, STEPS[name], "fail", f"{type(exc).__name__}: {exc}"))
            return False
        self.steps.append(Step(name, STEPS[name], "pass", details, numbers))
        return True


def verify_file(path: str | os.PathLike[str], config: XcrConfig, *,
                store: BlockStore | None = None, chain: ChainView | None = None) -> Verdict:
    """Verify the labelled file at ``path`` step by step; never raises for a failed check.

    Args:
        path: a labelled PNG/JPEG, or a media file with a ``.xcr.json`` sidecar.
        config: names the store and the chain (``chain.deployment_file``).
        store: use this block store instead of opening the configured one.
        chain: use this connection and deployment instead of opening the configured chain
            (the embedded chain admits one holder per process).

    Returns:
        The verdict; ``verdict.ok`` only when every step passed.

    Raises:
        ConfigError / ChainError: the configured chain cannot be opened at all.
    """
    source = Path(path)
    run, off, on = _Run(), OffChain(), OnChain()
    mode: str | None = None

    def done() -> Verdict:
        return Verdict(str(source), mode, tuple(run.steps))

    if not (run.step("label", lambda: offchain.read_asset(source, off))
            and run.step("asset_cid", lambda: offchain.asset_cid_step(off))):
        return done()
    assert off.asset is not None
    label = off.asset.label
    the_store = store if store is not None else open_verify_store(config)
    for name, check in (("receipt", lambda: offchain.fetch_receipt(the_store, off)),
                        ("receipt_asset", lambda: offchain.receipt_names_asset(off)),
                        ("footprint", lambda: offchain.recompute_footprint(off)),
                        ("receipt_schema", lambda: offchain.check_receipt_schema(off))):
        if not run.step(name, check):
            return done()
    with ExitStack() as stack:
        view = chain if chain is not None else open_chain(config, stack)
        gw = read_gateway(view)

        def token() -> Outcome:
            nonlocal mode
            details, numbers, mode = onchain.read_token(
                gw, off, on, label.chain_id, label.receipt_contract, label.token_id)
            return details, numbers

        if not run.step("token", token):
            return done()
        if not run.step("retirement", lambda: onchain.read_retirement(
                gw, off, on, label.retirement_status, label.removed_mg)):
            return done()
        if mode == "batch":
            assert off.footprint is not None
            ratio = off.footprint.ratio_bps
            for name, check in (
                    ("batch_document", lambda: onchain.batch_document(gw, the_store, on)),
                    ("batch_leaf", lambda: onchain.batch_leaf(off, on)),
                    ("inclusion_proof", lambda: onchain.inclusion_proof(gw, the_store, on)),
                    ("batch_totals", lambda: onchain.batch_totals(on, ratio))):
                if not run.step(name, check):
                    break
    return done()
