"""Inspect a receipt the way a person would, without our code: Foundry's cast against anvil.

Deploys on anvil, writes the Sourcify-style material, settles one asset with the real client,
then reads ``locked``, ``tokenURI`` and ``supportsInterface(0xb45a3c0e)`` with ``cast call``,
fetches the ``ReceiptIssued`` event with ``cast logs`` and decodes its data with
``cast decode-event`` and ``cast abi-decode``; every value must equal what Python knows.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_utils import keccak
from web3 import HTTPProvider, Web3

from tests.client.helpers import System, deploy_system, estimate_meter, fast_outbox, make_config
from xcr_py.chain.nodes import LocalNode
from xcr_py.chain.sourcify import CONTRACTS, embedded_metadata_hash, write_verification_material
from xcr_py.client import AssetResult, Tracker
from xcr_py.content.cid import bytes_cid
from xcr_py.content.local import LocalStore
from xcr_py.errors import InputError

REPO = Path(__file__).resolve().parents[2]
CAST = REPO / "node_modules" / "@foundry-rs" / "cast-linux-amd64" / "bin" / "cast"
EVENT = ("ReceiptIssued(uint256 indexed tokenId,bytes32 indexed assetDigest,"
         "uint256 indexed retirementId,bytes32 receiptDigest,uint256 energyMj,uint256 grossMg,"
         "uint256 removedMg)")


def cast(*args: str) -> str:
    """Run cast (from node_modules) and return its stdout, stripped."""
    assert CAST.is_file(), "npm install provides @foundry-rs/cast-linux-amd64"
    done = subprocess.run([str(CAST), *args], capture_output=True, text=True, timeout=60,
                          check=False, env={"NO_COLOR": "1", "HOME": "/tmp",
                                            "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@dataclass
class Settled:
    system: System
    w3: Web3
    url: str
    result: AssetResult
    from_block: int


@pytest.fixture(scope="module")
def settled(anvil_node: LocalNode, tmp_path_factory: pytest.TempPathFactory) -> Settled:
    tmp = tmp_path_factory.mktemp("cast")
    w3 = Web3(HTTPProvider(anvil_node.url))
    system = deploy_system(w3, anvil_node.private_keys)
    config = make_config(tmp, **{"mode.kind": "single"})
    tracker = Tracker(config, meter=estimate_meter(), store=LocalStore(tmp / "store"),
                      gateway=system.gateway(), quorum=system.quorum(),
                      outbox=fast_outbox(tmp / "outbox.sqlite"), env={})
    try:
        with tracker.track(b"\x89PNG\r\n\x1a\n explorer test asset", model="sdxl"):
            pass
        (result,) = tracker.flush(120)
    finally:
        tracker.close(flush=False)
    assert result.state == "confirmed"
    return Settled(system, w3, anvil_node.url, result, system.deployment.block_number)


def test_sourcify_material_matches_the_deployed_code(settled: Settled, tmp_path: Path) -> None:
    dep = settled.system.deployment
    written = write_verification_material(dep, tmp_path, w3=settled.w3)
    assert set(written) == set(CONTRACTS)
    for name, folder in written.items():
        assert folder.parent == tmp_path / str(dep.chain_id)
        metadata_bytes = (folder / "metadata.json").read_bytes()
        meta = json.loads(metadata_bytes)
        assert meta["settings"]["evmVersion"] == "shanghai"
        assert meta["settings"]["optimizer"] == {"enabled": True, "runs": 200}
        assert meta["compiler"]["version"].startswith("0.8.37")
        for path, info in meta["sources"].items():
            data = (folder / "sources" / path).read_bytes()
            assert "0x" + keccak(data).hex() == info["keccak256"]
        assert any(p.startswith("node_modules/@openzeppelin/contracts/") for p in meta["sources"])
        assert (folder / "creator-tx-hash.txt").read_text().strip() == dep.tx_hashes[name]
        # Full match: the runtime code ends with this exact metadata's IPFS hash.
        code = bytes(settled.w3.eth.get_code(folder.name))
        assert embedded_metadata_hash(code) == bytes_cid(metadata_bytes, cid_version=0).digest
        assert embedded_metadata_hash(code) != bytes_cid(metadata_bytes + b" ",
                                                         cid_version=0).digest


def test_sourcify_material_refuses_a_changed_source(settled: Settled, tmp_path: Path) -> None:
    root = tmp_path / "src"
    shutil.copytree(REPO / "contracts", root / "contracts")
    (root / "node_modules").symlink_to(REPO / "node_modules")
    receipt = root / "contracts" / "CarbonReceipt.sol"
    receipt.write_text(receipt.read_text() + "\n// edited\n")
    out = tmp_path / "out"
    with pytest.raises(InputError, match="keccak256 mismatch"):
        write_verification_material(settled.system.deployment, out, source_root=root)
    assert not any(out.rglob("metadata.json"))


def test_cast_reads_the_receipt_token(settled: Settled) -> None:
    dep, url = settled.system.deployment, settled.url
    token = settled.result.token_id
    assert token is not None
    assert cast("call", dep.receipts, "locked(uint256)(bool)", str(token),
                "--rpc-url", url) == "true"
    uri = cast("call", dep.receipts, "tokenURI(uint256)(string)", str(token), "--rpc-url", url)
    assert uri.strip('"') == f"ipfs://{settled.result.receipt_cid}"
    assert cast("call", dep.receipts, "supportsInterface(bytes4)(bool)", "0xb45a3c0e",
                "--rpc-url", url) == "true"
    assert cast("call", dep.receipts, "supportsInterface(bytes4)(bool)", "0xffffffff",
                "--rpc-url", url) == "false"


def test_cast_fetches_and_decodes_the_receipt_event(settled: Settled) -> None:
    dep, url, result = settled.system.deployment, settled.url, settled.result
    token = result.token_id or 0
    logs = json.loads(cast("logs", "--rpc-url", url, "--from-block", str(settled.from_block),
                           "--address", dep.receipts, "--json", EVENT, str(token)))
    assert len(logs) == 1
    log = logs[0]
    topic0 = "0x" + keccak(text="ReceiptIssued(uint256,bytes32,uint256,bytes32,uint256,"
                                "uint256,uint256)").hex()
    assert log["topics"][0] == topic0
    assert int(log["topics"][1], 16) == token
    assert log["topics"][2] == "0x" + (result.asset_digest or "")
    record = settled.system.gateway().receipt(token)
    assert int(log["topics"][3], 16) == record.retirement_id
    assert log["transactionHash"] == result.tx_hash

    # The indexed fields are the topics (checked above); the data holds the other four.
    data_only = "ReceiptIssued(bytes32 receiptDigest,uint256 energyMj,uint256 grossMg," \
                "uint256 removedMg)"
    decoded = cast("decode-event", "--sig", data_only, log["data"]).splitlines()
    abi = cast("abi-decode", "--input", "f(bytes32,uint256,uint256,uint256)",
               log["data"]).splitlines()
    for lines in (decoded, abi):
        values = [line.split()[0] for line in lines]
        assert values[-4] == "0x" + record.receipt_digest.hex()
        assert [int(v) for v in values[-3:]] == [record.energy_mj, record.gross_mg,
                                                 record.removed_mg]
    assert record.energy_mj == result.energy_mj and record.gross_mg == result.gross_mg
