#!/usr/bin/env python3
"""Deploy the XCR contracts to an EVM RPC and write ``deployments/<chain-id>.json``.

Usage::

    XCR_DEPLOYER_KEY=0x... python3 scripts/deploy.py --rpc http://127.0.0.1:8545 \\
        --key-env XCR_DEPLOYER_KEY [--oracle 0xA.. --oracle 0xB.. --threshold 2] \\
        [--ratio-bps 10000] [--min-permanence-years 100] [--out deployments]

The key is read from the named environment variable (never from the command line, never printed).
Without ``--oracle`` the deployer's own address is the single oracle. The output holds the contract
addresses, every transaction hash, the policy and the compiler metadata of the shipped artifacts;
``deployments/<chain-id>/<address>/`` receives each contract's Sourcify-style verification
material (metadata.json and its sources), checked against the deployed code first.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from eth_account import Account

from xcr_py.chain import connect, deploy, load_artifact
from xcr_py.chain.sourcify import write_verification_material
from xcr_py.errors import InputError, XcrError

REPO = Path(__file__).resolve().parents[1]


def compiler_metadata() -> dict[str, Any]:
    """compiler.json plus each contract's solc metadata (as shipped in xcr_py/chain/artifacts)."""
    text = resources.files("xcr_py.chain").joinpath("artifacts", "compiler.json").read_text()
    info: dict[str, Any] = {"compiler": json.loads(text), "contracts": {}}
    for name in ("RemovalCredits", "CarbonReceipt", "XcrController"):
        metadata = load_artifact(name).get("metadata", "")
        info["contracts"][name] = (
            json.loads(metadata) if isinstance(metadata, str) and metadata else metadata
        )
    return info


def run(argv: list[str] | None = None) -> Path:
    """Parse arguments, deploy, write the deployment file and return its path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpc", required=True, help="http(s) RPC URL, or 'embedded' (ephemeral)")
    parser.add_argument(
        "--key-env", required=True, help="environment variable holding the deployer key"
    )
    parser.add_argument("--oracle", action="append", default=[], help="oracle address (repeatable)")
    parser.add_argument("--threshold", type=int, default=1, help="oracle signatures per report")
    parser.add_argument("--ratio-bps", type=int, default=10_000, help="carbon-to-removal ratio")
    parser.add_argument("--min-permanence-years", type=int, default=100)
    parser.add_argument("--registrar", help="REGISTRAR_ROLE holder (default: the deployer)")
    parser.add_argument("--out", type=Path, default=REPO / "deployments", help="output directory")
    args = parser.parse_args(argv)

    key = os.environ.get(args.key_env)
    if not key:
        raise InputError("--key-env", f"environment variable {args.key_env} is empty or unset")
    try:
        deployer = Account.from_key(key).address
    except Exception as exc:  # never echo the value
        raise InputError("--key-env", f"{args.key_env} does not hold a valid private key") from exc
    w3 = connect(args.rpc)
    deployment = deploy(
        w3,
        key,
        args.oracle or [deployer],
        threshold=args.threshold,
        ratio_bps=args.ratio_bps,
        min_permanence_years=args.min_permanence_years,
        registrar=args.registrar,
    )
    document = {
        **deployment.to_json(),
        "rpc": args.rpc,
        "policy": {
            "oracles": args.oracle or [deployer],
            "threshold": args.threshold,
            "ratio_bps": args.ratio_bps,
            "min_permanence_years": args.min_permanence_years,
        },
        "compiler_metadata": compiler_metadata(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{deployment.chain_id}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    write_verification_material(deployment, args.out, w3=w3)
    return path


def main() -> int:
    """Entry point: exit 2 on bad input, 1 on other XCR errors."""
    try:
        path = run()
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except XcrError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    document = json.loads(path.read_text())
    print(f"deployed to chain {document['chain_id']}: wrote {path}")
    for name in ("credits", "receipts", "controller"):
        print(f"  {name:10} {document[name]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
