"""Run in a separate process by test_embedded.py: deploy, issue credits and settle one receipt.

Usage: python -m tests.chain.embedded_worker DATA_DIR OUT_JSON
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from eth_account import Account

from xcr_py import units
from xcr_py.chain import RemovalMethod, XcrGateway, deploy
from xcr_py.chain.embedded import EmbeddedChain
from xcr_py.oracle import MeteringReport, sign_all


def main(data_dir: Path, out: Path) -> None:
    with EmbeddedChain(data_dir) as chain:
        keys = chain.dev_private_keys()
        oracle = Account.from_key(keys[1]).address
        deployment = deploy(chain.w3, keys[0], [oracle])
        gateway = XcrGateway(chain.w3, deployment, keys[0])
        batch, _ = gateway.issue_batch(
            10**6, RemovalMethod.BIOCHAR, 1000, 2024, "Puro.earth", "P", "1-1000000", "bafy"
        )
        asset, receipt = hashlib.sha256(b"asset").digest(), hashlib.sha256(b"receipt").digest()
        gross = units.gross_emissions_mg(3_600_000, 400_000, 1_200, 10)
        deadline = int(chain.w3.eth.get_block("latest")["timestamp"]) + 3600
        report = MeteringReport(
            asset,
            receipt,
            Account.from_key(keys[2]).address,
            3_600_000,
            400_000,
            1_200,
            10,
            gross,
            10_000,
            batch,
            deadline,
        )
        settled = gateway.submit_single(report, sign_all(report, gateway.domain, [keys[1]]))
        record = gateway.receipt(settled.token_id)
        out.write_text(
            json.dumps(
                {
                    "deployment": deployment.to_json(),
                    "token_id": settled.token_id,
                    "token_uri": record.token_uri,
                    "time": record.time,
                    "block_number": chain.w3.eth.block_number,
                }
            )
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
