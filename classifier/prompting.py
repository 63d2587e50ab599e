"""The prompt every LoRA adapter is trained and queried with (DESIGN.md, "Model output format").

A system prompt listing the six classes, ``Events: <trace>``, and an answer whose first token is the
class digit, then a JSON line. A model trained with the class list in the prompt collapses without it,
so training records and every inference request (in-process PEFT, vLLM, Cloudflare) are built here.
"""

import json
from collections.abc import Sequence

from .labels import CLASSES

SYSTEM_PROMPT = (
    "You classify why a visitor abandoned a web form, from a trace of their interactions.\n"
    "Classes:\n"
    + "\n".join(f"{code} {name}" for code, name in CLASSES.items())
    + "\nAnswer with the class digit on the first line, then a JSON object "
    '{"class": ..., "reason": ..., "confidence": 0.0-1.0} on the second line.'
)


def user_message(trace_text: str) -> str:
    return f"Events: {trace_text}"


def answer_text(code: int, reason: str, confidence: float) -> str:
    """The answer an adapter is taught to give: the digit line, then the JSON line."""
    payload = {"class": CLASSES[code], "reason": reason, "confidence": round(float(confidence), 2)}
    return f"{code}\n{json.dumps(payload)}"


def prompt_messages(trace_text: str, *, system_role: bool = True) -> list[dict]:
    """The prompt turns; for chat templates that refuse a system role (Gemma) the class list leads the user turn."""
    if not system_role:
        return [{"role": "user", "content": f"{SYSTEM_PROMPT}\n\n{user_message(trace_text)}"}]
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user_message(trace_text)}]


def supports_system_role(tokenizer) -> bool:
    try:
        tokenizer.apply_chat_template([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}], tokenize=False)
    except Exception:  # noqa: BLE001 - jinja raises TemplateError (or a ValueError) for templates without one
        return False
    return True


def chat_prompts(tokenizer, trace_texts: Sequence[str]) -> list[str]:
    """Each trace's prompt as text, through the tokenizer's chat template, ending where the answer's digit goes.

    The text already holds the template's special tokens (BOS included): tokenize it with
    ``add_special_tokens=False``, or the model sees a second BOS it never saw in training.
    """
    system_role = supports_system_role(tokenizer)
    return [
        tokenizer.apply_chat_template(prompt_messages(text, system_role=system_role), add_generation_prompt=True, tokenize=False)
        for text in trace_texts
    ]
