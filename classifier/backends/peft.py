"""The local PEFT backend: a registered LoRA adapter on its base model, read out by first-token digit log-probs.

Used by ``evaluate`` / ``classify_traces --backend peft [--model-version ID]`` and by sites configured for it.
Probabilities are softmax(log-probs / T) with the adapter's fitted temperature: calibrated.
"""

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from training.models import ModelVersion
from training.selectors import model_version_active

from ..readout import digit_log_probs, digit_probabilities, load_adapter
from ..trace import Trace, serialise_trace
from .base import BackendUnavailable, Classification, calibrated_classifications


@lru_cache(maxsize=2)
def _load(artifact_uri: str):
    return load_adapter(Path(artifact_uri))


class PeftBackend:
    name = "peft"

    def __init__(self, model_version: ModelVersion | None = None) -> None:
        model_version = model_version or model_version_active(kind=ModelVersion.Kind.LORA)
        if model_version is None:
            raise BackendUnavailable(
                "no active LoRA adapter: train one with `python manage.py train_adapter`, or pass --model-version"
            )
        if model_version.kind != ModelVersion.Kind.LORA:
            raise BackendUnavailable(f"model version {model_version.pk} is a {model_version.kind} model, not a LoRA adapter")
        try:
            self.model, self.tokenizer = _load(model_version.artifact_uri)
        except ImportError as exc:
            raise BackendUnavailable(f"the PEFT backend needs the ML requirements (requirements/ml.txt): {exc}") from exc
        except (OSError, ValueError) as exc:
            raise BackendUnavailable(f"adapter {model_version.label} cannot be loaded: {exc}") from exc
        self.model_version = model_version

    def classify(self, traces: Sequence[Trace]) -> list[Classification]:
        log_probs = digit_log_probs(self.model, self.tokenizer, [serialise_trace(t) for t in traces])
        probabilities = digit_probabilities(log_probs, self.model_version.temperature)
        return calibrated_classifications(traces, probabilities, self.model_version)
