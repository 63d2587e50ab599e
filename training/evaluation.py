"""Evaluating class probabilities against labels: macro-F1 with a bootstrap CI, per class, calibration, per group."""

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score

from classifier.labels import CLASS_CODES, CLASSES

from .calibration import brier_score, expected_calibration_error, reliability_buckets

BOOTSTRAP_SAMPLES = 1000


def macro_f1(labels: np.ndarray, predicted: np.ndarray) -> float:
    return float(f1_score(labels, predicted, labels=list(CLASS_CODES), average="macro", zero_division=0))


def bootstrap_macro_f1_ci(
    labels: np.ndarray, predicted: np.ndarray, *, seed: int = 0, samples: int = BOOTSTRAP_SAMPLES
) -> tuple[float, float]:
    """95% percentile interval of macro-F1 over resamples of the evaluation set."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    scores = [macro_f1(labels[idx], predicted[idx]) for idx in (rng.integers(0, n, n) for _ in range(samples))]
    low, high = np.percentile(scores, [2.5, 97.5])
    return float(low), float(high)


def evaluate_probabilities(labels: np.ndarray, probabilities: np.ndarray, *, seed: int = 0) -> dict:
    """``labels`` are class codes 1-6, ``probabilities`` columns are codes 1-6 in order."""
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    label_index = labels - 1
    predicted = probabilities.argmax(axis=1) + 1
    low, high = bootstrap_macro_f1_ci(labels, predicted, seed=seed)
    per_class = f1_score(labels, predicted, labels=list(CLASS_CODES), average=None, zero_division=0)
    return {
        "n": int(len(labels)),
        "accuracy": float((predicted == labels).mean()),
        "macro_f1": macro_f1(labels, predicted),
        "macro_f1_ci95": [low, high],
        "per_class_f1": {CLASSES[code]: float(score) for code, score in zip(CLASS_CODES, per_class, strict=True)},
        "confusion_matrix": confusion_matrix(labels, predicted, labels=list(CLASS_CODES)).tolist(),
        "ece": expected_calibration_error(probabilities, label_index),
        "brier": brier_score(probabilities, label_index),
        "mean_confidence": float(probabilities.max(axis=1).mean()),
        "reliability": reliability_buckets(probabilities, label_index),
    }


def evaluate_groups(labels: np.ndarray, probabilities: np.ndarray, groups: Sequence[str]) -> dict[str, dict]:
    """n, accuracy, macro-F1, ECE and mean confidence per group (a record's source, difficulty, …), by group name.

    Macro-F1 here averages over the classes that occur in the group, as label or prediction: a group with no bots
    (a browser-recorded set, say) is not marked down for the bot class it cannot have."""
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    groups = np.asarray(groups, dtype=object)
    result = {}
    for group in sorted(set(groups)):
        member = groups == group
        mine, probs = labels[member], probabilities[member]
        predicted = probs.argmax(axis=1) + 1
        result[group] = {
            "n": int(member.sum()),
            "accuracy": float((predicted == mine).mean()),
            "macro_f1": float(f1_score(mine, predicted, average="macro", zero_division=0)),
            "ece": expected_calibration_error(probs, mine - 1),
            "mean_confidence": float(probs.max(axis=1).mean()),
        }
    return result
