"""The custom reason of a session's reading: nearest prototypes for the embedded model (and the cascade, whose
first reader is embedded), the reasons in the prompt for LLM backends. Never fails the class reading: an LLM
that cannot answer leaves no custom reason and says why (stored with the prediction's routing)."""

import logging
from dataclasses import dataclass

from formrecap.models import Tenant

from ..backends.base import Backend, BackendUnavailable
from ..trace import Trace, serialise_trace
from .llm import (
    ANSWER_MAX_TOKENS,
    ReasonPrompt,
    answer_schema,
    parse_answer,
    parse_json_answer,
    prompt_messages,
    reading_from_log_probs,
)
from .selectors import custom_reason_prompts, custom_reason_read

logger = logging.getLogger(__name__)
LLM_BACKENDS = ("vllm", "cloudflare", "claude")


@dataclass(frozen=True)
class CustomReading:
    reason_id: int | None = None
    score: float | None = None
    error: str = ""


def custom_reading(*, tenant: Tenant, trace: Trace, code: int, backend: Backend) -> CustomReading:
    """The session's best custom reason for its class ``code``, read the way its backend reads."""
    try:
        if backend.name not in LLM_BACKENDS:
            return CustomReading(*custom_reason_read(tenant=tenant, trace=trace, code=code))
        reasons = custom_reason_prompts(tenant=tenant, code=code)
        if not reasons:
            return CustomReading()
        return CustomReading(*llm_reading(backend, serialise_trace(trace), code, reasons))
    except BackendUnavailable as exc:  # MalformedAnswer included
        logger.warning("custom reason on %s failed: %s", backend.name, exc)
        return CustomReading(error=str(exc)[:500])
    except Exception as exc:  # noqa: BLE001 - the class reading is stored whatever goes wrong here
        logger.exception("custom reason of tenant %s failed", tenant.pk)
        return CustomReading(error=f"{type(exc).__name__}: {exc}"[:500])


def llm_reading(backend: Backend, trace_text: str, code: int, reasons: list[ReasonPrompt]) -> tuple[int | None, float | None]:
    """(reason id, its probability or stated confidence), or (None, None), from the backend's answer."""
    system, user = prompt_messages(trace_text, code, reasons)
    if backend.name == "vllm":
        reading = _vllm_reading(backend, system["content"], user["content"], reasons)
    elif backend.name == "cloudflare":
        from ..backends.cloudflare import chat_prompt_from

        prompt = chat_prompt_from(backend.family, system["content"], user["content"])
        reading = parse_answer(backend.client.run(backend.model, prompt, backend.lora), reasons)
    elif backend.name == "claude":
        reading = _claude_reading(backend, system["content"], user, reasons)
    else:
        raise BackendUnavailable(f"custom reasons are not read by the {backend.name} backend")
    return reading if reading[0] is not None else (None, None)


def _vllm_reading(backend, system: str, user: str, reasons: list[ReasonPrompt]) -> tuple[int | None, float]:
    from ..backends.vllm import parse_completions
    from ..prompting import supports_system_role

    tokenizer = backend.tokenizer
    turns = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    if not supports_system_role(tokenizer):
        turns = [{"role": "user", "content": f"{system}\n\n{user}"}]
    prompt = tokenizer.apply_chat_template(turns, add_generation_prompt=True, tokenize=False)
    number_ids = []
    for number in range(len(reasons) + 1):
        encoded = tokenizer.encode(str(number), add_special_tokens=False)
        if len(encoded) != 1:  # the read-out takes one token per number
            raise BackendUnavailable(f"the adapter's tokenizer splits the number {number} into {len(encoded)} tokens")
        number_ids.append(encoded[0])
    body = backend.request_body([prompt], restrict_to_digits=False) | {"allowed_token_ids": number_ids}
    answer = backend.client.post("/v1/completions", body)
    log_probs, _ = parse_completions(answer, prompts=1, digit_ids=number_ids)
    return reading_from_log_probs(log_probs[0], reasons)


def _claude_reading(backend, system: str, user: dict, reasons: list[ReasonPrompt]) -> tuple[int | None, float]:
    import anthropic

    from ..backends.claude import api_error_unavailable
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
        raise api_error_unavailable(exc, backend.model) from exc
    text = "".join(block.text for block in message.content if block.type == "text")
    if message.stop_reason not in ("end_turn", "stop_sequence"):
        raise MalformedAnswer(f"the answer stopped with {message.stop_reason!r}", text)
    return parse_json_answer(text, reasons)
