"""Pieces of the ``xcr demo`` job: the procedural renderer that stands in for a model."""

from __future__ import annotations

from xcr_py.demo.render import render, render_image, work_units

__all__ = ["render", "render_image", "work_units"]
