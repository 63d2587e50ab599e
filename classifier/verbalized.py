"""Verbalized answers (backends with no log-probs): reading the model format, and the confidence a model states
turned into six class probabilities, raw or through a fitted calibration map (training/verbalized.py fits it).

The model format (DESIGN.md): the first line is the class digit, the second a JSON object
``{"class": ..., "reason": ..., "confidence": 0.0-1.0}``. One stated number says nothing about how the other five
classes rank, so they share the rest of the mass equally.
"""

import json
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .backends.base import BackendUnavailable, Classification, Explanation
from .labels import CLASSES, CODES
from .trace import Trace

# The answered class never gets less than chance: below 1/6 it would no longer be the most probable class, and
# evaluation reads the prediction as the top probability. A hair above 1/6, so it also wins the tie.
CHANCE_FLOOR = 1 / len(CLASSES) + 1e-6
_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*$")
DIGIT_LINE = re.compile(r"^\s*(\d)\s*$")


class MalformedAnswer(BackendUnavailable):
    """A model answer that is not in the model format; ``answer`` is the raw text.

    A BackendUnavailable, so every caller of a backend already turns it into a clear error (a 503, a bounded task
    retry, a command error) rather than a 500; evaluation asks for ``classify_each`` and counts them instead."""

    def __init__(self, problem: str, answer: str) -> None:
        shown = answer if len(answer) <= 200 else answer[:200] + "…"
        super().__init__(f"malformed answer: {problem} (answer: {shown!r})")
        self.problem, self.answer = problem, answer


@dataclass(frozen=True)
class VerbalizedAnswer:
    code: int
    confidence: float  # as stated, 0-1
    reason: str = ""

    @property
    def label(self) -> str:
        return CLASSES[self.code]


def answer_lines(text: str) -> list[str]:
    """The answer's non-empty lines, code-fence lines (``` or ```json) dropped: models wrap either part in them."""
    return [line for line in text.strip().splitlines() if line.strip() and not _FENCE.match(line)]


def parse_answer(text: str) -> VerbalizedAnswer:
    """The digit line and the JSON line of a model-format answer; anything else raises MalformedAnswer.

    Whitespace and code fences are tolerated, as is text after the JSON object (a model that does not stop);
    a missing digit, a JSON object that is not there or not readable, or a digit and a class that disagree are not.
    """
    if not isinstance(text, str):
        raise MalformedAnswer(f"expected text, got {type(text).__name__}", str(text))
    lines = answer_lines(text)
    if not lines:
        raise MalformedAnswer("empty answer", text)
    digit = DIGIT_LINE.match(lines[0])
    if digit is None:
        raise MalformedAnswer("the first line is not a class digit", text)
    code = int(digit[1])
    if code not in CLASSES:
        raise MalformedAnswer(f"class digit {code} is not 1-6", text)
    rest = "\n".join(lines[1:])
    start = rest.find("{")
    if start < 0:
        raise MalformedAnswer("no JSON object after the class digit", text)
    try:
        payload, _ = json.JSONDecoder().raw_decode(rest[start:])
    except json.JSONDecodeError as exc:
        raise MalformedAnswer(f"the JSON line does not parse ({exc.msg})", text) from None
    if not isinstance(payload, dict):
        raise MalformedAnswer("the JSON line is not an object", text)
    answer = answer_from_json(payload, text)
    if answer.code != code:
        raise MalformedAnswer(f"the digit {code} ({CLASSES[code]}) and the JSON class {answer.label!r} disagree", text)
    return answer


def answer_from_json(payload: dict, text: str) -> VerbalizedAnswer:
    """A {"class", "confidence"[, "reason"]} object (the model format's JSON line, or a strict-JSON answer)."""
    name = payload.get("class")
    if not isinstance(name, str) or name not in CODES:
        raise MalformedAnswer(f"unknown class {name!r}", text)
    confidence = payload.get("confidence")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not 0.0 <= confidence <= 1.0:
        raise MalformedAnswer(f"confidence {confidence!r} is not a number from 0 to 1", text)
    reason = payload.get("reason", "")
    return VerbalizedAnswer(code=CODES[name], confidence=float(confidence), reason=reason if isinstance(reason, str) else "")


def verbalized_probabilities(code: int, confidence: float) -> np.ndarray:
    """Six probabilities (codes 1..6): ``confidence`` on ``code`` (at least chance), the rest shared equally."""
    top = float(np.clip(confidence, CHANCE_FLOOR, 1.0))
    row = np.full(len(CLASSES), (1.0 - top) / (len(CLASSES) - 1))
    row[code - 1] = top
    return row


@dataclass(frozen=True)
class VerbalizedCalibration:
    """A monotone map stated confidence -> P(correct), piecewise linear between knots (isotonic regression's
    step values), constant beyond the first and last knot."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    @classmethod
    def from_dict(cls, stored: dict) -> "VerbalizedCalibration | None":
        """The map stored on a model version, or None when none was fitted; a damaged one raises ValueError."""
        if not stored:
            return None
        x, y = stored.get("x"), stored.get("y")
        if not isinstance(x, list) or not isinstance(y, list) or not x or len(x) != len(y):
            raise ValueError("a verbalized calibration map needs equal, non-empty 'x' and 'y' lists")
        xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if np.any(np.diff(xs) < 0) or np.any((ys < 0) | (ys > 1)):
            raise ValueError("a verbalized calibration map needs increasing 'x' and 'y' values within 0-1")
        return cls(tuple(xs.tolist()), tuple(ys.tolist()))

    def __call__(self, confidence: float) -> float:
        return float(np.interp(confidence, self.x, self.y))


def verbalized_classification(
    trace: Trace,
    answer: VerbalizedAnswer,
    *,
    calibration: VerbalizedCalibration | None,
    model_version: str,
    model_version_id: int | None,
) -> Classification:
    """The Classification of a verbalized answer: calibrated only through a fitted map; the model's own reason
    with the rule-based evidence for its class."""
    from .explain import explain

    confidence = calibration(answer.confidence) if calibration is not None else answer.confidence
    evidence = explain(trace, answer.code)
    return Classification(
        code=answer.code,
        probabilities=tuple(float(p) for p in verbalized_probabilities(answer.code, confidence)),
        calibrated=calibration is not None,
        model_version=model_version,
        model_version_id=model_version_id,
        explanation=Explanation(signals=evidence.signals, reason=answer.reason or evidence.reason),
    )


_NOT_SENT = object()


def answers_concurrently(
    answer_one: Callable[[Trace], "VerbalizedAnswer | MalformedAnswer"], traces: Sequence[Trace], *, concurrency: int
) -> list["VerbalizedAnswer | MalformedAnswer"]:
    """``answer_one`` for every trace, ``concurrency`` requests at a time, in trace order (remote APIs answer one
    prompt per request). The first BackendUnavailable it raises (a refused key, a server down) is raised here, and
    the requests not yet sent are not sent: a bad token would otherwise be tried once per trace."""
    failed = threading.Event()

    def guarded(trace: Trace):
        if failed.is_set():
            return _NOT_SENT
        try:
            return answer_one(trace)
        except BackendUnavailable:
            failed.set()
            raise

    if not traces:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(traces)))) as pool:
        futures = [pool.submit(guarded, trace) for trace in traces]
    for future in futures:
        if future.exception() is not None:
            raise future.exception()
    return [future.result() for future in futures]
