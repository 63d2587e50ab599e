"""Charts as server-side SVG: no CDN, no JavaScript, printable, and readable without colour (every series has a
pattern and a marker of its own besides its colour, bars carry tooltips, and every chart sits beside its table)."""

from dataclasses import dataclass
from math import ceil, floor, log10

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 760, 250
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 34, 42
MAX_X_LABELS = 12
LEGEND_CHAR_W, LEGEND_ROW_H = 6.5, 16
# Colour-blind-safe (Okabe–Ito) colours, each with its own pattern so that greyscale prints stay readable.
STYLES = (
    ("#0072B2", "solid"),
    ("#E69F00", "diagonal"),
    ("#009E73", "dots"),
    ("#CC79A7", "cross"),
    ("#56B4E9", "horizontal"),
    ("#D55E00", "vertical"),
    ("#999999", "grid"),
    ("#F0E442", "back-diagonal"),
)
MARKERS = ("circle", "square", "triangle", "diamond")


@dataclass(frozen=True)
class Series:
    name: str
    values: list  # one number (or None: no data) per label


def _pattern(chart_id: str, index: int) -> str:
    colour, kind = STYLES[index % len(STYLES)]
    pid = f"{chart_id}-p{index}"
    marks = {
        "solid": "",
        "diagonal": '<path d="M0,8 L8,0" stroke="#000" stroke-opacity=".55" stroke-width="1.2"/>',
        "dots": '<circle cx="4" cy="4" r="1.5" fill="#000" fill-opacity=".6"/>',
        "cross": '<path d="M0,0 L8,8 M8,0 L0,8" stroke="#000" stroke-opacity=".5" stroke-width="1"/>',
        "horizontal": '<path d="M0,4 L8,4" stroke="#000" stroke-opacity=".55" stroke-width="1.2"/>',
        "vertical": '<path d="M4,0 L4,8" stroke="#000" stroke-opacity=".55" stroke-width="1.2"/>',
        "grid": '<path d="M0,0 L8,0 M0,0 L0,8" stroke="#000" stroke-opacity=".5" stroke-width="1.4"/>',
        "back-diagonal": '<path d="M0,0 L8,8" stroke="#000" stroke-opacity=".55" stroke-width="1.2"/>',
    }[kind]
    return (
        f'<pattern id="{pid}" width="8" height="8" patternUnits="userSpaceOnUse">'
        f'<rect width="8" height="8" fill="{colour}"/>{marks}</pattern>'
    )


def _fill(chart_id: str, index: int) -> str:
    return f"url(#{chart_id}-p{index})"


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** floor(log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _number(value: float, percent: bool) -> str:
    if percent:
        return f"{value:.0%}" if abs(value) >= 0.1 or value == 0 else f"{value:.1%}"
    return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.2g}"


def _frame(chart_id: str, title: str, body: list[str], legend: list[tuple[int, str]], marker_legend: bool = False) -> SafeString:
    defs = "".join(_pattern(chart_id, index) for index, _ in legend)
    keys, x, row = [], LEFT, 0
    for index, name in legend:
        width = 22 + LEGEND_CHAR_W * len(name)
        if x + width > WIDTH - RIGHT and x > LEFT:  # a legend too long for one row wraps; the plot moves down
            x, row = LEFT, row + 1
        key_y = 18 + LEGEND_ROW_H * row
        if marker_legend:
            keys.append(_marker(index, x + 6, key_y + 6, "#222"))
        else:
            keys.append(f'<rect x="{x}" y="{key_y}" width="12" height="12" fill="{_fill(chart_id, index)}" stroke="#222"/>')
        keys.append(f'<text x="{x + 16}" y="{key_y + 10}">{escape(name)}</text>')
        x += width
    shift = LEGEND_ROW_H * row
    parts = [
        f'<svg class="chart" id="{chart_id}" viewBox="0 0 {WIDTH} {HEIGHT + shift}" role="img" aria-labelledby="{chart_id}-t" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="11">',
        f'<title id="{chart_id}-t">{escape(title)}</title><defs>{defs}</defs>',
        f'<text x="{LEFT}" y="14" font-size="13" font-weight="600">{escape(title)}</text>',
        *keys,
        f'<g transform="translate(0,{shift})">' if shift else "<g>",
        *body,
        "</g></svg>",
    ]
    return mark_safe("".join(parts))  # noqa: S308 - every text in it went through escape() above


def _count_max(value: float) -> int:
    """The top of a count axis: four equal whole-number steps (1, 2, 5, 10, 20, 25, 50, … each), at least ``value``."""
    needed = max(value, 1) / 4
    magnitude = 10 ** floor(log10(needed)) if needed >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= needed and float(m * magnitude).is_integer())
    return int(step * 4)


def _y_axis(top_value: float, percent: bool, low_value: float = 0.0) -> tuple[list[str], callable]:
    plot_h = HEIGHT - TOP - BOTTOM

    def y(value: float) -> float:
        return TOP + plot_h * (1 - (value - low_value) / (top_value - low_value))

    parts = []
    for step in range(5):
        value = low_value + (top_value - low_value) * step / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{_number(value, percent)}</text>')
    return parts, y


def _x_labels(labels: list[str], centre) -> list[str]:
    every = max(1, ceil(len(labels) / MAX_X_LABELS))
    return [
        f'<text x="{centre(i):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{escape(label)}</text>'
        for i, label in enumerate(labels)
        if i % every == 0
    ]


def stacked_bars(chart_id: str, title: str, labels: list[str], series: list[Series], percent: bool = False) -> SafeString:
    """One bar per label, the series stacked in it (counts, or shares when ``percent``)."""
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    highest = max(totals, default=0)
    axis, y = _y_axis(_nice_max(highest) if percent else _count_max(highest), percent)
    plot_w = WIDTH - LEFT - RIGHT
    slot = plot_w / max(1, len(labels))

    def centre(i: int) -> float:
        return LEFT + slot * (i + 0.5)

    body = list(axis)
    for i, label in enumerate(labels):
        base = 0.0
        for index, each in enumerate(series):
            value = each.values[i] or 0
            if not value:
                continue
            top, bottom = y(base + value), y(base)
            body.append(
                f'<rect x="{centre(i) - slot * 0.4:.1f}" y="{top:.1f}" width="{slot * 0.8:.1f}" height="{bottom - top:.1f}" '
                f'fill="{_fill(chart_id, index)}" stroke="#222" stroke-width=".5">'
                f"<title>{escape(label)} · {escape(each.name)}: {_number(value, percent)}</title></rect>"
            )
            base += value
    body.extend(_x_labels(labels, centre))
    return _frame(chart_id, title, body, [(index, s.name) for index, s in enumerate(series)])


def _marker(index: int, x: float, y: float, colour: str) -> str:
    shape = MARKERS[index % len(MARKERS)]
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}" stroke="#222"/>'
    if shape == "square":
        return f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="{colour}" stroke="#222"/>'
    if shape == "triangle":
        points = [(x, y - 4.5), (x + 4, y + 3), (x - 4, y + 3)]
    else:  # diamond
        points = [(x, y - 4.5), (x + 4.5, y), (x, y + 4.5), (x - 4.5, y)]
    path = " L".join(f"{px:.1f},{py:.1f}" for px, py in points)
    return f'<path d="M{path} Z" fill="{colour}" stroke="#222"/>'


def line_chart(chart_id: str, title: str, labels: list[str], series: list[Series], percent: bool = False) -> SafeString:
    """One line per series with a marker of its own at each point; a None value breaks the line."""
    highest = max((v for s in series for v in s.values if v is not None), default=0)
    top = _nice_max(highest) if percent else _count_max(highest)
    axis, y = _y_axis(min(top, 1.0) if percent and top <= 1 else top, percent)
    plot_w = WIDTH - LEFT - RIGHT
    slot = plot_w / max(1, len(labels))

    def centre(i: int) -> float:
        return LEFT + slot * (i + 0.5)

    body = list(axis)
    for index, each in enumerate(series):
        colour, _ = STYLES[index % len(STYLES)]
        dash = "" if index == 0 else ' stroke-dasharray="5 3"'
        run: list[str] = []
        for i, value in enumerate([*each.values, None]):
            if value is None:
                if len(run) > 1:
                    body.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
                run = []
                continue
            run.append(f"{centre(i):.1f},{y(value):.1f}")
        for i, value in enumerate(each.values):
            if value is not None:
                body.append(
                    f"<g>{_marker(index, centre(i), y(value), colour)}"
                    f"<title>{escape(labels[i])} · {escape(each.name)}: {_number(value, percent)}</title></g>"
                )
    body.extend(_x_labels(labels, centre))
    return _frame(chart_id, title, body, [(index, s.name) for index, s in enumerate(series)], marker_legend=True)


def interval_chart(chart_id: str, title: str, labels: list[str], points: list[tuple | None], percent: bool = True) -> SafeString:
    """An estimate with its confidence interval per label (``(value, low, high)`` or None), around a zero line."""
    known = [p for p in points if p is not None]
    extent = _nice_max(max((max(abs(p[1]), abs(p[2])) for p in known), default=0.1))
    axis, y = _y_axis(extent, percent, low_value=-extent)
    plot_w = WIDTH - LEFT - RIGHT
    slot = plot_w / max(1, len(labels))

    def centre(i: int) -> float:
        return LEFT + slot * (i + 0.5)

    body = [*axis, f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#222"/>']
    for i, point in enumerate(points):
        if point is None:
            continue
        value, low, high = point
        x = centre(i)
        body.append(
            f'<g><line x1="{x:.1f}" x2="{x:.1f}" y1="{y(high):.1f}" y2="{y(low):.1f}" stroke="#0072B2" stroke-width="2"/>'
            f'<line x1="{x - 5:.1f}" x2="{x + 5:.1f}" y1="{y(high):.1f}" y2="{y(high):.1f}" stroke="#0072B2" stroke-width="2"/>'
            f'<line x1="{x - 5:.1f}" x2="{x + 5:.1f}" y1="{y(low):.1f}" y2="{y(low):.1f}" stroke="#0072B2" stroke-width="2"/>'
            f"{_marker(0, x, y(value), '#0072B2')}"
            f"<title>{escape(labels[i])}: {_number(value, True)} ({_number(low, True)} to {_number(high, True)})</title></g>"
        )
    body.extend(_x_labels(labels, centre))
    return _frame(chart_id, title, body, [(0, "uplift (treated − holdout), 95% CI")], marker_legend=True)


def funnel_chart(chart_id: str, title: str, labels: list[str], reached: list[int], left: list[int]) -> SafeString:
    """Horizontal bars in field order: sessions that reached each field, and (patterned) those that left on it."""
    row_h = 22
    height = TOP + 10 + row_h * len(labels)
    label_w = 150
    plot_w = WIDTH - label_w - RIGHT - 60
    top = max(reached, default=0) or 1
    body = []
    for i, label in enumerate(labels):
        y = TOP + 10 + row_h * i
        width = plot_w * reached[i] / top
        left_w = plot_w * left[i] / top
        body.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(label)}</text>')
        body.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row_h - 6}" fill="{_fill(chart_id, 0)}" stroke="#222" '
            f'stroke-width=".5"><title>{escape(label)}: {reached[i]:,} reached</title></rect>'
        )
        if left[i]:
            body.append(
                f'<rect x="{label_w}" y="{y + 3}" width="{left_w:.1f}" height="{row_h - 6}" fill="{_fill(chart_id, 5)}" '
                f'stroke="#222" stroke-width=".5"><title>{escape(label)}: {left[i]:,} left here</title></rect>'
            )
        body.append(f'<text x="{label_w + width + 6:.1f}" y="{y + 14}">{reached[i]:,} · {left[i]:,} left</text>')
    svg = _frame(chart_id, title, body, [(0, "reached the field"), (5, "left the form on it")])
    return mark_safe(svg.replace(f'viewBox="0 0 {WIDTH} {HEIGHT}"', f'viewBox="0 0 {WIDTH} {max(height, 80)}"', 1))  # noqa: S308
