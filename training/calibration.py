"""Temperature scaling and calibration measures (ECE, Brier, reliability buckets)."""

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

ECE_BINS = 10


def calibrated_probabilities(logits: np.ndarray, temperature: float) -> np.ndarray:
    return softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=-1)


def negative_log_likelihood(
    logits: np.ndarray, label_index: np.ndarray, temperature: float, weights: np.ndarray | None = None
) -> float:
    log_probs = log_softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=-1)
    return float(np.average(-log_probs[np.arange(len(label_index)), label_index], weights=weights))


def fit_temperature(logits: np.ndarray, label_index: np.ndarray, weights: np.ndarray | None = None) -> float:
    """T minimising validation NLL of softmax(logits / T) (weighted per example when ``weights`` is given, so
    a small set like production can count as much as a large synthetic one); searched on log T in [1/20, 20]."""
    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(logits, label_index, float(np.exp(log_t)), weights),
        bounds=(np.log(0.05), np.log(20.0)),
        method="bounded",
    )
    return float(np.exp(result.x))


def reliability_buckets(probabilities: np.ndarray, label_index: np.ndarray, bins: int = ECE_BINS) -> list[dict]:
    """Equal-width confidence bins (confidence = top probability): count, mean confidence, accuracy."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == label_index
    edges = np.linspace(0.0, 1.0, bins + 1)
    buckets = []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        in_bin = (confidence > low) & (confidence <= high) if low > 0 else (confidence >= low) & (confidence <= high)
        count = int(in_bin.sum())
        buckets.append(
            {
                "low": round(float(low), 2),
                "high": round(float(high), 2),
                "count": count,
                "confidence": float(confidence[in_bin].mean()) if count else None,
                "accuracy": float(correct[in_bin].mean()) if count else None,
            }
        )
    return buckets


def expected_calibration_error(probabilities: np.ndarray, label_index: np.ndarray, bins: int = ECE_BINS) -> float:
    total = len(label_index)
    return float(
        sum(
            b["count"] / total * abs(b["accuracy"] - b["confidence"])
            for b in reliability_buckets(probabilities, label_index, bins)
            if b["count"]
        )
    )


def brier_score(probabilities: np.ndarray, label_index: np.ndarray) -> float:
    """Mean over samples of the squared error summed over classes (0 is perfect, 2 the worst)."""
    one_hot = np.zeros_like(probabilities)
    one_hot[np.arange(len(label_index)), label_index] = 1.0
    return float(((probabilities - one_hot) ** 2).sum(axis=1).mean())
