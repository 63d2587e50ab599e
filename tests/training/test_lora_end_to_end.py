"""The real training code end to end on CPU: tiny local model, simulator-style dataset, SFT with a LoRA
profile, adapter saved and reloaded with PEFT, digit probabilities read out, T fitted, version registered,
gate applied. Takes about a minute."""

import io
import json

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from classifier.backends import get_backend
from classifier.readout import digit_log_probs, digit_token_ids, load_adapter
from classifier.trace import parse_trace
from tests.training.helpers import SHAPES, separable_examples
from training.lora.config import AdapterTrainingConfig, ConfigError, validate_config
from training.lora.dataset import dataset_assemble
from training.models import ModelVersion, TrainingRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny_model(tmp_path):
    out = tmp_path / "tiny"
    call_command("build_tiny_model", "--out", str(out), "--traces", "300", stdout=io.StringIO())
    return out


def test_fine_tune_calibrate_register_and_gate_on_cpu(tiny_model, active_embedded_model):
    dataset = dataset_assemble(name="separable", examples=separable_examples(60), seed=1)
    out = io.StringIO()
    call_command(
        "train_adapter", "--runner", "local", "--profile", "cloudflare", "--base-model", str(tiny_model),
        "--dataset", str(dataset.pk), "--max-steps", "250", "--learning-rate", "5e-3", "--batch-size", "8",
        "--grad-accum", "1", "--max-length", "192", "--json", stdout=out,
    )  # fmt: skip
    report = json.loads(out.getvalue().strip().splitlines()[-1])

    # The loss falls, and on a separable set the read-out beats chance (1/6) clearly.
    assert report["train_loss_last"] < report["train_loss_first"] / 3
    version = ModelVersion.objects.get(pk=report["model_version"])
    assert version.kind == "lora" and version.temperature == report["temperature"] > 0
    assert version.metrics["test"]["accuracy"] >= 0.6
    assert version.metrics["validation"]["ece_after"] <= version.metrics["validation"]["ece_before"] + 1e-9
    assert {"macro_f1", "macro_f1_ci95", "ece", "brier", "sha256"} <= set(version.metrics["held_out"]["hand_labelled"])
    assert report["held_out"]["hand_labelled"]["macro_f1"] == version.metrics["held_out"]["hand_labelled"]["macro_f1"]
    # The gate compared it with the live (embedded) model and kept it a candidate, saying why.
    assert version.status == "candidate" and version.status_reason.startswith("kept as candidate")
    run = TrainingRun.objects.get(pk=report["training_run"])
    assert run.status == "succeeded" and run.model_version_id == version.pk and run.losses["eval"]

    # The adapter reloads with PEFT; the digit read-out is a distribution over the six classes.
    model, tokenizer = load_adapter(version.artifact_uri)
    assert len(set(digit_token_ids(tokenizer))) == 6
    log_probs = digit_log_probs(model, tokenizer, [SHAPES[5].format(f="name", n=9, burst=300)])
    assert np.exp(log_probs).sum() == pytest.approx(1.0, abs=1e-5)

    # The local PEFT backend serves it, calibrated with its T.
    [result] = get_backend("peft", model_version_id=version.pk).classify(
        [parse_trace(SHAPES[5].format(f="name", n=9, burst=300))]
    )
    assert sum(result.probabilities) == pytest.approx(1.0) and result.calibrated and result.model_version == version.label


def test_modal_runner_without_credentials_fails_the_run_at_once(tiny_model, monkeypatch):
    for variable in ("MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("MODAL_CONFIG_PATH", "/nonexistent/modal.toml")
    dataset = dataset_assemble(name="tiny", examples=separable_examples(4), seed=1)
    with pytest.raises(CommandError, match="Modal credentials missing"):
        call_command("train_adapter", "--runner", "modal", "--base-model", str(tiny_model), "--dataset", str(dataset.pk))
    assert TrainingRun.objects.get().status == "failed"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"profile": "cloudflare", "base_model": "meta-llama/Llama-3.2-3B-Instruct"}, "does not serve LoRA adapters"),
        ({"profile": "cloudflare", "base_model": "google/gemma-2b-it", "rank": 64}, "rank ≤ 32"),
        ({"profile": "huge"}, "unknown profile"),
        ({"epochs": 0, "max_steps": -1}, "epochs or max_steps"),
    ],
)
def test_configurations_that_cannot_work_are_refused(changes, message):
    config = AdapterTrainingConfig(**{"base_model": "google/gemma-2b-it", **changes})
    with pytest.raises(ConfigError, match=message):
        validate_config(config, base_is_local_stand_in=False)


def test_adapters_over_300_mb_are_refused_for_cloudflare():
    from training.lora.config import check_adapter_size

    with pytest.raises(ConfigError, match="at most 300 MB"):
        check_adapter_size(AdapterTrainingConfig(base_model="google/gemma-2b-it", profile="cloudflare"), 301 * 2**20)
