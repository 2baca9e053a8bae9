"""Cloud estimates reproduce the table's numbers and intervals; the table is data only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from xcr_py.cloud import (
    METHOD,
    cloud_window,
    default_table,
    estimate_cloud_request,
    load_table,
)
from xcr_py.errors import InputError
from xcr_py.meter.window import DeviceEnergy, EnergyWindow


def _shipped() -> dict:
    text = resources.files("xcr_py.data").joinpath("cloud_inference.json").read_text("utf-8")
    return json.loads(text)


def test_php_image_generation_mean_and_spread() -> None:
    est = estimate_cloud_request("image-generation")
    # 2.907 kWh per 1,000 images = 2.907 Wh = 10,465.2 J per image.
    assert est.energy.value == Decimal("10465.2")
    assert est.energy.unit == "J"
    assert est.energy.method == "estimated"
    assert est.method == METHOD == "estimated (published benchmark)"
    assert est.energy.interval == (Decimal("0.1868") * 3600, Decimal("11.49") * 3600)
    assert "Power Hungry Processing" in est.citation and est.year == 2024
    assert "A100" in est.hardware
    assert est.energy_mj == 10_465_200


@pytest.mark.parametrize("entry", _shipped()["entries"], ids=lambda e: e["id"])
def test_every_shipped_entry_is_reproduced(entry: dict) -> None:
    est = estimate_cloud_request(entry["task"], entry["model_class"], entry["provider"])
    assert est.entry_id == entry["id"]
    j = Decimal(str(entry["value"])) * 3600
    assert est.energy.value == j
    low, high = (Decimal(str(b)) * 3600 for b in entry["interval"])
    assert est.energy.interval == (low, high)
    assert low <= j <= high
    assert entry["source"] in _shipped()["sources"]


def test_every_entry_cites_source_year_hardware() -> None:
    table = default_table()
    for e in table.entries:
        s = table.sources[e.source]
        assert s.year >= 2000 and s.url.startswith("https://")
        assert s.hardware and len(s.citation) > 40
        assert e.interval_basis and e.scaling_note


def test_window_is_the_meters_type_and_says_published_benchmark() -> None:
    est = estimate_cloud_request("image-generation", "turbo")
    when = datetime(2024, 5, 1, 12, tzinfo=UTC)
    w = cloud_window(est, "asset-1", started_at=when, duration_s=2.5)
    assert isinstance(w, EnergyWindow)
    assert w.method == METHOD == "estimated (published benchmark)"
    assert [(d.source, d.method) for d in w.devices] == [("published-benchmark", "estimated")]
    assert w.energy_mj == 1_388_160  # 0.3856 kWh/1000 = 1388.16 J
    assert (w.low_mj, w.high_mj) == (683_640, 1_388_160)
    assert w.by_kind("gpu") == w.energy_mj
    assert METHOD in w.notes and "entry aies2024-turbo" in w.notes
    # It survives the meter's own JSON round trip.
    assert EnergyWindow.from_dict(w.to_dict()) == w


def test_unknown_task_and_class_name_the_field() -> None:
    with pytest.raises(InputError, match=r"^task: .*'image-generation'"):
        estimate_cloud_request("video-generation")
    with pytest.raises(InputError, match=r"^model_class: .*\['any', 'sdxl', 'turbo'\]"):
        estimate_cloud_request("image-generation", "flux")


def _table_with(tmp_path: Path, extra: list[dict]) -> Path:
    doc = _shipped()
    doc["entries"] = doc["entries"] + extra
    path = tmp_path / "table.json"
    path.write_text(json.dumps(doc))
    return path


NEW_ENTRY = {
    "id": "acme-video-2030", "task": "video-generation", "model_class": "acme-v",
    "provider": "acme", "source": "luccioni2024", "value": 40.0,
    "unit": "Wh/inference", "interval": [20.0, 80.0], "interval_basis": "test",
    "scaling": [{"param": "duration_s", "reference": 5, "exponent": 1,
                 "basis": "test: energy linear in clip length"}],
    "scaling_note": "linear in duration (test)",
}


def test_new_provider_and_model_is_a_data_change(tmp_path: Path) -> None:
    table = load_table(_table_with(tmp_path, [NEW_ENTRY]))
    est = estimate_cloud_request("video-generation", "acme-v", "acme",
                                 {"duration_s": 10}, table=table)
    # 40 Wh x (10 s / 5 s) = 80 Wh = 288,000 J; interval scaled the same way.
    assert est.energy.value == Decimal(288_000)
    assert est.energy.interval == (Decimal(144_000), Decimal(576_000))
    assert est.scale == 2 and est.entry_id == "acme-video-2030"
    with pytest.raises(InputError, match=r"^params\.duration_s: is required"):
        estimate_cloud_request("video-generation", "acme-v", "acme", table=table)
    with pytest.raises(InputError, match=r"^params\.duration_s: must be a number > 0"):
        estimate_cloud_request("video-generation", "acme-v", "acme", {"duration_s": -1},
                               table=table)


def test_provider_entry_wins_over_general(tmp_path: Path) -> None:
    mine = {**_shipped()["entries"][0], "id": "acme-image", "provider": "acme",
            "value": 1.0, "interval": [0.5, 2.0]}
    table = load_table(_table_with(tmp_path, [mine]))
    assert estimate_cloud_request("image-generation", "any", "acme",
                                  table=table).entry_id == "acme-image"
    assert estimate_cloud_request("image-generation", "any", "other",
                                  table=table).entry_id == "php2024-image-generation"


@pytest.mark.parametrize(("change", "field"), [
    (lambda e: e.pop("interval_basis"), "entries.3.interval_basis: is required"),
    (lambda e: e.update(colour="red"), "entries.3.colour: is not a known field"),
    (lambda e: e.update(source="nowhere"), "entries.3.source: 'nowhere' is not in sources"),
    (lambda e: e.update(interval=[50, 60]), "entries.3.interval: must satisfy"),
    (lambda e: e.update(unit="kWh"), "entries.3.unit"),
])
def test_bad_table_names_the_field(tmp_path: Path, change, field: str) -> None:
    entry = json.loads(json.dumps(NEW_ENTRY))
    change(entry)
    path = _table_with(tmp_path, [entry])
    with pytest.raises(InputError) as info:
        load_table(path)
    assert str(info.value).startswith(field)
    assert str(path) in str(info.value)


def _device(device: str, source: str, method: str, mj: int = 1000) -> DeviceEnergy:
    return DeviceEnergy(device=device, source=source, method=method, energy_mj=mj,  # type: ignore[arg-type]
                        span_energy_mj=mj, low_mj=mj // 2, high_mj=mj * 2, resolution_s=0.0)


@pytest.mark.parametrize(("sources", "expected"), [
    ([("gpu:cloud", "published-benchmark", "estimated")], "estimated (published benchmark)"),
    ([("gpu:cloud", "published-benchmark", "estimated"),
      ("gpu:1", "published-benchmark", "estimated")], "estimated (published benchmark)"),
    ([("gpu:cloud", "published-benchmark", "estimated"),
      ("gpu:0", "declared-estimate", "estimated")], "estimated"),
    ([("gpu:cloud", "published-benchmark", "estimated"),
      ("gpu:0", "nvml-energy-counter", "measured")], "estimated"),
    ([("gpu:0", "declared-estimate", "estimated")], "estimated"),
    ([("gpu:0", "nvml-energy-counter", "measured"), ("cpu:package-0", "rapl", "measured")],
     "measured"),
])
def test_window_method_is_benchmark_only_when_every_device_is(
        sources: list[tuple[str, str, str]], expected: str) -> None:
    w = EnergyWindow(key="k", started_at=datetime(2024, 5, 1, tzinfo=UTC), duration_s=1.0,
                     devices=tuple(_device(*d) for d in sources))
    assert w.method == expected
    assert w.to_dict()["method"] == expected


def test_a_published_benchmark_cannot_claim_to_be_measured() -> None:
    with pytest.raises(InputError, match=r"^device.method: must be 'estimated' for source "
                                         r"'published-benchmark'"):
        _device("gpu:cloud", "published-benchmark", "measured")
