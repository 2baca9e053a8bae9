"""brownie-layout tests: run by ``brownie test`` inside .venv-brownie (eth-brownie 1.22, web3 7).

The main suite (system Python, web3 8, no brownie) does not collect this directory itself; it runs
it in the brownie virtual environment through tests/toolchain/test_frameworks.py. brownie is given
``--confcutdir tests/brownie`` there, so the suite-wide tests/conftest.py (which needs xcr_py) is
not loaded here.
"""

from __future__ import annotations

import importlib.util

# Not importable without brownie: leave these files to the brownie run (see the docstring).
collect_ignore_glob = [] if importlib.util.find_spec("brownie") else ["test_*.py"]
