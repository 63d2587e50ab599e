"""The embedded CPU model: standardised trace features → multinomial logistic regression → temperature.

Inference is plain numpy (a matrix product), so one trace costs microseconds and the
artifact is two small files (``weights.npz`` and ``model.json``), no pickles.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import softmax

from .features import FEATURE_NAMES, features_matrix
from .trace import Trace


@dataclass(frozen=True)
class EmbeddedModel:
    mean: np.ndarray  # (F,)
    scale: np.ndarray  # (F,)
    coef: np.ndarray  # (6, F), rows are class codes 1..6
    intercept: np.ndarray  # (6,)
    temperature: float
    feature_names: tuple[str, ...] = FEATURE_NAMES

    def standardise(self, features: np.ndarray) -> np.ndarray:
        return (features - self.mean) / self.scale

    def logits(self, features: np.ndarray) -> np.ndarray:
        return self.standardise(features) @ self.coef.T + self.intercept

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return softmax(self.logits(features) / self.temperature, axis=-1)

    def classify_traces(self, traces: list[Trace]) -> tuple[np.ndarray, np.ndarray]:
        """(features, probabilities) for a batch of traces."""
        features = features_matrix(traces)
        return features, self.probabilities(features)

    def with_temperature(self, temperature: float) -> "EmbeddedModel":
        return EmbeddedModel(self.mean, self.scale, self.coef, self.intercept, temperature, self.feature_names)

    def save(self, folder: Path, *, metadata: dict | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / "weights.npz", mean=self.mean, scale=self.scale, coef=self.coef, intercept=self.intercept)
        document = {"temperature": self.temperature, "feature_names": list(self.feature_names), **(metadata or {})}
        (folder / "model.json").write_text(json.dumps(document, indent=2, sort_keys=True))

    @classmethod
    def load(cls, folder: Path) -> "EmbeddedModel":
        document = json.loads((Path(folder) / "model.json").read_text())
        if tuple(document["feature_names"]) != FEATURE_NAMES:
            raise ValueError(f"{folder}: model was trained on other features than this code computes; retrain it")
        with np.load(Path(folder) / "weights.npz") as weights:
            return cls(weights["mean"], weights["scale"], weights["coef"], weights["intercept"], float(document["temperature"]))
