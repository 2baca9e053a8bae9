"""Device selection from a ``CUDA_VISIBLE_DEVICES`` value.

Modules never read the environment themselves: the configuration edge (CLI, client
constructor) reads ``CUDA_VISIBLE_DEVICES`` and passes the string in here.
"""

from __future__ import annotations

from xcr_py.errors import DeviceUnavailable

__all__ = ["GpuSelector", "parse_cuda_visible_devices"]

GpuSelector = int | str
"""An NVML device index (``int``) or a GPU UUID (``"GPU-..."``)."""


def parse_cuda_visible_devices(value: str | None) -> list[GpuSelector] | None:
    """Translate a ``CUDA_VISIBLE_DEVICES`` value into device selectors.

    Follows CUDA's rules: ``None`` (unset) means every device; an empty string means none;
    entries are indices or ``GPU-`` UUIDs; parsing stops at the first invalid entry (CUDA
    ignores it and everything after it). A ``MIG-`` entry raises :class:`DeviceUnavailable`,
    because NVML reports energy only for the whole GPU, not for one MIG instance.
    """
    if value is None:
        return None
    selectors: list[GpuSelector] = []
    for raw in value.split(","):
        token = raw.strip()
        if token.startswith("MIG-"):
            raise DeviceUnavailable(
                f"CUDA_VISIBLE_DEVICES selects MIG instance {token}: NVML reports energy only "
                "for the whole GPU, so one instance's energy cannot be measured")
        if token.startswith("GPU-"):
            selectors.append(token)
        elif token.isdigit():
            selectors.append(int(token))
        else:
            break
    return selectors
