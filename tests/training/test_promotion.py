"""The promotion gate and rollback, on registry rows with the metrics training would store.

The gate compares candidate and live model on each held-out set there is, by the file's sha256: here the sets are
small files in a temporary folder (24 lines of the real hand-labelled set), so a test can edit or remove them.
"""

import json
from pathlib import Path

import pytest

from tests.training.helpers import held_out_metrics
from training.embedded import evaluate_labelled_file
from training.held_out import file_sha256
from training.models import ModelVersion
from training.promotion import model_version_rollback, promotion_gate_apply
from training.services import model_version_activate, model_version_register

pytestmark = pytest.mark.django_db

HAND_LABELLED = Path(__file__).resolve().parents[2] / "training" / "data" / "hand_labelled.jsonl"
LINES = HAND_LABELLED.read_text().splitlines()


@pytest.fixture(autouse=True)
def held_out_files(settings, tmp_path) -> dict[str, Path]:
    """``hand_labelled`` present (24 real lines); ``browser_test`` configured but not written yet."""
    files = {"hand_labelled": tmp_path / "hand_labelled.jsonl", "browser_test": tmp_path / "browser" / "test.jsonl"}
    files["hand_labelled"].write_text("\n".join(LINES[:24]) + "\n")
    settings.FORMRECAP_HELD_OUT_SETS = files
    return files


def version(kind: str, f1: float, ece: float, name: str | None = None, metrics: dict | None = None) -> ModelVersion:
    return model_version_register(
        kind=kind, name=name or f"{kind}-model", artifact_uri="/nowhere", training_config={}, data_manifest={},
        metrics=held_out_metrics(f1, ece, n=24) if metrics is None else metrics, temperature=1.0,
    )  # fmt: skip


def gate(candidate: ModelVersion) -> tuple[bool, str]:
    promoted, reason = promotion_gate_apply(candidate=candidate)
    candidate.refresh_from_db()
    assert candidate.status == ("active" if promoted else "candidate")
    assert candidate.status_reason == reason
    return promoted, reason


# --- the same files: promote or refuse ------------------------------------------------------------


def test_a_candidate_as_good_and_calibrated_is_promoted_over_the_live_baseline(held_out_files):
    model_version_activate(model_version=version("embedded", 0.95, 0.03))
    promoted, reason = gate(version("lora", 0.945, 0.04))
    sha = file_sha256(held_out_files["hand_labelled"])[:12]
    assert promoted
    assert reason == (
        "promoted by the gate (live: embedded-model:v1): "
        f"hand_labelled (sha256 {sha}), n=24: macro-F1 0.945 (live 0.950), ECE 0.040"
    )


@pytest.mark.parametrize(
    ("f1", "ece", "why"),
    [
        (0.90, 0.03, "hand_labelled: macro-F1 0.900 is worse than embedded-model:v1's 0.950 beyond the tolerance 0.010"),
        (0.96, 0.09, "hand_labelled: ECE 0.090 is above the bound 0.060"),
    ],
)
def test_a_worse_or_miscalibrated_candidate_stays_candidate_with_the_reason(f1, ece, why):
    model_version_activate(model_version=version("embedded", 0.95, 0.03))
    promoted, reason = gate(version("lora", f1, ece))
    assert not promoted and reason == f"kept as candidate: {why}"


def test_with_nothing_live_a_near_chance_model_is_not_promoted():
    promoted, reason = gate(version("lora", 0.20, 0.01))
    assert not promoted and reason == "kept as candidate: hand_labelled: macro-F1 0.200 is below the floor 0.500"


def test_every_available_set_must_pass_and_the_reason_names_each(held_out_files):
    held_out_files["browser_test"].parent.mkdir()
    held_out_files["browser_test"].write_text("\n".join(LINES[24:36]) + "\n")
    model_version_activate(model_version=version("lora", 0.90, 0.03, name="live"))
    candidate = version("lora", 0.92, 0.03, name="new")
    browser = candidate.metrics["held_out"]["browser_test"]
    ModelVersion.objects.filter(pk=candidate.pk).update(
        metrics={"held_out": {**candidate.metrics["held_out"], "browser_test": {**browser, "ece": 0.2}}}
    )
    candidate.refresh_from_db()

    promoted, reason = gate(candidate)
    assert not promoted and reason == "kept as candidate: browser_test: ECE 0.200 is above the bound 0.060"

    good = version("lora", 0.92, 0.03, name="newer")
    promoted, reason = gate(good)
    assert promoted and "hand_labelled (sha256 " in reason and "browser_test (sha256 " in reason
    assert reason.count("macro-F1 0.920 (live 0.900), ECE 0.030") == 2


# --- different files: evaluate the live embedded model now, or keep the candidate ----------------------


@pytest.fixture
def live_f1_now(settings, embedded_artifact, held_out_files) -> float:
    """What the small embedded model scores on the held-out file, computed apart from the gate; no floor, so
    the comparison with the live model alone decides."""
    settings.FORMRECAP_PROMOTION_MIN_F1 = 0.0
    return evaluate_labelled_file(embedded_artifact[1].model, held_out_files["hand_labelled"])["macro_f1"]


def test_a_live_embedded_model_without_figures_on_this_file_is_evaluated_now_and_they_are_stored(
    active_embedded_model, held_out_files, live_f1_now
):
    assert "held_out" not in active_embedded_model.metrics  # trained before any set was measured
    promoted, reason = gate(version("lora", live_f1_now - 0.05, 0.03))

    active_embedded_model.refresh_from_db()
    measured = active_embedded_model.metrics["held_out"]["hand_labelled"]
    assert measured["sha256"] == file_sha256(held_out_files["hand_labelled"]) and measured["n"] == 24
    assert measured["macro_f1"] == pytest.approx(live_f1_now) and 0 <= measured["ece"] <= 1 and "confusion_matrix" in measured
    assert not promoted and f"worse than {active_embedded_model.label}'s {live_f1_now:.3f} beyond the tolerance" in reason


def test_a_live_embedded_model_measured_on_an_older_file_is_measured_again(active_embedded_model, held_out_files, live_f1_now):
    older = {"hand_labelled": {"n": 96, "macro_f1": 0.99, "ece": 0.01, "set": "hand_labelled", "sha256": "0" * 64}}
    ModelVersion.objects.filter(pk=active_embedded_model.pk).update(metrics={**active_embedded_model.metrics, "held_out": older})

    promoted, reason = gate(version("lora", live_f1_now, 0.03))

    # Judged against what the live model scores on this file now, not the 0.99 of another file.
    active_embedded_model.refresh_from_db()
    measured = active_embedded_model.metrics["held_out"]["hand_labelled"]
    assert measured["sha256"] == file_sha256(held_out_files["hand_labelled"]) and measured["n"] == 24
    assert promoted and f"macro-F1 {live_f1_now:.3f} (live {live_f1_now:.3f})" in reason


def test_a_live_lora_adapter_measured_on_another_file_keeps_the_candidate_with_the_reason(held_out_files):
    live = model_version_activate(model_version=version("lora", 0.90, 0.03, name="live"))
    held_out_files["hand_labelled"].write_text("\n".join(LINES[:30]) + "\n")  # the set was edited since
    candidate = version("lora", 0.95, 0.03, name="new")  # measured on the file as it is now

    promoted, reason = gate(candidate)

    new_sha, old_sha = file_sha256(held_out_files["hand_labelled"]), live.metrics["held_out"]["hand_labelled"]["sha256"]
    assert not promoted and reason == (
        f"kept as candidate: live:v1 has no metrics on hand_labelled (sha256 {new_sha[:12]}) (it was measured on another file, "
        f"sha256 {old_sha[:12]}), and a lora model cannot be evaluated here"
    )


def test_a_lora_candidate_measured_on_an_older_file_stays_candidate(held_out_files):
    candidate = version("lora", 0.95, 0.03)
    held_out_files["hand_labelled"].write_text("\n".join(LINES[:30]) + "\n")
    promoted, reason = gate(candidate)
    assert not promoted and "lora-model:v1 has no metrics on hand_labelled" in reason and "measured on another file" in reason


def test_a_live_embedded_model_whose_files_are_gone_keeps_the_candidate_with_the_reason():
    model_version_activate(model_version=version("embedded", 0.9, 0.03, metrics={}))  # artifact_uri /nowhere
    promoted, reason = gate(version("lora", 0.95, 0.03))
    assert not promoted and reason.startswith("kept as candidate: embedded-model:v1 has no metrics on hand_labelled (sha256 ")
    assert "could not be evaluated here" in reason and "/nowhere" in reason


def test_an_embedded_candidate_without_figures_is_evaluated_too(active_embedded_model, embedded_artifact, live_f1_now, settings):
    settings.FORMRECAP_PROMOTION_MAX_ECE = 1.0
    folder, trained = embedded_artifact
    candidate = model_version_register(
        kind="embedded", name="embedded-next", artifact_uri=str(folder), training_config={}, data_manifest={},
        metrics=trained.metrics, temperature=trained.model.temperature,
    )  # fmt: skip
    promoted, reason = gate(candidate)
    mine = candidate.metrics["held_out"]["hand_labelled"]
    theirs = ModelVersion.objects.get(pk=active_embedded_model.pk).metrics["held_out"]["hand_labelled"]
    assert mine == theirs and mine["macro_f1"] == pytest.approx(live_f1_now)  # the same weights on the same file
    assert promoted and f"macro-F1 {live_f1_now:.3f} (live {live_f1_now:.3f})" in reason


# --- no held-out set --------------------------------------------------------------------------------


def test_with_no_held_out_set_the_candidate_is_kept_and_never_judged_on_its_own_test_split(held_out_files):
    held_out_files["hand_labelled"].unlink()
    candidate = version("lora", 0.99, 0.01, metrics={"test": {"macro_f1": 0.99, "ece": 0.01}})
    promoted, reason = gate(candidate)
    assert not promoted and reason == (
        "kept as candidate: no held-out set is available to judge it by (missing: "
        f"hand_labelled ({held_out_files['hand_labelled']}), browser_test ({held_out_files['browser_test']}))"
    )


def test_a_set_that_is_not_valid_json_lines_keeps_an_embedded_comparison_back(active_embedded_model, held_out_files):
    held_out_files["hand_labelled"].write_text(json.dumps({"id": "x", "label": 1}) + "\n")  # no events
    promoted, reason = gate(version("lora", 0.95, 0.03))
    assert not promoted and "could not be evaluated here ('events')" in reason


# --- rollback -----------------------------------------------------------------------------------------


def test_rollback_reactivates_the_previous_version():
    first = model_version_activate(model_version=version("lora", 0.9, 0.03, name="a"))
    second = model_version_activate(model_version=version("lora", 0.92, 0.03, name="b"))
    restored = model_version_rollback(kind="lora")
    second.refresh_from_db()
    assert restored.pk == first.pk and restored.status == "active" and second.status == "retired"
    assert "rolled back from b:v1" in restored.status_reason


def test_rollback_without_history_is_a_clear_error():
    model_version_activate(model_version=version("lora", 0.9, 0.03))
    with pytest.raises(ValueError, match="no previously active lora model"):
        model_version_rollback(kind="lora")


def test_repeated_rollbacks_walk_back_instead_of_toggling():
    a = model_version_activate(model_version=version("lora", 0.9, 0.03, name="a"))
    model_version_activate(model_version=version("lora", 0.91, 0.03, name="b"))
    model_version_activate(model_version=version("lora", 0.92, 0.03, name="c"))
    assert model_version_rollback(kind="lora").label == "b:v1"
    assert model_version_rollback(kind="lora").pk == a.pk
    with pytest.raises(ValueError):
        model_version_rollback(kind="lora")


def test_the_gate_only_promotes_candidates():
    retired = model_version_activate(model_version=version("lora", 0.99, 0.01, name="old"))
    model_version_activate(model_version=version("lora", 0.99, 0.01, name="new"))
    retired.refresh_from_db()
    promoted, reason = promotion_gate_apply(candidate=retired)
    assert not promoted and "not a candidate" in reason
