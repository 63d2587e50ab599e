"""The Cloudflare Workers AI backend: a LoRA adapter published with ``publish_cloudflare_adapter``, run at the edge.

    POST {base}/accounts/{account_id}/ai/run/{model}   {"prompt": ..., "raw": true, "lora": finetune id, ...}
    -> {"result": {"response": "3\\n{\\"class\\": ...}"}, "success": true, "errors": [], "messages": []}

Workers AI returns no log-probabilities, so the class is the answer's digit line and the probability the
confidence its JSON line states: uncalibrated, unless the model version has a fitted verbalized calibration map
(``calibrate_verbalized``), which turns the stated confidence into P(correct) and the answer into a calibrated one.
The prompt is written out in the base's chat format (``raw``), so it is the one the adapter was trained on rather
than Cloudflare's default template. The HTTP client here also serves the finetune API the publish command uses.
"""

import email.utils
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from django.conf import settings

from training.lora.prompt import prompt_messages
from training.models import ModelVersion
from training.selectors import model_version_active

from ..trace import Trace, serialise_trace
from ..verbalized import (
    MalformedAnswer,
    VerbalizedAnswer,
    VerbalizedCalibration,
    answers_concurrently,
    parse_answer,
    verbalized_classification,
)
from .base import BackendUnavailable, Classification

DEPLOYMENT_KEY = "cloudflare"  # ModelVersion.deployments[...] written by training/cloudflare_publish.py
ANSWER_MAX_TOKENS = 160  # a digit line and a JSON object with a one-sentence reason take about 60-90 tokens
BACKOFF_BASE_S = 0.5
# What may go into a URL path: account and finetune ids are hex/UUIDs, model names like @cf/google/gemma-2b-it-lora.
_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9@._/-]+$")


@dataclass(frozen=True)
class CloudflareConfig:
    account_id: str
    api_token: str
    base_url: str
    timeout_s: float
    max_attempts: int
    max_retry_after_s: float
    concurrency: int
    model: str  # "" = the model the adapter was published for
    base_models: dict[str, str]  # accepted HuggingFace base id -> Workers AI model

    @classmethod
    def from_settings(cls) -> "CloudflareConfig":
        return cls(
            account_id=settings.FORMRECAP_CLOUDFLARE_ACCOUNT_ID,
            api_token=settings.FORMRECAP_CLOUDFLARE_API_TOKEN,
            base_url=settings.FORMRECAP_CLOUDFLARE_BASE_URL,
            timeout_s=settings.FORMRECAP_CLOUDFLARE_TIMEOUT_SECONDS,
            max_attempts=max(1, settings.FORMRECAP_CLOUDFLARE_MAX_ATTEMPTS),
            max_retry_after_s=settings.FORMRECAP_CLOUDFLARE_MAX_RETRY_AFTER_SECONDS,
            concurrency=max(1, settings.FORMRECAP_CLOUDFLARE_CONCURRENCY),
            model=settings.FORMRECAP_CLOUDFLARE_MODEL,
            base_models=dict(settings.FORMRECAP_CLOUDFLARE_BASE_MODELS),
        )


class CloudflareError(BackendUnavailable):
    """Cloudflare refused or failed a request; ``status_code`` is None when no answer came back."""

    def __init__(self, message: str, *, status_code: int | None = None, errors: Sequence[dict] = ()) -> None:
        super().__init__(message)
        self.status_code, self.errors = status_code, list(errors)


# --- the base's chat format -------------------------------------------------------------------------------------


def model_family(name: str) -> str:
    """gemma, mistral, llama2 or llama3, from a HuggingFace base id or a Workers AI model name."""
    lowered = name.lower()
    for family, markers in (("gemma", ("gemma",)), ("mistral", ("mistral",)), ("llama2", ("llama-2", "llama2"))):
        if any(marker in lowered for marker in markers):
            return family
    if "llama" in lowered:
        return "llama3"
    raise ValueError(f"{name!r} is not a Gemma, Mistral or Llama model: Cloudflare serves LoRA adapters for those only")


def chat_prompt(family: str, trace_text: str) -> str:
    """The training prompt (training/lora/prompt.py) as the base's HuggingFace chat template renders it with the
    generation prompt. Gemma and Mistral templates refuse a system turn, so there the class list leads the user
    turn, exactly as training folded it (supports_system_role is false for them)."""
    system, user = prompt_messages(trace_text, system_role=True)
    return chat_prompt_from(family, system["content"], user["content"])


def chat_prompt_from(family: str, system: str, user: str) -> str:
    """A system and a user turn in the base's chat format (the system turn folded into the user's where refused)."""
    if family in ("gemma", "mistral"):
        folded = f"{system}\n\n{user}"
        if family == "gemma":
            return f"<bos><start_of_turn>user\n{folded}<end_of_turn>\n<start_of_turn>model\n"
        return f"<s>[INST] {folded} [/INST]"
    if family == "llama2":
        return f"<s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST]"
    if family == "llama3":
        return (
            f"<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n{system}<|eot_id|>"
            f"<|start_header_id|>user<|end_header_id|>\n\n{user}<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n"
        )
    raise ValueError(f"no chat format for {family!r}")


# --- HTTP ---------------------------------------------------------------------------------------------------------


def http_transport() -> httpx.BaseTransport | None:
    """The transport requests go through: None is httpx's own, the network (tests put a MockTransport here)."""
    return None


def _retry_after_s(response: httpx.Response) -> float:
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # the HTTP-date form
        return max(0.0, (email.utils.parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return 0.0


def _describe(response: httpx.Response) -> tuple[str, list[dict]]:
    """The envelope's errors ("10000 Authentication error"), or the start of a body that is not the envelope."""
    try:
        errors = response.json().get("errors") or []
        described = "; ".join(f"{e.get('code', '?')} {e.get('message', '')}".strip() for e in errors if isinstance(e, dict))
        return described or response.text[:200], [e for e in errors if isinstance(e, dict)]
    except (ValueError, AttributeError):
        return response.text[:200].strip() or response.reason_phrase, []


class CloudflareClient:
    """Workers AI REST with timeouts and bounded retries.

    Inference is retried on 429, 5xx, timeouts and connection failures (running it twice has no effect). Requests
    that create something (a finetune, an asset; files cannot be replaced afterwards) are retried only when Cloudflare
    cannot have acted on them: a 429, or a connection that never opened.
    """

    def __init__(self, config: CloudflareConfig, *, sleep: Callable[[float], None] = time.sleep) -> None:
        missing = [
            variable
            for variable, value in (
                ("FORMRECAP_CLOUDFLARE_ACCOUNT_ID", config.account_id),
                ("FORMRECAP_CLOUDFLARE_API_TOKEN", config.api_token),
            )
            if not value
        ]
        if missing:
            raise BackendUnavailable(f"Cloudflare Workers AI needs {' and '.join(missing)}")
        if not _PATH_SEGMENT.match(config.account_id) or "/" in config.account_id:
            raise BackendUnavailable(f"FORMRECAP_CLOUDFLARE_ACCOUNT_ID {config.account_id!r} is not an account id")
        self.config, self.sleep = config, sleep
        self.http = httpx.Client(
            base_url=f"{config.base_url.rstrip('/')}/accounts/{config.account_id}/ai/",
            headers={"Authorization": f"Bearer {config.api_token}"},
            timeout=config.timeout_s,
            transport=http_transport(),
        )

    def run(self, model: str, prompt: str, lora: str) -> object:
        """The generated text (``result.response``) of one raw prompt through the adapter."""
        body = {"prompt": prompt, "raw": True, "lora": lora, "max_tokens": ANSWER_MAX_TOKENS, "temperature": 0}
        result = self._post(f"run/{_segment(model)}", json=body, creates=False)
        return result.get("response") if isinstance(result, dict) else None

    def finetune_create(self, *, model: str, name: str, description: str) -> dict:
        result = self._post("finetunes/", json={"model": model, "name": name, "description": description}, creates=True)
        if not isinstance(result, dict) or not isinstance(result.get("id"), str) or not _PATH_SEGMENT.match(result["id"]):
            raise CloudflareError(f"Cloudflare created a finetune but answered no usable id: {result!r}"[:300])
        return result

    def finetune_asset_upload(self, *, finetune_id: str, file_name: str, content: bytes) -> dict:
        result = self._post(
            f"finetunes/{_segment(finetune_id)}/finetune-assets/",
            data={"file_name": file_name},
            files={"file": (file_name, content, "application/octet-stream")},
            creates=True,
        )
        return result if isinstance(result, dict) else {}

    def close(self) -> None:
        self.http.close()

    def _post(self, path: str, *, creates: bool, **request) -> object:
        url = f"{self.config.base_url.rstrip('/')}/accounts/{self.config.account_id}/ai/{path}"
        for attempt in range(1, self.config.max_attempts + 1):
            last = attempt == self.config.max_attempts
            try:
                response = self.http.post(path, **request)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if last:
                    raise CloudflareError(f"cannot reach Cloudflare Workers AI at {url}: {exc}") from exc
                self.sleep(self._backoff(attempt))
                continue
            except httpx.TimeoutException as exc:
                if creates or last:
                    hint = " (it may have been created: check the Workers AI dashboard)" if creates else ""
                    raise CloudflareError(f"Cloudflare did not answer within {self.config.timeout_s:g} s{hint}") from exc
                self.sleep(self._backoff(attempt))
                continue
            except httpx.TransportError as exc:  # reset or broken mid-request: Cloudflare may have acted on it
                if creates or last:
                    raise CloudflareError(f"the connection to Cloudflare failed: {exc}") from exc
                self.sleep(self._backoff(attempt))
                continue
            if response.is_success:
                return self._result(response)
            described, errors = _describe(response)
            status = response.status_code
            transient = status == 429 or (status >= 500 and not creates)
            if not transient or last:
                raise CloudflareError(_refusal(status, described, attempt), status_code=status, errors=errors)
            wait = _retry_after_s(response)
            if wait > self.config.max_retry_after_s:
                raise CloudflareError(
                    f"Cloudflare is rate limiting (HTTP {status}) and asks to wait {wait:.0f} s, more than "
                    f"FORMRECAP_CLOUDFLARE_MAX_RETRY_AFTER_SECONDS ({self.config.max_retry_after_s:g})",
                    status_code=status,
                    errors=errors,
                )
            self.sleep(max(wait, self._backoff(attempt)))
        raise AssertionError("unreachable")

    @staticmethod
    def _backoff(attempt: int) -> float:
        return BACKOFF_BASE_S * 2 ** (attempt - 1)

    @staticmethod
    def _result(response: httpx.Response) -> object:
        try:
            body = response.json()
        except ValueError:
            raise CloudflareError(f"Cloudflare answered HTTP {response.status_code} with a body that is not JSON") from None
        if not isinstance(body, dict):
            raise CloudflareError(f"Cloudflare answered HTTP {response.status_code} with JSON that is not its envelope")
        if body.get("success") is False:
            described, errors = _describe(response)
            raise CloudflareError(f"Cloudflare reported a failure: {described}", status_code=response.status_code, errors=errors)
        return body.get("result")


def _segment(value: str) -> str:
    if not _PATH_SEGMENT.match(value) or ".." in value:
        raise CloudflareError(f"{value!r} cannot be part of a Workers AI URL")
    return value


def _refusal(status: int, described: str, attempt: int) -> str:
    if status in (401, 403):
        return f"Cloudflare refused the API token (HTTP {status}: {described}); check FORMRECAP_CLOUDFLARE_API_TOKEN"
    tries = f" after {attempt} attempts" if attempt > 1 else ""
    return f"Cloudflare Workers AI answered HTTP {status}{tries}: {described}"


# --- the backend --------------------------------------------------------------------------------------------------


class CloudflareBackend:
    name = "cloudflare"

    def __init__(
        self, model_version: ModelVersion | None = None, *, apply_calibration: bool = True, client: CloudflareClient | None = None
    ) -> None:
        model_version = model_version or model_version_active(kind=ModelVersion.Kind.LORA)
        if model_version is None:
            raise BackendUnavailable("no active LoRA adapter: publish one with `python manage.py publish_cloudflare_adapter`")
        if model_version.kind != ModelVersion.Kind.LORA:
            raise BackendUnavailable(f"model version {model_version.pk} is a {model_version.kind} model, not a LoRA adapter")
        deployment = (model_version.deployments or {}).get(DEPLOYMENT_KEY) or {}
        if deployment.get("status") != "published" or not deployment.get("finetune_id"):
            raise BackendUnavailable(
                f"{model_version.label} is not published to Cloudflare Workers AI: "
                f"run `python manage.py publish_cloudflare_adapter --model-version {model_version.pk}`"
            )
        config = CloudflareConfig.from_settings()
        self.model = config.model or deployment["model"]
        try:
            self.family = model_family(deployment.get("base_model") or self.model)
            stored = model_version.verbalized_calibration if apply_calibration else {}
            self.calibration: VerbalizedCalibration | None = VerbalizedCalibration.from_dict(stored)
        except ValueError as exc:
            raise BackendUnavailable(f"{model_version.label} cannot be served from Cloudflare: {exc}") from exc
        self.lora = deployment["finetune_id"]
        self.model_version = model_version
        self.client = client or CloudflareClient(config)

    def verbalized_answers(self, traces: Sequence[Trace]) -> list[VerbalizedAnswer | MalformedAnswer]:
        """One answer per trace, or the MalformedAnswer that says what was wrong with it; a refused or failed request
        raises CloudflareError."""

        def answer(trace: Trace) -> VerbalizedAnswer | MalformedAnswer:
            text = self.client.run(self.model, chat_prompt(self.family, serialise_trace(trace)), self.lora)
            try:
                return parse_answer(text)
            except MalformedAnswer as exc:
                return exc

        return answers_concurrently(answer, traces, concurrency=self.client.config.concurrency)

    def classify_each(self, traces: Sequence[Trace]) -> list[Classification | MalformedAnswer]:
        """A Classification per trace, or the MalformedAnswer in its place (evaluation counts them)."""
        label, pk = self.model_version.label, self.model_version.pk
        return [
            answer
            if isinstance(answer, MalformedAnswer)
            else verbalized_classification(trace, answer, calibration=self.calibration, model_version=label, model_version_id=pk)
            for trace, answer in zip(traces, self.verbalized_answers(traces), strict=True)
        ]

    def classify(self, traces: Sequence[Trace]) -> list[Classification]:
        results = self.classify_each(traces)
        for result in results:
            if isinstance(result, MalformedAnswer):
                raise result
        return results
