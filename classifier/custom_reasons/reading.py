"""The custom reason of a session's reading: nearest prototypes for the embedded model (and the cascade, whose
first reader is embedded), the reasons in the prompt for LLM backends. Never fails the class reading: an LLM
that cannot answer leaves no custom reason and says why (stored with the prediction's routing)."""

import logging
from dataclasses import dataclass

from formrecap.models import Tenant

from ..backends.base import BackendUnavailable
from ..models import CustomReason
from ..trace import Trace, serialise_trace
from .llm import (
    ANSWER_MAX_TOKENS,
    EXAMPLES_PER_REASON,
    MAX_CANDIDATES,
    ReasonPrompt,
    answer_schema,
    parse_answer,
    parse_json_answer,
    prompt_messages,
    reading_from_log_probs,
)
from .prototypes import MIN_EXAMPLES
from .services import custom_reason_read

logger = logging.getLogger(__name__)
LLM_BACKENDS = ("vllm", "cloudflare", "claude")


@dataclass(frozen=True)
class CustomReading:
    reason_id: int | None = None
    score: float | None = None
    error: str = ""


def custom_reading(*, tenant: Tenant, trace: Trace, code: int, backend) -> CustomReading:
    if getattr(backend, "name", "") not in LLM_BACKENDS:
        reason_id, score = custom_reason_read(tenant=tenant, trace=trace, code=code)
        return CustomReading(reason_id, score)
    reasons = reason_prompts(tenant=tenant, code=code)
    if not reasons:
        return CustomReading()
    try:
        reason_id, score = llm_reading(backend, serialise_trace(trace), code, reasons)
    except BackendUnavailable as exc:  # MalformedAnswer included
        logger.warning("custom reason on %s failed: %s", backend.name, exc)
        return CustomReading(error=str(exc)[:500])
    return CustomReading(reason_id, score)


def reason_prompts(*, tenant: Tenant, code: int) -> list[ReasonPrompt]:
    """The reasons that may apply to class ``code`` (its own, then those with no parent) that have enough examples,
    each with up to EXAMPLES_PER_REASON[1] example traces (the oldest examples first)."""
    from ..selectors import session_trace

    own = CustomReason.objects.for_tenant(tenant).filter(parent_code=code).order_by("name")
    any_class = CustomReason.objects.for_tenant(tenant).filter(parent_code__isnull=True).order_by("name")
    prompts = []
    for reason in [*own, *any_class]:
        if len(prompts) == MAX_CANDIDATES:
            break
        examples = list(reason.examples.select_related("session").order_by("id")[: EXAMPLES_PER_REASON[1]])
        if len(examples) < max(MIN_EXAMPLES, EXAMPLES_PER_REASON[0]):
            continue
        traces = tuple(serialise_trace(session_trace(session=example.session)) for example in examples)
        prompts.append(ReasonPrompt(reason.pk, reason.name, reason.description, traces))
    return prompts


def llm_reading(backend, trace_text: str, code: int, reasons: list[ReasonPrompt]) -> tuple[int | None, float]:
    system, user = prompt_messages(trace_text, code, reasons)
    if backend.name == "vllm":
        return _vllm_reading(backend, system["content"], user["content"], reasons)
    if backend.name == "cloudflare":
        from ..backends.cloudflare import chat_prompt_from

        text = backend.client.run(
            backend.model, chat_prompt_from(backend.family, system["content"], user["content"]), backend.lora
        )
        return parse_answer(text if isinstance(text, str) else str(text), reasons)
    return _claude_reading(backend, system["content"], user, reasons)


def _vllm_reading(backend, system: str, user: str, reasons: list[ReasonPrompt]) -> tuple[int | None, float]:
    from ..backends.vllm import parse_completions
    from ..prompting import supports_system_role

    tokenizer = backend.tokenizer
    turns = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    if not supports_system_role(tokenizer):
        turns = [{"role": "user", "content": f"{system}\n\n{user}"}]
    prompt = tokenizer.apply_chat_template(turns, add_generation_prompt=True, tokenize=False)
    number_ids = [tokenizer.encode(str(n), add_special_tokens=False)[0] for n in range(len(reasons) + 1)]
    body = backend.request_body([prompt], restrict_to_digits=False) | {"allowed_token_ids": number_ids}
    answer = backend.client.post("/v1/completions", body)
    log_probs, _ = parse_completions(answer, prompts=1, digit_ids=number_ids)
    return reading_from_log_probs(log_probs[0], reasons)


def _claude_reading(backend, system: str, user: dict, reasons: list[ReasonPrompt]) -> tuple[int | None, float]:
    import anthropic

    from ..backends.claude import _unavailable
    from ..verbalized import MalformedAnswer

    try:
        message = backend.client.messages.create(
            model=backend.model,
            max_tokens=ANSWER_MAX_TOKENS,
            system=system,
            messages=[user],
            output_config={"format": {"type": "json_schema", "schema": answer_schema(reasons)}},
        )
    except anthropic.APIError as exc:
        raise _unavailable(exc, backend.model) from exc
    text = "".join(block.text for block in message.content if block.type == "text")
    if message.stop_reason not in ("end_turn", "stop_sequence"):
        raise MalformedAnswer(f"the answer stopped with {message.stop_reason!r}", text)
    return parse_json_answer(text, reasons)
