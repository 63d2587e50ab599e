"""The reliability diagram as a PNG (matplotlib), for reports and tools that do not show SVG.

Drawn on a bare ``Figure`` with the Agg canvas: no pyplot, no global backend, no display needed (web image, Celery).
"""

from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .plots import BAR, GAP, INK


def reliability_png(buckets: Sequence[dict], path: Path, *, ece: float | None = None, dpi: int = 120) -> Path:
    """Per-bin accuracy bars, the gap to each bin's mean confidence, the diagonal, and each bin's count.

    ``buckets`` are training.calibration.reliability_buckets rows: low, high, count, confidence, accuracy."""
    figure = Figure(figsize=(5.2, 5.6), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    filled = [b for b in buckets if b["count"]]
    lefts = [b["low"] for b in filled]
    widths = [b["high"] - b["low"] for b in filled]
    accuracy = [b["accuracy"] for b in filled]
    gap_low = [min(b["accuracy"], b["confidence"]) for b in filled]
    gap_height = [abs(b["accuracy"] - b["confidence"]) for b in filled]
    axes.bar(lefts, accuracy, width=widths, align="edge", color=BAR, edgecolor="white", label="accuracy per confidence bin")
    axes.bar(lefts, gap_height, bottom=gap_low, width=widths, align="edge", color=GAP, alpha=0.35, label="gap to mean confidence")
    axes.plot([0, 1], [0, 1], linestyle="--", color=INK, linewidth=1.2, label="perfect calibration")
    for bucket in buckets:
        # Counts under the axis: a bar drawn from three predictions should not read like one drawn from three hundred.
        middle = (bucket["low"] + bucket["high"]) / 2
        axes.annotate(str(bucket["count"]), (middle, 0), xytext=(0, -26), textcoords="offset points", ha="center", fontsize=7)
    axes.annotate("n", (0, 0), xytext=(-14, -26), textcoords="offset points", ha="right", fontsize=7)
    axes.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (top probability)", ylabel="accuracy")
    axes.xaxis.labelpad = 16
    axes.set_xticks([i / 10 for i in range(11)])
    axes.set_yticks([i / 10 for i in range(11)])
    axes.tick_params(labelsize=7)
    axes.grid(color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    axes.legend(loc="upper left", fontsize=8, frameon=False)
    axes.set_title("Reliability diagram" + (f" (ECE {ece:.3f})" if ece is not None else ""))
    figure.tight_layout()
    figure.savefig(path, format="png")
    return Path(path)
