"""Evaluation plots as hand-written SVG: a reliability diagram and a confusion-matrix heatmap (no plotting library).

The same reliability diagram as a PNG, drawn with matplotlib, is training/plots_png.py."""

from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

FONT = "font-family:Helvetica,Arial,sans-serif"
BAR = "#4c78a8"
GAP = "#e45756"
GRID = "#dddddd"
INK = "#222222"


# ---------------------------------------------------------------- SVG elements


def _attributes(attributes: dict) -> str:
    return " ".join(f"{name.replace('_', '-')}={quoteattr(str(value))}" for name, value in attributes.items())


def _element(tag: str, **attributes) -> str:
    return f"<{tag} {_attributes(attributes)}/>"


def _text(x: float, y: float, content: str, *, size: int = 12, anchor: str = "middle", **attributes) -> str:
    placed = {"x": _r(x), "y": _r(y), "text_anchor": anchor, "style": f"{FONT};font-size:{size}px", **attributes}
    return f"<text {_attributes(placed)}>{escape(content)}</text>"


def _rect(x: float, y: float, width: float, height: float, fill: str, **attributes) -> str:
    return _element("rect", x=_r(x), y=_r(y), width=_r(width), height=_r(height), fill=fill, **attributes)


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str = INK, **attributes) -> str:
    return _element("line", x1=_r(x1), y1=_r(y1), x2=_r(x2), y2=_r(y2), stroke=stroke, **attributes)


def _document(width: int, height: int, title: str, elements: list[str]) -> str:
    header = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label={quoteattr(title)}>'
    )
    body = [f"<title>{escape(title)}</title>", _rect(0, 0, width, height, "white"), *elements]
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + header + "\n" + "\n".join(f"  {e}" for e in body) + "\n</svg>\n"


def _r(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


# ---------------------------------------------------------------- reliability diagram


def reliability_svg(buckets: Sequence[dict], *, ece: float | None = None, size: int = 420) -> str:
    """Per-bin accuracy bars against the diagonal of perfect calibration; each bin's count in a row under the axis.

    ``buckets`` are training.calibration.reliability_buckets rows: low, high, count, confidence, accuracy.
    """
    left, top, right, bottom = 60, 40, 20, 76
    width, height = left + size + right, top + size + bottom

    def px(value: float) -> float:  # 0..1 on the x axis
        return left + value * size

    def py(value: float) -> float:  # 0..1 on the y axis, upwards
        return top + (1 - value) * size

    title = "Reliability diagram" + (f" (ECE {ece:.3f})" if ece is not None else "")
    elements = [_text(width / 2, 24, title, size=15)]
    elements += _axes(px, py)
    for bucket in buckets:
        elements += _reliability_bar(bucket, px, py)
        elements.append(_text(px((bucket["low"] + bucket["high"]) / 2), py(0) + 34, str(bucket["count"]), size=10))
    elements.append(_line(px(0), py(0), px(1), py(1), stroke=INK, stroke_dasharray="5,4", stroke_width=1.5))
    elements += _reliability_legend(px, py)
    elements.append(_text(px(0) - 8, py(0) + 34, "n", size=10, anchor="end"))
    elements.append(_text(px(0.5), height - 14, "confidence (top probability)", size=13))
    elements.append(_text(16, py(0.5), "accuracy", size=13, transform=f"rotate(-90 16 {_r(py(0.5))})"))
    return _document(width, height, title, elements)


def _axes(px, py) -> list[str]:
    elements = []
    for step in range(11):
        value = step / 10
        elements.append(_line(px(0), py(value), px(1), py(value), stroke=GRID))
        elements.append(_text(px(0) - 8, py(value) + 4, f"{value:.1f}", size=10, anchor="end"))
        elements.append(_text(px(value), py(0) + 16, f"{value:.1f}", size=10))
    elements.append(_line(px(0), py(0), px(1), py(0)))
    elements.append(_line(px(0), py(0), px(0), py(1)))
    return elements


def _reliability_bar(bucket: dict, px, py) -> list[str]:
    low, high, count = bucket["low"], bucket["high"], bucket["count"]
    if not count:
        return []
    accuracy, confidence = bucket["accuracy"], bucket["confidence"]
    x, bar_width = px(low) + 1, px(high) - px(low) - 2
    gap_top, gap_bottom = max(accuracy, confidence), min(accuracy, confidence)
    tip = f"{low:.1f}-{high:.1f}: {count} predictions, mean confidence {confidence:.3f}, accuracy {accuracy:.3f}"
    return [
        _rect(x, py(accuracy), bar_width, py(0) - py(accuracy), BAR),
        # the calibration gap: between the bar top and the bin's mean confidence
        _rect(x, py(gap_top), bar_width, py(gap_bottom) - py(gap_top), GAP, fill_opacity="0.35"),
        f"<g><title>{escape(tip)}</title>{_rect(x, py(1), bar_width, py(0) - py(1), 'none', pointer_events='all')}</g>",
    ]


def _reliability_legend(px, py) -> list[str]:
    x, y = px(0.03), py(0.97)
    return [
        _rect(x, y - 9, 12, 10, BAR),
        _text(x + 18, y, "accuracy per confidence bin", size=11, anchor="start"),
        _rect(x, y + 7, 12, 10, GAP, fill_opacity="0.35"),
        _text(x + 18, y + 16, "gap to mean confidence", size=11, anchor="start"),
        _line(x, y + 28, x + 12, y + 28, stroke_dasharray="5,4", stroke_width=1.5),
        _text(x + 18, y + 32, "perfect calibration", size=11, anchor="start"),
    ]


# ---------------------------------------------------------------- confusion matrix


def confusion_svg(matrix: Sequence[Sequence[int]], class_names: Sequence[str], *, cell: int = 64) -> str:
    """Heatmap of counts (rows: true class, columns: predicted); shade is the share of the true class's row."""
    n = len(class_names)
    if len(matrix) != n or any(len(row) != n for row in matrix):
        raise ValueError(f"confusion matrix must be {n}x{n} for {n} class names")
    label_width = 8 * max(map(len, class_names)) + 20
    left, top = label_width + 30, round(0.8 * label_width) + 40
    width, height = left + n * cell + label_width // 2, top + n * cell + 40  # the last rotated name leans right
    title = "Confusion matrix (rows: true class, columns: predicted)"
    elements = [_text(width / 2, 24, title, size=15)]
    for i, name in enumerate(class_names):
        middle = left + i * cell + cell / 2
        elements.append(
            _text(middle, top - 8, name, size=12, anchor="start", transform=f"rotate(-60 {_r(middle)} {_r(top - 8)})")
        )
        elements.append(_text(left - 8, top + i * cell + cell / 2 + 4, name, size=12, anchor="end"))
    for i, row in enumerate(matrix):
        elements += _confusion_row(i, row, left, top, cell)
    elements.append(_text(left + n * cell / 2, top + n * cell + 28, "predicted class", size=13))
    elements.append(_text(14, top + n * cell / 2, "true class", size=13, transform=f"rotate(-90 14 {_r(top + n * cell / 2)})"))
    return _document(width, height, title, elements)


def _confusion_row(i: int, row: Sequence[int], left: float, top: float, cell: int) -> list[str]:
    total = sum(row)
    elements = []
    for j, count in enumerate(row):
        share = count / total if total else 0.0
        x, y = left + j * cell, top + i * cell
        elements.append(_rect(x, y, cell, cell, _shade(share), stroke="white"))
        elements.append(_text(x + cell / 2, y + cell / 2 + 5, str(count), size=14, fill="white" if share > 0.5 else INK))
    return elements


def _shade(share: float) -> str:
    """White (0) to dark blue (1)."""
    start, end = (247, 251, 255), (8, 48, 107)
    return "#" + "".join(f"{round(a + (b - a) * share):02x}" for a, b in zip(start, end, strict=True))
