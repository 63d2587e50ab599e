"""The claude zero-shot baseline through anthropic's real client on a mock HTTP transport (as the generator's tests):
the request (classes in the prompt, strict JSON schema), answers, malformed answers, API errors, no key, evaluate."""

import io
import json

import anthropic
import httpx2
import pytest
from django.core.management import call_command

from classifier.backends import BackendUnavailable, get_backend
from classifier.backends.claude import ANSWER_SCHEMA, SYSTEM_PROMPT, ClaudeBackend
from classifier.labels import CLASSES
from classifier.trace import parse_trace
from classifier.verbalized import MalformedAnswer

TRACE = "focus:email, input:email(x8), blur:email(invalid_format), focus:email, input:email(x9), exit"


def message(text: str, *, stop_reason: str = "end_turn") -> httpx2.Response:
    return httpx2.Response(
        200,
        json={
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
            "type": "message",
            "role": "assistant",
            "model": "claude-haiku-4-5-20251001",
            "content": [{"type": "text", "text": text}],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": 301, "output_tokens": 17},
        },
    )


def api_error(status: int, kind: str, headers: dict | None = None) -> httpx2.Response:
    return httpx2.Response(
        status, headers=headers, json={"type": "error", "error": {"type": kind, "message": f"scripted {kind}"}}
    )


class ScriptedMessages:
    def __init__(self, *steps):
        self.steps = list(steps)
        self.requests: list[httpx2.Request] = []

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if self.steps else api_error(400, "invalid_request_error")
        if isinstance(step, type) and issubclass(step, Exception):
            raise step("scripted", request=request)
        return step

    def client(self, *, max_retries: int = 0) -> anthropic.Anthropic:
        transport = httpx2.MockTransport(self.handler)
        return anthropic.Anthropic(api_key="sk-ant-test", max_retries=max_retries, http_client=httpx2.Client(transport=transport))

    def bodies(self) -> list[dict]:
        return [json.loads(r.content) for r in self.requests]


@pytest.fixture(autouse=True)
def _one_request_at_a_time(settings):
    # Requests in trace order, so the scripted answers line up (the ordering under concurrency is tested in test_verbalized).
    settings.FORMRECAP_CLAUDE_BASELINE_CONCURRENCY = 1


def answer(name: str, confidence: float) -> str:
    return json.dumps({"class": name, "confidence": confidence})


def test_asks_for_strict_json_with_the_classes_listed(settings):
    api = ScriptedMessages(message(answer("validation_error", 0.8)))
    (result,) = ClaudeBackend(client=api.client()).classify([parse_trace(TRACE)])

    (request,) = api.requests
    assert request.url.path == "/v1/messages" and request.headers["authorization"] == "Bearer sk-ant-test"
    assert json.loads(request.content) == {
        "model": settings.FORMRECAP_CLAUDE_BASELINE_MODEL,
        "max_tokens": 64,
        "system": SYSTEM_PROMPT,
        "messages": [{"role": "user", "content": f"Events: {TRACE}"}],
        "output_config": {"format": {"type": "json_schema", "schema": ANSWER_SCHEMA}},
    }
    assert all(f"{code} {name}" in SYSTEM_PROMPT for code, name in CLASSES.items())
    assert ANSWER_SCHEMA["properties"]["class"]["enum"] == list(CLASSES.values())

    assert (result.code, result.confidence, result.calibrated) == (1, pytest.approx(0.8), False)
    assert (result.model_version, result.model_version_id) == ("claude:claude-haiku-4-5", None)
    assert sum(result.probabilities) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        (message("The visitor hit a validation error."), "not JSON (Expecting value)"),
        (message('["validation_error", 0.8]'), "not a JSON object"),
        (message(answer("form_fatigue", 0.8)), "unknown class 'form_fatigue'"),
        (message(json.dumps({"class": "bot", "confidence": "high"})), "confidence 'high' is not a number from 0 to 1"),
        (message('{"class": "bot", "conf', stop_reason="max_tokens"), "the answer stopped with 'max_tokens'"),
        (message("", stop_reason="refusal"), "the answer stopped with 'refusal'"),
    ],
)
def test_malformed_answers_are_counted_not_guessed(response, problem):
    api = ScriptedMessages(response, message(answer("bot", 0.99)))
    bad, good = ClaudeBackend(client=api.client()).classify_each([parse_trace(TRACE), parse_trace("input:message(x400), submit")])
    assert isinstance(bad, MalformedAnswer) and bad.problem == problem
    assert good.code == 5


def test_classify_raises_on_a_malformed_answer():
    api = ScriptedMessages(message("bot"))
    with pytest.raises(MalformedAnswer, match="malformed answer: not JSON"):
        ClaudeBackend(client=api.client()).classify([parse_trace(TRACE)])


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (api_error(401, "authentication_error"), r"refused the key \(HTTP 401\); check ANTHROPIC_API_KEY"),
        (api_error(429, "rate_limit_error"), "rate limiting, still after the client's retries"),
        (api_error(404, "not_found_error"), "knows no model 'claude-haiku-4-5' \\(FORMRECAP_CLAUDE_BASELINE_MODEL\\)"),
        (api_error(529, "overloaded_error"), "answered HTTP 529"),
        (httpx2.ConnectError, "cannot reach the Anthropic API"),
        (httpx2.ReadTimeout, "did not answer in time"),
    ],
)
def test_api_errors_are_unavailable_with_the_reason(response, expected):
    api = ScriptedMessages(response, response, response)
    with pytest.raises(BackendUnavailable, match=expected):
        ClaudeBackend(client=api.client()).classify([parse_trace(TRACE)] * 3)
    assert len(api.requests) == 1  # the batch stops at the first failure


def test_the_clients_own_retries_ride_out_a_rate_limit():
    api = ScriptedMessages(api_error(429, "rate_limit_error", {"retry-after-ms": "5"}), message(answer("distraction", 0.7)))
    (result,) = ClaudeBackend(client=api.client(max_retries=1)).classify([parse_trace(TRACE)])
    assert result.code == 2 and len(api.requests) == 2


def test_without_a_key_the_backend_is_unavailable(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(BackendUnavailable, match="needs ANTHROPIC_API_KEY"):
        get_backend("claude")


def test_a_model_version_is_refused(db, monkeypatch):
    from training.models import ModelVersion

    version = ModelVersion.objects.create(kind="lora", name="x", version=1, artifact_uri="/x")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    with pytest.raises(BackendUnavailable, match="takes no --model-version"):
        get_backend("claude", model_version_id=version.pk)


def test_evaluate_runs_the_baseline(db, monkeypatch, tmp_path):
    api = ScriptedMessages(message(answer("validation_error", 0.9)), message(answer("bot", 0.9)), message("no idea"))
    monkeypatch.setattr("classifier.backends.claude.anthropic_client", lambda **_: api.client())
    dataset = tmp_path / "labelled.jsonl"
    lines = [(TRACE, 1), ("input:message(x400), submit", 5), ("focus:email, exit", 6)]
    dataset.write_text("".join(json.dumps({"events": t, "label": label}) + "\n" for t, label in lines))
    out = io.StringIO()
    call_command("evaluate", dataset=str(dataset), backend="claude", stdout=out)
    text = out.getvalue()
    assert "model claude:claude-haiku-4-5" in text and "(uncalibrated)" in text
    assert "n         2 evaluated, 0 invalid lines excluded, 1 malformed answers excluded" in text
    assert "line 3: malformed answer: not JSON" in text
