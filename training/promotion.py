"""The promotion gate and rollback: a candidate goes live only if, on every held-out set there is, it is calibrated,
above the floor and not worse than the live model, both measured on the same file."""

from pathlib import Path

from django.conf import settings

from classifier.embedded_model import EmbeddedModel

from .deployment import DeploymentFailed
from .held_out import (
    HeldOutSet,
    embedded_held_out_metrics,
    held_out_entries,
    held_out_matching,
    held_out_sets_available,
    held_out_sets_missing,
)
from .models import ModelVersion
from .selectors import model_version_active
from .services import model_version_activate, model_version_held_out_record


def held_out_now(model_version: ModelVersion, sets: list[HeldOutSet]) -> tuple[dict[str, dict], str]:
    """(entries on exactly these files, by set name; why the others are missing, or "").

    An embedded model lacking some is evaluated now and the result stored on it. A LoRA adapter is not: its
    weights are on Modal or need the ML stack, so its entries come only from its calibration run."""
    matching = held_out_matching(model_version.metrics, sets)
    lacking = [s for s in sets if s.name not in matching]
    if not lacking:
        return matching, ""
    has_none = f"{model_version.label} has no metrics on " + ", ".join(_lacking(model_version, s) for s in lacking)
    if model_version.kind != ModelVersion.Kind.EMBEDDED:
        return matching, f"{has_none}, and a {model_version.kind} model cannot be evaluated here"
    try:
        model = EmbeddedModel.load(Path(model_version.artifact_uri)).with_temperature(model_version.temperature)
        entries = embedded_held_out_metrics(model, lacking)
    except (OSError, ValueError, KeyError) as exc:  # files gone, other features, a set it cannot read
        return matching, f"{has_none} and could not be evaluated here ({exc})"
    model_version_held_out_record(model_version=model_version, entries=entries)
    return matching | entries, ""


def _lacking(model_version: ModelVersion, held_out_set: HeldOutSet) -> str:
    older = held_out_entries(model_version.metrics).get(held_out_set.name)
    if older and older.get("sha256"):
        return f"{held_out_set.short} (it was measured on another file, sha256 {older['sha256'][:12]})"
    return held_out_set.short


def promotion_gate_apply(*, candidate: ModelVersion) -> tuple[bool, str]:
    """Activate ``candidate`` when, on each held-out set available now, its ECE is within the bound, its macro-F1
    above the floor and within tolerance of the live model's on the same file. The live model is the active one of
    the same kind, else the active embedded model (the product's baseline). Otherwise it stays a candidate and the
    reason is recorded on it. Never judged on its own synthetic test split: that is not the live model's."""
    if candidate.status != ModelVersion.Status.CANDIDATE:
        return False, f"{candidate.label} is {candidate.status}, not a candidate: the gate only promotes candidates"
    live = model_version_active(kind=candidate.kind) or model_version_active(kind=ModelVersion.Kind.EMBEDDED)
    live = live if live is not None and live.pk != candidate.pk else None
    sets = held_out_sets_available()
    if not sets:
        return _keep(candidate, [f"no held-out set is available to judge it by (missing: {held_out_sets_missing()})"])
    mine, why_not_mine = held_out_now(candidate, sets)
    theirs, why_not_theirs = held_out_now(live, sets) if live is not None else ({}, "")
    reasons = [why for why in (why_not_mine, why_not_theirs) if why]
    verdicts = []
    for held_out_set in sets:
        if held_out_set.name not in mine or (live is not None and held_out_set.name not in theirs):
            continue  # said above
        problems, verdict = _judge(held_out_set, mine[held_out_set.name], theirs.get(held_out_set.name), live)
        reasons += problems
        verdicts.append(verdict)
    if reasons:
        return _keep(candidate, reasons)
    compared = f" (live: {live.label})" if live is not None else ""
    reason = f"promoted by the gate{compared}: " + "; ".join(verdicts)
    try:
        model_version_activate(model_version=candidate, reason=reason)
    except DeploymentFailed as exc:
        return _keep(candidate, [f"passed the gate, but deployment failed: {exc}"])
    return True, reason


def _judge(held_out_set: HeldOutSet, mine: dict, theirs: dict | None, live: ModelVersion | None) -> tuple[list[str], str]:
    """(what keeps the candidate back on this set, the set's figures for the promotion reason)."""
    name = held_out_set.name
    f1, ece = mine.get("macro_f1"), mine.get("ece")
    if f1 is None or ece is None:
        return [f"{name}: no macro-F1/ECE to judge it by"], ""
    tolerance, max_ece, floor = (
        settings.FORMRECAP_PROMOTION_F1_TOLERANCE,
        settings.FORMRECAP_PROMOTION_MAX_ECE,
        settings.FORMRECAP_PROMOTION_MIN_F1,
    )
    problems = []
    if ece > max_ece:
        problems.append(f"{name}: ECE {ece:.3f} is above the bound {max_ece:.3f}")
    # With nothing live to compare against, a calibrated but near-chance model must not go live.
    if f1 < floor:
        problems.append(f"{name}: macro-F1 {f1:.3f} is below the floor {floor:.3f}")
    against = ""
    if live is not None:
        their_f1 = (theirs or {}).get("macro_f1")
        if their_f1 is None:
            problems.append(f"{name}: {live.label} has no macro-F1 to compare with")
        else:
            against = f" (live {their_f1:.3f})"
            if f1 < their_f1 - tolerance:
                worse = f"{name}: macro-F1 {f1:.3f} is worse than {live.label}'s {their_f1:.3f}"
                problems.append(f"{worse} beyond the tolerance {tolerance:.3f}")
    n = f", n={mine['n']}" if "n" in mine else ""
    return problems, f"{held_out_set.short}{n}: macro-F1 {f1:.3f}{against}, ECE {ece:.3f}"


def _keep(candidate: ModelVersion, reasons: list[str]) -> tuple[bool, str]:
    reason = "kept as candidate: " + "; ".join(reasons)
    ModelVersion.objects.filter(pk=candidate.pk).update(status_reason=reason)
    candidate.refresh_from_db()
    return False, reason


def model_version_rollback(*, kind: str) -> ModelVersion:
    """Re-activate the version that was live before the current one (one admin action; repeated, it keeps going back)."""
    current = model_version_active(kind=kind)
    previous = current.previous_active if current is not None else None
    if previous is None:
        raise ValueError(f"no previously active {kind} model to roll back to")
    # published again first (a vLLM server restarted since has forgotten it); DeploymentFailed keeps the current one
    return model_version_activate(model_version=previous, reason=f"rolled back from {current.label}", rollback=True)
