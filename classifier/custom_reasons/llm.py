"""Custom reasons on LLM backends (vllm, cloudflare, claude): the reasons and a few examples of each in the prompt.

The adapters were trained on the six-class prompt, so the class reading stays as it was; the custom reason is a
second, short request per session whose prompt always lists the six classes (an adapter without its class list
collapses), then the reasons that may apply to the session's class, numbered, with "0 none", and 2-5 examples of
each as traces. The answer format is strict: the reason's number on the first line, then a JSON object
``{"custom_reason": name or null, "confidence": 0.0-1.0}`` (claude answers the JSON alone, through a schema).

vllm reads the probability of each number from the first token's log-probs (restricted to the numbers); the
others state a confidence, which scores the answered reason.
"""

import json
from dataclasses import dataclass

import numpy as np

from ..labels import CLASSES
from ..readout import renormalise
from ..verbalized import DIGIT_LINE, MalformedAnswer, answer_lines

MAX_CANDIDATES = 9  # one digit each, 0 is "none"
EXAMPLES_PER_REASON = (2, 5)
EXAMPLE_TRACE_CHARS = 600
ANSWER_MAX_TOKENS = 64


@dataclass(frozen=True)
class ReasonPrompt:
    reason_id: int
    name: str
    description: str
    examples: tuple[str, ...]  # terse traces


def class_list() -> str:
    return "\n".join(f"{code} {name}" for code, name in CLASSES.items())


def system_prompt(code: int, reasons: list[ReasonPrompt]) -> str:
    lines = [
        "You classify why a visitor abandoned a web form, from a trace of their interactions.",
        "Classes:",
        class_list(),
        "",
        f"This session was read as class {code} {CLASSES[code]}. The site owner defined these custom reasons:",
        "0 none: none of the reasons below fits",
    ]
    lines += [f"{n} {reason.name}: {reason.description or '(no description)'}" for n, reason in enumerate(reasons, 1)]
    lines += ["", "Examples:"]
    for n, reason in enumerate(reasons, 1):
        for example in reason.examples:
            # The end of a long trace is kept: where the visitor stopped is what tells reasons apart.
            lines += [f"Events: {example[-EXAMPLE_TRACE_CHARS:]}", f"Reason: {n} {reason.name}"]
    lines += [
        "",
        f"Answer with the reason number (0-{len(reasons)}) on the first line, then a JSON object "
        '{"custom_reason": the reason name or null, "confidence": 0.0-1.0} on the second line.',
    ]
    return "\n".join(lines)


def prompt_messages(trace_text: str, code: int, reasons: list[ReasonPrompt]) -> list[dict]:
    return [
        {"role": "system", "content": system_prompt(code, reasons)},
        {"role": "user", "content": f"Events: {trace_text}"},
    ]


def answer_schema(reasons: list[ReasonPrompt]) -> dict:
    """claude's structured output: the reason name (or "none") and a confidence."""
    return {
        "type": "object",
        "properties": {
            "custom_reason": {"type": "string", "enum": ["none", *(reason.name for reason in reasons)]},
            "confidence": {"type": "number"},
        },
        "required": ["custom_reason", "confidence"],
        "additionalProperties": False,
    }


def parse_answer(text: str, reasons: list[ReasonPrompt]) -> tuple[int | None, float]:
    """(reason id or None, stated confidence) from the digit line and JSON line; MalformedAnswer names what is wrong."""
    if not isinstance(text, str):
        raise MalformedAnswer("the answer has no text", repr(text))
    lines = answer_lines(text)
    if len(lines) < 2:
        raise MalformedAnswer("expected the reason number, then a JSON line", text)
    digit = DIGIT_LINE.match(lines[0])
    if digit is None:
        raise MalformedAnswer("the first line is not a reason number", text)
    number = int(digit.group(1))
    if number > len(reasons):
        raise MalformedAnswer(f"reason number {number} is not one of 0-{len(reasons)}", text)
    try:
        payload = json.loads(lines[1])
    except json.JSONDecodeError as exc:
        raise MalformedAnswer(f"the second line is not JSON ({exc.msg})", text) from None
    return _checked(payload, number, reasons, text)


def parse_json_answer(text: str, reasons: list[ReasonPrompt]) -> tuple[int | None, float]:
    """The JSON-only answer (claude's schema): {"custom_reason": name or "none", "confidence": p}."""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedAnswer(f"not JSON ({exc.msg})", text) from None
    if not isinstance(payload, dict):
        raise MalformedAnswer("not a JSON object", text)
    names = [reason.name for reason in reasons]
    named = payload.get("custom_reason")
    number = 0 if named in (None, "none") else (names.index(named) + 1 if named in names else -1)
    if number < 0:
        raise MalformedAnswer(f"custom_reason {named!r} is not one of the listed reasons", text)
    return _checked({**payload, "custom_reason": None if number == 0 else named}, number, reasons, text)


def _checked(payload, number: int, reasons: list[ReasonPrompt], text: str) -> tuple[int | None, float]:
    if not isinstance(payload, dict):
        raise MalformedAnswer("the JSON line is not an object", text)
    expected = None if number == 0 else reasons[number - 1].name
    if payload.get("custom_reason") != expected:
        raise MalformedAnswer(f"custom_reason {payload.get('custom_reason')!r} disagrees with number {number}", text)
    confidence = payload.get("confidence")
    if not isinstance(confidence, int | float) or isinstance(confidence, bool) or not 0.0 <= confidence <= 1.0:
        raise MalformedAnswer(f"confidence {confidence!r} is not a number in 0-1", text)
    return (None if number == 0 else reasons[number - 1].reason_id), float(confidence)


def reading_from_log_probs(log_probs: np.ndarray, reasons: list[ReasonPrompt]) -> tuple[int | None, float]:
    """(reason id or None, its probability) from the first token's log-probs over the numbers 0..len(reasons)."""
    probabilities = np.exp(renormalise(np.asarray(log_probs, dtype=float)[None, :])[0])
    best = int(np.argmax(probabilities))
    return (None if best == 0 else reasons[best - 1].reason_id), float(probabilities[best])
