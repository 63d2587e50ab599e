"""The cloudflare backend at the HTTP boundary: the exact requests it sends (path, headers, JSON body, the prompt in
the base's chat format), answers read from the digit and JSON lines, 4xx/5xx/429/timeouts, malformed answers, and
`evaluate --backend cloudflare`."""

import io
import json

import httpx
import pytest
from django.core.management import call_command

from classifier.backends import BackendUnavailable, get_backend
from classifier.backends.cloudflare import (
    CloudflareBackend,
    CloudflareClient,
    CloudflareConfig,
    CloudflareError,
    chat_prompt,
    model_family,
)
from classifier.trace import parse_trace
from classifier.verbalized import MalformedAnswer
from tests.classifier import cloudflare_api as cf
from training.lora.prompt import SYSTEM_PROMPT
from training.models import ModelVersion
from training.services import model_version_deployment_record, model_version_register

COMPARING = "focus:pricing_table, blur:pricing_table, focus:plan_tiers, blur:plan_tiers, scroll:page(3000ms), exit"
FIGHTING = (
    "focus:email, input:email(x8), blur:email(invalid_format), focus:email, input:email(x9), blur:email(invalid_format), exit"
)
TRACES = [parse_trace(COMPARING), parse_trace(FIGHTING)]
RUN_PATH = f"{cf.API_ROOT}/run/{cf.GEMMA}"


def gemma_prompt(trace: str) -> str:
    return f"<bos><start_of_turn>user\n{SYSTEM_PROMPT}\n\nEvents: {trace}<end_of_turn>\n<start_of_turn>model\n"


def published(**record) -> ModelVersion:
    model_version = model_version_register(
        kind=ModelVersion.Kind.LORA,
        name="lora-cloudflare-gemma-2b-it",
        artifact_uri="/published/elsewhere",
        training_config={"base_model": "google/gemma-2b-it", "profile": "cloudflare"},
        data_manifest={},
        metrics={},
        temperature=1.0,
    )
    deployment = {"status": "published", "finetune_id": cf.FINETUNE_ID, "model": cf.GEMMA, "base_model": "google/gemma-2b-it"}
    return model_version_deployment_record(model_version=model_version, backend="cloudflare", record={**deployment, **record})


@pytest.fixture
def cloudflare_settings(settings):
    cf.configure(settings)
    return settings


def backend_on(api: cf.ScriptedCloudflare, monkeypatch, model_version: ModelVersion, sleeps: list | None = None):
    api.install(monkeypatch)
    client = CloudflareClient(CloudflareConfig.from_settings(), sleep=(sleeps if sleeps is not None else []).append)
    return CloudflareBackend(model_version, client=client)


# --- success ------------------------------------------------------------------------------------------------------


def test_sends_the_raw_prompt_in_the_base_chat_format_with_the_adapter(db, cloudflare_settings, monkeypatch):
    api = cf.ScriptedCloudflare(
        cf.run_answer(cf.model_format(3, "comparison_shopping", 0.9, "Browsed pricing without typing.")),
        cf.run_answer(cf.model_format(1, "validation_error", 0.95, "The email kept failing.")),
    )
    model_version = published()
    results = backend_on(api, monkeypatch, model_version).classify(TRACES)

    assert [r.path for r in api.requests] == [RUN_PATH, RUN_PATH]
    assert RUN_PATH == "/client/v4/accounts/0123456789abcdef0123456789abcdef/ai/run/@cf/google/gemma-2b-it-lora"
    for recorded, trace in zip(api.requests, (COMPARING, FIGHTING), strict=True):
        assert recorded.method == "POST"
        assert recorded.headers["authorization"] == "Bearer cf-test-token"
        assert recorded.headers["content-type"] == "application/json"
        assert recorded.json == {
            "prompt": gemma_prompt(trace),
            "raw": True,
            "lora": cf.FINETUNE_ID,
            "max_tokens": 160,
            "temperature": 0,
        }
    first, second = results
    assert (first.code, first.label, second.code) == (3, "comparison_shopping", 1)
    assert first.probabilities == pytest.approx((0.02, 0.02, 0.9, 0.02, 0.02, 0.02))
    assert first.confidence == pytest.approx(0.9) and second.confidence == pytest.approx(0.95)
    assert not first.calibrated and not second.calibrated  # no log-probs and no fitted map: the stated confidence
    assert (first.model_version, first.model_version_id) == (model_version.label, model_version.pk)
    assert first.explanation.reason == "Browsed pricing without typing."


def test_the_setting_overrides_the_published_model(db, cloudflare_settings, monkeypatch):
    cloudflare_settings.FORMRECAP_CLOUDFLARE_MODEL = "@cf/google/gemma-7b-it-lora"
    api = cf.ScriptedCloudflare(cf.run_answer(cf.model_format(3, "comparison_shopping", 0.8)))
    backend_on(api, monkeypatch, published()).classify(TRACES[:1])
    assert api.requests[0].path == f"{cf.API_ROOT}/run/@cf/google/gemma-7b-it-lora"


def test_get_backend_routes_cloudflare_to_the_version(db, cloudflare_settings, monkeypatch):
    cf.ScriptedCloudflare().install(monkeypatch)
    model_version = published()
    backend = get_backend("cloudflare", model_version_id=model_version.pk)
    assert isinstance(backend, CloudflareBackend) and backend.model_version == model_version


# --- prompt formats -------------------------------------------------------------------------------------------------


def test_chat_formats_of_the_bases_cloudflare_serves():
    user = f"{SYSTEM_PROMPT}\n\nEvents: exit"
    assert chat_prompt("mistral", "exit") == f"<s>[INST] {user} [/INST]"
    assert chat_prompt("llama2", "exit") == f"<s>[INST] <<SYS>>\n{SYSTEM_PROMPT}\n<</SYS>>\n\nEvents: exit [/INST]"
    assert chat_prompt("llama3", "exit") == (
        f"<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n{SYSTEM_PROMPT}<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nEvents: exit<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    assert chat_prompt("gemma", "exit") == gemma_prompt("exit")


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("google/gemma-2b-it", "gemma"),
        ("@cf/google/gemma-3-12b-it", "gemma"),
        ("mistralai/Mistral-7B-Instruct-v0.2", "mistral"),
        ("@cf/mistral/mistral-7b-instruct-v0.2-lora", "mistral"),
        ("meta-llama/Llama-2-7b-chat-hf", "llama2"),
        ("@cf/meta-llama/llama-2-7b-chat-hf-lora", "llama2"),
        ("meta-llama/Llama-3.2-3B-Instruct", "llama3"),
    ],
)
def test_model_family(name, family):
    assert model_family(name) == family


def test_a_base_of_another_family_is_refused():
    with pytest.raises(ValueError, match="Gemma, Mistral or Llama"):
        model_family("Qwen/Qwen2.5-7B-Instruct")


# --- refusals -------------------------------------------------------------------------------------------------------


def test_a_bad_token_is_a_clear_error_and_stops_the_batch(db, cloudflare_settings, monkeypatch):
    api = cf.ScriptedCloudflare(cf.BAD_TOKEN, cf.BAD_TOKEN, cf.BAD_TOKEN)
    backend = backend_on(api, monkeypatch, published())
    with pytest.raises(CloudflareError, match=r"refused the API token \(HTTP 401: 10000 Authentication error\)") as caught:
        backend.classify(TRACES * 3)
    assert isinstance(caught.value, BackendUnavailable) and caught.value.status_code == 401
    assert len(api.requests) == 1  # not retried, and the other five traces were never sent


def test_an_unknown_lora_is_refused_without_retrying(db, cloudflare_settings, monkeypatch):
    api = cf.ScriptedCloudflare(cf.UNKNOWN_LORA)
    backend = backend_on(api, monkeypatch, published(finetune_id="ft-missing"))
    with pytest.raises(CloudflareError, match="HTTP 400: 5007 No such LoRA: finetune 'ft-missing' not found"):
        backend.classify(TRACES[:1])
    assert len(api.requests) == 1 and api.requests[0].json["lora"] == "ft-missing"


def test_a_server_error_is_retried_then_answers(db, cloudflare_settings, monkeypatch):
    sleeps: list[float] = []
    api = cf.ScriptedCloudflare(
        cf.SERVER_ERROR, cf.BAD_GATEWAY_HTML, cf.run_answer(cf.model_format(3, "comparison_shopping", 0.9))
    )
    (result,) = backend_on(api, monkeypatch, published(), sleeps).classify(TRACES[:1])
    assert result.code == 3
    assert len(api.requests) == 3 and api.requests[0].json == api.requests[2].json
    assert sleeps == [0.5, 1.0]  # exponential backoff between attempts


def test_server_errors_give_up_after_the_attempts(db, cloudflare_settings, monkeypatch):
    api = cf.ScriptedCloudflare(cf.SERVER_ERROR, cf.SERVER_ERROR, cf.BAD_GATEWAY_HTML)
    with pytest.raises(CloudflareError, match="HTTP 502 after 3 attempts: <html><body>502 Bad Gateway") as caught:
        backend_on(api, monkeypatch, published()).classify(TRACES[:1])
    assert caught.value.status_code == 502 and len(api.requests) == 3


def test_rate_limits_wait_as_long_as_retry_after_asks(db, cloudflare_settings, monkeypatch):
    sleeps: list[float] = []
    api = cf.ScriptedCloudflare(cf.capacity_exceeded("2"), cf.run_answer(cf.model_format(3, "comparison_shopping", 0.9)))
    backend_on(api, monkeypatch, published(), sleeps).classify(TRACES[:1])
    assert sleeps == [2.0]


def test_a_retry_after_beyond_the_cap_fails_at_once(db, cloudflare_settings, monkeypatch):
    sleeps: list[float] = []
    api = cf.ScriptedCloudflare(cf.capacity_exceeded("120"))
    with pytest.raises(
        CloudflareError, match=r"asks to wait 120 s, more than FORMRECAP_CLOUDFLARE_MAX_RETRY_AFTER_SECONDS \(30\)"
    ):
        backend_on(api, monkeypatch, published(), sleeps).classify(TRACES[:1])
    assert sleeps == [] and len(api.requests) == 1


@pytest.mark.parametrize("failure", [httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError])
def test_a_timeout_or_broken_connection_is_retried(db, cloudflare_settings, monkeypatch, failure):
    api = cf.ScriptedCloudflare(failure, cf.run_answer(cf.model_format(1, "validation_error", 0.9)))
    (result,) = backend_on(api, monkeypatch, published()).classify(TRACES[1:])
    assert result.code == 1 and len(api.requests) == 2


def test_timeouts_on_every_attempt_are_unavailable(db, cloudflare_settings, monkeypatch):
    cloudflare_settings.FORMRECAP_CLOUDFLARE_TIMEOUT_SECONDS = 7.5
    api = cf.ScriptedCloudflare(httpx.ReadTimeout, httpx.ReadTimeout, httpx.ReadTimeout)
    with pytest.raises(BackendUnavailable, match="Cloudflare did not answer within 7.5 s"):
        backend_on(api, monkeypatch, published()).classify(TRACES[:1])
    assert len(api.requests) == 3


def test_an_unreachable_server_is_unavailable(db, cloudflare_settings, monkeypatch):
    api = cf.ScriptedCloudflare(httpx.ConnectError, httpx.ConnectError, httpx.ConnectError)
    with pytest.raises(BackendUnavailable, match="cannot reach Cloudflare Workers AI at https://api.cloudflare.com/client/v4/"):
        backend_on(api, monkeypatch, published()).classify(TRACES[:1])


def test_an_answer_that_reports_failure_is_an_error(db, cloudflare_settings, monkeypatch):
    api = cf.ScriptedCloudflare(cf.envelope(None, errors=[{"code": 3010, "message": "Invalid or incomplete input"}]))
    with pytest.raises(CloudflareError, match="reported a failure: 3010 Invalid or incomplete input"):
        backend_on(api, monkeypatch, published()).classify(TRACES[:1])


# --- malformed answers ----------------------------------------------------------------------------------------------

GOOD = json.dumps({"class": "comparison_shopping", "reason": "r", "confidence": 0.9})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (GOOD, "the first line is not a class digit"),
        ("Comparison shopping.\n" + GOOD, "the first line is not a class digit"),
        ("3", "no JSON object after the class digit"),
        ('3\n{"class": "comparison_shopping", "confidence": ', "the JSON line does not parse (Expecting value)"),
        ("5\n" + GOOD, "the digit 5 (bot) and the JSON class 'comparison_shopping' disagree"),
        ("8\n" + GOOD, "class digit 8 is not 1-6"),
        ('3\n{"class": "price_check", "confidence": 0.9}', "unknown class 'price_check'"),
        ('3\n{"class": "comparison_shopping", "confidence": 1.7}', "confidence 1.7 is not a number from 0 to 1"),
        ('3\n{"class": "comparison_shopping"}', "confidence None is not a number from 0 to 1"),
        ("", "empty answer"),
    ],
)
def test_malformed_answers_say_what_is_wrong(db, cloudflare_settings, monkeypatch, text, problem):
    api = cf.ScriptedCloudflare(cf.run_answer(text))
    with pytest.raises(MalformedAnswer) as caught:
        backend_on(api, monkeypatch, published()).classify(TRACES[:1])
    assert caught.value.problem == problem and caught.value.answer == text
    assert isinstance(caught.value, BackendUnavailable)  # callers without classify_each still get a clear error


def test_a_result_with_no_response_text_is_malformed(db, cloudflare_settings, monkeypatch):
    api = cf.ScriptedCloudflare(cf.envelope({"usage": {}}))
    with pytest.raises(MalformedAnswer, match="expected text, got NoneType"):
        backend_on(api, monkeypatch, published()).classify(TRACES[:1])


@pytest.mark.parametrize(
    "text",
    [
        "  3  \n  " + GOOD + "  \n",
        "```\n3\n" + GOOD + "\n```",
        "3\n```json\n" + GOOD + "\n```",
        "\n\n3\n" + GOOD + "<end_of_turn>\n<start_of_turn>user",
        '3\n{"class": "comparison_shopping",\n "reason": "r",\n "confidence": 0.9}',
    ],
)
def test_whitespace_fences_and_trailing_text_are_tolerated(db, cloudflare_settings, monkeypatch, text):
    api = cf.ScriptedCloudflare(cf.run_answer(text))
    (result,) = backend_on(api, monkeypatch, published()).classify(TRACES[:1])
    assert (result.code, result.confidence) == (3, pytest.approx(0.9))


def test_classify_each_keeps_the_good_answers_beside_the_malformed(db, cloudflare_settings, monkeypatch):
    api = cf.ScriptedCloudflare(
        cf.run_answer("I think they were comparing prices."), cf.run_answer(cf.model_format(1, "validation_error", 0.7))
    )
    bad, good = backend_on(api, monkeypatch, published()).classify_each(TRACES)
    assert isinstance(bad, MalformedAnswer) and "the first line is not a class digit" in str(bad)
    assert good.code == 1 and good.confidence == pytest.approx(0.7)


def test_a_stated_confidence_below_chance_still_leaves_the_answer_on_top(db, cloudflare_settings, monkeypatch):
    api = cf.ScriptedCloudflare(cf.run_answer(cf.model_format(3, "comparison_shopping", 0.05)))
    (result,) = backend_on(api, monkeypatch, published()).classify(TRACES[:1])
    assert max(result.probabilities) == result.probabilities[2] == pytest.approx(1 / 6, abs=1e-5)
    assert sum(result.probabilities) == pytest.approx(1.0)


# --- not configured -------------------------------------------------------------------------------------------------


def test_no_credentials_name_the_settings(db, settings):
    cf.configure(settings, FORMRECAP_CLOUDFLARE_ACCOUNT_ID="", FORMRECAP_CLOUDFLARE_API_TOKEN="")
    with pytest.raises(BackendUnavailable, match="needs FORMRECAP_CLOUDFLARE_ACCOUNT_ID and FORMRECAP_CLOUDFLARE_API_TOKEN"):
        CloudflareBackend(published())


def test_an_unpublished_adapter_names_the_publish_command(db, cloudflare_settings):
    model_version = published(status="failed")
    with pytest.raises(BackendUnavailable, match=f"publish_cloudflare_adapter --model-version {model_version.pk}"):
        CloudflareBackend(model_version)


def test_no_active_adapter(db, cloudflare_settings):
    with pytest.raises(BackendUnavailable, match="no active LoRA adapter"):
        get_backend("cloudflare")


# --- evaluate -------------------------------------------------------------------------------------------------------


def test_evaluate_counts_malformed_answers_and_reports_uncalibrated(db, cloudflare_settings, monkeypatch, tmp_path):
    lines = [
        {"id": "cmp", "events": COMPARING, "label": 3},
        {"id": "val", "events": FIGHTING, "label": 1},
        {"id": "val-2", "events": FIGHTING.replace("x9", "x11"), "label": 1},
    ]
    dataset = tmp_path / "labelled.jsonl"
    dataset.write_text("".join(json.dumps(line) + "\n" for line in lines))
    cf.ScriptedCloudflare(
        cf.run_answer(cf.model_format(3, "comparison_shopping", 0.9)),
        cf.run_answer("5\n" + GOOD),  # disagreeing digit and class
        cf.run_answer(cf.model_format(1, "validation_error", 0.8)),
    ).install(monkeypatch)
    model_version = published()
    out = io.StringIO()
    call_command("evaluate", dataset=str(dataset), backend="cloudflare", model_version=model_version.pk, json=True, stdout=out)
    report = json.loads(out.getvalue())
    assert report["n"] == 2 and report["accuracy"] == 1.0
    assert report["calibrated"] is False and report["model_versions"] == [model_version.label]
    assert report["unanswered"]["count"] == 1
    (line,) = report["unanswered"]["lines"]
    assert line["id"] == "val" and "disagree" in line["error"]
