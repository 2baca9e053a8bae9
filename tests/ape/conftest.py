"""ape tests: run by ``ape test`` inside .venv-ape (eth-ape 0.8 + ape-solidity, web3 7).

The main suite (system Python, web3 8, no ape) does not collect this directory itself; it runs it
in the ape virtual environment through tests/toolchain/test_frameworks.py, in a scratch copy of
the project (ape-solidity writes dependency sources into ``contracts/.cache``).
"""

from __future__ import annotations

import importlib.util

# Not importable without ape: leave these files to the ape run (see the docstring).
collect_ignore_glob = [] if importlib.util.find_spec("ape") else ["test_*.py"]
