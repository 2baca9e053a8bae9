#!/usr/bin/env python3
"""Compile every ``contracts/**/*.sol`` with py-solc-x into the artifacts shipped in ``xcr_py``.

Usage::

    python3 scripts/compile.py            # (re)write xcr_py/chain/artifacts/
    python3 scripts/compile.py --check    # exit 1 if the committed artifacts are stale
    python3 scripts/compile.py --out DIR  # write elsewhere (tests)

The compiler is ``scripts/solc`` (solc-js from ``node_modules`` behind a solc-compatible command
line), driven through py-solc-x's ``compile_standard``; nothing is downloaded. Output is one
``<ContractName>.json`` per contract defined under ``contracts/`` plus ``compiler.json`` (compiler
version, full settings, OpenZeppelin version, sha256 of every source that went in). Files are
JSON with sorted keys and a trailing newline, so a recompile is byte-identical and ``--check`` is a
plain comparison. Everything is written to a temporary directory first and moved into place only
when the whole compile succeeded: a failed compile leaves the previous artifacts untouched.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import solcx
from solcx.exceptions import SolcError

REPO = Path(__file__).resolve().parents[1]
SOLC = REPO / "scripts" / "solc"
CONTRACTS_DIR = "contracts"
DEFAULT_OUT = REPO / "xcr_py" / "chain" / "artifacts"

# Optimizer: enabled, 200 runs (solc's default trade-off between deploy and call cost). No via-IR.
OPTIMIZER_RUNS = 200
EVM_VERSION = "shanghai"  # the newest ganache 7.9 runs; anvil and eth-tester run it too
REMAPPINGS = ["@openzeppelin/=node_modules/@openzeppelin/"]
OUTPUTS = [
    "abi",
    "evm.bytecode.object",
    "evm.deployedBytecode.object",
    "evm.methodIdentifiers",
    "metadata",
    "storageLayout",
]
# Files the artifacts directory keeps that the compiler does not write.
KEEP = {"__init__.py"}


class CompileError(Exception):
    """The contracts did not compile, or the artifacts are inconsistent."""


def settings() -> dict[str, Any]:
    """The solc standard-JSON settings used for every artifact (recorded in compiler.json)."""
    return {
        "evmVersion": EVM_VERSION,
        "metadata": {"bytecodeHash": "ipfs"},
        "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
        "outputSelection": {"*": {"*": OUTPUTS}},
        "remappings": REMAPPINGS,
    }


def source_units(repo: Path = REPO) -> list[str]:
    """Source unit names (repo-relative, POSIX) of every contract source, sorted."""
    root = repo / CONTRACTS_DIR
    return sorted(
        p.relative_to(repo).as_posix()
        for p in root.rglob("*.sol")
        # Hidden folders are tool caches (ape-solidity unpacks dependencies into contracts/.cache).
        if not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def compile_contracts(repo: Path = REPO) -> dict[str, Any]:
    """Run the compiler over every contract source; return solc's standard-JSON output."""
    units = source_units(repo)
    if not units:
        raise CompileError(f"no .sol files under {repo / CONTRACTS_DIR}")
    input_json = {
        "language": "Solidity",
        "sources": {u: {"urls": [u]} for u in units},
        "settings": settings(),
    }
    try:
        return solcx.compile_standard(
            input_json, base_path=repo, allow_paths=[repo], solc_binary=SOLC
        )
    except SolcError as exc:
        raise CompileError(str(exc)) from exc


def _dump(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, indent=1) + "\n"


def render(output: dict[str, Any], repo: Path = REPO) -> dict[str, str]:
    """Artifact file name -> file text, for the contracts defined under contracts/."""
    files: dict[str, str] = {}
    owner: dict[str, str] = {}
    for unit, contracts in sorted(output.get("contracts", {}).items()):
        if not unit.startswith(CONTRACTS_DIR + "/"):
            continue  # libraries (OpenZeppelin) are inputs, not shipped artifacts
        for name, c in sorted(contracts.items()):
            if name in owner:
                raise CompileError(f"contract name {name} defined in {owner[name]} and {unit}")
            owner[name] = unit
            evm = c["evm"]
            bytecode = evm["bytecode"]["object"]
            files[f"{name}.json"] = _dump(
                {
                    "contractName": name,
                    "sourceName": unit,
                    "abi": c["abi"],
                    "bytecode": "0x" + bytecode if bytecode else "0x",
                    "deployedBytecode": "0x" + evm["deployedBytecode"]["object"]
                    if evm["deployedBytecode"]["object"]
                    else "0x",
                    "methodIdentifiers": evm["methodIdentifiers"],
                    # Kept as the exact string solc hashed into the bytecode's CBOR trailer.
                    "metadata": c["metadata"],
                    "storageLayout": c["storageLayout"],
                }
            )
    sources = {}
    for unit in sorted(output.get("sources", {})):
        sources[unit] = hashlib.sha256((repo / unit).read_bytes()).hexdigest()
    oz = json.loads((repo / "node_modules/@openzeppelin/contracts/package.json").read_text())
    files["compiler.json"] = _dump(
        {
            "compiler": "solc-js",
            "solcVersion": solcx.wrapper.get_solc_version(SOLC, with_commit_hash=True).public,
            "openzeppelinContracts": oz["version"],
            "settings": settings(),
            "sourcesSha256": sources,
            "generatedBy": "scripts/compile.py",
        }
    )
    return files


def write(files: dict[str, str], out: Path) -> None:
    """Replace the artifacts in ``out`` with ``files`` (stale artifacts removed), all or nothing."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".artifacts-") as tmp:
        for name, text in files.items():
            (Path(tmp) / name).write_text(text)
        for old in out.glob("*.json"):
            if old.name not in files:
                old.unlink()
        for name in files:
            (Path(tmp) / name).replace(out / name)


def diff(files: dict[str, str], out: Path) -> list[str]:
    """Names of artifacts in ``out`` that are missing, stale or extra compared with ``files``."""
    present = {p.name for p in out.glob("*.json")} if out.is_dir() else set()
    changed = [n for n in files if n not in present or (out / n).read_text() != files[n]]
    return sorted(changed + [n for n in present - set(files) if n not in KEEP])


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="artifacts directory")
    parser.add_argument("--repo", type=Path, default=REPO, help=argparse.SUPPRESS)
    parser.add_argument(
        "--check", action="store_true", help="compare with the artifacts in --out; write nothing"
    )
    args = parser.parse_args(argv)
    if shutil.which("node") is None:
        print("error: node is not on PATH (needed by scripts/solc)", file=sys.stderr)
        return 2
    try:
        files = render(compile_contracts(args.repo), args.repo)
    except CompileError as exc:
        print(f"error: compile failed:\n{exc}", file=sys.stderr)
        return 1
    if args.check:
        stale = diff(files, args.out)
        if stale:
            print(f"artifacts out of date in {args.out}: {', '.join(stale)}", file=sys.stderr)
            print("run: python3 scripts/compile.py", file=sys.stderr)
            return 1
        print(f"artifacts up to date ({len(files)} files)")
        return 0
    write(files, args.out)
    print(f"wrote {len(files)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
