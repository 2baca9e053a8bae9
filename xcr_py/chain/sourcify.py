"""Sourcify-style verification material for a deployment, so an explorer can verify the code.

For each deployed contract, ``<out>/<chain-id>/<address>/`` receives (the layout of Sourcify's
repository, ``full_match/<chain-id>/<address>/``):

* ``metadata.json`` — the solc metadata exactly as compiled (byte for byte: its IPFS hash is
  embedded at the end of the runtime bytecode, which is what makes a *full* match), naming the
  compiler version, settings (optimizer, evmVersion, remappings) and every source's keccak256;
* ``sources/<path>`` — each source the metadata names, copied from ``contracts/`` and
  ``node_modules/@openzeppelin/contracts`` after checking its keccak256;
* ``creator-tx-hash.txt`` and ``address.txt``.

The deploy script calls :func:`write_verification_material` after deploying. Everything is
written to a temporary folder and renamed into place, so a missing or modified source leaves
no partial material.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from eth_utils import keccak, to_checksum_address
from web3 import Web3

from xcr_py.chain.contracts import load_artifact
from xcr_py.chain.deployment import Deployment
from xcr_py.errors import InputError

__all__ = ["CONTRACTS", "embedded_metadata_hash", "metadata_text",
           "write_verification_material"]

CONTRACTS = ("RemovalCredits", "CarbonReceipt", "XcrController")
_ADDRESS = {"RemovalCredits": "credits", "CarbonReceipt": "receipts",
            "XcrController": "controller"}


def _default_root() -> Path:
    """The repository holding ``contracts/`` and ``node_modules/`` (or the working folder)."""
    here = Path(__file__).resolve().parents[2]
    return here if (here / "contracts").is_dir() else Path.cwd()


def metadata_text(name: str) -> str:
    """The compiled metadata JSON of contract ``name``, exactly as solc emitted it."""
    metadata = load_artifact(name).get("metadata")
    if isinstance(metadata, dict):  # an artifact that stored it parsed cannot be byte-exact
        raise InputError("metadata", f"{name}'s artifact holds parsed metadata, not solc's text")
    if not isinstance(metadata, str) or not metadata:
        raise InputError("metadata", f"{name}'s artifact has no metadata")
    return metadata


def embedded_metadata_hash(runtime_code: bytes) -> bytes | None:
    """The IPFS multihash solc appended to ``runtime_code`` (CBOR ``ipfs`` key), or None."""
    if len(runtime_code) < 2:
        return None
    length = int.from_bytes(runtime_code[-2:], "big")
    cbor = runtime_code[-2 - length:-2]
    marker = b"\x64ipfs\x58\x22"  # text(4) "ipfs", bytes(34)
    at = cbor.find(marker)
    if at < 0:
        return None
    return cbor[at + len(marker):at + len(marker) + 34]


def _ipfs_multihash(data: bytes) -> bytes:
    from xcr_py.content.cid import bytes_cid

    return bytes(bytes_cid(data, cid_version=0).digest)


def _material(name: str, root: Path) -> tuple[str, dict[str, bytes]]:
    text = metadata_text(name)
    meta: dict[str, Any] = json.loads(text)
    sources: dict[str, bytes] = {}
    for path, info in meta["sources"].items():
        file = root / path
        if not file.is_file():
            raise InputError("source_root", f"{path} (named by {name}'s metadata) is not under "
                             f"{root}; run npm install, or pass the repository root")
        data = file.read_bytes()
        if "0x" + keccak(data).hex() != info["keccak256"]:
            raise InputError("source_root", f"{path} differs from the source {name} was "
                             "compiled from (keccak256 mismatch)")
        sources[path] = data
    return text, sources


def write_verification_material(deployment: Deployment, out: str | os.PathLike[str], *,
                                source_root: str | os.PathLike[str] | None = None,
                                w3: Web3 | None = None) -> dict[str, Path]:
    """Write metadata and sources for the three contracts under ``out/<chain-id>/<address>/``.

    Args:
        deployment: the deployed addresses and transaction hashes.
        out: the deployments folder (e.g. ``deployments``).
        source_root: folder holding ``contracts/`` and ``node_modules/@openzeppelin``
            (default: this repository).
        w3: when given, each contract's on-chain code must carry the metadata's IPFS hash
            (a full match), else :class:`InputError` and nothing is written.

    Returns:
        Contract name -> its material folder.

    Raises:
        InputError: a source is missing or differs from the compiled one (``source_root``),
            an artifact has no exact metadata, or the on-chain code does not match (``w3``).
    """
    root = Path(source_root) if source_root is not None else _default_root()
    chain_dir = Path(out) / str(deployment.chain_id)
    prepared = {}
    for name in CONTRACTS:
        address = to_checksum_address(getattr(deployment, _ADDRESS[name]))
        text, sources = _material(name, root)
        if w3 is not None:
            code = bytes(w3.eth.get_code(address))
            if embedded_metadata_hash(code) != _ipfs_multihash(text.encode()):
                raise InputError("w3", f"{name} at {address}: the on-chain code does not embed "
                                 "this metadata's IPFS hash (not the shipped build)")
        prepared[name] = (address, text, sources)
    chain_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".sourcify-", dir=chain_dir))
    written: dict[str, Path] = {}
    try:
        for name, (address, text, sources) in prepared.items():
            folder = tmp / address
            for path, data in sources.items():
                target = folder / "sources" / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            (folder / "metadata.json").write_text(text, encoding="utf-8")
            (folder / "address.txt").write_text(address + "\n")
            tx = deployment.tx_hashes.get(name)
            if tx:
                (folder / "creator-tx-hash.txt").write_text(tx + "\n")
        for name, (address, _, _) in prepared.items():
            final = chain_dir / address
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp / address, final)
            written[name] = final
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return written
