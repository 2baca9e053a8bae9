"""The public surfaces are exactly their ``__all__`` and every name resolves."""

from __future__ import annotations

import pytest

import xcr_py.footprint
import xcr_py.meter


@pytest.mark.parametrize("module", [xcr_py.meter, xcr_py.footprint])
def test_all_names_exist_and_are_unique(module):
    assert len(set(module.__all__)) == len(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None
