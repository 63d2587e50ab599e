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


def prompt_messages(trace_text: str) -> list[dict]:
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user_message(trace_text)}]


def chat_record(trace_text: str, code: int, reason: str, confidence: float) -> dict:
    """One SFT example in the conversational format TRL reads (``messages``)."""
    return {"messages": [*prompt_messages(trace_text), {"role": "assistant", "content": answer_text(code, reason, confidence)}]}


def parse_answer(text: str) -> tuple[int | None, dict | None]:
    """(digit, JSON object) from a generated answer; None for a part that does not parse."""
    lines = text.strip().splitlines()
    code = int(lines[0].strip()[:1]) if lines and lines[0].strip()[:1] in "123456" and lines[0].strip()[:1] else None
    payload = None
    if len(lines) > 1:
        try:
            candidate = json.loads(lines[1])
            payload = candidate if isinstance(candidate, dict) else None
        except ValueError:
            payload = None
    return code, payload
