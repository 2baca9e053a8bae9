"""Gas of every XCR operation on anvil (``--hardfork cancun``), next to a plain ERC-721 mint.

One command::

    python3 benchmarks/gas.py [--json]

Starts anvil from ``node_modules`` itself, deploys the shipped artifacts (compiler settings are read
from ``xcr_py/chain/artifacts/compiler.json`` and printed), and measures gas from transaction
receipts: deploy, issue batch, single receipt (the whole atomic transaction: signature check,
on-chain recomputation, retirement, mint), batch settlement of 1 / 10 / 100 / 1,000 assets (total
and per asset), the claim of one asset's receipt from a batch, and the baseline: OpenZeppelin
ERC-721 ``_mint`` to a fresh address (``contracts/bench/PlainERC721.sol``), in the same run.
Every figure is printed with its ratio to that baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from importlib import resources
from typing import Any

from eth_account import Account
from eth_typing import HexStr
from eth_utils import to_checksum_address

from xcr_py import units
from xcr_py.chain import RemovalMethod, Sender, XcrGateway, connect, deploy
from xcr_py.chain.contracts import bytecode, load_artifact
from xcr_py.chain.nodes import start_anvil
from xcr_py.oracle import BatchReport, Leaf, MerkleTree, MeteringReport, sign_all

TARGET_SINGLE_GAS = 120_000
TARGET_BATCH_GAS_PER_ASSET_AT_1000 = 200


def _fresh_address() -> str:
    return Account.create().address


def measure() -> dict[str, Any]:
    """Run every measurement on a private anvil and return the figures (gas units)."""
    node = start_anvil(hardfork="cancun")
    try:
        w3 = connect(node.url)
        admin, oracle = node.private_keys[0], node.private_keys[1]
        figures: dict[str, Any] = {}

        # Baseline: plain OpenZeppelin ERC-721 mint to a fresh address.
        sender = Sender(w3, admin)
        factory = w3.eth.contract(
            abi=load_artifact("PlainERC721")["abi"], bytecode=bytecode("PlainERC721")
        )
        plain_address = sender.send(
            None, factory.constructor().data_in_transaction
        ).contract_address
        assert plain_address is not None
        plain: Any = w3.eth.contract(
            address=to_checksum_address(plain_address), abi=load_artifact("PlainERC721")["abi"]
        )
        sender.transact(plain, "mint", _fresh_address(), 1)  # warm the contract's storage layout
        figures["baseline_erc721_mint"] = sender.transact(
            plain, "mint", _fresh_address(), 2
        ).gas_used

        deployment = deploy(w3, admin, [Account.from_key(oracle).address], threshold=1)
        deploy_gas = [
            int(w3.eth.get_transaction_receipt(HexStr(h))["gasUsed"])
            for h in deployment.tx_hashes.values()
        ]
        figures["deploy_total"] = sum(deploy_gas)
        gw = XcrGateway(w3, deployment, admin)
        batch_id, tx = gw.issue_batch(
            10**12,
            RemovalMethod.BIOCHAR,
            1000,
            2024,
            "Puro.earth",
            "PURO-1",
            "1-1000000000000",
            "bafkreibatchdocs",
        )
        figures["issue_batch"] = tx.gas_used
        deadline = int(w3.eth.get_block("latest")["timestamp"]) + 10**6

        def single(creator: str) -> int:
            e, i, p, emb = 5 * 3_600_000_000 // 1000, 412_000, 1_180, 23_000
            report = MeteringReport(
                os.urandom(32),
                os.urandom(32),
                creator,
                e,
                i,
                p,
                emb,
                units.gross_emissions_mg(e, i, p, emb),
                10_000,
                batch_id,
                deadline,
            )
            return gw.submit_single(report, sign_all(report, gw.domain, [oracle])).tx.gas_used

        single(_fresh_address())  # first retirement initialises the counters
        figures["single_receipt_fresh_creator"] = single(_fresh_address())
        repeat = _fresh_address()
        single(repeat)
        figures["single_receipt_repeat_creator"] = single(repeat)

        batches: dict[int, int] = {}
        claim_gas = 0
        for n in (0, 1, 10, 100, 1000):  # n = 0: a 1-asset warm-up, so every owner is the same
            n_leaves = max(n, 1)
            leaves = [
                Leaf(os.urandom(32), os.urandom(32), _fresh_address(), 1_000_000 + i, 250 + i)
                for i in range(n_leaves)
            ]
            tree = MerkleTree(leaves)
            report = BatchReport(
                tree.root,
                os.urandom(32),
                Account.from_key(admin).address,
                n_leaves,
                sum(x.energy_mj for x in leaves),
                sum(x.gross_mg for x in leaves),
                10_000,
                batch_id,
                deadline,
            )
            settled = gw.submit_batch(report, sign_all(report, gw.domain, [oracle]))
            if n:
                batches[n] = settled.tx.gas_used
            if n == 1000:
                claim_gas = gw.claim_asset_receipt(
                    settled.token_id, leaves[0], tree.proof(leaves[0])
                ).tx.gas_used
        figures["batch_settle"] = batches
        figures["claim_asset_receipt_1000"] = claim_gas
        return figures
    finally:
        node.stop()


def compiler_settings() -> dict[str, Any]:
    """Compiler version and optimizer settings the artifacts were built with."""
    text = resources.files("xcr_py.chain").joinpath("artifacts", "compiler.json").read_text()
    info: dict[str, Any] = json.loads(text)
    return info


def report(figures: dict[str, Any]) -> str:
    """The figures as a table, each with its ratio to the baseline."""
    base = figures["baseline_erc721_mint"]
    rows = [
        ("baseline: OpenZeppelin ERC-721 _mint, fresh address", base, ""),
        ("deploy (3 contracts + role grants)", figures["deploy_total"], ""),
        ("issue credit batch", figures["issue_batch"], ""),
        (
            "single receipt, fresh creator",
            figures["single_receipt_fresh_creator"],
            f"target <= {TARGET_SINGLE_GAS:,}",
        ),
        ("single receipt, creator already holds one", figures["single_receipt_repeat_creator"], ""),
    ]
    for n, gas in figures["batch_settle"].items():
        rows.append((f"batch settle, {n:,} assets (total)", gas, ""))
        rows.append(
            (
                f"batch settle, {n:,} assets (per asset)",
                gas / n,
                f"target <= {TARGET_BATCH_GAS_PER_ASSET_AT_1000}" if n == 1000 else "",
            )
        )
    rows.append(
        ("claim one asset receipt from the 1,000 batch", figures["claim_asset_receipt_1000"], "")
    )
    lines = [f"{'operation':52} {'gas':>12} {'x baseline':>11}  note"]
    for name, gas, note in rows:
        lines.append(f"{name:52} {gas:>12,.0f} {gas / base:>11.3f}  {note}")
    return "\n".join(lines)


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = measure()
    settings = compiler_settings()
    if args.json:
        print(
            json.dumps(
                {
                    "unit": "gas",
                    "source": "anvil --hardfork cancun, transaction receipts",
                    "method": "measured",
                    "compiler": settings,
                    "figures": figures,
                },
                indent=2,
                default=str,
            )
        )
        return 0
    print("XCR gas (measured: anvil --hardfork cancun, gasUsed from transaction receipts)")
    print(f"compiler: {json.dumps({k: v for k, v in settings.items() if k != 'sources'})[:400]}")
    print(report(figures))
    batch = figures["batch_settle"]
    ok_single = figures["single_receipt_fresh_creator"] <= TARGET_SINGLE_GAS
    ok_batch = batch[1000] / 1000 <= TARGET_BATCH_GAS_PER_ASSET_AT_1000
    flat = max(batch.values()) - min(batch.values())
    print(f"batch settle gas spread over 1..1,000 assets: {flat:,} gas (no per-asset storage)")
    print(f"single target met: {ok_single}; batch target met: {ok_batch}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
