"""Reads of a tenant's custom reasons: lists, checks of a definition, the fitted prototypes (cached per process,
refitted when anything they depend on changed), a trace's best reason, and the reasons as LLM prompts take them."""

import logging
import threading
from collections.abc import Iterable

import numpy as np
from django.core.exceptions import ValidationError
from django.db.models import Count, Max, QuerySet

from formrecap.models import FormSession, Tenant

from ..features import FEATURE_NAMES, features_matrix
from ..labels import CLASSES
from ..models import CustomReason, CustomReasonExample
from ..trace import Trace, TraceError, serialise_trace
from .llm import EXAMPLES_PER_REASON, MAX_CANDIDATES, ReasonPrompt
from .prototypes import MIN_EXAMPLES, FittedReasons, ReasonExamples, fit
from .vectors import field_names, names_vector

logger = logging.getLogger(__name__)
NAME_PATTERN = r"[a-z][a-z0-9_]{0,63}"


def custom_reason_list(*, tenant: Tenant) -> QuerySet[CustomReason]:
    """The tenant's reasons by name, each with ``example_count``."""
    return CustomReason.objects.for_tenant(tenant).annotate(example_count=Count("examples")).order_by("name", "id")


def custom_reason_definition_check(*, tenant: Tenant, name: str, parent_code: int | None, exclude_pk: int | None = None) -> None:
    """ValidationError naming each problem of a reason's name and parent (a bad or taken name, an unknown class)."""
    import re

    errors = {}
    if not isinstance(name, str) or not re.fullmatch(NAME_PATTERN, name):
        errors["name"] = [f"{name!r} is not a reason name: lowercase letters, digits and _, starting with a letter, ≤ 64"]
    elif CustomReason.objects.for_tenant(tenant).filter(name=name).exclude(pk=exclude_pk).exists():
        errors["name"] = [f"a custom reason named {name!r} already exists"]
    if parent_code is not None and parent_code not in CLASSES:
        errors["parent_code"] = [f"unknown parent class {parent_code!r}: a class code 1-6, or null for any class"]
    if errors:
        raise ValidationError(errors)


def custom_reason_example_sessions(*, tenant: Tenant, session_ids: Iterable[int]) -> list[FormSession]:
    """The tenant's sessions with these ids, in order; ValidationError naming unknown ids (another tenant's read the
    same as missing ones) and sessions with no events."""
    ids = list(dict.fromkeys(session_ids))
    found = {s.pk: s for s in FormSession.objects.for_tenant(tenant).filter(pk__in=ids)}
    unknown = [pk for pk in ids if pk not in found]
    if unknown:
        raise ValidationError({"examples": [f"unknown session id(s): {', '.join(map(str, unknown[:20]))}"]})
    empty = [pk for pk in ids if not found[pk].event_count]
    if empty:
        raise ValidationError({"examples": [f"session(s) with no events cannot be examples: {', '.join(map(str, empty[:20]))}"]})
    return [found[pk] for pk in ids]


# --- fitting and reading ------------------------------------------------------------------------------


def _standardisation(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The active embedded model's feature scaling (what the class model reads), else the examples' own."""
    from ..backends.base import BackendUnavailable
    from ..backends.embedded import EmbeddedBackend

    try:
        model = EmbeddedBackend().model
        return model.mean, model.scale
    except BackendUnavailable:
        return own_standardisation(features)


def own_standardisation(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The examples' own mean and spread (a constant feature keeps scale 1)."""
    scale = features.std(axis=0)
    return features.mean(axis=0), np.where(scale > 1e-9, scale, 1.0)


def custom_reasons_fit(*, tenant: Tenant) -> FittedReasons | None:
    """Fit the tenant's reasons from their stored examples (None: no reason has enough examples yet). Examples
    stored by an older feature set (another length) are left out until attached again."""
    reasons = list(CustomReason.objects.for_tenant(tenant).values_list("pk", "parent_code"))
    rows = [
        row
        for row in CustomReasonExample.objects.for_tenant(tenant).values_list("reason_id", "features", "field_names")
        if len(row[1]) == len(FEATURE_NAMES)
    ]
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


_fitted_cache: dict[int, tuple[tuple, FittedReasons | None]] = {}
_cache_lock = threading.Lock()


def _stamp(tenant: Tenant) -> tuple | None:
    """Everything a fit depends on, in one small query: each reason's id, parent and last change, its examples'
    count and newest id (an example removed by a cascade, or one committed late, changes it), and the active
    embedded model. None when the tenant has no reason."""
    from training.models import ModelVersion
    from training.selectors import model_version_active

    reasons = tuple(
        CustomReason.objects.for_tenant(tenant)
        .annotate(n=Count("examples"), newest=Max("examples__id"))
        .order_by("pk")
        .values_list("pk", "parent_code", "updated_at", "n", "newest")
    )
    if not reasons:
        return None
    return reasons, getattr(model_version_active(kind=ModelVersion.Kind.EMBEDDED), "pk", None)


def _fitted_for(tenant: Tenant) -> FittedReasons | None:
    """The tenant's fitted reasons, refitted in this process only when something they depend on changed."""
    stamp = _stamp(tenant)
    if stamp is None:
        return None
    with _cache_lock:
        cached = _fitted_cache.get(tenant.pk)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    fitted = custom_reasons_fit(tenant=tenant)
    with _cache_lock:
        _fitted_cache[tenant.pk] = (stamp, fitted)
    return fitted


def custom_reason_read(*, tenant: Tenant, trace: Trace, code: int) -> tuple[int | None, float | None]:
    """(best custom reason id, its score) for a trace read as class ``code``; (None, None) when no reason is close
    enough or none could apply."""
    fitted = _fitted_for(tenant)
    if fitted is None or not ((fitted.parents == code) | (fitted.parents == 0)).any():
        return None, None
    features = features_matrix([trace])[0]
    reason_id, score = fitted.score(features, names_vector(field_names(trace)), code)
    return (reason_id, score) if reason_id is not None else (None, None)


def custom_reason_prompts(*, tenant: Tenant, code: int) -> list[ReasonPrompt]:
    """The reasons that may apply to class ``code`` (its own, then those with no parent) with enough examples, each
    with up to EXAMPLES_PER_REASON[1] example traces (oldest first; an unreadable one is skipped)."""
    from ..selectors import session_trace

    own = CustomReason.objects.for_tenant(tenant).filter(parent_code=code).order_by("name")
    any_class = CustomReason.objects.for_tenant(tenant).filter(parent_code__isnull=True).order_by("name")
    prompts = []
    for reason in [*own, *any_class]:
        if len(prompts) == MAX_CANDIDATES:
            break
        traces = []
        for example in reason.examples.select_related("session").order_by("id")[: EXAMPLES_PER_REASON[1]]:
            try:
                traces.append(serialise_trace(session_trace(session=example.session)))
            except TraceError:
                logger.warning("custom reason %s: example session %s has no readable trace", reason.pk, example.session_id)
        if len(traces) >= max(MIN_EXAMPLES, EXAMPLES_PER_REASON[0]):
            prompts.append(ReasonPrompt(reason.pk, reason.name, reason.description, tuple(traces)))
    return prompts
