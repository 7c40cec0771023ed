"""Charts as inline SVG made on the server: no script, no external request, so the same markup works in
the review inbox and in the HTML digest opened offline from an e-mail. Every label is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#2f6fb0", "#d9822b", "#3a9a5b", "#c23b3b", "#8a5cb8", "#8c6d3f", "#d16aa8", "#6b7280", "#b5a300",
           "#1aa3a3")  # fmt: skip
URGENCY_COLOURS = {"critical": "#b91c1c", "high": "#ea580c", "medium": "#ca8a04", "low": "#2563eb",
                   "none": "#9ca3af"}  # fmt: skip


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    highlight: bool = False


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        + "".join(body)
        + "</svg>"
    )


def column_chart(
    bars: Sequence[Bar],
    title: str,
    *,
    width: int = 640,
    height: int = 160,
    label_every: int = 6,
    highlight_note: str = "",
) -> Markup:
    """Columns over time (reports per hour); highlighted columns (the burst) in red."""
    top, bottom, left = 14, 22, 28
    plot_h = height - top - bottom
    peak = max((b.value for b in bars), default=0) or 1
    step = (width - left - 4) / max(len(bars), 1)
    body = [f'<text x="2" y="{top + 4}" font-size="10" fill="#555">{peak}</text>',
            f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 2}" y2="{top + plot_h}" stroke="#999"/>']  # fmt: skip
    for i, bar in enumerate(bars):
        h = plot_h * bar.value / peak
        x = left + i * step
        colour = "#c23b3b" if bar.highlight else "#2f6fb0"
        body.append(
            f'<rect x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" width="{max(step - 2, 1):.1f}" height="{h:.1f}" '
            f'fill="{colour}"><title>{escape(bar.label)}: {bar.value}</title></rect>'
        )
        if label_every and i % label_every == 0:
            body.append(f'<text x="{x:.1f}" y="{height - 6}" font-size="9" fill="#555">{escape(bar.label[-5:])}</text>')
    if highlight_note and any(b.highlight for b in bars):
        body.append(f'<text x="{width - 4}" y="10" font-size="10" fill="#c23b3b" text-anchor="end">'
                    f'{escape(highlight_note)}</text>')  # fmt: skip
    return _svg(width, height, title, body)


def stacked_columns(
    labels: Sequence[str],
    series: dict[str, Sequence[int]],
    title: str,
    *,
    width: int = 640,
    height: int = 200,
    label_every: int = 6,
) -> Markup:
    """One column per time slot, stacked by series (complaints per hour by category), with a legend."""
    names = list(series)
    legend_rows = (len(names) + 3) // 4
    top, bottom, left = 14, 22 + 14 * legend_rows, 28
    plot_h = height - top - bottom
    totals = [sum(series[n][i] for n in names) for i in range(len(labels))]
    peak = max(totals, default=0) or 1
    step = (width - left - 4) / max(len(labels), 1)
    body = [f'<text x="2" y="{top + 4}" font-size="10" fill="#555">{peak}</text>',
            f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 2}" y2="{top + plot_h}" stroke="#999"/>']  # fmt: skip
    for i, label in enumerate(labels):
        y: float = top + plot_h
        x = left + i * step
        for k, name in enumerate(names):
            value = series[name][i]
            if not value:
                continue
            h = plot_h * value / peak
            y -= h
            body.append(
                f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(label)} {escape(name)}: {value}</title></rect>'
            )
        if label_every and i % label_every == 0:
            body.append(f'<text x="{x:.1f}" y="{top + plot_h + 12}" font-size="9" fill="#555">'
                        f'{escape(label[-5:])}</text>')  # fmt: skip
    for k, name in enumerate(names):
        lx = left + (k % 4) * ((width - left) / 4)
        ly = top + plot_h + 26 + 14 * (k // 4)
        body.append(f'<rect x="{lx:.1f}" y="{ly - 8}" width="9" height="9" fill="{PALETTE[k % len(PALETTE)]}"/>'
                    f'<text x="{lx + 12:.1f}" y="{ly}" font-size="10" fill="#333">{escape(name)}</text>')  # fmt: skip
    return _svg(width, height, title, body)


def bar_list(bars: Sequence[Bar], title: str, *, width: int = 420, colours: dict[str, str] | None = None) -> Markup:
    """Horizontal bars with their label and value (urgency mix, age buckets, top incidents)."""
    row_h, label_w = 20, 150
    height = row_h * max(len(bars), 1) + 4
    peak = max((b.value for b in bars), default=0) or 1
    body = []
    for i, bar in enumerate(bars):
        y = 2 + i * row_h
        w = (width - label_w - 50) * bar.value / peak
        colour = (colours or {}).get(bar.label, "#c23b3b" if bar.highlight else "#2f6fb0")
        label = bar.label if len(bar.label) <= 24 else bar.label[:23] + "…"
        body.append(
            f'<text x="0" y="{y + 13}" font-size="11" fill="#333">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{colour}">'
            f"<title>{escape(bar.label)}: {bar.value}</title></rect>"
            f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" font-size="11" fill="#333">{bar.value}</text>'
        )
    return _svg(width, height, title, body)
