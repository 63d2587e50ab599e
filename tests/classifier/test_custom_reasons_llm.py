"""Custom reasons on LLM backends at their boundaries: the prompt (the six classes always listed, then the reasons of the
session's class with their examples, a strict answer format), answers read back, malformed answers named, and a
failed custom reading never failing the class reading. Cloudflare and Claude through recorded payloads in their
documented shapes; vLLM against the real CPU server in test_vllm_backend.py."""

import json

import pytest

from classifier.custom_reasons.llm import ReasonPrompt, parse_answer, system_prompt
from classifier.custom_reasons.reading import custom_reading, llm_reading
from classifier.custom_reasons.services import custom_reason_create
from classifier.labels import CLASSES
from classifier.services import prediction_for_session
from classifier.trace import parse_trace
from classifier.verbalized import MalformedAnswer
from tests.classifier import cloudflare_api as cf
from tests.classifier.helpers import recorded_session
from tests.classifier.test_claude_backend import ScriptedMessages, message
from tests.classifier.test_cloudflare import backend_on, published
from training.services import model_version_activate

TRACE = "focus:email, input:email(x17), blur:email, focus:promo_code, blur:promo_code, scroll:page(4000ms), exit"
REASONS = [
    ReasonPrompt(11, "coupon_hunting", "left to find a discount code", ("focus:voucher, blur:voucher, exit",) * 2),
    ReasonPrompt(12, "price_check", "compared the total elsewhere", ("focus:order_total, scroll:page(5000ms), exit",) * 3),
]


@pytest.fixture
def cloudflare_settings(settings):
    cf.configure(settings)
    return settings


def served_on_cloudflare(site) -> None:
    model_version_activate(model_version=published())
    site.classifier_backend = "cloudflare"
    site.save()


def test_the_prompt_lists_the_classes_the_reasons_and_their_examples():
    prompt = system_prompt(3, REASONS)
    assert all(f"{code} {name}" in prompt for code, name in CLASSES.items())  # the class list, always
    assert "read as class 3 comparison_shopping" in prompt
    assert "0 none" in prompt and "1 coupon_hunting: left to find a discount code" in prompt and "2 price_check" in prompt
    assert prompt.count("Reason: 1 coupon_hunting") == 2 and prompt.count("Reason: 2 price_check") == 3
    assert 'number (0-2) on the first line, then a JSON object {"custom_reason"' in prompt


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('1\n{"custom_reason": "coupon_hunting", "confidence": 0.8}', (11, 0.8)),
        ('```\n2\n{"custom_reason": "price_check", "confidence": 0.6}\n```', (12, 0.6)),
        ('0\n{"custom_reason": null, "confidence": 0.7}', (None, 0.7)),
    ],
)
def test_answers_are_read_back(text, expected):
    assert parse_answer(text, REASONS) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("coupon_hunting", "expected the reason number"),
        ('x\n{"custom_reason": null, "confidence": 0.7}', "not a reason number"),
        ('3\n{"custom_reason": null, "confidence": 0.7}', "reason number 3 is not one of 0-2"),
        ('1\n{"custom_reason": "price_check", "confidence": 0.7}', "disagrees with number 1"),
        ('1\n{"custom_reason": "coupon_hunting", "confidence": 7}', "confidence 7 is not a number in 0-1"),
        ("1\nnot json", "not JSON"),
        (None, "has no text"),
    ],
)
def test_malformed_answers_say_what_is_wrong(text, problem):
    with pytest.raises(MalformedAnswer, match=problem):
        parse_answer(text, REASONS)


def test_cloudflare_sends_the_reasons_prompt_in_the_base_format(db, cloudflare_settings, monkeypatch):
    api = cf.ScriptedCloudflare(cf.run_answer('1\n{"custom_reason": "coupon_hunting", "confidence": 0.85}'))
    backend = backend_on(api, monkeypatch, published())
    assert llm_reading(backend, TRACE, 3, REASONS) == (11, 0.85)
    (request,) = api.requests
    prompt = request.json["prompt"]
    assert prompt.startswith("<bos><start_of_turn>user\nYou classify why a visitor abandoned")  # gemma: no system turn
    assert system_prompt(3, REASONS) in prompt and prompt.endswith(f"Events: {TRACE}<end_of_turn>\n<start_of_turn>model\n")
    assert (request.json["lora"], request.json["raw"], request.json["temperature"]) == (cf.FINETUNE_ID, True, 0)


def test_claude_answers_through_a_schema_of_the_reason_names(db, settings):
    from classifier.backends.claude import ClaudeBackend

    settings.FORMRECAP_CLAUDE_BASELINE_MODEL = "claude-haiku-4-5-20251001"
    api = ScriptedMessages(message('{"custom_reason": "price_check", "confidence": 0.7}'), message('{"custom_reason": "x"}'))
    backend = ClaudeBackend(client=api.client())
    assert llm_reading(backend, TRACE, 3, REASONS) == (12, 0.7)
    body = api.bodies()[0]
    assert body["system"] == system_prompt(3, REASONS)
    assert body["messages"] == [{"role": "user", "content": f"Events: {TRACE}"}]
    schema = body["output_config"]["format"]["schema"]
    assert schema["properties"]["custom_reason"]["enum"] == ["none", "coupon_hunting", "price_check"]
    with pytest.raises(MalformedAnswer, match="not one of the listed reasons"):
        llm_reading(backend, TRACE, 3, REASONS)


def coupon_events() -> list[dict]:
    events, ts = [], 0
    for name, keys in (("email", 9), ("promo_code", 0)):
        ts += 700
        events.append({"type": "focus", "field": name, "ts": ts})
        for _ in range(keys):
            ts += 160
            events.append({"type": "input", "field": name, "ts": ts})
        ts += 400
        events.append({"type": "blur", "field": name, "ts": ts})
    events += [{"type": "scroll", "ts": ts + 500, "duration_ms": 4000}, {"type": "exit", "ts": ts + 4600}]
    return events


def test_a_session_read_on_cloudflare_gets_its_custom_reason_in_a_second_request(
    db,
    cloudflare_settings,
    monkeypatch,
    tenant,
    site,
):
    served_on_cloudflare(site)
    examples = [recorded_session(site, coupon_events(), status="submitted").pk for _ in range(3)]
    reason = custom_reason_create(
        tenant=tenant, name="coupon_hunting", description="hunting a code", parent_code=3, examples=examples
    )
    session = recorded_session(site, coupon_events())
    api = cf.ScriptedCloudflare(
        cf.run_answer(cf.model_format(3, "comparison_shopping", 0.8)),
        cf.run_answer('1\n{"custom_reason": "coupon_hunting", "confidence": 0.75}'),
    ).install(monkeypatch)
    prediction = prediction_for_session(tenant=tenant, session_id=session.pk)
    assert (prediction.code, prediction.custom_reason_id, prediction.custom_reason_score) == (3, reason.pk, 0.75)
    second = api.requests[1].json["prompt"]
    assert "1 coupon_hunting: hunting a code" in second and second.count("Reason: 1 coupon_hunting") == 3


def test_a_failed_custom_reading_keeps_the_class_reading_and_says_why(db, cloudflare_settings, monkeypatch, tenant, site):
    served_on_cloudflare(site)
    examples = [recorded_session(site, coupon_events(), status="submitted").pk for _ in range(3)]
    custom_reason_create(tenant=tenant, name="coupon_hunting", parent_code=3, examples=examples)
    session = recorded_session(site, coupon_events())
    cf.ScriptedCloudflare(
        cf.run_answer(cf.model_format(3, "comparison_shopping", 0.8)), cf.run_answer("coupon hunting, I think")
    ).install(monkeypatch)
    prediction = prediction_for_session(tenant=tenant, session_id=session.pk)
    assert prediction.code == 3 and prediction.custom_reason_id is None
    assert "expected the reason number" in prediction.routing["custom_reason_error"]


def test_no_reason_for_the_class_sends_no_second_request(db, cloudflare_settings, monkeypatch, tenant):
    api = cf.ScriptedCloudflare()
    backend = backend_on(api, monkeypatch, published())
    reading = custom_reading(tenant=tenant, trace=parse_trace(TRACE), code=3, backend=backend)
    assert (reading.reason_id, reading.score, reading.error) == (None, None, "") and api.requests == []
    assert json.dumps(REASONS[0].examples)  # examples are plain text
