"""Small server-rendered SVG bar charts for the supervision dashboard.

No script and no style attributes (CSP); every chart has a text title for screen readers and
the page shows the same numbers in a table next to it.
"""

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BAR_H, GAP, LABEL_W, BAR_W, VALUE_W = 18, 8, 200, 300, 70


def bar_chart(
    rows: Sequence[tuple[str, float]], *, title: str, maximum: float | None = None, percent: bool = False
) -> SafeString:
    """Horizontal bars: one (label, value) per row."""
    if not rows:
        return mark_safe("")
    top = maximum if maximum is not None else max((value for _, value in rows), default=0) or 1
    height = len(rows) * (BAR_H + GAP) + GAP
    width = LABEL_W + BAR_W + VALUE_W
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="od-chart" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for index, (label, value) in enumerate(rows):
        y = GAP + index * (BAR_H + GAP)
        length = max(0.0, min(1.0, (value or 0) / top)) * BAR_W
        shown = f"{value * 100:.0f}%" if percent else f"{value:g}"
        short = label if len(label) <= 28 else label[:27] + "…"
        parts.append(f'<text x="0" y="{y + 13}" font-size="12" fill="#0b0c0c">{escape(short)}</text>')
        parts.append(f'<rect x="{LABEL_W}" y="{y}" width="{length:.1f}" height="{BAR_H}" fill="#1d70b8"/>')
        parts.append(
            f'<text x="{LABEL_W + length + 6:.1f}" y="{y + 13}" font-size="12" fill="#0b0c0c">{escape(shown)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text is escaped above
