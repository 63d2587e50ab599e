"""The promotion gate and rollback: a candidate goes live only if it is not worse and is calibrated."""

from django.conf import settings
from django.db import transaction

from .models import ModelVersion
from .selectors import model_version_active
from .services import model_version_activate

HELD_OUT_ORDER = ("hand_labelled", "test", "test_terse")


def held_out(metrics: dict) -> tuple[str | None, dict]:
    """(name, metrics) of the set a model is judged by: the hand-labelled set, else its test split."""
    for name in HELD_OUT_ORDER:
        if (metrics or {}).get(name):
            return name, metrics[name]
    return None, {}


def held_out_metrics(model_version: ModelVersion) -> dict:
    return held_out(model_version.metrics)[1]


def promotion_gate_apply(*, candidate: ModelVersion) -> tuple[bool, str]:
    """Activate ``candidate`` when its held-out macro-F1 is within tolerance of the live model's and its ECE within
    the bound. The live model is the active one of the same kind, else the active embedded model (the product's
    baseline). Otherwise it stays a candidate and the reason is recorded on it."""
    if candidate.status != ModelVersion.Status.CANDIDATE:
        return False, f"{candidate.label} is {candidate.status}, not a candidate: the gate only promotes candidates"
    tolerance = settings.FORMRECAP_PROMOTION_F1_TOLERANCE
    max_ece = settings.FORMRECAP_PROMOTION_MAX_ECE
    mine = held_out_metrics(candidate)
    live = model_version_active(kind=candidate.kind) or model_version_active(kind=ModelVersion.Kind.EMBEDDED)
    reasons = []
    if mine.get("macro_f1") is None or mine.get("ece") is None:
        reasons.append("no held-out macro-F1/ECE to judge it by")
    else:
        if mine["ece"] > max_ece:
            reasons.append(f"ECE {mine['ece']:.3f} is above the bound {max_ece:.3f}")
        # With nothing live to compare against, a calibrated but near-chance model must not go live.
        if mine["macro_f1"] < settings.FORMRECAP_PROMOTION_MIN_F1:
            reasons.append(f"macro-F1 {mine['macro_f1']:.3f} is below the floor {settings.FORMRECAP_PROMOTION_MIN_F1:.3f}")
        if live is not None and live.pk != candidate.pk:
            theirs = held_out_metrics(live).get("macro_f1")
            if theirs is not None and mine["macro_f1"] < theirs - tolerance:
                worse = f"macro-F1 {mine['macro_f1']:.3f} is worse than {live.label}'s {theirs:.3f}"
                reasons.append(f"{worse} beyond the tolerance {tolerance:.3f}")
    if reasons:
        reason = "kept as candidate: " + "; ".join(reasons)
        ModelVersion.objects.filter(pk=candidate.pk).update(status_reason=reason)
        candidate.refresh_from_db()
        return False, reason
    compared = f" (live: {live.label})" if live is not None and live.pk != candidate.pk else ""
    reason = f"promoted by the gate: macro-F1 {mine['macro_f1']:.3f}, ECE {mine['ece']:.3f}{compared}"
    model_version_activate(model_version=candidate, reason=reason)
    return True, reason


def model_version_rollback(*, kind: str) -> ModelVersion:
    """Re-activate the version that was live before the current one (one admin action; repeated, it keeps going back)."""
    with transaction.atomic():
        current = model_version_active(kind=kind)
        previous = current.previous_active if current is not None else None
        if previous is None:
            raise ValueError(f"no previously active {kind} model to roll back to")
        return model_version_activate(model_version=previous, reason=f"rolled back from {current.label}", rollback=True)
