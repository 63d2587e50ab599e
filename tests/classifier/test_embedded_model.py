"""The embedded model and backend: calibrated probabilities, explanations, save/load."""

import numpy as np
import pytest

from classifier.backends import BackendUnavailable, get_backend
from classifier.embedded_model import EmbeddedModel
from classifier.explain import explain, human_duration
from classifier.trace import normalise_events, parse_trace

# One clear case per class, written from DESIGN.md.
CLEAR = {
    1: "focus:email, input:email(x8), blur:email(invalid_format), focus:email, input:email(x9), blur:email(invalid_format), "
    "focus:email, input:email(x2), blur:email(invalid_format), scroll:page(2000ms), exit",
    2: "focus:first_name, input:first_name(x5), blur:first_name, focus:last_name, input:last_name(x7), blur:last_name, "
    "focus:phone, input:phone(x10), blur:phone, scroll:page(240000ms), exit",
    3: "focus:pricing_table, blur:pricing_table, scroll:page(3000ms), focus:shipping_cost, blur:shipping_cost, "
    "focus:plan_tiers, blur:plan_tiers, scroll:page(2500ms), focus:pricing_table, blur:pricing_table, exit",
    4: "focus:name, input:name(x9), blur:name, focus:email, input:email(x18), blur:email, focus:street, input:street(x22), "
    "blur:street, focus:city, input:city(x3), exit",
    5: "input:name(x14), input:email(x22), input:phone(x11), input:message(x380), submit",
    6: "scroll:page(2500ms), focus:resume_upload, blur:resume_upload, focus:annual_income, blur:annual_income, exit",
}


@pytest.mark.parametrize("code", sorted(CLEAR))
def test_clear_cases_are_classified_confidently(active_embedded_model, code):
    [result] = get_backend("embedded").classify([parse_trace(CLEAR[code])])
    assert result.code == code
    assert result.confidence > 0.8 and result.calibrated
    assert sum(result.probabilities) == pytest.approx(1.0)
    assert result.model_version == active_embedded_model.label and result.model_version_id == active_embedded_model.pk
    assert result.explanation.signals and result.explanation.reason


def test_no_active_model_is_unavailable(db):
    with pytest.raises(BackendUnavailable, match="no active embedded model"):
        get_backend("embedded")


def test_unknown_backend(db):
    with pytest.raises(BackendUnavailable, match="unknown backend 'gpt'"):
        get_backend("gpt")


def test_save_and_load_round_trip(embedded_artifact, tmp_path):
    _, trained = embedded_artifact
    trained.model.save(tmp_path / "m")
    loaded = EmbeddedModel.load(tmp_path / "m")
    features = np.random.default_rng(0).normal(size=(5, len(loaded.mean)))
    assert np.allclose(loaded.probabilities(features), trained.model.probabilities(features))


def test_temperature_softens_probabilities(embedded_artifact):
    _, trained = embedded_artifact
    features = np.random.default_rng(1).normal(size=(20, len(trained.model.mean)))
    sharp = trained.model.with_temperature(0.5).probabilities(features).max(axis=1)
    soft = trained.model.with_temperature(3.0).probabilities(features).max(axis=1)
    assert (soft <= sharp + 1e-12).all()


@pytest.mark.parametrize(
    ("code", "needle"),
    [
        (1, "email failed validation 3 times (invalid_format)"),
        (2, "idle 4 min after 3 fields"),
        (3, "looked at pricing_table, shipping_cost, plan_tiers"),
        (4, "left mid-way through city after 3 keystrokes"),
        (5, "380 characters in message in one burst"),
        (6, "looked at resume_upload, annual_income and left"),
    ],
)
def test_explanations_name_the_evidence(code, needle):
    explanation = explain(parse_trace(CLEAR[code]), code)
    assert any(needle in signal for signal in explanation.signals), explanation.signals


@pytest.mark.parametrize(
    ("ms", "text"), [(450, "450 ms"), (2500, "2.5 s"), (45_000, "45 s"), (240_000, "4 min"), (7_200_000, "2.0 h")]
)
def test_human_duration(ms, text):
    assert human_duration(ms) == text


def test_explanations_only_claim_what_the_trace_shows():
    progressed = explain(
        parse_trace("focus:email, input:email(x8), blur:email(invalid_format), focus:name, input:name(x6), blur:name, exit"), 1
    )
    assert "then typed only name" in progressed.signals and not any("no progress" in s for s in progressed.signals)
    idle_leaver = explain(parse_trace("scroll:page(120000ms), exit"), 6)
    assert not any("no long pause" in s for s in idle_leaver.signals)
    unordered_bot = explain(parse_trace("input:a(x5), input:b(x5), input:a(x2), submit"), 5)
    assert "ended in a submit" in unordered_bot.signals
    one_key = explain(parse_trace("focus:a, input:a, blur:a, focus:b, input:b, exit"), 4)
    assert one_key.signals[0] == "typed 2 fields fluently (2 keystrokes), no errors"


def test_explanations_read_field_kinds_and_automation():
    events = [
        {"type": "focus", "field": "input_4", "kind": "file", "ts": 0},
        {"type": "blur", "field": "input_4", "ts": 3000},
        {"type": "exit", "ts": 4000},
    ]
    leaver = explain(normalise_events(events), 6)
    assert leaver.signals[0] == "looked at input_4 (a file upload) and left"
    script = explain(parse_trace("focus:a, input:a, blur:a, focus:b, input:b, blur:b, focus:c, input:c, blur:c, submit"), 5)
    assert "each of 3 fields set in a single input event, as automation tools do" in script.signals
