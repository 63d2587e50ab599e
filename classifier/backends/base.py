"""What every classification backend returns, and the interface it implements."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..labels import CLASSES
from ..trace import Trace


@dataclass(frozen=True)
class Explanation:
    signals: list[str]  # the evidence, strongest first, in operator words
    reason: str  # one sentence

    def as_dict(self) -> dict:
        return {"signals": self.signals, "reason": self.reason}


@dataclass(frozen=True)
class Classification:
    code: int
    probabilities: tuple[float, ...]  # six values for codes 1..6, summing to 1
    calibrated: bool
    model_version: str  # e.g. "embedded-lr:v3"
    model_version_id: int | None
    explanation: Explanation = field(default_factory=lambda: Explanation([], ""))
    # Which backend answered and why, where a router chose (the cascade): {"answered_by", "reason", …}
    routing: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return CLASSES[self.code]

    @property
    def confidence(self) -> float:
        return self.probabilities[self.code - 1]

    def probabilities_by_code(self) -> dict[str, float]:
        return {str(code): round(p, 6) for code, p in zip(CLASSES, self.probabilities, strict=True)}


class Backend(Protocol):
    name: str

    def classify(self, traces: Sequence[Trace]) -> list[Classification]: ...


class BackendUnavailable(RuntimeError):
    """The backend cannot classify right now (no active model, remote service down, …)."""


def calibrated_classifications(traces: Sequence[Trace], probabilities, model_version) -> list[Classification]:
    """One Classification per trace from calibrated class probabilities (rows: codes 1..6), with its explanation."""
    from ..explain import explain

    results = []
    for trace, row in zip(traces, probabilities, strict=True):
        code = int(row.argmax()) + 1
        results.append(
            Classification(
                code=code,
                probabilities=tuple(float(p) for p in row),
                calibrated=True,
                model_version=model_version.label,
                model_version_id=model_version.pk,
                explanation=explain(trace, code),
            )
        )
    return results
