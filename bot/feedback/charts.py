"""Small inline SVG charts for the report and the dashboard: no JavaScript, no downloads.

Every chart is a self-contained ``<svg>`` string with a ``<title>`` per bar (the exact number
on hover) and an ``aria-label``, so it reads well in a browser, a mail client or a PDF.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

BAR = "#3b82f6"
GOOD = "#16a34a"
BAD = "#dc2626"
MUTED = "#6b7280"
FONT = "font-family='system-ui, sans-serif' font-size='11'"


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def column_chart(
    points: Sequence[tuple[str, float]], *, label: str, width: int = 640, height: int = 180
) -> str:
    """Vertical bars over categories in order (e.g. conversations per day)."""
    if not points:
        return _empty(label, width)
    top, bottom, left = 16, 28, 8
    plot_h = height - top - bottom
    peak = max(value for _, value in points) or 1.0
    step = (width - left * 2) / len(points)
    bar_w = max(step * 0.7, 1.0)
    every = max(1, len(points) // 8)  # at most ~8 axis labels
    parts = []
    for i, (name, value) in enumerate(points):
        h = plot_h * value / peak
        x = left + i * step + (step - bar_w) / 2
        y = top + plot_h - h
        parts.append(
            f"<rect x='{x:.1f}' y='{y:.1f}' width='{bar_w:.1f}' height='{h:.1f}' fill='{BAR}'>"
            f"<title>{escape(name)}: {_number(value)}</title></rect>"
        )
        if len(points) <= 31:
            parts.append(
                f"<text x='{x + bar_w / 2:.1f}' y='{y - 3:.1f}' text-anchor='middle' "
                f"{FONT}>{_number(value)}</text>"
            )
        if i % every == 0:
            parts.append(
                f"<text x='{x + bar_w / 2:.1f}' y='{height - 10}' text-anchor='middle' "
                f"fill='{MUTED}' {FONT}>{escape(name)}</text>"
            )
    return _svg(label, width, height, parts)


def bar_chart(
    points: Sequence[tuple[str, float]],
    *,
    label: str,
    width: int = 640,
    label_width: int = 220,
    color: str = BAR,
) -> str:
    """Horizontal bars, one row per item, longest first as given (e.g. top intents)."""
    if not points:
        return _empty(label, width)
    row, top = 22, 4
    height = top * 2 + row * len(points)
    peak = max(value for _, value in points) or 1.0
    plot_w = width - label_width - 60
    parts = []
    for i, (name, value) in enumerate(points):
        y = top + i * row
        w = plot_w * value / peak
        shown = name if len(name) <= 32 else name[:31] + "…"
        parts.append(
            f"<text x='{label_width - 6}' y='{y + 15}' text-anchor='end' {FONT}>"
            f"{escape(shown)}</text>"
            f"<rect x='{label_width}' y='{y + 4}' width='{w:.1f}' height='{row - 8}' "
            f"fill='{color}'><title>{escape(name)}: {_number(value)}</title></rect>"
            f"<text x='{label_width + w + 4:.1f}' y='{y + 15}' {FONT}>{_number(value)}</text>"
        )
    return _svg(label, width, height, parts)


def share_bar(
    parts: Sequence[tuple[str, float, str]], *, label: str, width: int = 640, height: int = 44
) -> str:
    """One 100% bar split into labelled shares, e.g. 👍 vs 👎 (value, colour per part)."""
    total = sum(value for _, value, _ in parts)
    if total <= 0:
        return _empty(label, width)
    x = 0.0
    shapes = []
    for name, value, color in parts:
        w = width * value / total
        share = f"{100 * value / total:.0f}%"
        shapes.append(
            f"<rect x='{x:.1f}' y='0' width='{w:.1f}' height='24' fill='{color}'>"
            f"<title>{escape(name)}: {_number(value)} ({share})</title></rect>"
        )
        if w > 60:
            shapes.append(
                f"<text x='{x + 6:.1f}' y='16' fill='white' {FONT}>{escape(name)} {share}</text>"
            )
        x += w
    return _svg(label, width, height, shapes)


def _svg(label: str, width: int, height: int, parts: Sequence[str]) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' role='img' aria-label='{escape(label)}' "
        f"width='{width}' height='{height}' viewBox='0 0 {width} {height}'>"
        + "".join(parts)
        + "</svg>"
    )


def _empty(label: str, width: int) -> str:
    return _svg(label, width, 24, [f"<text x='0' y='16' fill='{MUTED}' {FONT}>—</text>"])
