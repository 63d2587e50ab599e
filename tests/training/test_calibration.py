"""Temperature fitting and calibration measures on synthetic data with a known answer."""

import numpy as np
import pytest

from training.calibration import (
    brier_score,
    calibrated_probabilities,
    expected_calibration_error,
    fit_temperature,
    reliability_buckets,
)

N = 20_000
CLASSES = 6


def _sample_labels(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One label per row drawn from that row's distribution (inverse CDF)."""
    cumulative = probabilities.cumsum(axis=1)
    draws = rng.random((len(probabilities), 1))
    return np.minimum((draws > cumulative).sum(axis=1), probabilities.shape[1] - 1)


@pytest.mark.parametrize("true_temperature", [0.5, 2.0])
def test_fit_temperature_recovers_a_known_temperature(true_temperature):
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(N, CLASSES))
    labels = _sample_labels(rng, calibrated_probabilities(logits, true_temperature))
    assert fit_temperature(logits, labels) == pytest.approx(true_temperature, rel=0.10)


def test_ece_of_perfectly_calibrated_data_is_near_zero():
    rng = np.random.default_rng(1)
    probabilities = rng.dirichlet(np.full(CLASSES, 0.5), size=N)
    labels = _sample_labels(rng, probabilities)
    assert expected_calibration_error(probabilities, labels) < 0.02


def test_ece_of_overconfident_data_is_large():
    rng = np.random.default_rng(2)
    probabilities = rng.dirichlet(np.full(CLASSES, 0.5), size=N)
    labels = _sample_labels(rng, probabilities)
    overconfident = calibrated_probabilities(np.log(probabilities), 0.25)
    assert expected_calibration_error(overconfident, labels) > 0.1


def test_reliability_buckets_cover_every_prediction_in_ten_bins():
    rng = np.random.default_rng(3)
    probabilities = rng.dirichlet(np.ones(CLASSES), size=500)
    buckets = reliability_buckets(probabilities, rng.integers(0, CLASSES, 500))
    assert len(buckets) == 10
    assert sum(b["count"] for b in buckets) == 500


def test_brier_is_zero_for_certain_correct_predictions():
    labels = np.arange(CLASSES)
    assert brier_score(np.eye(CLASSES), labels) == 0.0


def test_brier_is_two_for_certain_wrong_predictions():
    labels = np.arange(CLASSES)
    assert brier_score(np.roll(np.eye(CLASSES), 1, axis=1), labels) == pytest.approx(2.0)


def test_brier_of_uniform_predictions_and_of_any_predictions_stays_within_bounds():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, CLASSES, 1000)
    uniform = np.full((1000, CLASSES), 1 / CLASSES)
    assert brier_score(uniform, labels) == pytest.approx(1 - 1 / CLASSES)
    assert 0.0 <= brier_score(rng.dirichlet(np.ones(CLASSES), size=1000), labels) <= 2.0
