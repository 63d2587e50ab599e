"""The model format (DESIGN.md): a system prompt listing the six classes, ``Events: <trace>``,
and an answer whose first token is the class digit, then a JSON line.

A model trained with the class list in the prompt collapses without it, so every record
and every inference request carries the same system prompt.
"""

import json

from classifier.labels import CLASSES

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


def prompt_completion(record: dict, *, system_role: bool = True) -> dict:
    """A stored chat record as TRL's conversational prompt-completion example: the loss is on the completion only,
    which works with any base model's chat template (no {% generation %} markers needed)."""
    *prompt, answer = record["messages"]
    if not system_role and prompt and prompt[0]["role"] == "system":
        system, user = prompt[0], prompt[1]
        prompt = [{"role": "user", "content": f"{system['content']}\n\n{user['content']}"}]
    return {"prompt": prompt, "completion": [answer]}


def chat_record(trace_text: str, code: int, reason: str, confidence: float) -> dict:
    """One SFT example in the conversational format TRL reads (``messages``)."""
    return {"messages": [*prompt_messages(trace_text), {"role": "assistant", "content": answer_text(code, reason, confidence)}]}
