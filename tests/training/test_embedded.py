"""Training the embedded model is deterministic: same seed, same coefficients, temperature and metrics."""

import json

import numpy as np
import pytest

from training.embedded import EmbeddedConfig, EmbeddedConfigError, train_embedded

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


def test_recorded_training_sessions_on_a_held_out_form_are_refused(tmp_path):
    taught = tmp_path / "train.jsonl"
    taught.write_text(json.dumps({"form": "donation", "label": 5, "events": [{"type": "focus", "ts": 0, "field": "a"}]}) + "\n")
    held_out = tmp_path / "test.jsonl"
    held_out.write_text(json.dumps({"form": "donation", "label": 5, "events": []}) + "\n")
    config = EmbeddedConfig(count=COUNT, browser_train=str(taught), browser_dev=None, browser_test=str(held_out))
    with pytest.raises(EmbeddedConfigError, match="donation, a form of the browser_test split"):
        train_embedded(config)


def test_recorded_training_sessions_weigh_their_share(twice):
    first, _ = twice
    recorded = first.manifest["recorded"]
    assert recorded["train"]["share"] == EmbeddedConfig().browser_train_share
    # the repo's recorded training split is present in a checkout: the model learnt from it
    assert recorded["train"]["sessions"] >= 100
