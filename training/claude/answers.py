"""Reading one Claude answer: schema validation (each failure has a countable reason) and timing jitter."""

import json
import random
import re
from dataclasses import dataclass, replace

from classifier.labels import CLASSES
from classifier.trace import Trace, TraceError, parse_trace

from .prompts import MAX_TRACE_TOKENS

ANSWER_KEYS = ("trace", "class", "reason", "confidence")
_FENCE = re.compile(r"^```[a-z]*\s*|\s*```$")


@dataclass(frozen=True)
class Answer:
    trace: Trace
    cls: str
    reason: str
    confidence: float


class InvalidAnswer(ValueError):
    """An answer that cannot be used; ``reason`` is the short key it is counted under in the manifest."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def read_answer(text: str, *, stop_reason: str | None, target: str) -> Answer:
    if stop_reason == "max_tokens":
        raise InvalidAnswer("truncated", "the answer hit max_tokens")
    data = _parse_json(text)
    missing = [key for key in ANSWER_KEYS if key not in data]
    if missing:
        raise InvalidAnswer("missing_keys", f"missing {', '.join(missing)}")
    cls = data["class"]
    if cls not in CLASSES.values():
        raise InvalidAnswer("unknown_class", f"{cls!r} is not one of the six classes")
    # Zero-shot Claude is a poor classifier of traces (DESIGN.md); the class it was asked to write is the label,
    # and an answer that calls its own trace something else is too ambiguous to keep.
    if cls != target:
        raise InvalidAnswer("class_mismatch", f"asked for {target}, answered {cls}")
    reason = data["reason"]
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidAnswer("bad_reason", "reason must be a non-empty string")
    confidence = data["confidence"]
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0.0 <= confidence <= 1.0:
        raise InvalidAnswer("bad_confidence", f"confidence {confidence!r} is not a number in [0, 1]")
    try:
        trace = parse_trace(data["trace"])
    except TraceError as exc:
        raise InvalidAnswer("trace_unparseable", str(exc)) from None
    if len(trace.tokens) > MAX_TRACE_TOKENS:
        raise InvalidAnswer("trace_too_long", f"{len(trace.tokens)} tokens, at most {MAX_TRACE_TOKENS}")
    if trace.tokens[-1].kind not in ("exit", "submit"):
        raise InvalidAnswer("trace_bad_ending", f"ends in {trace.tokens[-1].kind}, not exit or submit")
    return Answer(trace, cls, reason.strip(), float(confidence))


def _parse_json(text: str) -> dict:
    """The first JSON value in the text, tolerating a code fence or a lead-in sentence around it."""
    text = _FENCE.sub("", text.strip())
    start = text.find("{")
    if start < 0:
        raise InvalidAnswer("not_json", "no JSON object in the answer")
    try:
        data, _ = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise InvalidAnswer("not_json", str(exc)) from None
    if not isinstance(data, dict):
        raise InvalidAnswer("not_json", "the answer is not a JSON object")
    return data


def jitter_trace(trace: Trace, rng: random.Random) -> Trace:
    """Scroll durations ±20% and keystroke runs ±1-2 (never below 1), so repeats of one idea differ in numbers.

    Single input events are left alone: for a bot, ``input:email`` is one injected value, not one keystroke.
    """
    tokens = []
    for token in trace.tokens:
        if token.kind == "scroll" and token.duration_ms:
            token = replace(token, duration_ms=max(1, round(token.duration_ms * rng.uniform(0.8, 1.2))))
        elif token.kind == "input" and token.count > 1:
            token = replace(token, count=max(1, token.count + rng.choice((-2, -1, 1, 2))))
        tokens.append(token)
    return Trace(tuple(tokens))
