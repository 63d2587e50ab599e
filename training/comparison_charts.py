"""Charts of a model comparison (training/comparison.py) as PNG, drawn like plots_png: a bare Figure on the Agg
canvas. Backends are told apart by hatching and labels as well as colour, so the charts read in greyscale."""

from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .plots import INK

COLOURS = ("#2f6db5", "#d08a2a", "#3a9a5b", "#b34a4a", "#7a5bb5", "#5b8f9a", "#9a7b4f", "#666666")
HATCHES = ("", "//", "..", "xx", "\\\\", "oo", "--", "++")


def _figure(width: float, height: float, dpi: int):
    figure = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def per_class_f1_png(rows: Sequence[dict], classes: Sequence[str], path: Path, *, dpi: int = 120) -> Path:
    figure, axes = _figure(9, 4.6, dpi)
    width = 0.8 / max(1, len(rows))
    for index, row in enumerate(rows):
        xs = [position + index * width for position in range(len(classes))]
        axes.bar(
            xs, [row["per_class_f1"][c] for c in classes], width=width, label=row["backend"],
            color=COLOURS[index % len(COLOURS)], hatch=HATCHES[index % len(HATCHES)], edgecolor="white",
        )  # fmt: skip
    axes.set_xticks([position + 0.4 - width / 2 for position in range(len(classes))])
    axes.set_xticklabels([c.replace("_", "\n") for c in classes], fontsize=8)
    axes.set(ylim=(0, 1.05), ylabel="F1")
    axes.grid(axis="y", color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    axes.legend(fontsize=8, frameon=False, ncol=min(4, len(rows)), loc="lower center", bbox_to_anchor=(0.5, 1.0))
    figure.tight_layout()
    figure.savefig(path, format="png")
    return Path(path)


def f1_against_ece_png(rows: Sequence[dict], path: Path, *, dpi: int = 120) -> Path:
    """Up and to the left is better: right answers with honest confidence."""
    figure, axes = _figure(5.6, 4.6, dpi)
    markers = "osD^vP*X"
    for index, row in enumerate(rows):
        axes.scatter(row["ece"], row["macro_f1"], s=60, marker=markers[index % len(markers)], color=COLOURS[index % len(COLOURS)])
        axes.annotate(
            row["backend"], (row["ece"], row["macro_f1"]), xytext=(6, 4), textcoords="offset points", fontsize=8, color=INK
        )
    axes.set(xlabel="ECE (lower is better)", ylabel="macro-F1 (higher is better)", ylim=(0, 1.05))
    axes.set_xlim(left=0, right=max(0.1, max(row["ece"] for row in rows) * 1.3))
    axes.grid(color="#dddddd", linewidth=0.6)
    axes.set_title("macro-F1 against calibration error")
    figure.tight_layout()
    figure.savefig(path, format="png")
    return Path(path)
