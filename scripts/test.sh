#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh machine, then runs the whole suite.
# Usage: ./scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e ".[dev]"
npm ci --no-audit --no-fund --loglevel=error
# Headless Debian chromium for the report test (tests/report); installed only when missing.
if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

# slither, brownie and ape pin web3 7 (xcr runs on web3 8): one virtual environment each, made
# once; tests/toolchain runs them as subprocesses.
[ -x .venv-slither/bin/slither ] || { python3 -m venv .venv-slither &&
    .venv-slither/bin/pip install --quiet --disable-pip-version-check "slither-analyzer==0.11.6"; }
[ -x .venv-brownie/bin/brownie ] || { python3 -m venv .venv-brownie &&
    .venv-brownie/bin/pip install --quiet --disable-pip-version-check "eth-brownie==1.22.2"; }
[ -x .venv-ape/bin/ape ] || { python3 -m venv .venv-ape &&
    .venv-ape/bin/pip install --quiet --disable-pip-version-check "eth-ape==0.8.52" "ape-solidity==0.8.6"; }
# xcr_py itself must also run on web3 7 (tests/compat runs the chain suite there).
[ -x .venv-web3v7/bin/pytest ] || python3 -m venv .venv-web3v7
.venv-web3v7/bin/pip install --quiet --disable-pip-version-check -e . "web3[tester]>=7.16,<8" \
    "pytest>=8,<9.2" pytest-timeout hypothesis py-solc-x
# py-solc-x (brownie, ape-solidity) looks for compilers in ~/.solcx: register scripts/solc there.
mkdir -p "$HOME/.solcx" .build
ln -sfn "$PWD/scripts/solc" "$HOME/.solcx/solc-v$(node -p 'require("./node_modules/solc/package.json").version')"
# brownie's test network attaches to the anvil its test starts (the test sets the port).
grep -qs "id: xcr-anvil" "$HOME/.brownie/network-config.yaml" ||
    .venv-brownie/bin/brownie networks add Development xcr-anvil cmd=anvil host=http://127.0.0.1 \
        port=8545 evm_version=shanghai accounts=10 chain_id=31337 >/dev/null

python3 -m pytest "$@"
