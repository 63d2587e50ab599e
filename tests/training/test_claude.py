"""The Claude generator through anthropic's real client on a mock HTTP transport: answers, rejections, retries,
tallies, resumable output, prompt rotation, and the generate_claude command."""

import hashlib
import io
import json
import random
import re
from collections import Counter

import anthropic
import httpx2
import pytest
from django.core.management import CommandError, call_command

from classifier.labels import CLASSES
from classifier.trace import parse_trace, serialise_trace
from formrecap.ingest.schema import FIELD_RE
from training.claude import ClaudeGenerator, GenerationError, GeneratorConfig
from training.claude.answers import InvalidAnswer, jitter_trace, read_answer
from training.claude.primers import PRIMERS
from training.claude.prompts import CLASS_HINTS, LENGTHS, draw_form_context
from training.datasets import structural_key
from training.simulator.forms import FORM_TYPES

RESPONSE_MODEL = "claude-haiku-4-5-20251001"
INPUT_TOKENS, OUTPUT_TOKENS = 812, 64
PRICES = {"input_usd_per_mtok": 0.8, "output_usd_per_mtok": 4.0}
RECORD_KEYS = {"id", "label", "class", "trace", "reason", "confidence", "form_type", "model", "prompt_hash", "answer_trace"}


# --- a scripted Messages API ----------------------------------------------------------------------


def message(text: str, *, stop_reason: str = "end_turn") -> httpx2.Response:
    return httpx2.Response(
        200,
        json={
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
            "type": "message",
            "role": "assistant",
            "model": RESPONSE_MODEL,
            "content": [{"type": "text", "text": text}],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS},
        },
    )


def api_error(status: int, kind: str, text: str, headers: dict | None = None) -> httpx2.Response:
    return httpx2.Response(status, headers=headers, json={"type": "error", "error": {"type": kind, "message": text}})


def answer(trace: str, cls: str, confidence=0.8) -> str:
    return json.dumps({"trace": trace, "class": cls, "reason": "The events show it.", "confidence": confidence})


def session(n: int, keystrokes: int = 12, idle_ms: int = 2000) -> str:
    """Distinct field names per n: sessions of different n are neither exact nor near duplicates."""
    return (
        f"focus:email_{n}, input:email_{n}(x{keystrokes}), blur:email_{n}, scroll:page({idle_ms}ms), "
        f"focus:phone_{n}, input:phone_{n}(x9), exit"
    )


# Script steps: (target class asked for, request) -> response. Answers take the class they were asked for.
def valid(trace: str):
    return lambda target, request: message(answer(trace, target))


def text(raw: str):
    return lambda target, request: message(raw)


def status(code: int, headers: dict | None = None):
    kind = {429: "rate_limit_error", 401: "authentication_error", 529: "overloaded_error"}.get(code, "api_error")
    return lambda target, request: api_error(code, kind, f"scripted {code}", headers)


def connection_refused(target, request):
    raise httpx2.ConnectError("connection refused", request=request)


class ScriptedAPI:
    def __init__(self, *steps):
        self.steps = list(steps)
        self.requests: list[dict] = []

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        if not self.steps:
            return api_error(400, "invalid_request_error", "the test script has no more answers")
        return self.steps.pop(0)(target_of(body), request)

    def client(self) -> anthropic.Anthropic:
        transport = httpx2.MockTransport(self.handler)
        return anthropic.Anthropic(api_key="test", max_retries=0, http_client=httpx2.Client(transport=transport))


def target_of(body: dict) -> str:
    return re.search(r"^Class: \d (\w+)$", body["messages"][0]["content"], re.MULTILINE)[1]


def generate(out, api: ScriptedAPI, count: int, **config):
    sleeps: list[float] = []
    generator = ClaudeGenerator(
        GeneratorConfig(count=count, out=out, seed=5, **PRICES, **config), client=api.client(), sleep=sleeps.append
    )
    return generator.generate(), sleeps


def read_records(out) -> list[dict]:
    return [json.loads(line) for line in (out / "claude.jsonl").read_text().splitlines()]


def read_manifest(out) -> dict:
    return json.loads((out / "claude_manifest.json").read_text())


# --- one run through every kind of answer ---------------------------------------------------------

SCRIPT_ACCEPTED = [session(1), session(2), session(3), session(4), session(5)]


@pytest.fixture
def scripted_run(tmp_path):
    api = ScriptedAPI(
        valid(session(1)),
        valid(session(2)),
        valid(session(1)),  # exact duplicate
        valid(session(2, keystrokes=13, idle_ms=1800)),  # near duplicate: same shape, other counts
        text('{"trace": "focus:email, input:email(x8), exit", "class": "bot", '),  # malformed JSON
        lambda target, request: message(answer(session(9), "form_fatigue")),  # unknown class
        valid("focus:email, type:email(x8), exit"),  # trace that does not parse
        status(429, {"retry-after": "3"}),
        valid(session(3)),
        status(500),
        valid(session(4)),
        valid(session(5)),
    )
    result, sleeps = generate(tmp_path, api, count=5)
    return tmp_path, api, result, sleeps


def test_accepted_answers_are_written_as_complete_records(scripted_run):
    out, api, _, _ = scripted_run
    records = read_records(out)
    assert [r["answer_trace"] for r in records] == SCRIPT_ACCEPTED
    for record in records:
        assert set(record) == RECORD_KEYS
        assert CLASSES[record["label"]] == record["class"]
        assert record["model"] == RESPONSE_MODEL
        assert record["form_type"] in FORM_TYPES
        assert record["reason"] == "The events show it." and record["confidence"] == 0.8
        jittered, answered = parse_trace(record["trace"]).tokens, parse_trace(record["answer_trace"]).tokens
        assert [(t.kind, t.field, t.reason) for t in jittered] == [(t.kind, t.field, t.reason) for t in answered]
    assert all(r["trace"] != r["answer_trace"] for r in records)  # timings jittered
    assert len({r["id"] for r in records}) == 5
    # Balanced: five accepted examples cover five different classes.
    assert len({r["class"] for r in records}) == 5


def test_prompt_hash_is_the_hash_of_the_prompt_that_was_sent(scripted_run):
    out, api, _, _ = scripted_run

    def prompt_hash(body: dict) -> str:
        return hashlib.sha256(f"{body['system']}\n\n{body['messages'][0]['content']}".encode()).hexdigest()[:16]

    accepted_requests = [api.requests[i] for i in (0, 1, 8, 10, 11)]
    assert [r["prompt_hash"] for r in read_records(out)] == [prompt_hash(body) for body in accepted_requests]


def test_manifest_counts_every_outcome(scripted_run):
    out, _, result, _ = scripted_run
    manifest = read_manifest(out)
    assert manifest["records"] == manifest["accepted"] == 5
    assert manifest["calls"] == 10  # 12 requests, two of them retried
    assert manifest["duplicates_rejected"] == {"exact": 1, "near": 1}
    assert manifest["invalid_answers"] == {"not_json": 1, "trace_unparseable": 1, "unknown_class": 1}
    assert manifest["retries"] == {"total": 2, "rate_limit": 1, "server_error": 1, "connection": 0}
    assert manifest["classes"] == dict(Counter(r["class"] for r in read_records(out)))
    assert manifest["sha256"] == hashlib.sha256((out / "claude.jsonl").read_bytes()).hexdigest()
    assert manifest["model"] == "claude-haiku-4-5" and manifest["seed"] == 5
    assert manifest["runs"] == [{"seed": 5, "model": "claude-haiku-4-5", "count": 5, "calls": 10, "accepted": 5, "stopped": None}]
    assert result.stopped is None and result.run.accepted == 5


def test_tokens_and_cost_are_tallied_from_usage(scripted_run):
    out, _, result, _ = scripted_run
    manifest = read_manifest(out)
    assert manifest["tokens"] == {"input": 10 * INPUT_TOKENS, "output": 10 * OUTPUT_TOKENS}
    expected = (10 * INPUT_TOKENS * 0.8 + 10 * OUTPUT_TOKENS * 4.0) / 1_000_000
    assert manifest["estimated_cost_usd"] == pytest.approx(expected)
    assert manifest["prices_usd_per_mtok"] == {"input": 0.8, "output": 4.0}
    assert result.run.cost_usd == pytest.approx(expected)


def test_rate_limit_and_server_errors_are_retried_after_a_backoff(scripted_run):
    _, api, _, sleeps = scripted_run
    assert len(api.requests) == 12
    assert len(sleeps) == 2
    assert sleeps[0] >= 3.0  # the 429's retry-after
    assert 0.5 <= sleeps[1] <= 1.0  # first backoff: base 1 s with jitter
    # The retried request is the same request.
    assert api.requests[7] == api.requests[8] and api.requests[9] == api.requests[10]


# --- retries --------------------------------------------------------------------------------------


def test_backoff_grows_exponentially_and_gives_up_after_max_attempts(tmp_path):
    api = ScriptedAPI(*(status(code) for code in (500, 529, 503, 502)))
    with pytest.raises(GenerationError, match="giving up after 4 attempts"):
        generate(tmp_path, api, count=1, max_attempts=4, backoff_base_s=2.0)
    assert len(api.requests) == 4
    manifest = read_manifest(tmp_path)
    assert manifest["retries"]["server_error"] == 3 and manifest["calls"] == 0
    assert manifest["runs"][-1]["stopped"].startswith("failed: giving up after 4 attempts (server_error)")


def test_backoff_delays(tmp_path):
    api = ScriptedAPI(status(500), status(500), status(500), valid(session(1)))
    _, sleeps = generate(tmp_path, api, count=1, backoff_base_s=2.0, backoff_cap_s=5.0)
    assert 1.0 <= sleeps[0] <= 2.0 and 2.0 <= sleeps[1] <= 4.0 and 2.5 <= sleeps[2] <= 5.0  # capped at 5 s


def test_connection_errors_are_retried(tmp_path):
    api = ScriptedAPI(connection_refused, valid(session(1)))
    result, sleeps = generate(tmp_path, api, count=1)
    assert result.run.accepted == 1 and len(sleeps) == 1
    assert read_manifest(tmp_path)["retries"]["connection"] == 1


def test_client_errors_are_not_retried(tmp_path):
    api = ScriptedAPI(status(401), valid(session(1)))
    with pytest.raises(GenerationError, match="refused the request"):
        generate(tmp_path, api, count=1)
    assert len(api.requests) == 1


# --- answers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stop_reason", "reason"),
    [
        ("Sure! Here is a session.", "end_turn", "not_json"),
        ('{"trace": "exit", "class": "bot"', "end_turn", "not_json"),
        ('["exit", "bot"]', "end_turn", "not_json"),
        ('{"trace": "exit", "class": "bot", "reason": "r"}', "end_turn", "missing_keys"),
        (answer("exit", "spam"), "end_turn", "unknown_class"),
        (answer("exit", "distraction"), "end_turn", "class_mismatch"),
        (answer("exit", "bot", confidence=1.5), "end_turn", "bad_confidence"),
        (answer("exit", "bot", confidence="high"), "end_turn", "bad_confidence"),
        (answer("exit", "bot", confidence=True), "end_turn", "bad_confidence"),
        (answer("focus:Email, exit", "bot"), "end_turn", "trace_unparseable"),
        (answer("", "bot"), "end_turn", "trace_unparseable"),
        (answer(", ".join(["input:message(x3)"] * 200 + ["submit"]), "bot"), "end_turn", "trace_too_long"),
        (answer("focus:email, input:email(x9)", "bot"), "end_turn", "trace_bad_ending"),
        (answer("input:email, submit", "bot"), "max_tokens", "truncated"),
        (
            json.dumps({"trace": "input:email, submit", "class": "bot", "reason": " ", "confidence": 0.9}),
            "end_turn",
            "bad_reason",
        ),
    ],
)
def test_invalid_answers_are_named(raw, stop_reason, reason):
    with pytest.raises(InvalidAnswer) as caught:
        read_answer(raw, stop_reason=stop_reason, target="bot")
    assert caught.value.reason == reason


def test_an_answer_in_a_code_fence_is_read():
    raw = "```json\n" + answer(", ".join(["input:message(x3)"] * 199 + ["submit"]), "bot", confidence=1) + "\n```"
    parsed = read_answer(raw, stop_reason="end_turn", target="bot")
    assert len(parsed.trace.tokens) == 200 and parsed.confidence == 1.0 and parsed.cls == "bot"


def test_jitter_moves_durations_and_counts_but_not_the_shape():
    trace = parse_trace("focus:email, input:email(x8), blur:email, scroll:page(40000ms), input:name, input:comments(x2), exit")
    jittered = [jitter_trace(trace, random.Random(seed)) for seed in range(50)]
    for other in jittered:
        assert [(t.kind, t.field, t.reason) for t in other.tokens] == [(t.kind, t.field, t.reason) for t in trace.tokens]
        assert 32_000 <= other.tokens[3].duration_ms <= 48_000
        assert other.tokens[1].count in (6, 7, 9, 10)
        assert other.tokens[4].count == 1  # a single (injected) input stays single
        assert other.tokens[5].count in (1, 3, 4)  # never below 1
    assert len({serialise_trace(t) for t in jittered}) > 40


# --- resuming -------------------------------------------------------------------------------------


def test_a_second_run_continues_the_file_without_rewriting_it(tmp_path):
    first = ScriptedAPI(*(valid(session(n)) for n in range(3)))
    generate(tmp_path, first, count=3)
    before = (tmp_path / "claude.jsonl").read_bytes()

    second = ScriptedAPI(
        valid(session(0)),  # duplicates of the first run are recognised from the file
        valid(session(1, keystrokes=11)),
        valid(session(3)),
        valid(session(4)),
        valid(session(5)),  # not needed: the run stops at 5 records
    )
    result, _ = generate(tmp_path, second, count=5)
    after = (tmp_path / "claude.jsonl").read_bytes()
    assert after.startswith(before)
    records = read_records(tmp_path)
    assert [r["answer_trace"] for r in records] == [session(n) for n in range(5)]
    assert len(second.requests) == 4 and result.run.calls == 4 and result.run.accepted == 2
    assert len({r["id"] for r in records}) == 5

    manifest = read_manifest(tmp_path)
    assert manifest["calls"] == 7 and manifest["records"] == manifest["accepted"] == 5
    assert manifest["duplicates_rejected"] == {"exact": 1, "near": 1}
    assert manifest["tokens"]["input"] == 7 * INPUT_TOKENS
    assert [run["calls"] for run in manifest["runs"]] == [3, 4]
    # The resumed run draws new prompts instead of replaying the first run's.
    first_prompts = {body["messages"][0]["content"] for body in first.requests}
    assert not first_prompts & {body["messages"][0]["content"] for body in second.requests}


def test_a_run_with_enough_records_makes_no_call(tmp_path):
    generate(tmp_path, ScriptedAPI(valid(session(1)), valid(session(2))), count=2)
    api = ScriptedAPI()
    result, _ = generate(tmp_path, api, count=2)
    assert api.requests == [] and result.run.calls == 0 and len(read_records(tmp_path)) == 2


def test_an_incomplete_last_line_is_refused(tmp_path):
    generate(tmp_path, ScriptedAPI(valid(session(1))), count=1)
    with (tmp_path / "claude.jsonl").open("a") as handle:
        handle.write('{"id": "claude-5-1", "tra')
    with pytest.raises(GenerationError, match="last line is incomplete"):
        generate(tmp_path, ScriptedAPI(), count=2)


# --- the prompts ----------------------------------------------------------------------------------


def test_prompts_vary_per_call(tmp_path):
    api = ScriptedAPI(*(valid(session(n)) for n in range(24)))
    generate(tmp_path, api, count=24)
    users = [body["messages"][0]["content"] for body in api.requests]
    assert len(set(users)) == 24
    assert {body["model"] for body in api.requests} == {"claude-haiku-4-5"}
    assert len({body["system"] for body in api.requests}) == 1  # fixed, so it can be cached; the user turn varies
    assert all(f"{code} {name}:" in api.requests[0]["system"] for code, name in CLASSES.items())

    targets = [target_of(body) for body in api.requests]
    assert Counter(targets) == dict.fromkeys(CLASSES.values(), 4)  # balanced

    hints = [re.search(r"^Behaviour: (.*)$", user, re.MULTILINE)[1] for user in users]
    for target, hint in zip(targets, hints, strict=True):
        assert hint in CLASS_HINTS[target]
    assert len(set(hints)) >= 12

    pairs = [primer_pair(user) for user in users]
    assert all(len(pair) == 2 for pair in pairs)
    assert all(a != b for a, b in zip(pairs, pairs[1:], strict=False))  # never the same pair twice in a row
    assert len(set().union(*pairs)) >= 15

    forms = [re.search(r"^Form: (.*)$", user, re.MULTILINE)[1] for user in users]
    assert len(set(forms)) >= 8
    lengths = {re.search(r"^Length: (\d+) to (\d+) tokens", user, re.MULTILINE).groups() for user in users}
    assert lengths == {(str(low), str(high)) for _, low, high in LENGTHS}


def primer_pair(user: str) -> frozenset[int]:
    shown = [json.loads(line.split(") ", 1)[1]) for line in user.splitlines() if line.startswith("(")]
    return frozenset(next(i for i, p in enumerate(PRIMERS) if p.as_answer() == example) for example in shown)


def test_a_mix_limits_the_classes_asked_for(tmp_path):
    api = ScriptedAPI(*(valid(session(n)) for n in range(8)))
    generate(tmp_path, api, count=8, mix={1: 3.0, 5: 1.0})
    assert Counter(target_of(body) for body in api.requests) == {"validation_error": 6, "bot": 2}
    assert read_manifest(tmp_path)["mix"] == {"validation_error": 0.75, "bot": 0.25}


def test_the_primers_are_valid_answers_covering_every_class():
    for primer in PRIMERS:
        parsed = read_answer(json.dumps(primer.as_answer()), stop_reason="end_turn", target=primer.cls)
        assert parsed.cls == primer.cls
    per_class = Counter(primer.cls for primer in PRIMERS)
    assert set(per_class) == set(CLASSES.values()) and min(per_class.values()) >= 3
    for cls in CLASSES.values():
        assert len({p.form_type for p in PRIMERS if p.cls == cls}) >= 3
        assert len(CLASS_HINTS[cls]) >= 3 and any(hint.startswith("Borderline") for hint in CLASS_HINTS[cls])
    assert len({structural_key(parse_trace(p.trace)) for p in PRIMERS}) == len(PRIMERS)


def test_form_contexts_have_6_to_12_valid_field_names():
    rng = random.Random(0)
    contexts = [draw_form_context(rng) for _ in range(300)]
    for context in contexts:
        assert context.form_type in FORM_TYPES
        assert 6 <= len(context.field_names) <= 12
        assert len(set(context.field_names)) == len(context.field_names)
        assert all(FIELD_RE.fullmatch(name) for name in context.field_names)
    assert {c.form_type for c in contexts} == set(FORM_TYPES)


# --- the command ----------------------------------------------------------------------------------


def run_command(api: ScriptedAPI, out, **options) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(
        "generate_claude", out=str(out), client=api.client(), sleep=lambda seconds: None, stdout=stdout, stderr=stderr,
        **{"count": 2, "seed": 1, **options},
    )  # fmt: skip
    return stdout.getvalue(), stderr.getvalue()


def test_command_needs_an_api_key_and_calls_nothing_without_one(tmp_path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    api = ScriptedAPI(valid(session(1)))
    with pytest.raises(CommandError, match="^ANTHROPIC_API_KEY is not set"):
        run_command(api, tmp_path / "out")
    assert api.requests == []
    assert not (tmp_path / "out").exists()


def test_command_writes_the_file_and_reports_tokens_and_cost(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    api = ScriptedAPI(valid(session(1)), valid(session(1)), valid(session(2)))
    stdout, stderr = run_command(api, tmp_path, model="claude-test-model", input_price=1.0, output_price=5.0)
    assert len(read_records(tmp_path)) == 2
    assert "2 examples added in 3 calls" in stdout
    assert "duplicates rejected: 1 exact, 0 near" in stdout
    assert f"tokens: {3 * INPUT_TOKENS} input, {3 * OUTPUT_TOKENS} output" in stdout
    cost = (3 * INPUT_TOKENS * 1 + 3 * OUTPUT_TOKENS * 5) / 1_000_000
    assert f"estimated cost ${cost:.4f}" in stdout
    assert "2/2" in stderr and "2/2" not in stdout
    assert {body["model"] for body in api.requests} == {"claude-test-model"}
    assert read_manifest(tmp_path)["model"] == "claude-test-model"


def test_command_stops_at_max_calls(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    api = ScriptedAPI(*(valid(session(1)) for _ in range(10)))  # a model that keeps repeating itself
    with pytest.raises(CommandError, match=r"stopped after 4 API calls \(--max-calls 4\) with 1 of 3 examples"):
        run_command(api, tmp_path, count=3, max_calls=4)
    assert len(api.requests) == 4 and len(read_records(tmp_path)) == 1
    manifest = read_manifest(tmp_path)
    assert manifest["duplicates_rejected"]["exact"] == 3
    assert manifest["runs"][-1]["stopped"].startswith("stopped after 4 API calls")


def test_default_call_budget_is_three_per_missing_example(tmp_path):
    api = ScriptedAPI(*(valid(session(1)) for _ in range(10)))
    result, _ = generate(tmp_path, api, count=2)
    assert len(api.requests) == 6 and result.stopped.startswith("stopped after 6 API calls")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"count": 0}, "--count must be at least 1"),
        ({"max_calls": 0}, "--max-calls must be at least 1"),
        ({"max_attempts": 0}, "--max-attempts must be at least 1"),
        ({"input_price": -1.0}, "--input-price must be a non-negative number"),
        ({"mix": "7=1"}, "unknown class '7'"),
    ],
)
def test_command_refuses_bad_arguments(tmp_path, monkeypatch, options, message):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    api = ScriptedAPI()
    with pytest.raises(CommandError, match=message):
        run_command(api, tmp_path / "out", **options)
    assert api.requests == [] and not (tmp_path / "out").exists()
