"""The SVG charts: count axes in whole steps, legends that wrap instead of running off the chart, text escaped."""

import re

import pytest

from analytics.charts import WIDTH, Series, _count_max, line_chart, stacked_bars


@pytest.mark.parametrize(("highest", "top"), [(0, 4), (3, 4), (5, 8), (10, 20), (38, 40), (41, 80), (99, 100), (1234, 2000)])
def test_count_axes_rise_in_four_whole_steps(highest, top):
    assert _count_max(highest) == top


def tick_labels(svg: str) -> list[str]:
    return re.findall(r'text-anchor="end">([^<]*)</text>', svg)


def test_a_count_chart_never_labels_a_fraction():
    svg = stacked_bars("c", "Sessions", ["a", "b"], [Series("x", [3, 5])])
    assert tick_labels(svg) == ["0", "2", "4", "6", "8"]
    svg = line_chart("l", "Sent", ["a", "b"], [Series("x", [1, 2])])
    assert tick_labels(svg) == ["0", "1", "2", "3", "4"]


def test_a_long_legend_wraps_within_the_chart_and_the_plot_moves_down():
    names = ["validation error", "distraction", "comparison shopping", "accidental exit", "bot", "committed leave"]
    names.append("unclassified")
    svg = stacked_bars("r", "Why they left", ["d1"], [Series(name, [1]) for name in names])
    key_xs = [float(x) for x in re.findall(r'<rect x="([\d.]+)" y="(?:18|34)" width="12"', svg)]
    assert len(key_xs) == len(names) and max(key_xs) < WIDTH
    assert 'y="34" width="12"' in svg  # a second legend row
    assert 'viewBox="0 0 760 266"' in svg and '<g transform="translate(0,16)">' in svg
    short = stacked_bars("s", "Short", ["d1"], [Series("one", [1])])
    assert 'viewBox="0 0 760 250"' in short and "translate" not in short


def test_names_are_escaped():
    svg = stacked_bars("e", "<b>", ["<i>"], [Series("<script>", [1])])
    assert "<script>" not in svg and "<b>" not in svg and "&lt;script&gt;" in svg
