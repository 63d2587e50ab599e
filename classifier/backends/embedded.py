"""The embedded backend: the active embedded model version, on the CPU, in-process."""

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from training.models import ModelVersion
from training.selectors import model_version_active

from ..embedded_model import EmbeddedModel
from ..trace import Trace
from .base import BackendUnavailable, Classification, calibrated_classifications


@lru_cache(maxsize=4)
def _load(artifact_uri: str, temperature: float) -> EmbeddedModel:
    return EmbeddedModel.load(Path(artifact_uri)).with_temperature(temperature)


class EmbeddedBackend:
    name = "embedded"

    def __init__(self, model_version: ModelVersion | None = None) -> None:
        model_version = model_version or model_version_active(kind=ModelVersion.Kind.EMBEDDED)
        if model_version is None:
            raise BackendUnavailable("no active embedded model: run `python manage.py train_embedded`")
        try:
            self.model = _load(model_version.artifact_uri, model_version.temperature)
        except (OSError, ValueError) as exc:
            raise BackendUnavailable(f"embedded model {model_version.label} cannot be loaded: {exc}") from exc
        self.model_version = model_version

    def classify(self, traces: Sequence[Trace]) -> list[Classification]:
        _, probabilities = self.model.classify_traces(list(traces))
        return calibrated_classifications(traces, probabilities, self.model_version)
