"""The zero_shot baseline on the tiny local base: the base alone through the first-token digit read-out (the same
numbers as the adapter's model with its adapter switched off), uncalibrated, never attributed to an adapter,
and `evaluate --backend zero_shot`."""

import io
import json

import numpy as np
import pytest
from django.core.management import call_command
from scipy.special import softmax

from classifier.backends import BackendUnavailable, get_backend
from classifier.backends.zero_shot import ZeroShotBackend
from classifier.trace import parse_trace
from training.lora.dataset import simulator_examples
from training.lora.readout import digit_log_probs, load_adapter
from training.models import ModelVersion
from training.services import model_version_register

EXAMPLES = simulator_examples(12, seed=31)


def adapter_version(adapter_dir, base) -> ModelVersion:
    return model_version_register(
        kind=ModelVersion.Kind.LORA,
        name="lora-research-tiny",
        artifact_uri=str(adapter_dir),
        training_config={"base_model": str(base), "profile": "research"},
        data_manifest={},
        metrics={},
        temperature=0.5,
    )


def test_the_base_alone_is_read_out_uncalibrated(tiny_base, tiny_adapter):
    traces = [parse_trace(e["events"]) for e in EXAMPLES]
    results = ZeroShotBackend(base_model=str(tiny_base)).classify(traces)

    # The adapter's own model with the adapter switched off is the base: the same distribution.
    model, tokenizer = load_adapter(tiny_adapter[0], str(tiny_base))
    with model.disable_adapter():
        expected = softmax(digit_log_probs(model, tokenizer, [e["events"] for e in EXAMPLES]), axis=-1)
    got = np.asarray([r.probabilities for r in results])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert [r.code for r in results] == list(expected.argmax(axis=1) + 1)
    assert all(not r.calibrated and r.model_version == "zero-shot:base" and r.model_version_id is None for r in results)
    assert np.allclose(got.sum(axis=1), 1.0)


def test_a_model_version_lends_its_base_but_not_its_name(db, tiny_base, tiny_adapter):
    version = adapter_version(tiny_adapter[0], tiny_base)
    backend = get_backend("zero_shot", model_version_id=version.pk)
    assert isinstance(backend, ZeroShotBackend) and backend.base_model == str(tiny_base)
    assert not hasattr(backend, "model_version")  # predictions must not be attributed to the adapter


def test_the_setting_names_the_base(db, settings, tiny_base):
    settings.FORMRECAP_ZERO_SHOT_BASE_MODEL = str(tiny_base)
    assert get_backend("zero_shot").base_model == str(tiny_base)


def test_no_base_is_a_clear_error(db, settings):
    settings.FORMRECAP_ZERO_SHOT_BASE_MODEL = ""
    with pytest.raises(BackendUnavailable, match="set FORMRECAP_ZERO_SHOT_BASE_MODEL, or pass the --model-version"):
        get_backend("zero_shot")


def test_a_base_that_cannot_load_is_unavailable(db, tmp_path):
    with pytest.raises(BackendUnavailable, match="cannot be loaded"):
        ZeroShotBackend(base_model=str(tmp_path / "no-such-model"))


def test_an_embedded_version_has_no_base(db):
    version = ModelVersion.objects.create(kind="embedded", name="embedded-lr", version=1, artifact_uri="/x")
    with pytest.raises(BackendUnavailable, match="embedded model: it has no base model"):
        get_backend("zero_shot", model_version_id=version.pk)


def test_evaluate_reports_the_baseline(db, tiny_base, tiny_adapter, tmp_path):
    dataset = tmp_path / "labelled.jsonl"
    dataset.write_text("".join(json.dumps({"events": e["events"], "label": e["label"]}) + "\n" for e in EXAMPLES))
    version = adapter_version(tiny_adapter[0], tiny_base)
    out = io.StringIO()
    call_command("evaluate", dataset=str(dataset), backend="zero_shot", model_version=version.pk, json=True, stdout=out)
    report = json.loads(out.getvalue())
    assert report["n"] == len(EXAMPLES) and report["unanswered"]["count"] == 0
    assert report["calibrated"] is False and report["model_versions"] == ["zero-shot:base"]
    assert 0.0 <= report["macro_f1"] <= 1.0
