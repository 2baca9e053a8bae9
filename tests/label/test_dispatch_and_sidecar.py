"""Media-type dispatch (xcr_py.embed) and the sidecar label for audio and video."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.label.helpers import jpeg_bytes, make_label, png_bytes, wav_bytes
from xcr_py import embed as emb
from xcr_py.content.canonical import canonical_json
from xcr_py.embed import sidecar
from xcr_py.errors import InputError

SAMPLES = {
    "image/png": png_bytes(),
    "image/jpeg": jpeg_bytes(),
    "image/gif": b"GIF89a\x01\x00\x01\x00",
    "image/webp": b"RIFF\x10\x00\x00\x00WEBPVP8 ",
    "audio/wav": wav_bytes(),
    "audio/flac": b"fLaC\x00\x00\x00\x22",
    "audio/ogg": b"OggS\x00\x02",
    "audio/mpeg": b"ID3\x04\x00\x00\x00\x00",
    "audio/mp4": b"\x00\x00\x00\x20ftypM4A \x00\x00",
    "video/mp4": b"\x00\x00\x00\x20ftypisom\x00\x00",
    "video/webm": b"\x1a\x45\xdf\xa3\x9f",
}


@pytest.mark.parametrize(("media_type", "data"), SAMPLES.items())
def test_sniff_media_type(media_type: str, data: bytes) -> None:
    assert emb.sniff_media_type(data) == media_type


@pytest.mark.parametrize("media_type", ["image/png", "image/jpeg"])
def test_dispatch_round_trip(media_type: str) -> None:
    original = SAMPLES[media_type]
    labelled = emb.embed(original, make_label())
    assert emb.extract(labelled) == (make_label(), original)
    assert emb.strip(labelled) == original
    segment = emb.find_label(labelled)
    assert segment is not None and segment.media_type == media_type
    relabelled = emb.relabel(labelled, make_label(retirement_status="pending"))
    assert emb.extract(relabelled) == (make_label(retirement_status="pending"), original)


@pytest.mark.parametrize("media_type", ["audio/wav", "video/mp4", "audio/mpeg"])
def test_audio_video_are_sent_to_the_sidecar(media_type: str) -> None:
    with pytest.raises(InputError, match="sidecar") as info:
        emb.embed(SAMPLES[media_type], make_label())
    assert info.value.field == "media_type"
    assert media_type in info.value.problem


@pytest.mark.parametrize("data", [SAMPLES["image/gif"], b"hello world", b""])
def test_unknown_or_unsupported_format_is_refused(data: bytes) -> None:
    for call in (lambda: emb.embed(data, make_label()), lambda: emb.extract(data)):
        with pytest.raises(InputError) as info:
            call()
        assert info.value.field == "media_type"
        assert "image/png, image/jpeg" in info.value.problem


# --- sidecar ---------------------------------------------------------------------------------


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "clip.wav"
    path.write_bytes(wav_bytes())
    return path


def test_sidecar_round_trip_leaves_the_media_untouched(clip: Path) -> None:
    before = clip.read_bytes()
    written = sidecar.write_sidecar(clip, make_label())
    assert written == clip.with_name("clip.wav.xcr.json")
    assert clip.read_bytes() == before
    doc = written.read_bytes()
    assert doc == canonical_json(json.loads(doc))  # canonical on disk
    read = sidecar.read_sidecar(clip)
    assert read.label == make_label()
    assert (read.asset_name, read.asset_bytes) == ("clip.wav", len(before))
    assert sorted(p.name for p in clip.parent.iterdir()) == ["clip.wav", "clip.wav.xcr.json"]


def test_sidecar_is_not_overwritten_unless_asked(clip: Path) -> None:
    path = sidecar.write_sidecar(clip, make_label())
    first = path.read_bytes()
    with pytest.raises(InputError, match="already exists") as info:
        sidecar.write_sidecar(clip, make_label(token_id=1))
    assert info.value.field == "sidecar"
    assert path.read_bytes() == first
    sidecar.write_sidecar(clip, make_label(token_id=1), replace=True)
    assert sidecar.read_sidecar(clip).label.token_id == 1
    assert len(list(clip.parent.iterdir())) == 2  # no temporary file left behind


def test_sidecar_detects_a_changed_or_swapped_file(clip: Path) -> None:
    sidecar.write_sidecar(clip, make_label())
    data = bytearray(clip.read_bytes())
    data[-1] ^= 0x01
    clip.write_bytes(bytes(data))
    with pytest.raises(InputError) as info:
        sidecar.read_sidecar(clip)
    assert info.value.field == "sidecar.asset.sha256"
    clip.write_bytes(bytes(data) + b"\0")
    with pytest.raises(InputError) as info:
        sidecar.read_sidecar(clip)
    assert info.value.field == "sidecar.asset.bytes"


def test_missing_media_or_sidecar(tmp_path: Path, clip: Path) -> None:
    with pytest.raises(InputError) as info:
        sidecar.write_sidecar(tmp_path / "nope.wav", make_label())
    assert info.value.field == "media_path"
    with pytest.raises(InputError, match="no sidecar") as info:
        sidecar.read_sidecar(clip)
    assert info.value.field == "sidecar"


def _doc(**changes: object) -> bytes:
    base = json.loads(sidecar.sidecar_bytes(make_label(), "a.wav", 3, "ab" * 32))
    base.update(changes)
    return json.dumps(base).encode()


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        (b"x" * (sidecar.MAX_SIDECAR_BYTES + 1), "sidecar"),
        (b"{not json", "sidecar"),
        (b'{"schema": 1, "schema": 2}', "sidecar.schema"),
        (b"[1]", "sidecar"),
        (b'{"n": NaN}', "sidecar"),
        (_doc(schema="xcr-label-sidecar/2"), "sidecar.schema"),
        (_doc(extra=1), "sidecar.extra"),
        (_doc(asset={"name": "a", "bytes": 1}), "sidecar.asset"),
        (_doc(asset={"name": "a", "bytes": -1, "sha256": "ab" * 32}), "sidecar.asset.bytes"),
        (_doc(asset={"name": "a", "bytes": 1, "sha256": "AB" * 32}), "sidecar.asset.sha256"),
        (_doc(asset={"name": "", "bytes": 1, "sha256": "ab" * 32}), "sidecar.asset.name"),
        (_doc(label={**make_label().to_dict(), "chain_id": 0}), "label.chain_id"),
    ],
)
def test_parse_sidecar_rejects(doc: bytes, field: str) -> None:
    with pytest.raises(InputError) as info:
        sidecar.parse_sidecar(doc)
    assert info.value.field == field


def test_parse_sidecar_accepts_pretty_printed_json() -> None:
    doc = json.dumps(json.loads(_doc()), indent=2).encode()
    assert sidecar.parse_sidecar(doc).label == make_label()
