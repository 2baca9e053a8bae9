"""A small labelled campaign on a persistent embedded chain + LocalStore (verify and report tests).

Built with the real client (Tracker: estimate meter, single or Merkle batch settlement), then
each asset is labelled from its settled result, the way ``xcr demo`` leaves its output folder.
"""

from __future__ import annotations

import io
import time
import wave
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from tests.client.helpers import deploy_system, estimate_meter, fast_outbox
from xcr_py.chain import Deployment
from xcr_py.chain.embedded import EmbeddedChain
from xcr_py.client import AssetResult, Tracker
from xcr_py.client.credit import method_name
from xcr_py.config import XcrConfig, load_config, write_config
from xcr_py.content.cid import bytes_cid
from xcr_py.content.local import LocalStore
from xcr_py.embed.files import write_label
from xcr_py.receipt.label import ImpactLabel


@dataclass
class Campaign:
    """Where a built campaign lives."""

    root: Path
    config: XcrConfig
    config_file: Path
    files: dict[str, list[Path]]  # mode -> labelled files
    results: dict[str, list[AssetResult]]
    deployment: Deployment


def png(i: int, size: int = 48) -> bytes:
    """A small distinct PNG."""
    img = Image.new("RGB", (size, size), ((i * 40) % 256, (i * 90) % 256, (i * 150) % 256))
    img.putpixel((i % size, 0), (255, 255, 255))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def label_for(result: AssetResult, chain_id: int, contract: str, ratio_bps: int,
              removed_mg: int, method: str, permanence: int) -> ImpactLabel:
    """The impact label of a settled asset."""
    assert result.receipt_cid and result.token_id is not None and result.gross_mg is not None
    return ImpactLabel(
        receipt_cid=result.receipt_cid, chain_id=chain_id, receipt_contract=contract,
        token_id=result.token_id, gross_mg=result.gross_mg, removed_mg=removed_mg,
        ratio_bps=ratio_bps, method="estimated", removal_method=method,
        permanence_years=permanence, retirement_status="pending")


def jpeg(i: int, size: int = 48) -> bytes:
    """A small distinct JPEG."""
    img = Image.new("RGB", (size, size), ((i * 70) % 256, 120, (i * 30) % 256))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=90)
    return out.getvalue()


def wav(i: int, frames: int = 800) -> bytes:
    """A short distinct mono 16-bit WAV (labelled through a sidecar)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes((i + k) % 256 for k in range(frames * 2)))
    return out.getvalue()


def _assets(mode: str, count: int, extra: tuple[str, ...], start: int) -> list[tuple[bytes, str]]:
    made = [(png(start + k), ".png") for k in range(1, count + 1)]
    if mode == "single":
        maker = {"jpeg": (jpeg, ".jpg"), "wav": (wav, ".wav")}
        for k, kind in enumerate(extra, start=count + 1):
            fn, suffix = maker[kind]
            made.append((fn(start + k), suffix))
    return made


def build_campaign(root: Path, *, single: int = 2, batch: int = 3, extra: tuple[str, ...] = (),
                   name: str = "spring") -> Campaign:
    """Settle ``single`` PNGs (then the ``extra`` kinds, ``"jpeg"``/``"wav"``) one by one and
    ``batch`` PNGs as one Merkle batch; label each (a WAV through its sidecar)."""
    data_dir = root / "data"
    store_dir = root / "store"
    config_file = root / "xcr.toml"
    files: dict[str, list[Path]] = {}
    results: dict[str, list[AssetResult]] = {}
    with EmbeddedChain(data_dir) as chain:
        system = deploy_system(chain.w3, chain.dev_private_keys())
        dep_file = root / "deployment.json"
        system.deployment.save(dep_file)
        overrides = {"chain.data_dir": str(data_dir), "chain.deployment_file": str(dep_file),
                     "store.path": str(store_dir), "footprint.zone": "DE",
                     "footprint.pue_milli": 1_200,
                     "explorer_url": "http://localhost:4000/token/{contract}?a={token_id}"}
        store = LocalStore(store_dir)
        n = 0
        for mode, count in (("single", single), ("batch", batch)):
            if not count:
                continue
            config = load_config(env={}, overrides={**overrides, "mode.kind": mode,
                                                    "mode.batch_size": max(count, 1),
                                                    "mode.max_delay_s": 3600}, cwd=root)
            tracker = Tracker(config, meter=estimate_meter(), store=store,
                              gateway=system.gateway(), quorum=system.quorum(),
                              outbox=fast_outbox(root / f"outbox-{mode}.sqlite"), env={})
            assets = _assets(mode, count, extra, n)
            n += len(assets)
            try:
                for k, (data, _) in enumerate(assets):
                    with tracker.track(data, model="sdxl-turbo", campaign=name):
                        time.sleep(0.01 * (1 + k % 3))  # distinct energies for the plots
                done = tracker.flush(120)
            finally:
                tracker.close(flush=False)
            results[mode] = done
            suffix = {str(bytes_cid(data)): ext for data, ext in assets}
            out = root / mode
            out.mkdir()
            files[mode] = []
            gw = system.gateway()
            for i, result in enumerate(done):
                assert result.state == "confirmed", result
                token = gw.receipt(result.token_id or 0)
                retirement = gw.retirement(token.retirement_id)
                credit = gw.credit_batch(retirement.batch_id)
                path = out / f"asset-{i}{suffix[result.asset_cid or '']}"
                path.write_bytes(store.get(result.asset_cid or ""))
                write_label(path, label_for(
                    result, system.deployment.chain_id, system.deployment.receipts,
                    config.footprint.ratio_bps, result.required_mg or 0,
                    method_name(credit.method), credit.permanence_years))
                files[mode].append(path)
        final = load_config(env={}, overrides=overrides, cwd=root)
        write_config(config_file, final)
        return Campaign(root, final, config_file, files, results, system.deployment)
