"""Every corpus case fails with a clear error naming its field, and changes nothing.

"Nothing" is measured, not assumed: :meth:`World.snapshot` (block number and state root,
account nonces, store pins and block files, every outbox row) is equal before and after.
"""

from __future__ import annotations

import re

import pytest
from click.testing import Result

from tests.corpus.cases import CASES, Case
from tests.corpus.conftest import World


def test_the_corpus_is_large_and_broad() -> None:
    assert len(CASES) >= 50
    assert len({c.id for c in CASES}) == len(CASES)
    assert {c.surface for c in CASES} == {"contract", "oracle", "client", "receipt", "content",
                                          "cli"}


@pytest.mark.parametrize("case", CASES, ids=[f"{c.surface}:{c.id}" for c in CASES])
def test_bad_input_is_refused_and_changes_nothing(case: Case, world: World) -> None:
    before = world.snapshot()
    if case.error is None:
        result = case.action(world)
        assert isinstance(result, Result)
        assert result.exit_code not in (0, None), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            f"crashed instead of a clear error: {result.exception!r}"
        assert re.search(case.names, result.output), result.output
    else:
        with pytest.raises(case.error, match=case.names):
            case.action(world)
    world.tracker.flush(30, raise_on_failure=False)  # let the worker show anything it queued
    assert world.snapshot() == before


def test_the_snapshot_sees_every_kind_of_change(world: World) -> None:
    """The 'unchanged' assertion is only worth something if a change would show."""
    from tests.chain.helpers import signed, single_report

    before = world.snapshot()
    world.store.put_bytes(b"snapshot probe")
    assert world.snapshot()["pins"] != before["pins"]
    report = single_report(world.env)
    world.env.holder.submit_single(report, signed(world.env, report))
    after = world.snapshot()
    assert after["block"] > before["block"] and after["state_root"] != before["state_root"]
    world.outbox.enqueue(bytes(range(32)), {"probe": True})
    assert world.snapshot()["items"] != after["items"]
