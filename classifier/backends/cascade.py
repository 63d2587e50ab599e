"""The `cascade` backend: the embedded model reads every trace first (in-process, a fraction of a millisecond); a
trace whose top calibrated probability is below the site's threshold is asked again of the site's LLM backend
(vllm, cloudflare or peft). When that backend cannot answer (down, breaker open, no active adapter, a malformed
answer) the embedded answer stands. Every Classification records which backend answered and why (``routing``),
so an operator can see what the escalation cost and what it changed.

    CascadeBackend(threshold=0.8, escalate_to="vllm").classify(traces)
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from ..trace import Trace
from .base import Backend, BackendUnavailable, Classification

logger = logging.getLogger(__name__)

# The backends a cascade may escalate to: the serving LLM backends (not itself, not the baselines).
ESCALATION_BACKENDS = ("vllm", "cloudflare", "peft")


class CascadeBackend:
    name = "cascade"

    def __init__(
        self,
        *,
        threshold: float,
        escalate_to: str,
        first: Backend | None = None,
        second: Callable[[], Backend] | None = None,
    ) -> None:
        from . import get_backend

        if escalate_to not in ESCALATION_BACKENDS:
            raise BackendUnavailable(f"a cascade escalates to one of {', '.join(ESCALATION_BACKENDS)}, not {escalate_to!r}")
        if not 0.0 <= threshold <= 1.0:
            raise BackendUnavailable(f"a cascade threshold is a probability between 0 and 1, got {threshold}")
        self.first = first if first is not None else get_backend("embedded")
        self.model_version = self.first.model_version  # the model that reads everything; the LLM only some
        self.threshold = threshold
        self.escalate_to = escalate_to
        # built only when a trace needs it: a site whose traces are all clear never loads or calls the LLM
        self._second = second or (lambda: get_backend(escalate_to))

    def classify(self, traces: Sequence[Trace]) -> list[Classification]:
        firsts = self.first.classify(traces)
        first = self.first.name
        results = [
            replace(c, routing=_routing(first, f"{first} confidence {c.confidence:.2f} ≥ {self.threshold:.2f}")) for c in firsts
        ]
        unsure = [i for i, c in enumerate(firsts) if c.confidence < self.threshold]
        if not unsure:
            return results
        why = f"{first} confidence below {self.threshold:.2f}"
        try:
            answers = self._second().classify([traces[i] for i in unsure])
        except BackendUnavailable as exc:
            failure = f"{self.escalate_to} unavailable: {exc}"
        except Exception as exc:  # whatever went wrong there, the site keeps getting the embedded answer
            logger.exception("cascade: %s failed on %d traces", self.escalate_to, len(unsure))
            failure = f"{self.escalate_to} failed: {type(exc).__name__}: {exc}"
        else:
            for i, answer in zip(unsure, answers, strict=True):
                # Stored under the cascade's own model (the embedded one that read everything), so a session keeps one
                # cascade reading however its answer moves between models; the answering model is in the routing.
                routing = _routing(self.escalate_to, why, first=firsts[i]) | {"model_version": answer.model_version}
                results[i] = replace(
                    answer, model_version=firsts[i].model_version, model_version_id=firsts[i].model_version_id, routing=routing
                )
            return results
        for i in unsure:
            results[i] = replace(firsts[i], routing=_routing(first, f"{why}; {failure[:300]}", first=firsts[i]))
        return results


def _routing(answered_by: str, reason: str, *, first: Classification | None = None) -> dict:
    routing = {"answered_by": answered_by, "reason": reason}
    if first is not None:
        routing["escalated"] = True
        routing["first"] = {"class": first.label, "confidence": round(first.confidence, 4), "model_version": first.model_version}
    return routing
