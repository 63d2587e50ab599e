"""Calibrating verbalized confidences: the isotonic map and its ECE before/after, and `calibrate_verbalized`, which
asks a Cloudflare-served adapter (at the HTTP boundary) for its validation answers, stores the map on the model
version, after which the backend answers calibrated."""

import hashlib
import io
import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from classifier.backends.cloudflare import CloudflareBackend
from classifier.labels import CLASSES
from classifier.trace import parse_trace
from classifier.verbalized import VerbalizedAnswer, VerbalizedCalibration
from tests.classifier import cloudflare_api as cf
from training.lora.dataset import simulator_examples
from training.models import ModelVersion
from training.services import model_version_deployment_record, model_version_register
from training.verbalized import MIN_ANSWERS, fit_verbalized_calibration, verbalized_calibration_measure

# An overconfident model, as the published Cloudflare row (verbalized ECE 0.24): how often it is right at each
# confidence it likes to state.
ACCURACY_AT = {0.8: 0.45, 0.9: 0.55, 0.95: 0.7}


def overconfident_answers(n: int, seed: int) -> tuple[list[VerbalizedAnswer], list[int]]:
    rng = np.random.default_rng(seed)
    answers, labels = [], []
    for _ in range(n):
        label = int(rng.integers(1, 7))
        stated = float(rng.choice(list(ACCURACY_AT), p=[0.2, 0.4, 0.4]))
        code = label if rng.random() < ACCURACY_AT[stated] else int(rng.choice([c for c in CLASSES if c != label]))
        answers.append(VerbalizedAnswer(code, stated))
        labels.append(label)
    return answers, labels


def test_the_map_brings_stated_confidence_down_to_accuracy():
    answers, labels = overconfident_answers(300, seed=1)
    fit = fit_verbalized_calibration(answers, labels)
    held_out = verbalized_calibration_measure(*overconfident_answers(300, seed=2), fit.calibration)

    assert fit.measures["ece_before"] > 0.25 and held_out["ece_before"] > 0.25
    assert fit.measures["ece_after"] < 0.02  # in-sample: isotonic pools each stated value to its accuracy
    assert held_out["ece_after"] < 0.08
    assert held_out["brier_after"] < held_out["brier_before"]
    for stated, accuracy in ACCURACY_AT.items():
        assert fit.calibration(stated) == pytest.approx(accuracy, abs=0.1)
    assert list(fit.calibration.y) == sorted(fit.calibration.y)  # monotone: a higher stated confidence never maps lower


def test_the_stored_form_round_trips():
    fit = fit_verbalized_calibration(*overconfident_answers(100, seed=3))
    stored = json.loads(json.dumps(fit.as_dict()))
    assert stored["method"] == "isotonic" and stored["n"] == 100
    assert VerbalizedCalibration.from_dict(stored) == fit.calibration


def test_too_few_answers_are_refused():
    with pytest.raises(ValueError, match=f"too few to fit a calibration map \\(at least {MIN_ANSWERS}\\)"):
        fit_verbalized_calibration(*overconfident_answers(MIN_ANSWERS - 1, seed=4))


# --- the command, against the Workers AI REST boundary --------------------------------------------------------------


def overconfident_model(labels: dict[str, int]):
    """A Workers AI answer per request, decided by the trace it carries: right as often as ACCURACY_AT says."""

    def answer(request):
        trace = cf.prompt_trace(json.loads(request.content)["prompt"])
        digest = int(hashlib.sha256(trace.encode()).hexdigest(), 16)
        stated = list(ACCURACY_AT)[digest % 3]
        label = labels[trace]
        code = label if (digest // 3) % 100 < ACCURACY_AT[stated] * 100 else label % 6 + 1
        if digest % 40 == 0:
            return cf.run_answer(f"{CLASSES[code]}!")  # now and then not the model format at all
        return cf.run_answer(cf.model_format(code, CLASSES[code], stated))

    return answer


@pytest.fixture
def split_folder(tmp_path):
    """validation.jsonl and test.jsonl as dataset_assemble writes them (``trace`` + ``label``), 150 traces each."""
    examples = simulator_examples(300, seed=21)
    folder = tmp_path / "dataset"
    folder.mkdir()
    for part, chunk in (("validation", examples[:150]), ("test", examples[150:])):
        (folder / f"{part}.jsonl").write_text(
            "".join(json.dumps({"trace": e["events"], "label": e["label"]}) + "\n" for e in chunk)
        )
    return folder, {e["events"]: e["label"] for e in examples}


@pytest.fixture
def published_version(db, settings):
    cf.configure(settings)
    version = model_version_register(
        kind=ModelVersion.Kind.LORA,
        name="lora-cloudflare-mistral-7b",
        artifact_uri="/published/elsewhere",
        training_config={"base_model": "mistralai/Mistral-7B-Instruct-v0.2", "profile": "cloudflare"},
        data_manifest={},
        metrics={},
        temperature=1.0,
    )
    record = {
        "status": "published",
        "finetune_id": cf.FINETUNE_ID,
        "model": "@cf/mistral/mistral-7b-instruct-v0.2-lora",
        "base_model": "mistralai/Mistral-7B-Instruct-v0.2",
    }
    return model_version_deployment_record(model_version=version, backend="cloudflare", record=record)


def test_calibrate_verbalized_fits_stores_and_the_backend_answers_calibrated(published_version, split_folder, monkeypatch):
    folder, labels = split_folder
    api = cf.ScriptedCloudflare(*[overconfident_model(labels)] * 300).install(monkeypatch)
    out = io.StringIO()
    call_command("calibrate_verbalized", model_version=published_version.pk, dataset=str(folder), json=True, stdout=out)
    report = json.loads(out.getvalue())

    assert len(api.requests) == 300
    assert api.requests[0].json["prompt"].startswith("<s>[INST] You classify why a visitor abandoned a web form")
    assert report["n"] + report["malformed"] == 150 and report["malformed"] > 0
    assert report["test"]["n"] + report["test"]["malformed"] == 150
    assert report["ece_before"] > 0.2 and report["ece_after"] < 0.05
    assert report["test"]["ece_before"] > 0.2 and report["test"]["ece_after"] < report["test"]["ece_before"] / 2
    published_version.refresh_from_db()
    assert published_version.verbalized_calibration == report

    cf.ScriptedCloudflare(cf.run_answer(cf.model_format(3, "comparison_shopping", 0.95))).install(monkeypatch)
    (result,) = CloudflareBackend(published_version).classify([parse_trace("focus:pricing_table, blur:pricing_table, exit")])
    stored_map = VerbalizedCalibration.from_dict(report)
    assert result.calibrated and result.confidence == pytest.approx(stored_map(0.95))
    assert result.confidence < 0.8


def test_calibrate_verbalized_prints_before_and_after(published_version, split_folder, monkeypatch):
    folder, labels = split_folder
    cf.ScriptedCloudflare(*[overconfident_model(labels)] * 300).install(monkeypatch)
    out = io.StringIO()
    call_command("calibrate_verbalized", model_version=published_version.pk, dataset=str(folder), stdout=out)
    text = out.getvalue()
    assert "validation (fitted on)" in text and "test (held out)" in text and "ECE 0." in text
    assert "the cloudflare backend now answers calibrated" in text


def test_calibrate_verbalized_needs_a_dataset(published_version):
    with pytest.raises(CommandError, match="has no training run to take the dataset from: pass --dataset"):
        call_command("calibrate_verbalized", model_version=published_version.pk)


def test_calibrate_verbalized_reports_an_unreachable_cloudflare(published_version, split_folder, monkeypatch):
    import httpx

    cf.ScriptedCloudflare(httpx.ConnectError, httpx.ConnectError, httpx.ConnectError).install(monkeypatch)
    with pytest.raises(CommandError, match="cannot reach Cloudflare Workers AI"):
        call_command("calibrate_verbalized", model_version=published_version.pk, dataset=str(split_folder[0]))
