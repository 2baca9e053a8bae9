"""The procedural renderer: deterministic PNG bytes, inputs that matter, bounded inputs."""

from __future__ import annotations

import hashlib
import io
import struct
import subprocess
import sys

import pytest
from PIL import Image, ImageChops

from xcr_py.demo.render import GENERATOR, render, render_image, work_units
from xcr_py.errors import InputError


def _chunks(png: bytes) -> list[bytes]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    names, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        names.append(png[pos + 4:pos + 8])
        pos += 12 + length
    return names


def test_same_inputs_same_bytes_even_in_another_process() -> None:
    first = render("a lighthouse at dusk", 42, 64, 48, 5)
    assert render("a lighthouse at dusk", 42, 64, 48, 5) == first
    code = ("import sys, hashlib; from xcr_py.demo.render import render; "
            "sys.stdout.write(hashlib.sha256(render('a lighthouse at dusk', 42, 64, 48, 5))"
            ".hexdigest())")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": "123", "PATH": ""})
    assert other.stdout == hashlib.sha256(first).hexdigest()


def test_seed_prompt_and_steps_change_the_image() -> None:
    base = render_image("a fox", 1, 64, 64, 6)
    for other in (render_image("a fox", 2, 64, 64, 6), render_image("a fox!", 1, 64, 64, 6),
                  render_image("a fox", 1, 64, 64, 7)):
        diff = ImageChops.difference(base, other)
        assert diff.getbbox() is not None
        # not a one-pixel change: a visibly different picture
        assert sum(diff.convert("L").histogram()[8:]) > 64 * 64 // 10
    assert render("a fox", 1, 64, 64, 6) != render("a fox", 2, 64, 64, 6)


def test_png_shape_and_metadata_without_timestamps() -> None:
    png = render("ünïcode prompt", 2**64 - 1, 80, 40, 3)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (80, 40) and image.mode == "RGB"
    chunks = _chunks(png)
    assert b"tIME" not in chunks
    assert image.text["Software"] == GENERATOR
    assert image.text["xcr:prompt"] == "ünïcode prompt"
    assert image.text["xcr:seed"] == str(2**64 - 1)


def test_work_units_scale_with_pixels_and_steps() -> None:
    assert work_units(256, 256, 12) == 256 * 256 * 12
    assert work_units(512, 256, 24) == 4 * work_units(256, 256, 12)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"width": 7}, "width"),
    ({"height": 4097}, "height"),
    ({"steps": 0}, "steps"),
    ({"steps": 1001}, "steps"),
    ({"seed": -1}, "seed"),
    ({"seed": 2**64}, "seed"),
    ({"seed": True}, "seed"),
    ({"width": 64.0}, "width"),
    ({"prompt": "x" * 2001}, "prompt"),
])
def test_bad_inputs_name_the_field_and_limit(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"prompt": "p", "seed": 1, "width": 64, "height": 64, "steps": 2}
    args.update(kwargs)
    with pytest.raises(InputError) as info:
        render(**args)  # type: ignore[arg-type]
    assert info.value.field == field
    assert "[" in info.value.problem or "at most" in info.value.problem
