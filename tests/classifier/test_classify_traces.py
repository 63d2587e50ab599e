"""`manage.py classify_traces`: one output line per input line, in order; bad lines reported in place."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from classifier.labels import CLASSES
from classifier.models import Prediction
from tests.classifier.helpers import VALIDATION_EVENTS, VALIDATION_TRACE

GOOD_LINES = [
    json.dumps({"events": VALIDATION_TRACE, "label": 1, "id": "terse"}),  # other keys are ignored
    json.dumps({"events": VALIDATION_EVENTS}),
    json.dumps({"events": "input:name(x9), input:email(x17), input:message(x400), submit"}),
]
# (input line, what its error says)
BAD_LINES = [
    ("{not json", "line is not valid JSON"),
    ("", "line is not valid JSON"),
    ('["events"]', "must be a JSON object"),
    ('{"trace": "exit"}', "events: required"),
    ('{"events": "focus:email, x, exit"}', "token 1 'x': unknown token kind 'x'"),
    ('{"events": 12}', "trace must be a string or a list of raw events"),
    ('{"events": [{"type": "focus", "ts": 0}]}', "events[0].field: required for focus events"),
    ('{"events": "' + "exit, " * 1001 + '"}', "at most 1000 allowed"),
    ("[" * 50_000 + "]" * 50_000, "line is not valid JSON"),
]


def run(tmp_path, lines: list[str] | bytes, *args: str) -> tuple[list[dict], str]:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    if isinstance(lines, bytes):
        source.write_bytes(lines)
    else:
        source.write_text("".join(line + "\n" for line in lines))
    stderr = StringIO()
    call_command("classify_traces", "--input", str(source), "--output", str(target), *args, stderr=stderr)
    return [json.loads(line) for line in target.read_text().splitlines()], stderr.getvalue()


def assert_prediction_line(record: dict, model_version) -> None:
    assert set(record) == {"code", "class", "confidence", "probabilities", "model_version"}
    assert list(record["probabilities"]) == ["1", "2", "3", "4", "5", "6"]
    assert sum(record["probabilities"].values()) == pytest.approx(1, abs=1e-5)
    assert record["confidence"] == max(record["probabilities"].values()) == record["probabilities"][str(record["code"])]
    assert record["class"] == CLASSES[record["code"]] and record["model_version"] == model_version.label


def test_each_line_is_classified_in_order(tmp_path, active_embedded_model):
    records, stderr = run(tmp_path, GOOD_LINES)
    assert len(records) == len(GOOD_LINES)
    for record in records:
        assert_prediction_line(record, active_embedded_model)
    assert [r["class"] for r in records[:2]] == ["validation_error", "validation_error"]
    assert "3 lines: 3 ok, 0 errors" in stderr
    assert not Prediction.all_tenants.exists()  # a file of traces belongs to no tenant: nothing is stored


def test_bad_lines_get_an_error_in_place_and_never_stop_the_file(tmp_path, active_embedded_model):
    lines = [GOOD_LINES[0]]
    for bad, _ in BAD_LINES:
        lines += [bad, GOOD_LINES[2]]
    records, stderr = run(tmp_path, lines)
    assert len(records) == len(lines)
    assert_prediction_line(records[0], active_embedded_model)
    for index, (_, message) in enumerate(BAD_LINES):
        bad, good = records[1 + 2 * index], records[2 + 2 * index]
        assert list(bad) == ["error"] and message in bad["error"], (index, bad)
        assert_prediction_line(good, active_embedded_model)
    assert f"{len(lines)} lines: {len(lines) - len(BAD_LINES)} ok, {len(BAD_LINES)} errors" in stderr


def test_invalid_utf8_and_a_last_line_without_newline(tmp_path, active_embedded_model):
    body = b'{"events": "\xff\xfe"}\n' + GOOD_LINES[0].encode()
    records, _ = run(tmp_path, body)
    assert "line is not valid JSON" in records[0]["error"]
    assert_prediction_line(records[1], active_embedded_model)


def test_chunking_does_not_change_the_results(tmp_path, active_embedded_model):
    lines = [GOOD_LINES[i % 3] if i % 4 else BAD_LINES[i % len(BAD_LINES)][0] for i in range(25)]
    whole, _ = run(tmp_path, lines)
    chunked, _ = run(tmp_path, lines, "--chunk-size", "4")
    assert chunked == whole and len(whole) == 25


def test_an_empty_file_gives_an_empty_file(tmp_path, active_embedded_model):
    records, stderr = run(tmp_path, [])
    assert records == [] and "0 lines" in stderr


def test_without_an_active_model_the_command_fails_clearly(tmp_path, db):
    with pytest.raises(CommandError, match="no active embedded model"):
        run(tmp_path, GOOD_LINES)


def test_unknown_backend_is_refused(tmp_path, active_embedded_model):
    with pytest.raises(CommandError, match="invalid choice"):
        run(tmp_path, GOOD_LINES, "--backend", "nope")


def test_missing_input_file_is_a_command_error(tmp_path, active_embedded_model):
    with pytest.raises(CommandError, match="No such file"):
        call_command("classify_traces", "--input", str(tmp_path / "missing.jsonl"), "--output", str(tmp_path / "out.jsonl"))
