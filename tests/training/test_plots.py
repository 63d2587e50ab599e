"""Hand-written SVG plots: valid XML with the bars, cells, counts and names a reader needs; the PNG reliability diagram."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from training.calibration import reliability_buckets
from training.plots import confusion_svg, reliability_svg
from training.plots_png import reliability_png

SVG = "{http://www.w3.org/2000/svg}"
NAMES = ["validation_error", "distraction", "comparison_shopping", "accidental_exit", "bot", "committed_leave"]


def _texts(root) -> list[str]:
    return [t.text for t in root.iter(f"{SVG}text")]


@pytest.fixture
def buckets():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.full(6, 0.4), size=400)
    return reliability_buckets(probabilities, rng.integers(0, 6, 400))


def test_reliability_diagram_is_valid_svg(buckets):
    root = ET.fromstring(reliability_svg(buckets, ece=0.0123))
    assert root.tag == f"{SVG}svg"
    assert "ECE 0.012" in root.find(f"{SVG}title").text


def test_reliability_diagram_has_a_bar_per_non_empty_bin_and_every_count(buckets):
    root = ET.fromstring(reliability_svg(buckets))
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("fill") == "#4c78a8" and float(r.get("width")) > 20]
    assert len(bars) == sum(1 for b in buckets if b["count"])
    texts = _texts(root)
    for bucket in buckets:
        assert str(bucket["count"]) in texts


def test_reliability_diagram_draws_the_diagonal(buckets):
    root = ET.fromstring(reliability_svg(buckets))
    diagonals = [line for line in root.iter(f"{SVG}line") if line.get("stroke-dasharray")]
    line = diagonals[0]
    assert float(line.get("x1")) < float(line.get("x2")) and float(line.get("y1")) > float(line.get("y2"))


def test_confusion_heatmap_shows_every_count_and_class_name():
    matrix = [[10 if i == j else i + j for j in range(6)] for i in range(6)]
    root = ET.fromstring(confusion_svg(matrix, NAMES))
    texts = _texts(root)
    assert set(NAMES) <= set(texts)
    cells = [t for t in texts if t.isdigit()]
    assert sorted(map(int, cells)) == sorted(n for row in matrix for n in row)


def test_confusion_heatmap_shades_larger_shares_darker():
    root = ET.fromstring(confusion_svg([[9, 1], [0, 10]], ["a", "b"]))
    fills = [r.get("fill") for r in root.iter(f"{SVG}rect") if r.get("stroke") == "white"]
    brightness = [sum(int(f[i : i + 2], 16) for i in (1, 3, 5)) for f in fills]
    assert brightness[0] < brightness[1]  # 90% of row a is darker than its 10%
    assert brightness[2] > brightness[3]  # 0% of row b is lighter than its 100%


def test_names_with_markup_characters_are_escaped():
    root = ET.fromstring(confusion_svg([[1, 0], [0, 1]], ["<a & b>", '"quoted"']))
    assert {"<a & b>", '"quoted"'} <= set(_texts(root))


def test_confusion_matrix_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="6x6"):
        confusion_svg([[1, 2], [3, 4]], NAMES)


def test_reliability_png_is_a_picture_of_the_diagram(buckets, tmp_path):
    from PIL import Image

    path = reliability_png(buckets, tmp_path / "reliability.png", ece=0.0123)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        width, height = image.size
        assert (width, height) == (624, 672)  # 5.2 x 5.6 inches at 120 dpi
        assert len(image.convert("RGB").getcolors(1 << 20)) > 20  # drawn, not blank


def test_reliability_png_of_an_empty_evaluation_still_draws_the_axes(tmp_path):
    empty = [{"low": i / 10, "high": (i + 1) / 10, "count": 0, "confidence": None, "accuracy": None} for i in range(10)]
    assert reliability_png(empty, tmp_path / "empty.png").stat().st_size > 5_000
