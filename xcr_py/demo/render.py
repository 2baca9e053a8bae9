"""A deterministic procedural image generator for the demo: no model weights, just Pillow.

``render(prompt, seed, width, height, steps)`` stands in for a diffusion model: the prompt
and seed pick a palette and a stream of shapes; each of ``steps`` refinement passes paints
translucent shapes over the whole frame, composites and smooths it. Every pass touches
every pixel, so the work (and the energy an estimate should declare) scales with
``width x height x steps`` (:func:`work_units`).

The PNG is byte-identical for the same inputs (and the same Pillow/zlib build): no
timestamp chunk is written, and the only metadata are the generator name, prompt and seed.
"""

from __future__ import annotations

import hashlib
import io
import random

from PIL import Image, ImageDraw, ImageFilter, ImageOps
from PIL.PngImagePlugin import PngInfo

from xcr_py.errors import InputError

__all__ = ["GENERATOR", "MAX_SIDE", "MAX_STEPS", "render", "render_image", "work_units"]

GENERATOR = "xcr.demo.render/1"
MAX_SIDE = 4096
MIN_SIDE = 8
MAX_STEPS = 1000
MAX_PROMPT = 2000


def work_units(width: int, height: int, steps: int) -> int:
    """Pixel-passes a render performs (``width x height x steps``), the unit its cost scales by."""
    return width * height * steps


def _check(prompt: str, seed: int, width: int, height: int, steps: int) -> None:
    if not isinstance(prompt, str) or len(prompt) > MAX_PROMPT:
        raise InputError("prompt", f"must be a string of at most {MAX_PROMPT} characters")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
        raise InputError("seed", f"must be an integer in [0, 2**64), got {seed!r}")
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) \
                or not MIN_SIDE <= value <= MAX_SIDE:
            raise InputError(name, f"must be an integer in [{MIN_SIDE}, {MAX_SIDE}], "
                             f"got {value!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise InputError("steps", f"must be an integer in [1, {MAX_STEPS}], got {steps!r}")


def _rng(prompt: str, seed: int) -> random.Random:
    material = hashlib.sha256(f"{GENERATOR}\0{seed}\0{prompt}".encode()).digest()
    return random.Random(int.from_bytes(material, "big"))


def _colour(rng: random.Random, alpha: int | None = None) -> tuple[int, ...]:
    rgb = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    return rgb if alpha is None else (*rgb, alpha)


def render_image(prompt: str, seed: int, width: int = 256, height: int = 256,
                 steps: int = 12) -> Image.Image:
    """The rendered image (RGB). See :func:`render` for the arguments."""
    _check(prompt, seed, width, height, steps)
    rng = _rng(prompt, seed)
    # Background: a rotated two-colour gradient from the prompt's palette.
    gradient = Image.linear_gradient("L").rotate(
        rng.uniform(0, 360), resample=Image.Resampling.BILINEAR, expand=False, fillcolor=128)
    base = ImageOps.colorize(gradient.resize((width, height), Image.Resampling.BILINEAR),
                             _colour(rng), _colour(rng)).convert("RGBA")
    smooth = ImageFilter.BoxBlur(1)
    for step in range(steps):
        # Later passes paint smaller, more opaque detail, like a coarse-to-fine sampler.
        layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        scale = 0.5 * (1 - step / (steps + 1)) + 0.05
        for _ in range(3):
            cx, cy = rng.uniform(0, width), rng.uniform(0, height)
            rx, ry = rng.uniform(0.3, 1) * scale * width, rng.uniform(0.3, 1) * scale * height
            fill = _colour(rng, 40 + (150 * step) // max(1, steps))
            if rng.random() < 0.5:
                draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=fill)
            else:
                points = [(cx + rng.uniform(-rx, rx), cy + rng.uniform(-ry, ry))
                          for _ in range(rng.randint(3, 6))]
                draw.polygon(points, fill=fill)
        base = Image.alpha_composite(base, layer).filter(smooth)
    return base.convert("RGB")


def render(prompt: str, seed: int, width: int = 256, height: int = 256, steps: int = 12) -> bytes:
    """Render ``prompt`` with ``seed`` to PNG bytes, byte-identical for identical inputs.

    Args:
        prompt: text that (with the seed) selects palette and shapes; at most 2000 chars.
        seed: integer in ``[0, 2**64)``.
        width, height: pixels, each in ``[8, 4096]``.
        steps: refinement passes in ``[1, 1000]``; each touches every pixel.

    Raises:
        InputError: an argument is out of range; the message names it and the limit.
    """
    image = render_image(prompt, seed, width, height, steps)
    info = PngInfo()
    info.add_text("Software", GENERATOR)
    info.add_itxt("xcr:prompt", prompt)
    info.add_text("xcr:seed", str(seed))
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info, compress_level=6)
    return out.getvalue()
