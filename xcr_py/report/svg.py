"""Small hand-written SVG charts for the campaign report (no JavaScript, no external assets).

Each function returns one ``<svg class="plot">`` element as text, with a ``<title>``, labelled
axes and the unit in the axis title, so the HTML file stays self-contained and opens offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["bar_chart", "histogram", "horizontal_bars", "line_chart"]

_W, _H = 640, 300
_L, _R, _T, _B = 70, 20, 52, 60
_COLORS = ("#b5473a", "#2f7d4f", "#3b6ea5", "#c28a1d", "#6d4c9f", "#2a8c8c")


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) < 0.01:
        return f"{value:.3g}"
    return f"{value:.4g}"


def _frame(title: str, body: list[str], y_label: str, x_label: str) -> str:
    head = (f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" '
            f'width="{_W}" height="{_H}" role="img" aria-label="{escape(title)}">'
            f"<title>{escape(title)}</title>"
            f'<rect x="0" y="0" width="{_W}" height="{_H}" fill="#fff"/>'
            f'<text x="{_W / 2}" y="20" text-anchor="middle" font-size="14" '
            f'font-weight="bold">{escape(title)}</text>'
            f'<text x="14" y="{_T + (_H - _T - _B) / 2}" font-size="11" text-anchor="middle" '
            f'transform="rotate(-90 14 {_T + (_H - _T - _B) / 2})">{escape(y_label)}</text>'
            f'<text x="{_L + (_W - _L - _R) / 2}" y="{_H - 8}" font-size="11" '
            f'text-anchor="middle">{escape(x_label)}</text>'
            f'<line x1="{_L}" y1="{_H - _B}" x2="{_W - _R}" y2="{_H - _B}" stroke="#333"/>'
            f'<line x1="{_L}" y1="{_T}" x2="{_L}" y2="{_H - _B}" stroke="#333"/>')
    return head + "".join(body) + "</svg>"


def _y_axis(top: float) -> list[str]:
    out = []
    for i in range(5):
        v = top * i / 4
        y = _H - _B - (_H - _T - _B) * i / 4
        out.append(f'<line x1="{_L - 4}" y1="{y:.1f}" x2="{_W - _R}" y2="{y:.1f}" '
                   f'stroke="#ddd"/><text x="{_L - 6}" y="{y + 4:.1f}" font-size="10" '
                   f'text-anchor="end">{_fmt(v)}</text>')
    return out


def bar_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]],
              y_label: str, x_label: str) -> str:
    """Grouped vertical bars: one group per label, one bar per series (with a legend)."""
    top = max([v for _, vals in series for v in vals] + [0]) or 1.0
    n, k = max(len(labels), 1), max(len(series), 1)
    group = (_W - _L - _R) / n
    bar = group * 0.8 / k
    body = _y_axis(top)
    for si, (name, values) in enumerate(series):
        color = _COLORS[si % len(_COLORS)]
        lx = _L + 200 * si  # legend row between the title and the plot area
        body.append(f'<rect x="{lx}" y="{_T - 19}" width="10" height="10" fill="{color}"/>'
                    f'<text x="{lx + 14}" y="{_T - 10}" font-size="10">{escape(name)}</text>')
        for i, value in enumerate(values):
            h = (_H - _T - _B) * value / top
            x = _L + group * i + group * 0.1 + bar * si
            body.append(f'<rect class="bar" x="{x:.1f}" y="{_H - _B - h:.1f}" width="{bar:.1f}" '
                        f'height="{h:.1f}" fill="{color}"><title>{escape(labels[i])}: '
                        f'{escape(name)} {_fmt(value)}</title></rect>')
    for i, label in enumerate(labels):
        x = _L + group * (i + 0.5)
        body.append(f'<text x="{x:.1f}" y="{_H - _B + 14}" font-size="9" '
                    f'text-anchor="middle">{escape(label[:14])}</text>')
    return _frame(title, body, y_label, x_label)


def histogram(title: str, values: Sequence[float], bins: int, y_label: str, x_label: str) -> str:
    """Counts of ``values`` in ``bins`` equal-width bins."""
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    width = (high - low) / bins if high > low else 1.0
    counts = [0] * bins
    for v in values:
        counts[min(int((v - low) / width), bins - 1) if high > low else 0] += 1
    labels = [f"{_fmt(low + width * i)}-{_fmt(low + width * (i + 1))}" for i in range(bins)]
    return bar_chart(title, labels, [("assets", [float(c) for c in counts])], y_label, x_label)


def horizontal_bars(title: str, items: Sequence[tuple[str, float]], x_label: str) -> str:
    """One horizontal bar per item (e.g. grams retired per project and method)."""
    top = max([v for _, v in items] + [0]) or 1.0
    row = (_H - _T - _B) / max(len(items), 1)
    left = 200
    body = []
    for i, (label, value) in enumerate(items):
        w = (_W - left - _R - 60) * value / top
        y = _T + row * i + row * 0.15
        body.append(f'<text x="{left - 6}" y="{y + row * 0.45:.1f}" font-size="10" '
                    f'text-anchor="end">{escape(label[:36])}</text>'
                    f'<rect class="bar" x="{left}" y="{y:.1f}" width="{w:.1f}" '
                    f'height="{row * 0.7:.1f}" fill="{_COLORS[1 + i % 5]}"><title>'
                    f'{escape(label)}: {_fmt(value)}</title></rect>'
                    f'<text x="{left + w + 4:.1f}" y="{y + row * 0.45:.1f}" font-size="10">'
                    f'{_fmt(value)}</text>')
    return _frame(title, body, "", x_label)


def line_chart(title: str, points: Sequence[tuple[str, float]],
               markers: Sequence[tuple[int, float]], y_label: str, x_label: str) -> str:
    """A line over ``points`` (label, value) with dots at ``markers`` (point index, value)."""
    values = [v for _, v in points] + [v for _, v in markers]
    top = max([*values, 0]) or 1.0
    n = max(len(points), 2)
    step = (_W - _L - _R) / (n - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return _L + step * i, _H - _B - (_H - _T - _B) * v / top

    body = _y_axis(top)
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, (_, v) in
                                                          enumerate(points)))
        body.append(f'<polyline class="line" points="{path}" fill="none" stroke="#3b6ea5" '
                    f'stroke-width="2"/>')
    for i, v in markers:
        x, y = xy(i, v)
        body.append(f'<circle class="marker" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#b5473a">'
                    f"<title>applied: {_fmt(v)}</title></circle>")
    every = max(1, len(points) // 6)
    for i, (label, _) in enumerate(points):
        if i % every == 0:
            x, _y = xy(i, 0)
            body.append(f'<text x="{x:.1f}" y="{_H - _B + 14}" font-size="9" '
                        f'text-anchor="middle">{escape(label)}</text>')
    return _frame(title, body, y_label, x_label)
