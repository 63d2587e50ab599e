"""`train_embedded`: trains, registers, activates the first model, reports the held-out sets."""

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from training.held_out import file_sha256
from training.models import ModelVersion


def run(capsys, *args) -> dict:
    call_command("train_embedded", "--count", "700", "--json", *args)
    return json.loads(capsys.readouterr().out)


def test_first_model_is_registered_and_active(db, capsys, settings):
    report = run(capsys)
    version = ModelVersion.objects.get(pk=report["model_version"])
    assert version.status == "active" and version.kind == "embedded" and version.version == 1
    assert (Path(version.artifact_uri) / "model.json").exists() and (Path(version.artifact_uri) / "weights.npz").exists()
    assert version.temperature == report["temperature"] > 0
    assert version.data_manifest["seed"] == 7 and version.data_manifest["dedup"]["total"] == 700
    # Measured on each held-out set there is, with the file's fingerprint.
    hand_labelled = report["held_out"]["hand_labelled"]
    # (as a set: PostgreSQL's jsonb keeps keys in its own order)
    assert set(report["held_out"]) == {"hand_labelled", "hand_written_test", "browser_test"}
    assert hand_labelled == version.metrics["held_out"]["hand_labelled"]
    # Calibrated with the recorded browser validation split, reported on it and on the recorded dev split.
    assert report["validation_browser"]["n"] >= 20 and report["dev_browser"]["n"] >= 10
    assert hand_labelled["n"] >= 60 and 0 <= hand_labelled["ece"] <= 1
    assert hand_labelled["sha256"] == file_sha256(settings.FORMRECAP_HELD_OUT_SETS["hand_labelled"])


def test_later_models_stay_candidates_unless_activated(db, capsys):
    first = run(capsys)
    second = run(capsys, "--seed", "8")
    assert ModelVersion.objects.get(pk=second["model_version"]).status == "candidate"
    third = run(capsys, "--seed", "9", "--activate")
    statuses = dict(ModelVersion.objects.values_list("pk", "status"))
    assert statuses == {first["model_version"]: "retired", second["model_version"]: "candidate", third["model_version"]: "active"}


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--count", "0"], "count must be at least 300"), (["--count", "50"], "at least 300"), (["--c", "0"], "positive number"),
     (["--c", "nan"], "positive number")],
)  # fmt: skip
def test_bad_arguments_are_command_errors(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("train_embedded", *args)
