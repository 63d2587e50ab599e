"""The real training code end to end on CPU: tiny local model, simulator-style dataset, SFT with a LoRA
profile, adapter saved and reloaded with PEFT, digit probabilities read out, T fitted, version registered,
gate applied. Takes about a minute."""

import io
import json
import random

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from classifier.backends import get_backend
from classifier.trace import parse_trace
from training.lora.config import AdapterTrainingConfig, ConfigError, validate_config
from training.lora.dataset import _example, dataset_assemble
from training.lora.readout import digit_log_probs, digit_token_ids, load_adapter
from training.models import ModelVersion, TrainingRun
from training.simulator.forms import INFO_REGIONS, KINDS, REQUIREMENT_FIELDS

pytestmark = pytest.mark.django_db

# One unmistakable shape per class (a separable set), with field names varied so nothing is a duplicate.
SHAPES = {
    1: "focus:{f}, input:{f}(x{n}), blur:{f}(invalid_format), focus:{f}, input:{f}(x3), blur:{f}(invalid_format), exit",
    2: "focus:{f}, input:{f}(x{n}), blur:{f}, scroll:page({idle}ms), exit",
    3: "focus:{r}, blur:{r}, scroll:page(2000ms), focus:{r2}, blur:{r2}, focus:{r}, blur:{r}, exit",
    4: "focus:{f}, input:{f}(x{n}), blur:{f}, focus:{g}, input:{g}(x2), exit",
    5: "input:{f}(x{n}), input:message(x{burst}), submit",
    6: "scroll:page(1500ms), focus:{q}, blur:{q}, exit",
}


def separable_examples(per_class: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    names = sorted({name for kind in KINDS.values() for name in kind.names})
    examples = []
    for code, shape in SHAPES.items():
        for _ in range(per_class):
            f, g = rng.sample(names, 2)
            trace = shape.format(
                f=f, g=g, n=rng.randint(4, 20), idle=rng.randint(60, 900) * 1000, burst=rng.randint(150, 600),
                r=rng.choice(INFO_REGIONS), r2=rng.choice(INFO_REGIONS), q=rng.choice(REQUIREMENT_FIELDS),
            )  # fmt: skip
            examples.append(_example(trace, code, "a clear case", 0.9, "simulator"))
    return examples


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
        "--dataset", str(dataset.pk), "--max-steps", "150", "--learning-rate", "5e-3", "--batch-size", "8",
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
