"""Calibrating verbalized confidences (backends with no log-probs, e.g. Cloudflare Workers AI): a monotone map
stated confidence -> P(correct), fitted by isotonic regression on the validation split's answers.

Going beyond the published system, whose Cloudflare row reports the stated confidence as is (ECE 0.24): a model
that says 0.9 and is right 60% of the time then says 0.6. Isotonic rather than histogram binning because stated
confidences cluster on a few round values (0.8, 0.9, 0.95): isotonic pools exactly those values, needs no bin
count, and can never rank a higher stated confidence below a lower one.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from classifier.verbalized import VerbalizedAnswer, VerbalizedCalibration, verbalized_probabilities

from .calibration import brier_score, expected_calibration_error

METHOD = "isotonic"
MIN_ANSWERS = 20  # fewer and the map is noise: refuse rather than store it


def probability_rows(answers: Sequence[VerbalizedAnswer], calibration: VerbalizedCalibration | None = None) -> np.ndarray:
    """(n, 6) class probabilities of the answers: the stated confidence, or the map's P(correct) when given."""
    if not answers:
        return np.zeros((0, 6))
    return np.stack(
        [verbalized_probabilities(a.code, calibration(a.confidence) if calibration else a.confidence) for a in answers]
    )


def verbalized_calibration_measure(
    answers: Sequence[VerbalizedAnswer], labels: Sequence[int], calibration: VerbalizedCalibration
) -> dict:
    """ECE and Brier of the answers before (stated confidence) and after the map, on any labelled set."""
    label_index = np.asarray(labels) - 1
    before, after = probability_rows(answers), probability_rows(answers, calibration)
    return {
        "n": len(answers),
        "accuracy": float((np.asarray([a.code for a in answers]) == np.asarray(labels)).mean()) if answers else 0.0,
        "mean_stated_confidence": float(np.mean([a.confidence for a in answers])) if answers else 0.0,
        "ece_before": expected_calibration_error(before, label_index),
        "ece_after": expected_calibration_error(after, label_index),
        "brier_before": brier_score(before, label_index),
        "brier_after": brier_score(after, label_index),
    }


@dataclass(frozen=True)
class VerbalizedFit:
    calibration: VerbalizedCalibration
    measures: dict  # on the answers it was fitted on (in-sample: measure a held-out split for the honest figure)

    def as_dict(self) -> dict:
        """What a model version stores (ModelVersion.verbalized_calibration)."""
        return {"method": METHOD, "x": list(self.calibration.x), "y": list(self.calibration.y), **self.measures}


def fit_verbalized_calibration(answers: Sequence[VerbalizedAnswer], labels: Sequence[int]) -> VerbalizedFit:
    """Isotonic regression of "the answer was right" on the stated confidence, with ECE/Brier before and after."""
    from sklearn.isotonic import IsotonicRegression

    if len(answers) != len(labels):
        raise ValueError(f"{len(answers)} answers for {len(labels)} labels")
    if len(answers) < MIN_ANSWERS:
        raise ValueError(f"{len(answers)} answers are too few to fit a calibration map (at least {MIN_ANSWERS})")
    stated = np.asarray([a.confidence for a in answers], dtype=np.float64)
    correct = (np.asarray([a.code for a in answers]) == np.asarray(labels)).astype(np.float64)
    isotonic = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(stated, correct)
    calibration = VerbalizedCalibration(
        x=tuple(float(v) for v in isotonic.X_thresholds_), y=tuple(float(v) for v in isotonic.y_thresholds_)
    )
    return VerbalizedFit(calibration=calibration, measures=verbalized_calibration_measure(answers, labels, calibration))
