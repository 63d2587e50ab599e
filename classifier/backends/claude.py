"""Zero-shot baseline: Claude through the Anthropic Messages API, no adapter, strict JSON output.

The published write-up found general-purpose models (Claude Haiku among them) at macro-F1 0.06-0.11 on this task;
this backend lets ``evaluate`` / ``compare_models`` reproduce that row on any dataset. Claude sees the six classes
(the same list as the adapters), what the trace tokens mean, and must answer ``{"class", "confidence"}`` in a JSON
schema the API enforces. The confidence is what Claude says: flagged uncalibrated.
"""

import json
import os
from collections.abc import Sequence

import anthropic
from django.conf import settings

from training.lora.prompt import user_message

from ..labels import CLASSES
from ..trace import Trace, serialise_trace
from ..verbalized import MalformedAnswer, VerbalizedAnswer, answer_from_json, answers_concurrently, verbalized_classification
from .base import BackendUnavailable, Classification

ANSWER_MAX_TOKENS = 64  # {"class": "comparison_shopping", "confidence": 0.85} is about 20 tokens
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"class": {"type": "string", "enum": list(CLASSES.values())}, "confidence": {"type": "number"}},
    "required": ["class", "confidence"],
    "additionalProperties": False,
}
SYSTEM_PROMPT = (
    "You classify why a visitor abandoned a web form, from a trace of their interactions.\n"
    "Classes:\n"
    + "\n".join(f"{code} {name}" for code, name in CLASSES.items())
    # A general model cannot know the trace language; the adapters learnt it from examples.
    + "\nThe trace is a comma-separated list of events: focus:FIELD, blur:FIELD, input:FIELD(xN) for N keystrokes, "
    "blur:FIELD(REASON) when the field failed validation, scroll:page(Nms) when the visitor scrolled or sat idle "
    "for N ms, exit when the page was left, submit.\n"
    'Answer with a JSON object {"class": the class name, "confidence": the probability, 0.0-1.0, that it is right}.'
)


def anthropic_client(*, timeout_s: float, max_retries: int) -> anthropic.Anthropic:
    """The real client; its own retries cover 429 (honouring retry-after), 5xx and connection errors."""
    api_key = os.environ.get("ANTHROPIC_API_KEY")
    if not api_key:
        raise BackendUnavailable("the claude baseline calls the Anthropic API and needs ANTHROPIC_API_KEY")
    return anthropic.Anthropic(api_key=api_key, timeout=timeout_s, max_retries=max_retries)


def api_error_unavailable(exc: anthropic.APIError, model: str) -> BackendUnavailable:
    if isinstance(exc, anthropic.AuthenticationError | anthropic.PermissionDeniedError):
        return BackendUnavailable(f"the Anthropic API refused the key (HTTP {exc.status_code}); check ANTHROPIC_API_KEY")
    if isinstance(exc, anthropic.RateLimitError):
        return BackendUnavailable("the Anthropic API is rate limiting, still after the client's retries; try again later")
    if isinstance(exc, anthropic.APITimeoutError):
        return BackendUnavailable("the Anthropic API did not answer in time (FORMRECAP_CLAUDE_BASELINE_TIMEOUT_SECONDS)")
    if isinstance(exc, anthropic.APIConnectionError):
        return BackendUnavailable(f"cannot reach the Anthropic API: {exc}")
    if isinstance(exc, anthropic.NotFoundError):
        return BackendUnavailable(f"the Anthropic API knows no model {model!r} (FORMRECAP_CLAUDE_BASELINE_MODEL)")
    status = getattr(exc, "status_code", "?")
    return BackendUnavailable(f"the Anthropic API answered HTTP {status}: {exc}")


class ClaudeBackend:
    name = "claude"

    def __init__(self, model_version=None, *, client: anthropic.Anthropic | None = None) -> None:
        if model_version is not None:
            raise BackendUnavailable("the claude baseline is a general model with no adapter: it takes no --model-version")
        self.model = settings.FORMRECAP_CLAUDE_BASELINE_MODEL
        self.concurrency = max(1, settings.FORMRECAP_CLAUDE_BASELINE_CONCURRENCY)
        self.client = client or anthropic_client(
            timeout_s=settings.FORMRECAP_CLAUDE_BASELINE_TIMEOUT_SECONDS,
            max_retries=settings.FORMRECAP_CLAUDE_BASELINE_MAX_RETRIES,
        )
        self.label = f"claude:{self.model}"

    def _answer(self, trace: Trace) -> VerbalizedAnswer | MalformedAnswer:
        try:
            message = self.client.messages.create(
                model=self.model,
                max_tokens=ANSWER_MAX_TOKENS,
                system=SYSTEM_PROMPT,
                messages=[{"role": "user", "content": user_message(serialise_trace(trace))}],
                output_config={"format": {"type": "json_schema", "schema": ANSWER_SCHEMA}},
            )
        except anthropic.APIError as exc:
            raise api_error_unavailable(exc, self.model) from exc
        text = "".join(block.text for block in message.content if block.type == "text")
        if message.stop_reason not in ("end_turn", "stop_sequence"):
            # A refusal or a cut-off answer: the schema only holds for answers that finished.
            return MalformedAnswer(f"the answer stopped with {message.stop_reason!r}", text)
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            return MalformedAnswer(f"not JSON ({exc.msg})", text)
        if not isinstance(payload, dict):
            return MalformedAnswer("not a JSON object", text)
        try:
            return answer_from_json(payload, text)
        except MalformedAnswer as exc:
            return exc

    def verbalized_answers(self, traces: Sequence[Trace]) -> list[VerbalizedAnswer | MalformedAnswer]:
        """One answer per trace, or its MalformedAnswer; an API failure raises BackendUnavailable."""
        return answers_concurrently(self._answer, traces, concurrency=self.concurrency)

    def classify_each(self, traces: Sequence[Trace]) -> list[Classification | MalformedAnswer]:
        return [
            answer
            if isinstance(answer, MalformedAnswer)
            else verbalized_classification(trace, answer, calibration=None, model_version=self.label, model_version_id=None)
            for trace, answer in zip(traces, self.verbalized_answers(traces), strict=True)
        ]

    def classify(self, traces: Sequence[Trace]) -> list[Classification]:
        results = self.classify_each(traces)
        for result in results:
            if isinstance(result, MalformedAnswer):
                raise result
        return results
