"""Compiled contract artifacts shipped with xcr_py, written by ``scripts/compile.py``.

One ``<ContractName>.json`` per contract under ``contracts/`` (keys: ``contractName``,
``sourceName``, ``abi``, ``bytecode``, ``deployedBytecode``, ``methodIdentifiers``, ``metadata``
(the exact string hashed into the bytecode), ``storageLayout``) and ``compiler.json`` (solc version,
settings, OpenZeppelin version, source sha256s). Users of the package need neither node nor solc.
Do not edit by hand: ``python3 scripts/compile.py`` rewrites them, ``--check`` detects drift.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["available", "compiler_info", "load"]


def available() -> list[str]:
    """Names of the contracts with a shipped artifact, sorted."""
    files = resources.files(__name__).iterdir()
    return sorted(
        f.name.removesuffix(".json")
        for f in files
        if f.name.endswith(".json") and f.name != "compiler.json"
    )


def load(name: str) -> dict[str, Any]:
    """The artifact of contract ``name`` (e.g. ``"CarbonReceipt"``).

    Raises:
        KeyError: no artifact of that name is shipped.
    """
    ref = resources.files(__name__) / f"{name}.json"
    if name == "compiler" or not ref.is_file():
        raise KeyError(f"no artifact for contract {name!r}; shipped: {', '.join(available())}")
    data: dict[str, Any] = json.loads(ref.read_text())
    return data


def compiler_info() -> dict[str, Any]:
    """Compiler version, settings, OpenZeppelin version and source hashes of the artifacts."""
    data: dict[str, Any] = json.loads((resources.files(__name__) / "compiler.json").read_text())
    return data
