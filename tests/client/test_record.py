"""Cloud-API generations through the tracker (``Tracker.record``) and the PUE factor's source."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from tests.client.helpers import System, asset_bytes, estimate_meter, fast_outbox
from xcr_py.client import FootprintSettings, Tracker, record, set_default_tracker
from xcr_py.cloud import METHOD, cloud_window, estimate_cloud_request
from xcr_py.config import load_config
from xcr_py.content.local import LocalStore
from xcr_py.errors import InputError
from xcr_py.insights import campaign_insights
from xcr_py.receipt import parse_receipt

MakeTracker = Callable[..., Tracker]

# Power Hungry Processing (2024), image generation: 2.907 kWh per 1,000 images, spread over
# the models it measured 0.1868 .. 11.49 kWh per 1,000. Per image: x 3,600 J.
TABLE_J = Decimal("2.907") * 3600
TABLE_LOW_J, TABLE_HIGH_J = Decimal("0.1868") * 3600, Decimal("11.49") * 3600


@pytest.mark.parametrize("mode", ["single", "batch"])
def test_cloud_estimate_settles_as_published_benchmark(make_tracker: MakeTracker,
                                                       mode: str) -> None:
    tracker = make_tracker(mode, batch_size=2)
    est = estimate_cloud_request("image-generation")
    cloud_key = tracker.record(cloud_window(est, key="req-1", duration_s=3.0), asset_bytes(501),
                               model="acme-image-api", campaign=f"cloud-{mode}",
                               params={"width": 1024, "height": 1024})
    with tracker.track(asset_bytes(502), model="sdxl", campaign=f"cloud-{mode}",
                       params={"width": 1024, "height": 1024}):
        pass
    results = {r.key: r for r in tracker.flush(120)}
    assert [r.state for r in results.values()] == ["confirmed", "confirmed"]
    cloud = results.pop(cloud_key)
    metered = results.popitem()[1]

    receipt = parse_receipt(tracker.store.get(cloud.receipt_cid), canonical=True)
    assert receipt.energy.method == METHOD == "estimated (published benchmark)"
    assert receipt.energy.sources == ("gpu:cloud:published-benchmark",)
    # The table's number, exactly, as the on-chain integer and in joules.
    assert receipt.emissions.energy_mj == int(TABLE_J * 1000) == 10_465_200
    assert Decimal(repr(receipt.energy.gpu_j)) == TABLE_J and receipt.energy.cpu_j == 0
    assert Decimal(repr(receipt.energy.uncertainty.low)) == TABLE_LOW_J
    assert Decimal(repr(receipt.energy.uncertainty.high)) == TABLE_HIGH_J
    assert cloud.energy_method == METHOD and cloud.payload["energy_method"] == METHOD
    assert cloud.energy_mj == 10_465_200
    onchain = tracker.gateway.receipt(cloud.token_id)
    if mode == "single":
        assert onchain.energy_mj == 10_465_200 and onchain.gross_mg == cloud.gross_mg
    else:  # one batch receipt for both leaves: the table's number is inside its sum
        assert cloud.token_id == metered.token_id
        assert onchain.energy_mj == 10_465_200 + metered.energy_mj
        assert onchain.gross_mg == cloud.gross_mg + metered.gross_mg

    other = parse_receipt(tracker.store.get(metered.receipt_cid))
    assert other.energy.method == "estimated"  # a declared-power meter: not a benchmark

    insights = campaign_insights([receipt, other])
    share = insights.to_dict()["energy_share"]
    total = receipt.emissions.energy_mj + other.emissions.energy_mj
    assert insights.benchmark_energy_mj == 10_465_200
    assert share["estimated (published benchmark)"] == pytest.approx(10_465_200 / total)
    assert share["estimated"] == pytest.approx(1.0)  # both estimated; the benchmark part inside
    assert 0 < share["estimated (published benchmark)"] < 1


def test_record_rejects_bad_input_and_queues_nothing(make_tracker: MakeTracker,
                                                     tmp_path: Path) -> None:
    tracker = make_tracker("single")
    window = cloud_window(estimate_cloud_request("image-generation"), key="r")
    with pytest.raises(InputError, match=r"^window: must be an EnergyWindow"):
        tracker.record({"energy_mj": 5}, asset_bytes(1), model="m")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"^model: must be a non-empty string"):
        tracker.record(window, asset_bytes(1), model="")
    with pytest.raises(InputError, match=r"^asset: must be bytes or a readable file"):
        tracker.record(window, tmp_path / "missing.png", model="m")
    with pytest.raises(InputError, match=r"^creator: must be a 20-byte hex address"):
        tracker.record(window, asset_bytes(1), model="m", creator="0x12")
    assert tracker.results() == []
    assert tracker.flush(30) == []


def test_module_level_record_uses_the_default_tracker(make_tracker: MakeTracker) -> None:
    tracker = make_tracker("single")
    previous = set_default_tracker(tracker)
    try:
        est = estimate_cloud_request("image-generation", "turbo")
        key = record(cloud_window(est, key="r"), asset_bytes(520), model="turbo-api")
    finally:
        set_default_tracker(previous)
    [result] = tracker.flush(120)
    assert result.key == key and result.state == "confirmed"
    assert result.energy_method == METHOD and result.energy_mj == est.energy_mj == 1_388_160


# -- PUE: a default is labelled with its true source, a declared one as the site's ------------


def _config(tmp: Path, env: dict[str, str] | None = None, **overrides: object):  # type: ignore[no-untyped-def]
    base = {"chain.data_dir": str(tmp / "data"), "footprint.intensity_mg_per_kwh": 400_000}
    return load_config(env=env or {}, overrides={**base, **overrides}, cwd=tmp)


def test_default_pue_is_labelled_as_the_survey_average(tmp_path: Path) -> None:
    pue = FootprintSettings.from_config(_config(tmp_path).footprint).pue
    assert pue.value == Decimal("1.56")
    assert pue.source.startswith("Uptime Institute Global Data Center Survey 2024")
    assert "declared" not in pue.source and pue.method == "dataset"
    assert (pue.low, pue.high) == (Decimal("1.08"), Decimal("2.0"))


@pytest.mark.parametrize("where", ["override", "env", "file"])
def test_a_set_pue_is_declared_by_the_site_even_at_the_default_value(tmp_path: Path,
                                                                      where: str) -> None:
    if where == "override":
        config = _config(tmp_path, **{"footprint.pue_milli": 1_560})
    elif where == "env":
        config = _config(tmp_path, env={"XCR_FOOTPRINT_PUE_MILLI": "1560"})
    else:
        (tmp_path / "xcr.toml").write_text("[footprint]\npue_milli = 1560\n")
        config = _config(tmp_path)
    pue = FootprintSettings.from_config(config.footprint).pue
    assert pue.value == Decimal("1.56") and pue.method == "declared"
    assert pue.source == "config footprint.pue_milli (declared by the site)"


def test_receipts_carry_the_pue_source(make_tracker: MakeTracker, system: System,
                                       tmp_path: Path) -> None:
    declared = make_tracker("single")  # helpers.make_config sets pue_milli = 1200
    with declared.track(asset_bytes(530), model="m"):
        pass
    [r1] = declared.flush(120)
    pue1 = parse_receipt(declared.store.get(r1.receipt_cid)).factors.pue
    assert (pue1.value, pue1.method) == (1.2, "declared") and "declared by the site" in pue1.source

    tracker = Tracker(_config(tmp_path / "d"), meter=estimate_meter(),
                      store=LocalStore(tmp_path / "store"), gateway=system.gateway(),
                      quorum=system.quorum(), outbox=fast_outbox(tmp_path / "ob.sqlite"), env={})
    try:
        with tracker.track(asset_bytes(531), model="m"):
            pass
        [r2] = tracker.flush(120)
        pue2 = parse_receipt(tracker.store.get(r2.receipt_cid)).factors.pue
    finally:
        tracker.close(flush=False)
    assert (pue2.value, pue2.method) == (1.56, "dataset")
    assert pue2.source.startswith("Uptime Institute") and "declared" not in pue2.source
    assert (pue2.interval.low, pue2.interval.high) == (1.08, 2.0)
    assert r2.payload["pue_milli"] == 1_560
