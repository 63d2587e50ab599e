"""Verbalized answers: six probabilities from one stated confidence, the stored calibration map, and answers
fetched concurrently in trace order."""

import threading

import numpy as np
import pytest

from classifier.backends import BackendUnavailable
from classifier.trace import parse_trace, serialise_trace
from classifier.verbalized import (
    VerbalizedAnswer,
    VerbalizedCalibration,
    answers_concurrently,
    parse_answer,
    verbalized_classification,
    verbalized_probabilities,
)


def test_the_stated_confidence_goes_to_the_answer_and_the_rest_is_shared_equally():
    row = verbalized_probabilities(2, 0.75)
    assert row == pytest.approx([0.05, 0.75, 0.05, 0.05, 0.05, 0.05])
    assert verbalized_probabilities(6, 1.0) == pytest.approx([0, 0, 0, 0, 0, 1])
    low = verbalized_probabilities(4, 0.0)  # below chance: floored, and still the top class
    assert int(np.argmax(low)) == 3 and low.sum() == pytest.approx(1.0)


def test_parse_answer_reads_digit_json_and_reason():
    answer = parse_answer('4\n{"class": "accidental_exit", "reason": "Typing fluently, then gone.", "confidence": 0.85}')
    assert answer == VerbalizedAnswer(code=4, confidence=0.85, reason="Typing fluently, then gone.")


def test_a_calibration_map_interpolates_between_knots_and_is_flat_beyond():
    calibration = VerbalizedCalibration.from_dict({"method": "isotonic", "x": [0.5, 0.9, 0.95], "y": [0.3, 0.6, 0.8]})
    assert calibration(0.2) == pytest.approx(0.3)
    assert calibration(0.7) == pytest.approx(0.45)
    assert calibration(0.95) == pytest.approx(0.8) and calibration(1.0) == pytest.approx(0.8)


@pytest.mark.parametrize(
    "stored",
    [{"x": [0.5, 0.9], "y": [0.3]}, {"x": [], "y": []}, {"x": [0.9, 0.5], "y": [0.3, 0.6]}, {"x": [0.5], "y": [1.5]}],
)
def test_a_damaged_map_is_refused(stored):
    with pytest.raises(ValueError, match="verbalized calibration map"):
        VerbalizedCalibration.from_dict(stored)


def test_no_map_is_none():
    assert VerbalizedCalibration.from_dict({}) is None


def test_a_mapped_classification_is_calibrated():
    calibration = VerbalizedCalibration(x=(0.8, 0.95), y=(0.4, 0.6))
    trace = parse_trace("focus:email, input:email(x8), blur:email(invalid_format), exit")
    result = verbalized_classification(
        trace, VerbalizedAnswer(1, 0.95, ""), calibration=calibration, model_version="m:v1", model_version_id=None
    )
    assert result.calibrated and result.confidence == pytest.approx(0.6)
    assert result.explanation.reason  # the rule-based reason stands in when the model gave none


def test_answers_come_back_in_trace_order_under_concurrency():
    traces = [parse_trace(f"focus:field_{letter}, exit") for letter in "abcdefghij"]
    arrivals = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(4, timeout=5)

    def answer(trace):
        with lock:
            arrivals[0] += 1
            first_four = arrivals[0] <= 4
        if first_four:
            barrier.wait()  # released only when four requests are in flight at once
        return VerbalizedAnswer(1, 0.5, serialise_trace(trace))

    answers = answers_concurrently(answer, traces, concurrency=4)
    assert [a.reason for a in answers] == [serialise_trace(t) for t in traces]


def test_the_first_failure_stops_what_was_not_sent():
    calls = []

    def answer(trace):
        calls.append(trace)
        raise BackendUnavailable("server down")

    with pytest.raises(BackendUnavailable, match="server down"):
        answers_concurrently(answer, [parse_trace("exit")] * 8, concurrency=1)
    assert len(calls) == 1
