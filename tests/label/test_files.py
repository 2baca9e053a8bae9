"""Labelling files on disk: embedded for PNG/JPEG, sidecar for audio/video, atomic writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.label.helpers import jpeg_bytes, make_label, png_bytes, wav_bytes
from xcr_py.embed.files import read_label, write_label
from xcr_py.errors import InputError


@pytest.mark.parametrize(
    ("name", "data"), [("a.png", png_bytes()), ("a.jpg", jpeg_bytes())], ids=["png", "jpeg"]
)
def test_embedded_in_place_and_to_out(tmp_path: Path, name: str, data: bytes) -> None:
    src = tmp_path / name
    src.write_bytes(data)
    out = tmp_path / f"labelled-{name}"
    assert write_label(src, make_label(), out=out) == out
    assert src.read_bytes() == data  # out= leaves the source alone
    assert write_label(src, make_label()) == src
    for path in (src, out):
        asset = read_label(path)
        assert (asset.label, asset.original, asset.carrier) == (make_label(), data, "embedded")
        assert asset.segment is not None
    with pytest.raises(InputError) as info:
        write_label(src, make_label(token_id=1))
    assert info.value.field == "label"
    write_label(src, make_label(token_id=1), replace=True)
    assert read_label(src).label.token_id == 1
    assert read_label(src).original == data
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, f"labelled-{name}"])


def test_audio_gets_a_sidecar(tmp_path: Path) -> None:
    clip = tmp_path / "clip.wav"
    clip.write_bytes(wav_bytes())
    written = write_label(clip, make_label())
    assert written.name == "clip.wav.xcr.json"
    asset = read_label(clip)
    assert (asset.carrier, asset.label, asset.original) == ("sidecar", make_label(), wav_bytes())
    with pytest.raises(InputError) as info:
        write_label(clip, make_label(), out=tmp_path / "x.wav")
    assert info.value.field == "out"


def test_sidecar_for_an_image_with_foreign_xmp(tmp_path: Path) -> None:
    src = tmp_path / "f.png"
    data = png_bytes(xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>')
    src.write_bytes(data)
    with pytest.raises(InputError) as info:
        write_label(src, make_label())
    assert info.value.field == "xmp"
    assert src.read_bytes() == data  # refused: nothing written
    write_label(src, make_label(), sidecar=True)
    asset = read_label(src)
    assert (asset.carrier, asset.original) == ("sidecar", data)


def test_changed_file_with_sidecar(tmp_path: Path) -> None:
    clip = tmp_path / "clip.wav"
    clip.write_bytes(wav_bytes())
    write_label(clip, make_label())
    clip.write_bytes(wav_bytes()[:-1] + b"\x01")
    with pytest.raises(InputError) as info:
        read_label(clip)
    assert info.value.field == "sidecar.asset.sha256"
    asset = read_label(clip, check_sidecar=False)  # the verifier's CID step reports it instead
    assert asset.original != wav_bytes()


def test_missing_and_unlabelled(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        write_label(tmp_path / "none.png", make_label())
    assert info.value.field == "path"
    with pytest.raises(InputError) as info:
        read_label(tmp_path / "none.png")
    assert info.value.field == "path"
    src = tmp_path / "plain.png"
    src.write_bytes(png_bytes())
    with pytest.raises(InputError, match="no XCR label and has no sidecar") as info:
        read_label(src)
    assert info.value.field == "label"
    gif = tmp_path / "a.gif"
    gif.write_bytes(b"GIF89a\x01\x00\x01\x00")
    with pytest.raises(InputError) as info:
        write_label(gif, make_label())
    assert info.value.field == "media_type"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gif", "plain.png"]
