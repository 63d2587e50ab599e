"""Training the embedded model is deterministic: same seed, same coefficients, temperature and metrics."""

import numpy as np
import pytest

from training.embedded import EmbeddedConfig, train_embedded

COUNT = 800  # small: a few seconds per training


@pytest.fixture(scope="module")
def twice():
    return train_embedded(EmbeddedConfig(count=COUNT, seed=5)), train_embedded(EmbeddedConfig(count=COUNT, seed=5))


def test_same_seed_gives_identical_weights(twice):
    first, second = twice
    for name in ("mean", "scale", "coef", "intercept"):
        np.testing.assert_array_equal(getattr(first.model, name), getattr(second.model, name), err_msg=name)
    assert first.model.temperature == second.model.temperature


def test_same_seed_gives_identical_metrics_and_data(twice):
    first, second = twice
    assert first.metrics == second.metrics
    assert first.manifest["content_hash"] == second.manifest["content_hash"]
    assert first.manifest["splits"] == second.manifest["splits"]
