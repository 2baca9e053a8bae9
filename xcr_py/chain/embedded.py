"""An embedded (eth-tester / py-evm) chain whose state outlives the process.

The chain is kept as a journal of the signed raw transactions it accepted, each with the timestamp
of the block that mined it (``journal.jsonl`` in the data directory, one JSON object a line,
fsynced per transaction). Opening the chain replays the journal into a fresh py-evm chain: the
default accounts, the chain id and one block per transaction are deterministic, so contract
addresses, storage and receipts come back identical; each replayed transaction's hash is checked
against the recorded one. Only raw signed transactions persist (``xcr_py.chain`` always signs
locally); ``eth_sendTransaction`` is refused.

One process holds the chain at a time (an exclusive ``flock`` on ``lock`` in the data directory),
so ``xcr demo`` and a later ``xcr verify`` see the same chain and never fork it. A torn last line
(a crash mid-append) is dropped on open: that transaction never counted as accepted. Any other
damage (a malformed line, a transaction that does not replay to its hash) is refused, not repaired.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from web3 import EthereumTesterProvider, Web3

from xcr_py.chain.estimate import use_two_run_estimator
from xcr_py.errors import ChainError

__all__ = ["EmbeddedChain", "JournalProvider"]

JOURNAL = "journal.jsonl"
LOCK = "lock"
GENESIS_TIMESTAMP = 1_704_067_200
"""Fixed genesis time (2024-01-01T00:00:00Z), so replayed block times always follow the genesis."""


def _backend() -> Any:
    from eth_tester import EthereumTester, PyEVMBackend

    params = PyEVMBackend.generate_genesis_params(overrides={"timestamp": GENESIS_TIMESTAMP})
    tester = EthereumTester(backend=PyEVMBackend(genesis_parameters=params))
    use_two_run_estimator(tester)
    return tester


class JournalProvider(EthereumTesterProvider):
    """eth-tester provider that journals every accepted raw transaction with its block time."""

    def __init__(self, journal_path: Path) -> None:
        super().__init__(ethereum_tester=_backend())
        self._journal_path = journal_path
        self._last_timestamp = GENESIS_TIMESTAMP
        self.replayed = self._replay()
        self._journal = journal_path.open("a", encoding="utf-8")

    def _set_next_timestamp(self, timestamp: int) -> None:
        tester: Any = self.ethereum_tester
        backend = tester.backend
        backend.chain.header = backend.chain.header.copy(timestamp=timestamp)

    def _replay(self) -> int:
        if not self._journal_path.exists():
            return 0
        data = self._journal_path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) != len(data):  # a crash mid-append: that transaction was never accepted
            with self._journal_path.open("r+b") as handle:
                handle.truncate(len(complete))
        entries: list[dict[str, Any]] = []
        for number, line in enumerate(complete.splitlines(), start=1):
            try:
                entry = json.loads(line)
                entries.append({k: entry[k] for k in ("raw", "timestamp", "hash")})
            except (ValueError, KeyError, TypeError) as exc:
                raise ChainError(
                    f"embedded chain journal {self._journal_path}: line {number} is not a journal "
                    "entry; the journal is corrupt"
                ) from exc
        for number, entry in enumerate(entries, start=1):
            self._set_next_timestamp(int(entry["timestamp"]))
            response = super().make_request("eth_sendRawTransaction", [entry["raw"]])  # type: ignore[arg-type]
            tx_hash = response.get("result")
            got = tx_hash.hex() if isinstance(tx_hash, bytes) else str(tx_hash)
            if "error" in response or got.removeprefix("0x") != entry["hash"].removeprefix("0x"):
                raise ChainError(
                    f"embedded chain journal {self._journal_path}: transaction {number} does not "
                    f"replay ({response.get('error') or got}); the journal is corrupt"
                )
            self._last_timestamp = int(entry["timestamp"])
        return len(entries)

    def make_request(self, method: Any, params: Any) -> Any:
        """Forward to eth-tester; journal accepted raw transactions; refuse node-side signing."""
        if method == "eth_sendTransaction":
            raise ChainError(
                "the persistent embedded chain accepts only locally signed transactions"
            )
        if method != "eth_sendRawTransaction":
            return super().make_request(method, params)
        timestamp = max(int(time.time()), self._last_timestamp + 1)
        self._set_next_timestamp(timestamp)
        response = super().make_request(method, params)
        if "error" not in response and response.get("result") is not None:
            tx_hash = response["result"]
            entry = {
                "raw": params[0] if isinstance(params[0], str) else "0x" + bytes(params[0]).hex(),
                "timestamp": timestamp,
                "hash": tx_hash.hex() if isinstance(tx_hash, bytes) else str(tx_hash),
            }
            self._journal.write(json.dumps(entry, sort_keys=True) + "\n")
            self._journal.flush()
            os.fsync(self._journal.fileno())
            self._last_timestamp = timestamp
        return response

    def close(self) -> None:
        """Close the journal file."""
        self._journal.close()


class EmbeddedChain:
    """The persistent embedded chain in ``data_dir``; use as a context manager.

    Args:
        data_dir: directory holding ``journal.jsonl`` and ``lock`` (created if missing).

    Raises:
        ChainError: another process holds the chain, or the journal does not replay.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = (self.data_dir / LOCK).open("a")
        try:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock.close()
            raise ChainError(
                f"the embedded chain in {self.data_dir} is open in another process"
            ) from exc
        try:
            self.provider = JournalProvider(self.data_dir / JOURNAL)
        except BaseException:
            self._release()
            raise
        self.w3 = Web3(self.provider)

    @property
    def transactions(self) -> int:
        """Transactions replayed when the chain was opened."""
        return self.provider.replayed

    def dev_private_keys(self) -> list[str]:
        """The pre-funded development keys (public test keys)."""
        tester: Any = self.provider.ethereum_tester
        return [key.to_hex() for key in tester.backend.account_keys]

    def _release(self) -> None:
        fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
        self._lock.close()

    def close(self) -> None:
        """Close the journal and release the lock."""
        if not self._lock.closed:
            self.provider.close()
            self._release()

    def __enter__(self) -> EmbeddedChain:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
