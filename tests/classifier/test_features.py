"""Trace features: the signatures of DESIGN.md show up as the numbers the model reads."""

import math
import random

import pytest

from classifier.features import FEATURE_INDEX, FEATURE_NAMES, REGULAR_MIN_INTERVALS, keystroke_regularity, trace_features
from classifier.trace import normalise_events, parse_trace


def feature(trace_text: str, name: str) -> float:
    return float(trace_features(parse_trace(trace_text))[FEATURE_INDEX[name]])


def test_one_value_per_named_feature():
    assert trace_features(parse_trace("focus:email, exit")).shape == (len(FEATURE_NAMES),)


@pytest.mark.parametrize(
    ("trace", "name", "value"),
    [
        (
            "focus:email, input:email(x8), blur:email(invalid_format), focus:email, input:email(x3), "
            "blur:email(invalid_format), exit",
            "max_failures_one_field",
            2,
        ),
        ("focus:email, input:email(x8), blur:email(taken), exit", "has_hard_failure", 1),
        ("focus:name, input:name(x5), blur:name, scroll:page(95000ms), exit", "n_long_idle", 1),
        ("focus:name, input:name(x5), blur:name, scroll:page(95000ms), exit", "fields_typed_before_long_idle", 1),
        (
            "focus:pricing_table, blur:pricing_table, focus:shipping_cost, blur:shipping_cost, "
            "focus:pricing_table, blur:pricing_table, exit",
            "info_revisits",
            1,
        ),
        ("focus:resume_upload, blur:resume_upload, focus:terms, blur:terms, exit", "n_req_focus", 2),
        ("input:name(x12), input:email(x20), input:message(x300), submit", "inputs_without_focus", 3),
        ("input:name(x12), input:email(x20), input:message(x300), submit", "n_runs_over_100", 1),
        ("focus:a, input:a(x5), blur:a, focus:b, input:b(x3), exit", "ends_mid_field", 1),
        ("focus:a, input:a(x5), blur:a, focus:b, input:b(x3), exit", "n_clean_cycles", 1),
    ],
)  # fmt: skip
def test_signature_features(trace, name, value):
    assert feature(trace, name) == value


def test_raw_and_terse_forms_of_a_session_give_the_same_token_features():
    events = [
        {"type": "focus", "field": "email", "ts": 0},
        *({"type": "input", "field": "email", "ts": 200 + 150 * i} for i in range(8)),
        {"type": "blur", "field": "email", "ts": 1600, "validation": "invalid_format"},
        {"type": "scroll", "ts": 4000, "duration_ms": 2000},
        {"type": "exit", "ts": 4500},
    ]
    raw = trace_features(normalise_events(events))
    terse = trace_features(parse_trace("focus:email, input:email(x8), blur:email(invalid_format), scroll:page(2000ms), exit"))
    timing = FEATURE_INDEX["has_timing"]
    assert (raw[:timing] == terse[:timing]).all()
    assert raw[timing] == 1 and terse[timing] == 0


def test_bot_keystroke_timing_is_visible_in_raw_sessions():
    events = [{"type": "input", "field": "message", "ts": 3 * i} for i in range(200)] + [{"type": "submit", "ts": 700}]
    values = trace_features(normalise_events(events))
    assert values[FEATURE_INDEX["fast_keystroke_fraction"]] == 1.0


def _raw(plan: list[tuple], step: int = 400) -> list[dict]:
    """(type, field[, kind]) steps, ``step`` ms apart, as the snippet sends them."""
    events = []
    for index, (kind, field, *field_kind) in enumerate(plan):
        event = {"type": kind, "ts": index * step}
        if field is not None:
            event["field"] = field
        if field_kind:
            event["kind"] = field_kind[0]
        events.append(event)
    return events


def test_field_kinds_travel_from_raw_focus_events_into_the_trace():
    trace = normalise_events(_raw([("focus", "input_1", "file"), ("blur", "input_1"), ("focus", "input_2"), ("exit", None)]))
    assert trace.kind_map() == {"input_1": "file"}
    assert parse_trace("focus:input_1, exit").kinds == ()


def test_kinds_recognise_uploads_and_regions_whatever_their_names():
    looked = [
        ("focus", "input_1", "file"),
        ("blur", "input_1"),
        ("focus", "block_2", "region"),
        ("blur", "block_2"),
        ("exit", None),
    ]
    with_kinds = trace_features(normalise_events(_raw(looked)))
    without = trace_features(normalise_events(_raw([step[:2] for step in looked])))
    assert with_kinds[FEATURE_INDEX["has_kinds"]] == 1 and without[FEATURE_INDEX["has_kinds"]] == 0
    assert with_kinds[FEATURE_INDEX["n_file_focus"]] == 1 and with_kinds[FEATURE_INDEX["n_req_focus"]] == 1
    assert without[FEATURE_INDEX["n_req_focus"]] == 0  # input_1 names nothing
    assert with_kinds[FEATURE_INDEX["n_region_focus"]] == 1 and with_kinds[FEATURE_INDEX["n_unnamed_region_focus"]] == 1


def test_an_email_box_is_no_price_region_even_if_its_name_says_promo():
    plan = [("focus", "promo", "email"), ("blur", "promo"), ("exit", None)]
    assert trace_features(normalise_events(_raw(plan)))[FEATURE_INDEX["n_info_focus"]] == 0
    assert trace_features(normalise_events(_raw([s[:2] for s in plan])))[FEATURE_INDEX["n_info_focus"]] == 1


@pytest.mark.parametrize(
    ("trace", "name", "value"),
    [
        # An automation tool sets each value in one input event.
        ("focus:a, input:a, blur:a, focus:b, input:b, blur:b, submit", "one_keystroke_field_fraction", 1.0),
        ("focus:a, input:a(x9), blur:a, focus:b, input:b, blur:b, exit", "one_keystroke_field_fraction", 0.5),
        # A failure fixed at once, then progress: no longer what blocks the visitor.
        ("focus:e, input:e(x9), blur:e(invalid_format), focus:e, input:e, blur:e, focus:n, input:n(x5), blur:n, exit",
         "failed_fields_fixed_fraction", 1.0),
        ("focus:e, input:e(x9), blur:e(invalid_format), focus:e, input:e, blur:e, focus:n, input:n(x5), blur:n, exit",
         "clean_fields_after_last_failure", 2),
        ("focus:e, input:e(x9), blur:e(invalid_format), focus:e, input:e, blur:e(invalid_format), exit",
         "failed_fields_fixed_fraction", 0.0),
    ],
)  # fmt: skip
def test_automation_and_recovered_failure_features(trace, name, value):
    assert trace_features(parse_trace(trace))[FEATURE_INDEX[name]] == pytest.approx(value)


def test_keystroke_regularity_tells_a_paced_script_from_a_person():
    rng = random.Random(3)
    person = tuple(round(160 * math.exp(rng.gauss(0, 0.3))) for _ in range(40))
    script = tuple(60 + rng.choice((0, 0, 1, 2)) for _ in range(40))
    assert keystroke_regularity(script) == 1.0
    assert keystroke_regularity(person) < 0.4
    assert keystroke_regularity(script[: REGULAR_MIN_INTERVALS - 1]) == 0.0  # too few gaps to tell
