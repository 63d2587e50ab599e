"""`manage.py evaluate`: metrics of a backend on a labelled JSONL file, invalid lines, JSON, per source/difficulty/naming,
opaque names, SVG and PNG plots."""

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from classifier.backends import get_backend
from classifier.labels import CLASSES
from classifier.opaque import opaque_names
from classifier.trace import normalise_events, serialise_trace, trace_from_input
from training.evaluation import evaluate_groups
from training.simulator import simulate_sessions
from training.simulator.core import BALANCED_MIX

SVG = "{http://www.w3.org/2000/svg}"
VALID = 60
INVALID_LINES = [
    '{"id": "bad-token", "label": 2, "events": "focus:email, bogus:thing, exit"}',
    "this is not json",
    '{"id": "bad-label", "label": 9, "events": "focus:email, exit"}',
    '{"id": "no-events", "label": 1}',
    '{"id": "list-class", "class": ["bot"], "events": "focus:email, exit"}',
    '{"id": "deep", "label": 1, "events": ' + "[" * 5000 + "]" * 5000 + "}",
]


@pytest.fixture
def dataset(tmp_path):
    """60 simulated sessions (raw and terse, some labelled by class name) with four invalid lines among them."""
    lines = []
    for index, session in enumerate(simulate_sessions(VALID, seed=99, mix=BALANCED_MIX)):
        events = session.events if index % 2 else serialise_trace(normalise_events(session.events))
        record = {"id": session.id, "events": events}
        record |= {"class": CLASSES[session.label]} if index % 3 == 0 else {"label": session.label}
        lines.append(json.dumps(record))
    for offset, line in enumerate(INVALID_LINES):
        lines.insert(10 * (offset + 1), line)
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def evaluate(dataset, **options) -> str:
    out = io.StringIO()
    call_command("evaluate", dataset=str(dataset), backend="embedded", stdout=out, **options)
    return out.getvalue()


def test_json_report_has_every_metric(active_embedded_model, dataset):
    report = json.loads(evaluate(dataset, json=True))
    assert report["n"] == VALID
    assert 0 <= report["accuracy"] <= 1
    low, high = report["macro_f1_ci95"]
    assert low <= report["macro_f1"] <= high
    assert set(report["per_class_f1"]) == set(CLASSES.values())
    assert len(report["confusion_matrix"]) == 6 and all(len(row) == 6 for row in report["confusion_matrix"])
    assert sum(map(sum, report["confusion_matrix"])) == VALID
    assert 0 <= report["ece"] <= 1 and 0 <= report["brier"] <= 2
    assert len(report["reliability"]) == 10
    assert sum(b["count"] for b in report["reliability"]) == VALID
    assert report["model_versions"] == [active_embedded_model.label]


def test_text_report_shows_the_summary_and_tables(active_embedded_model, dataset):
    text = evaluate(dataset)
    for expected in ("macro-F1", "95% bootstrap CI", "ECE", "Brier", "confusion matrix", "reliability", *CLASSES.values()):
        assert expected in text


def test_invalid_lines_are_excluded_counted_and_listed(active_embedded_model, dataset):
    report = json.loads(evaluate(dataset, json=True))
    invalid = report["invalid"]
    assert invalid["count"] == len(INVALID_LINES)
    assert [r["id"] for r in invalid["lines"]] == ["bad-token", None, "bad-label", "no-events", "list-class", None]
    assert [r["line"] for r in invalid["lines"]] == [11, 21, 31, 41, 51, 61]
    assert "bogus" in invalid["lines"][0]["error"]


def test_invalid_lines_are_named_in_the_text_report(active_embedded_model, dataset):
    text = evaluate(dataset)
    assert f"{len(INVALID_LINES)} invalid lines excluded" in text
    assert "line 11 (bad-token)" in text and "line 21:" in text


def test_plots_are_parseable_svg_files(active_embedded_model, dataset, tmp_path):
    report = json.loads(evaluate(dataset, json=True, plots=str(tmp_path / "plots")))
    assert [Path(p).name for p in report["plots"]] == ["reliability.svg", "reliability.png", "confusion.svg"]
    for name in ("reliability.svg", "confusion.svg"):
        root = ET.parse(tmp_path / "plots" / name).getroot()
        assert root.tag == f"{SVG}svg", name
    confusion_text = {t.text for t in ET.parse(tmp_path / "plots" / "confusion.svg").getroot().iter(f"{SVG}text")}
    assert set(CLASSES.values()) <= confusion_text


def test_unknown_backend_is_a_clear_error(active_embedded_model, dataset):
    with pytest.raises(CommandError, match="unknown backend 'nope'"):
        call_command("evaluate", dataset=str(dataset), backend="nope", stdout=io.StringIO())


def test_no_active_model_is_a_clear_error(db, dataset):
    with pytest.raises(CommandError, match="no active embedded model"):
        evaluate(dataset)


def test_file_without_a_valid_line_is_a_clear_error(active_embedded_model, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(INVALID_LINES) + "\n")
    with pytest.raises(CommandError, match="no valid labelled lines"):
        evaluate(path)


def test_plots_path_that_is_a_file_is_a_clear_error(active_embedded_model, dataset, tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("")
    with pytest.raises(CommandError, match="cannot create the folder"):
        evaluate(dataset, plots=str(blocker))


def test_the_reliability_diagram_is_also_a_png(active_embedded_model, dataset, tmp_path):
    evaluate(dataset, plots=str(tmp_path / "plots"))
    png = (tmp_path / "plots" / "reliability.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png[12:16] == b"IHDR" and len(png) > 10_000


# --- per source, difficulty and naming -------------------------------------------------------------


@pytest.fixture
def sourced(tmp_path):
    """60 simulated sessions, half "browser" and half "simulator" within every class (so each source has all six);
    a difficulty on some lines only."""
    seen: dict[int, int] = {}
    records = []
    for index, session in enumerate(simulate_sessions(VALID, seed=99, mix=BALANCED_MIX)):
        seen[session.label] = seen.get(session.label, 0) + 1
        record = {"id": session.id, "label": session.label, "events": session.events}
        record["source"] = "browser" if seen[session.label] % 2 else "simulator"
        if index % 3 == 0:
            record["difficulty"] = "borderline" if index % 2 else "clear"
        records.append(record)
    return records


def write(tmp_path, name: str, records: list[dict]):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_per_source_figures_are_those_of_each_source_evaluated_alone(active_embedded_model, sourced, tmp_path):
    report = json.loads(evaluate(write(tmp_path, "all.jsonl", sourced), json=True))
    assert sorted(report["by_source"]) == ["browser", "simulator"] and "by_naming" not in report
    for source, figures in report["by_source"].items():
        alone = json.loads(evaluate(write(tmp_path, f"{source}.jsonl", [r for r in sourced if r["source"] == source]), json=True))
        assert figures["n"] == alone["n"] == sum(r["source"] == source for r in sourced)
        for key in ("accuracy", "macro_f1", "ece", "mean_confidence"):  # each source has all six classes: same macro-F1
            assert figures[key] == pytest.approx(alone[key]), key
    assert sum(g["n"] for g in report["by_difficulty"].values()) == VALID
    assert report["by_difficulty"]["unspecified"]["n"] == sum("difficulty" not in r for r in sourced)


def test_group_tables_are_in_the_text_report(active_embedded_model, sourced, tmp_path):
    text = evaluate(write(tmp_path, "all.jsonl", sourced))
    assert "per source" in text and "per difficulty" in text and "mean conf" in text
    for name in ("browser", "simulator", "clear", "borderline", "unspecified"):
        assert f"  {name} " in text


def test_a_source_that_is_not_a_name_rejects_the_line(active_embedded_model, sourced, tmp_path):
    sourced[0]["source"] = ["browser"]
    report = json.loads(evaluate(write(tmp_path, "all.jsonl", sourced), json=True))
    assert report["invalid"]["count"] == 1 and "source" in report["invalid"]["lines"][0]["error"]


def test_group_figures_by_hand():
    # a: both right at 0.9 and 0.7 -> accuracy 1, ECE (0.1 + 0.3) / 2; b: one right at 0.6, one wrong at 0.8.
    probabilities = np.full((4, 6), 0.0)
    for row, (code, top) in enumerate([(1, 0.9), (2, 0.7), (3, 0.6), (4, 0.8)]):
        probabilities[row] = (1 - top) / 5
        probabilities[row, code - 1] = top
    labels = np.asarray([1, 2, 3, 5])
    groups = evaluate_groups(labels, probabilities, ["a", "a", "b", "b"])
    assert groups["a"] == pytest.approx({"n": 2, "accuracy": 1.0, "macro_f1": 1.0, "ece": 0.2, "mean_confidence": 0.8})
    # b: classes 3, 4 (predicted) and 5 (true): F1 1, 0, 0; ECE (|1 - 0.6| + |0 - 0.8|) / 2
    assert groups["b"] == pytest.approx({"n": 2, "accuracy": 0.5, "macro_f1": 1 / 3, "ece": 0.6, "mean_confidence": 0.7})


# --- opaque names ------------------------------------------------------------------------------------


def test_opaque_names_classify_the_renamed_traces(active_embedded_model, sourced, tmp_path):
    report = json.loads(evaluate(write(tmp_path, "all.jsonl", sourced), json=True, opaque_names=True))
    assert report["opaque_names"] is True and report["n"] == VALID
    renamed = [opaque_names(trace_from_input(r["events"])) for r in sourced]
    probabilities = np.asarray([c.probabilities for c in get_backend("embedded").classify(renamed)])
    labels = np.asarray([r["label"] for r in sourced])
    assert report["accuracy"] == pytest.approx(float((probabilities.argmax(axis=1) + 1 == labels).mean()))
    assert "names     opaque" in evaluate(write(tmp_path, "all.jsonl", sourced), opaque_names=True)
