"""Defining a tenant's custom reasons, attaching example sessions, and reading the best reason for a session.

Every change to a reason or its examples refits the tenant's reasons (prototypes.py: a few milliseconds for
dozens of examples) and stores each reason's leave-one-out figures on it, for admin and the API to show.
"""

import re
import threading
from collections.abc import Iterable

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max

from formrecap.models import FormSession, Tenant

from ..features import features_matrix
from ..labels import CLASSES
from ..models import CustomReason, CustomReasonExample
from ..trace import Trace
from .prototypes import MIN_EXAMPLES, FittedReasons, ReasonExamples, fit
from .vectors import field_names, names_vector

NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_REASONS_PER_TENANT = 50
MAX_EXAMPLES_PER_REASON = 200


def custom_reason_definition_check(*, tenant: Tenant, name: str, parent_code: int | None, exclude_pk: int | None = None) -> None:
    errors = {}
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        errors["name"] = [f"{name!r} is not a reason name: lowercase letters, digits and _, starting with a letter, ≤ 64"]
    elif CustomReason.objects.for_tenant(tenant).filter(name=name).exclude(pk=exclude_pk).exists():
        errors["name"] = [f"a custom reason named {name!r} already exists"]
    if parent_code is not None and parent_code not in CLASSES:
        errors["parent_code"] = [f"unknown parent class {parent_code!r}: a class code 1-6, or null for any class"]
    if errors:
        raise ValidationError(errors)


def custom_reason_example_sessions(*, tenant: Tenant, session_ids: Iterable[int]) -> list[FormSession]:
    ids = list(dict.fromkeys(session_ids))
    found = {s.pk: s for s in FormSession.objects.for_tenant(tenant).filter(pk__in=ids)}
    unknown = [pk for pk in ids if pk not in found]
    if unknown:  # another tenant's sessions are unknown here, exactly like ids that do not exist
        raise ValidationError({"examples": [f"unknown session id(s): {', '.join(map(str, unknown[:20]))}"]})
    empty = [pk for pk in ids if not found[pk].event_count]
    if empty:
        raise ValidationError({"examples": [f"session(s) with no events cannot be examples: {', '.join(map(str, empty[:20]))}"]})
    return [found[pk] for pk in ids]


def _example_rows(*, tenant: Tenant, reason: CustomReason, sessions: list[FormSession]) -> list[CustomReasonExample]:
    from ..selectors import session_trace

    traces = [session_trace(session=session) for session in sessions]
    features = features_matrix(traces)
    return [
        CustomReasonExample(
            tenant=tenant, reason=reason, session=session, features=[float(v) for v in row], field_names=field_names(trace)
        )
        for session, trace, row in zip(sessions, traces, features, strict=True)
    ]


@transaction.atomic
def custom_reason_create(
    *, tenant: Tenant, name: str, description: str = "", parent_code: int | None = None, examples: Iterable[int] = ()
) -> CustomReason:
    """A new reason; ``examples`` (session ids) may be empty (admin adds them later) or hold at least MIN_EXAMPLES."""
    custom_reason_definition_check(tenant=tenant, name=name, parent_code=parent_code)
    session_ids = list(dict.fromkeys(examples))
    if 0 < len(session_ids) < MIN_EXAMPLES:
        raise ValidationError({"examples": [f"{len(session_ids)} example session(s): a reason needs at least {MIN_EXAMPLES}"]})
    if CustomReason.objects.for_tenant(tenant).count() >= MAX_REASONS_PER_TENANT:
        raise ValidationError({"name": [f"a tenant may have at most {MAX_REASONS_PER_TENANT} custom reasons"]})
    sessions = custom_reason_example_sessions(tenant=tenant, session_ids=session_ids)
    reason = CustomReason.objects.for_tenant(tenant).create(
        tenant=tenant, name=name, description=description, parent_code=parent_code
    )
    CustomReasonExample.objects.for_tenant(tenant).bulk_create(_example_rows(tenant=tenant, reason=reason, sessions=sessions))
    custom_reasons_refit(tenant=tenant)
    reason.refresh_from_db()
    return reason


@transaction.atomic
def custom_reason_update(*, reason: CustomReason, **changes) -> CustomReason:
    """Change name, description or parent (the examples stay)."""
    name = changes.get("name", reason.name)
    parent_code = changes.get("parent_code", reason.parent_code)
    custom_reason_definition_check(tenant=reason.tenant, name=name, parent_code=parent_code, exclude_pk=reason.pk)
    reason.name, reason.parent_code = name, parent_code
    reason.description = changes.get("description", reason.description)
    reason.save()
    custom_reasons_refit(tenant=reason.tenant)
    reason.refresh_from_db()
    return reason


@transaction.atomic
def custom_reason_delete(*, reason: CustomReason) -> None:
    """Delete a reason and its examples; refused while a recovery rule matches on it (the rule would widen)."""
    rules = list(reason.recovery_rules.values_list("pk", flat=True)[:20])
    if rules:
        raise ValidationError({"detail": [f"recovery rule(s) {', '.join(map(str, rules))} match this reason: change them first"]})
    tenant = reason.tenant
    reason.delete()
    custom_reasons_refit(tenant=tenant)


@transaction.atomic
def custom_reason_examples_add(*, reason: CustomReason, session_ids: Iterable[int]) -> int:
    """Attach sessions as examples (already attached ones are kept once); returns how many were new. A reason is
    used once it has MIN_EXAMPLES (the review queue adds them one at a time)."""
    tenant = reason.tenant
    sessions = custom_reason_example_sessions(tenant=tenant, session_ids=session_ids)
    attached = set(reason.examples.values_list("session_id", flat=True))
    new = [session for session in sessions if session.pk not in attached]
    if len(attached) + len(new) > MAX_EXAMPLES_PER_REASON:
        raise ValidationError({"examples": [f"a reason may have at most {MAX_EXAMPLES_PER_REASON} examples"]})
    CustomReasonExample.objects.for_tenant(tenant).bulk_create(_example_rows(tenant=tenant, reason=reason, sessions=new))
    reason.save(update_fields=["updated_at"])
    custom_reasons_refit(tenant=tenant)
    return len(new)


@transaction.atomic
def custom_reason_example_remove(*, reason: CustomReason, session_id: int) -> None:
    """Detach one example; below MIN_EXAMPLES the reason is no longer used until it has enough again."""
    example = reason.examples.filter(session_id=session_id).first()
    if example is None:
        raise CustomReasonExample.DoesNotExist(f"session {session_id} is not an example of {reason.name}")
    example.delete()
    reason.save(update_fields=["updated_at"])
    custom_reasons_refit(tenant=reason.tenant)


# --- fitting and reading ------------------------------------------------------------------------------


def _standardisation(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The active embedded model's feature scaling (what the class model reads), else the examples' own."""
    from ..backends.base import BackendUnavailable
    from ..backends.embedded import EmbeddedBackend

    try:
        model = EmbeddedBackend().model
        return model.mean, model.scale
    except BackendUnavailable:
        scale = features.std(axis=0)
        return features.mean(axis=0), np.where(scale > 1e-9, scale, 1.0)


def custom_reasons_fit(*, tenant: Tenant) -> FittedReasons | None:
    """Fit the tenant's reasons from their stored examples (none: no reason has enough examples yet)."""
    reasons = list(CustomReason.objects.for_tenant(tenant).values_list("pk", "parent_code"))
    rows = list(CustomReasonExample.objects.for_tenant(tenant).values_list("reason_id", "features", "field_names"))
    if not rows:
        return None
    features = np.asarray([row[1] for row in rows], dtype=float)
    mean, scale = _standardisation(features)
    examples = ReasonExamples(
        reason_ids=np.array([row[0] for row in rows]),
        parents=dict(reasons),
        features=features,
        names=[names_vector(row[2]) for row in rows],
    )
    return fit(examples, mean=mean, scale=scale)


def custom_reasons_refit(*, tenant: Tenant) -> None:
    """Refit and store each reason's figures (examples, leave-one-out accuracy, confusion, threshold)."""
    fitted = custom_reasons_fit(tenant=tenant)
    names = dict(CustomReason.objects.for_tenant(tenant).values_list("pk", "name"))
    counts = dict(CustomReason.objects.for_tenant(tenant).annotate(n=Count("examples")).values_list("pk", "n"))
    for pk in names:
        figures = fitted.figures.get(pk) if fitted is not None else None
        if figures is None:
            fit_document = {"examples": counts[pk], "ready": False, "needs": max(0, MIN_EXAMPLES - counts[pk])}
        else:
            confusion = {names.get(int(k), k) if k != "none" else "none": n for k, n in figures.confusion.items()}
            fit_document = {
                "examples": figures.examples,
                "ready": True,
                "loo_accuracy": round(figures.loo_accuracy, 4),
                "confusion": confusion,
                "threshold": round(figures.threshold, 6),
                "name_weight": fitted.name_weight,
                "temperature": round(fitted.temperature, 6),
            }
        CustomReason.objects.for_tenant(tenant).filter(pk=pk).update(fit=fit_document)


_fitted_cache: dict[int, tuple[tuple, FittedReasons | None]] = {}
_cache_lock = threading.Lock()


def _fitted_for(tenant: Tenant) -> FittedReasons | None:
    """The tenant's fitted reasons, refitted in this process only when its reasons or examples changed."""
    from training.models import ModelVersion
    from training.selectors import model_version_active

    stamp_row = CustomReason.objects.for_tenant(tenant).aggregate(changed=Max("updated_at"), n=Count("id"))
    if not stamp_row["n"]:
        return None
    active = model_version_active(kind=ModelVersion.Kind.EMBEDDED)
    stamp = (stamp_row["changed"], stamp_row["n"], getattr(active, "pk", None))
    with _cache_lock:
        cached = _fitted_cache.get(tenant.pk)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    fitted = custom_reasons_fit(tenant=tenant)
    with _cache_lock:
        _fitted_cache[tenant.pk] = (stamp, fitted)
    return fitted


def custom_reason_read(*, tenant: Tenant, trace: Trace, code: int) -> tuple[int | None, float | None]:
    """(best custom reason id or None, its score) for a trace read as class ``code``; (None, None) when the tenant
    has no reason that could apply (no score to give)."""
    fitted = _fitted_for(tenant)
    if fitted is None or not ((fitted.parents == code) | (fitted.parents == 0)).any():
        return None, None
    features = features_matrix([trace])[0]
    return fitted.score(features, names_vector(field_names(trace)), code)
