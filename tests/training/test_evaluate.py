"""`manage.py evaluate`: metrics of a backend on a labelled JSONL file, invalid lines, JSON, SVG plots."""

import io
import json
import xml.etree.ElementTree as ET

import pytest
from django.core.management import CommandError, call_command

from classifier.labels import CLASSES
from classifier.trace import normalise_events, serialise_trace
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
    evaluate(dataset, json=True, plots=str(tmp_path / "plots"))
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
