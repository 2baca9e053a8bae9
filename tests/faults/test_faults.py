"""Fault injection: a 200-asset run survives anvil, the IPFS daemon and the disk going away.

Each test drives one :class:`~xcr_py.client.Tracker` (no restart, no manual retry) through
``ASSETS`` assets; once 60 are confirmed the fault is injected, the rest are tracked while
it lasts, it is cleared ``OUTAGE_S`` later, and ``flush`` must then settle everything. The
pass criteria (0 lost, 0 duplicated) are in :mod:`tests.faults.helpers`.

* anvil: SIGTERM (it dumps its state), 10 s with nothing listening (connections refused),
  restarted on the same port from the dump (``--load-state``).
* js-ipfs: the daemon is stopped (SIGTERM), 10 s down, started again on its repository.
* disk: the outbox lives on a 16 MiB tmpfs that a filler file fills up; SQLite's writes fail
  with ``SQLITE_FULL``; 10 s later the filler is deleted.

Runs print one ``FAULT`` line each (the figures in ``docs/security.md``).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.client.helpers import System, deploy_system
from tests.faults.helpers import (
    ASSETS,
    FAULT_POLICY,
    FaultRun,
    RestartableAnvil,
    check_no_loss_no_duplicate,
    drive,
    make_tracker,
)
from tests.fixtures.ipfs import _load_launcher
from xcr_py.chain import connect
from xcr_py.content.kubo import KuboStore
from xcr_py.content.local import LocalStore
from xcr_py.oracle.outbox import Outbox, OutboxFull, RetryPolicy


@pytest.fixture(scope="module")
def fault_anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableAnvil]:
    """This module's own anvil: the session's must never be stopped."""
    node = RestartableAnvil(tmp_path_factory.mktemp("fault-anvil"))
    try:
        yield node
    finally:
        node.close()


def _system(anvil: RestartableAnvil, first_key: int) -> System:
    return deploy_system(connect(anvil.url), list(anvil.node.private_keys[first_key:first_key + 4]))


def _report(name: str, run: FaultRun) -> None:
    print(f"\nFAULT {name}: {ASSETS} assets, fault at {run.fault_at} confirmed, outage "
          f"{run.outage_s:.1f} s (confirmed during it: {run.confirmed_during_outage}), whole run "
          f"{run.total_s:.1f} s; 0 lost, 0 duplicated")


def test_anvil_stopped_for_10_s_and_restarted_with_its_state(
        fault_anvil: RestartableAnvil, tmp_path: Path) -> None:
    system = _system(fault_anvil, 0)
    store = LocalStore(tmp_path / "store")
    box = tmp_path / "outbox.sqlite"
    outbox = Outbox(box, policy=FAULT_POLICY)
    with make_tracker(tmp_path, system, store, outbox, "single") as tracker:
        run = drive(tracker, box, inject=fault_anvil.stop, clear=fault_anvil.start)
    outbox.close()
    # Nothing could settle while nothing listened; the worker saw the refusals and retried.
    assert run.confirmed_during_outage == 0
    check_no_loss_no_duplicate(box, system.gateway(), store, "single")
    _report("anvil", run)


def test_ipfs_daemon_stopped_for_10_s_and_restarted(
        fault_anvil: RestartableAnvil, tmp_path: Path) -> None:
    launcher = _load_launcher()
    daemon = launcher.JsIpfsDaemon(ipfs_path=tmp_path / "jsipfs")  # kept across the restart
    daemon.start()
    try:
        system = _system(fault_anvil, 4)
        store = KuboStore(daemon.api_multiaddr)  # product defaults: 30 s timeout and retry
        box = tmp_path / "outbox.sqlite"
        outbox = Outbox(box, policy=FAULT_POLICY)
        with make_tracker(tmp_path, system, store, outbox, "batch",
                          **{"store.backend": "kubo",
                             "store.kubo_url": daemon.api_multiaddr}) as tracker:
            run = drive(tracker, box, inject=daemon.stop, clear=daemon.start)
        outbox.close()
        check_no_loss_no_duplicate(box, system.gateway(), store, "batch")
        store.close()
        _report("js-ipfs", run)
    finally:
        daemon.stop()


# -- disk full --------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A small tmpfs (default 1 MiB; ``@pytest.mark.parametrize("small_disk", ["16m"],
    indirect=True)`` for another size). Mounting needs CAP_SYS_ADMIN: root in the CI container."""
    size = getattr(request, "param", "1m")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for the disk-full test (run as root): {done.stderr}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Write a filler file until the filesystem is full; returns it (delete it to free space)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        chunk = b"\0" * 4096
        while True:
            try:
                os.write(fd, chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                break
    finally:
        os.close(fd)
    return filler


def _rows(path: Path) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT asset_digest, state, attempts, tx_hash FROM items "
                          "ORDER BY asset_digest").fetchall()


def test_disk_full_write_fails_clearly_and_writes_nothing(small_disk: Path) -> None:
    path = small_disk / "outbox.sqlite"
    box = Outbox(path, policy=RetryPolicy(disk_full_wait_s=0))
    digests = [hashlib.sha256(b"%d" % i).digest() for i in range(3)]
    box.enqueue(digests[0], {"n": 0})
    filler = fill(small_disk)
    before = _rows(path)
    entries = [(d, {"blob": "x" * 30_000}) for d in digests[1:]]  # needs new pages
    with pytest.raises(OutboxFull, match=r"outbox .*outbox\.sqlite: the disk is full; the "
                                         r"transaction was rolled back, nothing was written"):
        box.enqueue_many(entries)
    assert _rows(path) == before  # nothing half-written: neither row of the group
    assert box.find(digests[1]) is None and box.status().counts["pending"] == 1
    filler.unlink()
    assert box.enqueue_many(entries) == 2  # the same call succeeds once there is space
    assert box.status().counts["pending"] == 3
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    box.close()


# 16 MiB: room for the WAL (checkpointed at ~4 MiB) until the filler takes the rest.
@pytest.mark.parametrize("small_disk", ["16m"], indirect=True)
def test_disk_full_while_writing_the_outbox_during_a_run(
        fault_anvil: RestartableAnvil, small_disk: Path, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    system = _system(fault_anvil, 6)
    store = LocalStore(tmp_path / "store")  # blocks on the big disk: only the outbox is short
    box = small_disk / "outbox.sqlite"
    outbox = Outbox(box, policy=FAULT_POLICY)
    filler: list[Path] = []
    caplog.set_level(logging.WARNING, logger="xcr_py.oracle.outbox")
    with make_tracker(tmp_path, system, store, outbox, "single") as tracker:
        run = drive(tracker, box, inject=lambda: filler.append(fill(small_disk)),
                    clear=lambda: filler[0].unlink())
    outbox.close()
    waits = [r.getMessage() for r in caplog.records if "the disk is full" in r.getMessage()]
    assert waits, "the fault never reached the outbox (no disk-full wait was logged)"
    assert all(str(box) in m and "nothing was written" in m for m in waits)
    check_no_loss_no_duplicate(box, system.gateway(), store, "single")
    _report(f"disk-full ({len(waits)} waits logged)", run)
