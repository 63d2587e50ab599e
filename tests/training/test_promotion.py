"""The promotion gate and rollback, on registry rows with the metrics training would store."""

import pytest

from training.models import ModelVersion
from training.promotion import model_version_rollback, promotion_gate_apply
from training.services import model_version_activate, model_version_register

pytestmark = pytest.mark.django_db


def version(kind: str, f1: float, ece: float, name: str | None = None) -> ModelVersion:
    return model_version_register(
        kind=kind, name=name or f"{kind}-model", artifact_uri="/nowhere", training_config={}, data_manifest={},
        metrics={"hand_labelled": {"macro_f1": f1, "ece": ece}}, temperature=1.0,
    )  # fmt: skip


def test_a_candidate_as_good_and_calibrated_is_promoted_over_the_live_baseline(settings):
    model_version_activate(model_version=version("embedded", 0.95, 0.03))
    candidate = version("lora", 0.945, 0.04)
    promoted, reason = promotion_gate_apply(candidate=candidate)
    candidate.refresh_from_db()
    assert promoted and candidate.status == "active"
    assert "promoted by the gate" in reason and "embedded-model:v1" in reason


@pytest.mark.parametrize(
    ("f1", "ece", "why"),
    [
        (0.90, 0.03, "worse than embedded-model:v1's 0.950 beyond the tolerance 0.010"),
        (0.96, 0.09, "ECE 0.090 is above the bound 0.060"),
    ],
)
def test_a_worse_or_miscalibrated_candidate_stays_candidate_with_the_reason(f1, ece, why):
    model_version_activate(model_version=version("embedded", 0.95, 0.03))
    candidate = version("lora", f1, ece)
    promoted, reason = promotion_gate_apply(candidate=candidate)
    candidate.refresh_from_db()
    assert not promoted and candidate.status == "candidate" and why in candidate.status_reason == reason


def test_with_nothing_live_a_near_chance_model_is_not_promoted():
    candidate = version("lora", 0.20, 0.01)
    promoted, reason = promotion_gate_apply(candidate=candidate)
    assert not promoted and "below the floor 0.500" in reason


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
