"""The `vllm` backend: LoRA adapters on the OpenAI-compatible vLLM server (training/modal_app.py `serve`), read out
by first-token digit log-probs over HTTP and calibrated with the model version's temperature.

    backend = get_backend("vllm", model_version_id=12)
    backend.classify(traces)                 # calibrated Classifications
    backend.digit_log_probs(trace_texts)     # (n, 6) over the digits, before T: fit T on the server's own numbers

Each prompt is the adapter's chat template over classifier/prompting.py's turns, the text training used; it goes
to ``/v1/completions`` with ``add_special_tokens: false``, so the server sees the tokens the in-process PEFT read-out
feeds the model. One token is asked for, with the top log-probs keyed by token id. With
FORMRECAP_VLLM_RESTRICT_TO_DIGITS the answer is restricted to the six digit tokens (``allowed_token_ids``); a server
started with ``--logprobs-mode processed_logprobs`` then returns the log-probs over those six alone. Any other server
returns vocabulary-wide top-N log-probs (STACK.md): the read-out renormalises over the digits found and estimates
the missing ones (classifier/readout.py). Then softmax(log-probs / T).

Requests are batched (the endpoint takes a list of prompts), time out, are retried with backoff on connection
errors, timeouts, 429 and 5xx, and pass a circuit breaker per server: after FORMRECAP_VLLM_BREAKER_FAILURES failed
requests in a row every call fails at once (BackendUnavailable) for the cool-down, then one request tries again.
"""

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from functools import lru_cache

import httpx
import numpy as np
from django.conf import settings

from training.models import ModelVersion
from training.selectors import model_version_active

from ..prompting import chat_prompts
from ..readout import digit_log_probs_from_top, digit_probabilities, digit_token_ids
from ..trace import Trace, serialise_trace
from .base import BackendUnavailable, Classification, calibrated_classifications

logger = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
TOKEN_ID_KEY = re.compile(r"token_id:(\d+)")


class VllmAnswerError(BackendUnavailable):
    """The server answered, but not with what the read-out needs; the message names what is wrong."""


def adapter_name(model_version: ModelVersion) -> str:
    """The name the server serves the adapter under (a request's ``model``): the one recorded when it was deployed
    (``deployments["vllm"]["name"]``), else ``<name>-v<version>``, the name to give ``--lora-modules`` or
    ``/v1/load_lora_adapter`` when deploying it."""
    deployed = (model_version.deployments or {}).get("vllm") or {}
    return deployed.get("name") or f"{model_version.name}-v{model_version.version}"


# --- circuit breaker -------------------------------------------------------------------------------


class CircuitBreaker:
    """Closed: calls pass, failures in a row are counted. Open (after ``failure_threshold`` of them): calls fail at
    once for ``cooldown_s``. Then half-open: one call goes through; its success closes the breaker, its failure
    opens it for another cool-down. Shared by every backend instance talking to the same server in this process."""

    def __init__(self, *, failure_threshold: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.failure_threshold = max(1, failure_threshold)
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self.consecutive_failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> str:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            return "open" if self._clock() - self._opened_at < self.cooldown_s or self._trial_in_flight else "half_open"

    def acquire(self) -> float | None:
        """None when a call may go ahead (it must end in record_success or record_failure), else the seconds
        left before the server is tried again."""
        with self._lock:
            if self._opened_at is None:
                return None
            remaining = self.cooldown_s - (self._clock() - self._opened_at)
            if remaining > 0:
                return remaining
            if self._trial_in_flight:  # another caller is already finding out whether the server is back
                return 0.0
            self._trial_in_flight = True
            return None

    def record_success(self) -> None:
        with self._lock:
            self.consecutive_failures = 0
            self._opened_at = None
            self._trial_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self.consecutive_failures += 1
            if self._trial_in_flight or self.consecutive_failures >= self.failure_threshold:
                self._opened_at = self._clock()
            self._trial_in_flight = False


_breakers: dict[tuple[str, int, float], CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(base_url: str, *, failure_threshold: int, cooldown_s: float) -> CircuitBreaker:
    with _breakers_lock:
        key = (base_url, failure_threshold, cooldown_s)
        if key not in _breakers:
            _breakers[key] = CircuitBreaker(failure_threshold=failure_threshold, cooldown_s=cooldown_s)
        return _breakers[key]


# --- HTTP client -----------------------------------------------------------------------------------


class _Unreachable(Exception):
    """Every attempt failed with a connection error, a timeout or a retryable status."""


@lru_cache(maxsize=8)
def _http_client(base_url: str, modal_key: str, modal_secret: str, timeout_s: float) -> httpx.Client:
    # One pool per server and credentials, kept for the process: backends are built per request.
    headers = {"Modal-Key": modal_key, "Modal-Secret": modal_secret} if modal_key or modal_secret else {}
    return httpx.Client(base_url=base_url, headers=headers, timeout=timeout_s)


def _detail(response: httpx.Response) -> str:
    """The server's own words: vLLM answers errors as {"error": {"message"}} (older versions {"message"})."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    error = body.get("error", body) if isinstance(body, dict) else body
    message = error.get("message") if isinstance(error, dict) else error
    return str(message or body)[:300]


class VllmClient:
    """POSTs to one vLLM server with timeouts, bounded retries and the server's circuit breaker."""

    def __init__(
        self,
        base_url: str,
        *,
        modal_key: str = "",
        modal_secret: str = "",
        timeout_s: float = 30.0,
        retries: int = 2,
        backoff_s: float = 1.0,
        breaker_failures: int = 5,
        breaker_cooldown_s: float = 30.0,
    ) -> None:
        # Accept the Modal endpoint as printed (https://…modal.run) or with the OpenAI-style /v1 suffix.
        self.base_url = re.sub(r"/v1/?$", "", base_url.strip().rstrip("/"))
        if not self.base_url.startswith(("http://", "https://")):
            raise BackendUnavailable(f"FORMRECAP_VLLM_BASE_URL {base_url!r} is not an http(s) URL")
        self.retries = max(0, retries)
        self.backoff_s = backoff_s
        self.breaker = breaker_for(self.base_url, failure_threshold=breaker_failures, cooldown_s=breaker_cooldown_s)
        self._http = _http_client(self.base_url, modal_key, modal_secret, timeout_s)

    @classmethod
    def from_settings(cls) -> "VllmClient":
        if not settings.FORMRECAP_VLLM_BASE_URL:
            raise BackendUnavailable(
                "the vllm backend has no server: set FORMRECAP_VLLM_BASE_URL to the vLLM endpoint "
                "(the Modal web endpoint of training.modal_app `serve`, with FORMRECAP_VLLM_MODAL_KEY / _SECRET)"
            )
        return cls(
            settings.FORMRECAP_VLLM_BASE_URL,
            modal_key=settings.FORMRECAP_VLLM_MODAL_KEY,
            modal_secret=settings.FORMRECAP_VLLM_MODAL_SECRET,
            timeout_s=settings.FORMRECAP_VLLM_TIMEOUT_SECONDS,
            retries=settings.FORMRECAP_VLLM_RETRIES,
            backoff_s=settings.FORMRECAP_VLLM_BACKOFF_SECONDS,
            breaker_failures=settings.FORMRECAP_VLLM_BREAKER_FAILURES,
            breaker_cooldown_s=settings.FORMRECAP_VLLM_BREAKER_COOLDOWN_SECONDS,
        )

    def post(self, path: str, body: dict) -> dict:
        """The JSON answer to ``body``; BackendUnavailable when the server is down, refuses, or answers non-JSON."""
        wait = self.breaker.acquire()
        if wait is not None:
            when = f"for another {wait:.1f} s" if wait > 0 else "while another request checks whether it is back"
            raise BackendUnavailable(
                f"vLLM server {self.base_url} failed {self.breaker.consecutive_failures} requests in a row; not calling "
                f"it {when} (circuit breaker open)"
            )
        try:
            response = self._post_with_retries(path, body)
        except _Unreachable as exc:
            self.breaker.record_failure()
            raise BackendUnavailable(f"vLLM server {self.base_url} is unavailable: {exc}") from exc
        except BaseException:
            self.breaker.record_failure()  # never leave a half-open trial unfinished
            raise
        # It answered: the server is up, whatever it said.
        self.breaker.record_success()
        return self._json(response, body.get("model"))

    def load_adapter(self, name: str, path: str) -> str:
        """Load a LoRA adapter into the running server under ``name`` (the server needs
        VLLM_ALLOW_RUNTIME_LORA_UPDATING=True, as training/modal_app.py `serve` sets). One already loaded under that
        name counts as loaded. Returns the server's answer; BackendUnavailable names what went wrong."""
        try:
            response = self._post_with_retries("/v1/load_lora_adapter", {"lora_name": name, "lora_path": path})
        except _Unreachable as exc:
            raise BackendUnavailable(f"vLLM server {self.base_url} is unavailable: {exc}") from exc
        detail = _detail(response)
        if response.status_code == 200 or "already" in detail.lower():
            return detail or "loaded"
        if response.status_code == 404:
            detail = "no /v1/load_lora_adapter: start the server with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True"
        status = response.status_code
        raise BackendUnavailable(f"vLLM server {self.base_url} did not load {name!r} from {path} (HTTP {status}): {detail}")

    def _post_with_retries(self, path: str, body: dict) -> httpx.Response:
        attempts = self.retries + 1
        problem = ""
        for attempt in range(attempts):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                response = self._http.post(path, json=body)
            except httpx.TransportError as exc:  # refused, reset, DNS, and every kind of timeout
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                continue
            if response.status_code not in RETRYABLE_STATUS:
                return response
            problem = f"HTTP {response.status_code}: {_detail(response)}"
        raise _Unreachable(f"{attempts} attempt{'s' if attempts > 1 else ''} failed, the last with {problem}")

    def _json(self, response: httpx.Response, model: str | None) -> dict:
        status = response.status_code
        if status in (401, 403):
            raise BackendUnavailable(
                f"vLLM server {self.base_url} refused the credentials (HTTP {status}): check FORMRECAP_VLLM_MODAL_KEY and "
                "FORMRECAP_VLLM_MODAL_SECRET (a Modal proxy auth token)"
            )
        if status == 404:
            raise BackendUnavailable(
                f"vLLM server {self.base_url} does not serve {model!r} (HTTP 404: {_detail(response)}); deploy the adapter "
                "under that name (--lora-modules or /v1/load_lora_adapter)"
            )
        if status != 200:
            raise BackendUnavailable(f"vLLM server {self.base_url} refused the request (HTTP {status}): {_detail(response)}")
        try:
            answer = response.json()
        except ValueError as exc:
            raise VllmAnswerError(f"vLLM answer is not JSON: {response.text[:200]!r}") from exc
        if not isinstance(answer, dict):
            raise VllmAnswerError(f"vLLM answer is a JSON {type(answer).__name__}, not an object")
        return answer


# --- the answer ------------------------------------------------------------------------------------


def parse_completions(answer: dict, *, prompts: int, digit_ids: Sequence[int]) -> tuple[np.ndarray, dict[int, list[int]]]:
    """((prompts, 6) renormalised digit log-probs, {row: codes estimated}) from a /v1/completions answer with
    ``logprobs`` and ``return_tokens_as_token_ids``; VllmAnswerError naming the first thing that is not as expected."""
    choices = answer.get("choices")
    if not isinstance(choices, list) or len(choices) != prompts:
        count = len(choices) if isinstance(choices, list) else "no"
        raise VllmAnswerError(f"vLLM answered {count} choices for {prompts} prompts")
    rows: list[np.ndarray | None] = [None] * prompts
    estimated: dict[int, list[int]] = {}
    for position, choice in enumerate(choices):
        index = choice.get("index", position) if isinstance(choice, dict) else None
        if not isinstance(index, int) or not 0 <= index < prompts or rows[index] is not None:
            raise VllmAnswerError(f"vLLM choice {position} has index {index!r}: not one per prompt 0..{prompts - 1}")
        top = ((choice.get("logprobs") or {}).get("top_logprobs") or [None])[0]
        if not isinstance(top, dict) or not top:
            raise VllmAnswerError(f"vLLM choice {index} has no top_logprobs for its first token (was logprobs sent?)")
        by_id = {}
        for key, value in top.items():
            match = TOKEN_ID_KEY.fullmatch(key)
            if match is None:
                raise VllmAnswerError(
                    f"vLLM choice {index}: top_logprobs key {key!r} is not 'token_id:N' (the server ignored "
                    "return_tokens_as_token_ids)"
                )
            if not isinstance(value, int | float) or isinstance(value, bool) or not np.isfinite(value) or value > 1e-6:
                raise VllmAnswerError(f"vLLM choice {index}: log-prob {value!r} of {key} is not a log-probability")
            by_id[int(match.group(1))] = float(value)
        try:
            rows[index], missing = digit_log_probs_from_top(by_id, digit_ids)
        except ValueError as exc:
            raise VllmAnswerError(
                f"vLLM choice {index}: {exc}; restrict the answer to the digits (FORMRECAP_VLLM_RESTRICT_TO_DIGITS) on a "
                "server started with --logprobs-mode processed_logprobs"
            ) from exc
        if missing:
            estimated[index] = missing
    return np.stack(rows), estimated


# --- the backend -----------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _tokenizer(artifact_uri: str):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(artifact_uri)


class VllmBackend:
    name = "vllm"

    def __init__(self, model_version: ModelVersion | None = None, *, client: VllmClient | None = None) -> None:
        model_version = model_version or model_version_active(kind=ModelVersion.Kind.LORA)
        if model_version is None:
            raise BackendUnavailable(
                "no active LoRA adapter: train one with `python manage.py train_adapter`, or pass --model-version"
            )
        if model_version.kind != ModelVersion.Kind.LORA:
            raise BackendUnavailable(f"model version {model_version.pk} is a {model_version.kind} model, not a LoRA adapter")
        self.client = client or VllmClient.from_settings()
        # The adapter folder holds the tokenizer training saved: its chat template builds the prompts, its digit
        # ids are the ones the server is asked about.
        try:
            self.tokenizer = _tokenizer(model_version.artifact_uri)
            self.digit_ids = digit_token_ids(self.tokenizer)
        except ImportError as exc:
            raise BackendUnavailable(f"the vllm backend builds prompts with the adapter's tokenizer: {exc}") from exc
        except (OSError, ValueError) as exc:
            raise BackendUnavailable(f"adapter {model_version.label}: tokenizer unusable ({exc})") from exc
        self.model_version = model_version
        self.adapter = adapter_name(model_version)
        self.batch_size = max(1, settings.FORMRECAP_VLLM_BATCH_SIZE)
        self.restrict_to_digits = settings.FORMRECAP_VLLM_RESTRICT_TO_DIGITS
        self.top_logprobs = settings.FORMRECAP_VLLM_TOP_LOGPROBS

    def request_body(self, prompts: list[str], *, restrict_to_digits: bool | None = None) -> dict:
        body = {
            "model": self.adapter,
            "prompt": prompts,
            "max_tokens": 1,
            "temperature": 0.0,
            # Processed log-probs come after penalties, and a server's defaults (a checkpoint's generation_config.json
            # unless it runs with --generation-config vllm) may set some: neutral values keep the distribution as is.
            "repetition_penalty": 1.0,
            "presence_penalty": 0.0,
            "frequency_penalty": 0.0,
            "logprobs": self.top_logprobs,
            # The prompt text carries the template's BOS; the server must not add another (the PEFT read-out does not).
            "add_special_tokens": False,
            # Token ids, not decoded strings: distinct tokens can decode alike (" 1" and "1" in some vocabularies).
            "return_tokens_as_token_ids": True,
        }
        if self.restrict_to_digits if restrict_to_digits is None else restrict_to_digits:
            body["allowed_token_ids"] = list(self.digit_ids)
        return body

    def digit_log_probs(self, trace_texts: Sequence[str], *, restrict_to_digits: bool | None = None) -> np.ndarray:
        """(n, 6) log-probabilities over the class digits (renormalised, before T), codes 1..6 in order."""
        rows = []
        for start in range(0, len(trace_texts), self.batch_size):
            prompts = chat_prompts(self.tokenizer, trace_texts[start : start + self.batch_size])
            answer = self.client.post("/v1/completions", self.request_body(prompts, restrict_to_digits=restrict_to_digits))
            batch, estimated = parse_completions(answer, prompts=len(prompts), digit_ids=self.digit_ids)
            if estimated:
                logger.info(
                    "vllm %s: %d of %d answers lacked some digits in the top %d log-probs (estimated, see classifier/readout.py)",
                    self.adapter, len(estimated), len(prompts), self.top_logprobs,
                )  # fmt: skip
            rows.append(batch)
        return np.concatenate(rows) if rows else np.zeros((0, len(self.digit_ids)))

    def classify(self, traces: Sequence[Trace]) -> list[Classification]:
        log_probs = self.digit_log_probs([serialise_trace(t) for t in traces])
        probabilities = digit_probabilities(log_probs, self.model_version.temperature)
        return calibrated_classifications(traces, probabilities, self.model_version)
