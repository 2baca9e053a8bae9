"""One exception root for XCR, with one base per stage.

::

    XcrError
    ├── ConfigError          configuration file, environment or flags are invalid
    ├── InputError           bad input (also a ValueError): names the field and the limit
    ├── MeterError           energy metering (NVML, RAPL, estimate)
    │   └── DeviceUnavailable    driver missing, MIG instance, unreadable counter
    ├── FootprintError       SCI math, factors, intensity providers
    ├── ContentError         CIDs and block stores
    │   ├── BlockCorrupted       a block whose hash does not match its CID
    │   └── StoreUnavailable     a daemon that does not answer
    ├── ChainError           web3 connection, deployment, contract calls
    │   └── ContractRevert       a revert decoded to its custom error
    ├── OracleError          signing, keys, the outbox
    ├── ReceiptError         the receipt document and its schema
    ├── VerifyError          a verification step failed
    └── ScheduleError        carbon-aware scheduling

Errors are raised inside the stages and converted to messages and exit codes only at the
edge (the CLI). A message never contains key material.
"""

from __future__ import annotations

__all__ = [
    "BlockCorrupted",
    "ChainError",
    "ConfigError",
    "ContentError",
    "ContractRevert",
    "DeviceUnavailable",
    "FootprintError",
    "InputError",
    "MeterError",
    "OracleError",
    "ReceiptError",
    "ScheduleError",
    "StoreUnavailable",
    "VerifyError",
    "XcrError",
]


class XcrError(Exception):
    """Root of every error XCR raises on purpose."""


class ConfigError(XcrError):
    """Configuration (file, ``XCR_*`` environment or flags) is invalid."""


class InputError(XcrError, ValueError):
    """Bad input. The message names the offending field and the limit it broke.

    Args:
        field: dotted name of the offending field, e.g. ``"energy.gpu_j"``.
        problem: what is wrong, including the limit, e.g. ``"must be >= 0, got -1"``.
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


class MeterError(XcrError):
    """Energy metering failed."""


class DeviceUnavailable(MeterError):
    """A metering device cannot be used (no driver, MIG instance, unreadable counter)."""


class FootprintError(XcrError):
    """The footprint could not be computed (missing factor, unknown zone, provider error)."""


class ContentError(XcrError):
    """Content addressing or block storage failed."""


class BlockCorrupted(ContentError):
    """A stored block does not hash to its CID; it is never returned."""


class StoreUnavailable(ContentError):
    """A block store (for example a Kubo RPC daemon) did not answer."""


class ChainError(XcrError):
    """A chain connection, deployment or call failed."""


class ContractRevert(ChainError):
    """A transaction or call reverted; ``name`` and ``args`` are the decoded custom error."""

    def __init__(self, name: str, args: tuple[object, ...] = (),
                 message: str | None = None) -> None:
        self.name = name
        self.error_args = args
        super().__init__(message or f"reverted with {name}{args!r}")


class OracleError(XcrError):
    """Signing, key handling or the outbox failed."""


class ReceiptError(XcrError):
    """A receipt document is invalid."""


class VerifyError(XcrError):
    """A verification step failed; ``step`` names it."""

    def __init__(self, step: str, problem: str) -> None:
        self.step = step
        self.problem = problem
        super().__init__(f"{step}: {problem}")


class ScheduleError(XcrError):
    """Scheduling failed."""
