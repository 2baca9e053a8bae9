"""The persistent embedded chain: what one process writes, another reads back identically."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from xcr_py.chain import Deployment, XcrGateway
from xcr_py.chain.embedded import JOURNAL, EmbeddedChain
from xcr_py.errors import ChainError

REPO = Path(__file__).resolve().parents[2]


def _run_worker(data_dir: Path, out: Path) -> dict[str, Any]:
    subprocess.run(
        [sys.executable, "-m", "tests.chain.embedded_worker", str(data_dir), str(out)],
        cwd=REPO,
        check=True,
        timeout=120,
    )
    result: dict[str, Any] = json.loads(out.read_text())
    return result


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("chain")
    return data_dir, _run_worker(data_dir, data_dir.parent / "out.json")


def test_state_written_by_one_process_is_read_by_another(
    written: tuple[Path, dict[str, Any]],
) -> None:
    data_dir, result = written
    deployment = Deployment.from_json(result["deployment"])
    with EmbeddedChain(data_dir) as chain:
        assert chain.transactions == result["block_number"]
        assert chain.w3.eth.block_number == result["block_number"]
        gateway = XcrGateway(chain.w3, deployment, chain.dev_private_keys()[0])
        receipt = gateway.receipt(int(result["token_id"]))
        assert receipt.token_uri == result["token_uri"]
        assert receipt.time == result["time"]  # block times replay exactly
        assert gateway.retirement(receipt.retirement_id).grams == receipt.removed_mg // 1000
        # and the chain keeps growing from where it was
        gateway.finalize_retirement(receipt.retirement_id, "CERT-1")
    with EmbeddedChain(data_dir) as chain:
        assert chain.transactions == int(result["block_number"]) + 1
        gateway = XcrGateway(chain.w3, deployment, chain.dev_private_keys()[0])
        retirement = gateway.retirement(receipt.retirement_id)
        assert retirement.certificate == "CERT-1"


def test_one_holder_at_a_time(written: tuple[Path, dict[str, Any]]) -> None:
    data_dir, _ = written
    with EmbeddedChain(data_dir), pytest.raises(ChainError, match="open in another process"):
        EmbeddedChain(data_dir)


def test_torn_tail_is_dropped(tmp_path: Path, written: tuple[Path, dict[str, Any]]) -> None:
    data_dir, _ = written
    copy = tmp_path / "chain"
    copy.mkdir()
    journal = (data_dir / JOURNAL).read_bytes()
    (copy / JOURNAL).write_bytes(journal + b'{"raw": "0xf8')
    with EmbeddedChain(copy) as chain:
        assert chain.transactions == journal.count(b"\n")
    assert (copy / JOURNAL).read_bytes() == journal


def test_corrupt_journal_is_refused(tmp_path: Path, written: tuple[Path, dict[str, Any]]) -> None:
    data_dir, _ = written
    lines = (data_dir / JOURNAL).read_text().splitlines(keepends=True)
    entry = json.loads(lines[1])
    entry["hash"] = "0x" + "00" * 32
    lines[1] = json.dumps(entry) + "\n"
    (tmp_path / JOURNAL).write_text("".join(lines))
    with pytest.raises(ChainError, match="does not replay"):
        EmbeddedChain(tmp_path)
    with pytest.raises(ChainError, match="does not replay"):
        EmbeddedChain(tmp_path)  # lock released after the failed open; still refused, not truncated


def test_malformed_line_is_refused(tmp_path: Path, written: tuple[Path, dict[str, Any]]) -> None:
    data_dir, _ = written
    lines = (data_dir / JOURNAL).read_text().splitlines(keepends=True)
    (tmp_path / JOURNAL).write_text(lines[0] + "not json\n" + "".join(lines[1:]))
    with pytest.raises(ChainError, match="line 2 is not a journal entry"):
        EmbeddedChain(tmp_path)
    assert (tmp_path / JOURNAL).read_text().count("\n") == len(lines) + 1  # nothing truncated


def test_node_side_signing_refused(tmp_path: Path) -> None:
    with EmbeddedChain(tmp_path) as chain, pytest.raises(ChainError, match="locally signed"):
        eth: Any = chain.w3.eth
        eth.send_transaction({"from": eth.accounts[0], "to": eth.accounts[1], "value": 1})
