"""A 200-asset pipeline run that the crash test kills with SIGKILL and restarts.

Run as ``python -m tests.pipeline.crash_run RUN_DIR`` from the repository root. ``RUN_DIR``
holds ``run.json`` (written by the test: backend, RPC URL, keys, mode, asset count), the
deployment, the outbox, the local block store and (embedded) the chain's data. Each start
resumes whatever the previous, killed, process left: the tracker's worker settles the rows
already in the outbox, and assets not yet in the outbox are tracked again.

Prints ``ready`` once the tracker is up, ``done <confirmed>`` when everything settled.

With ``XCR_CRASH_AFTER=k`` the process SIGKILLs itself right after its k-th state change: an
outbox write or a chain transaction (so also between a transaction and its outbox record, the
window the resume rule exists for). The test uses it for kill points that surely land mid-run.
With ``XCR_ANNOUNCE=1`` it prints ``change`` after each state change and runs on, so the test
can kill it from outside at a moment it does not control (inside a transaction, a block being
mined) yet known to lie before the end of the run.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from tests.client.helpers import asset_bytes, estimate_meter
from xcr_py.chain import Deployment, XcrGateway, connect
from xcr_py.client import Tracker
from xcr_py.content.cid import bytes_cid
from xcr_py.content.local import LocalStore
from xcr_py.oracle.keys import OracleQuorum, OracleSigner
from xcr_py.oracle.outbox import Outbox, RetryPolicy

ASSET_SIZE = 2048
# Everything that changes outbox or chain state; a precise kill lands right after one of them.
STATE_CHANGES = {
    "outbox": ("enqueue", "enqueue_many", "enqueue_pinned_many", "mark_pinned_many", "mark_pinned",
               "mark_signed", "mark_submitted", "mark_confirmed", "fail", "retry_later",
               "create_batch", "create_signed_batch", "sign_batch", "submit_batch",
               "confirm_batch", "fail_batch", "retry_batch_later"),
    "gateway": ("submit_single", "submit_batch"),
}


def instrument(targets: dict[str, Any], after: int, announce: bool) -> None:
    """After each call of a STATE_CHANGES method: print ``change`` if ``announce``; SIGKILL
    this process after the ``after``-th (0: never)."""
    left = [after]

    def wrap(fn: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            result = fn(*args, **kwargs)
            if announce:
                print("change", flush=True)
            left[0] -= 1
            if left[0] == 0:
                os.kill(os.getpid(), signal.SIGKILL)
            return result
        return counted

    for role, names in STATE_CHANGES.items():
        for name in names:
            setattr(targets[role], name, wrap(getattr(targets[role], name)))


def open_chain(run: dict[str, Any], folder: Path) -> Any:
    """The web3 connection the run names (an RPC URL, or the persistent embedded chain)."""
    if run["backend"] == "rpc":
        return connect(run["rpc_url"])
    from xcr_py.chain.embedded import EmbeddedChain

    return EmbeddedChain(folder / "chain").w3  # held (flock) until this process exits


def main(folder: Path) -> None:
    run = json.loads((folder / "run.json").read_text())
    w3 = open_chain(run, folder)
    deployment = Deployment.load(folder / "deployment.json")
    gateway = XcrGateway(w3, deployment, run["submitter_key"])
    quorum = OracleQuorum([OracleSigner.from_private_key(k) for k in run["oracle_keys"]])
    outbox = Outbox(folder / "outbox.sqlite",
                    policy=RetryPolicy(base_s=0.05, cap_s=0.5, max_attempts=20))
    from xcr_py.config import load_config

    config = load_config(env={}, overrides={
        "chain.data_dir": str(folder / "data"), "footprint.intensity_mg_per_kwh": 400_000,
        "mode.kind": run["mode"], "mode.batch_size": run["batch_size"], "mode.max_delay_s": 0.2})
    tracker = Tracker(config, meter=estimate_meter(), store=LocalStore(folder / "store"),
                      gateway=gateway, quorum=quorum, outbox=outbox, env={})
    reader = Outbox(folder / "outbox.sqlite")  # own connection: the worker owns ``outbox``
    # "ready" first: the worker threads already run, and a "change" must not come before it.
    print("ready", flush=True)
    after = int(os.environ.get("XCR_CRASH_AFTER", "0"))
    announce = os.environ.get("XCR_ANNOUNCE") == "1"
    if after or announce:
        instrument({"outbox": outbox, "gateway": gateway}, after, announce)
    for i in range(run["assets"]):
        data = asset_bytes(i, ASSET_SIZE)
        if reader.find(bytes(bytes_cid(data).raw_digest)) is not None:
            continue  # tracked by an earlier (killed) run: its row is resumed by the worker
        with tracker.track(data, model="crash-test", campaign="crash"):
            pass
    tracker.flush(240)
    print("done", reader.status().counts["confirmed"], flush=True)
    tracker.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
