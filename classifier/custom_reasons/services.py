"""Defining a tenant's custom reasons and attaching example sessions.

Every writer locks the tenant's row first, so a tenant's writes run one at a time: the name check, the caps and
the refit see each other's changes (two POSTs of one name: one 201, one 400). Every change refits the tenant's
reasons (prototypes.py: 60 ms for 20 reasons × 5 examples) and stores each reason's leave-one-out figures on it,
for admin and the API to show.
"""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count

from formrecap.models import FormSession, Tenant

from ..features import features_matrix
from ..models import CustomReason, CustomReasonExample
from ..trace import TraceError
from .prototypes import MIN_EXAMPLES
from .selectors import custom_reason_definition_check, custom_reason_example_sessions, custom_reasons_fit
from .vectors import field_names

MAX_REASONS_PER_TENANT = 50
MAX_EXAMPLES_PER_REASON = 200


def _lock(tenant: Tenant) -> None:
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()


def custom_reason_limits_check(*, tenant: Tenant, reason: CustomReason | None, adding: int) -> None:
    """ValidationError when a new reason (``reason`` None) or ``adding`` more examples would pass the caps."""
    if reason is None and CustomReason.objects.for_tenant(tenant).count() >= MAX_REASONS_PER_TENANT:
        raise ValidationError({"name": [f"a tenant may have at most {MAX_REASONS_PER_TENANT} custom reasons"]})
    held = 0 if reason is None else reason.examples.count()
    if held + adding > MAX_EXAMPLES_PER_REASON:
        raise ValidationError({"examples": [f"a reason may have at most {MAX_EXAMPLES_PER_REASON} examples ({held} held)"]})


def _example_rows(*, tenant: Tenant, reason: CustomReason, sessions: list[FormSession]) -> list[CustomReasonExample]:
    from ..selectors import session_trace

    traces = []
    for session in sessions:
        try:
            traces.append(session_trace(session=session))
        except TraceError as exc:
            raise ValidationError({"examples": [f"session {session.pk} cannot be read as a trace: {exc}"]}) from None
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
    _lock(tenant)
    custom_reason_definition_check(tenant=tenant, name=name, parent_code=parent_code)
    session_ids = list(dict.fromkeys(examples))
    if 0 < len(session_ids) < MIN_EXAMPLES:
        raise ValidationError({"examples": [f"{len(session_ids)} example session(s): a reason needs at least {MIN_EXAMPLES}"]})
    custom_reason_limits_check(tenant=tenant, reason=None, adding=len(session_ids))
    sessions = custom_reason_example_sessions(tenant=tenant, session_ids=session_ids)
    reason = CustomReason.objects.for_tenant(tenant).create(
        tenant=tenant, name=name, description=description, parent_code=parent_code
    )
    CustomReasonExample.objects.for_tenant(tenant).bulk_create(_example_rows(tenant=tenant, reason=reason, sessions=sessions))
    custom_reasons_refit(tenant=tenant)
    reason.refresh_from_db()
    return reason


@transaction.atomic
def custom_reason_update(
    *, reason: CustomReason, name: str | None = None, description: str | None = None, parent_code: int | None | object = ...
) -> CustomReason:
    """Change name, description or parent (``...``: unchanged; the examples stay). A parent that a recovery rule
    matching this reason no longer agrees with is refused, or the rule would silently never fire."""
    tenant = reason.tenant
    _lock(tenant)
    name = reason.name if name is None else name
    parent_code = reason.parent_code if parent_code is ... else parent_code
    custom_reason_definition_check(tenant=tenant, name=name, parent_code=parent_code, exclude_pk=reason.pk)
    if parent_code is not None:
        clashing = reason.recovery_rules.exclude(class_code__isnull=True).exclude(class_code=parent_code)
        rules = list(clashing.values_list("pk", flat=True)[:20])
        if rules:
            raise ValidationError(
                {"parent_code": [f"recovery rule(s) {', '.join(map(str, rules))} match this reason for another class"]}
            )
    reason.name, reason.parent_code = name, parent_code
    reason.description = reason.description if description is None else description
    reason.save()
    custom_reasons_refit(tenant=tenant)
    reason.refresh_from_db()
    return reason


@transaction.atomic
def custom_reason_delete(*, reason: CustomReason) -> None:
    """Delete a reason and its examples; refused while a recovery rule matches on it (the rule would widen)."""
    tenant = reason.tenant
    _lock(tenant)
    rules = list(reason.recovery_rules.values_list("pk", flat=True)[:20])
    if rules:
        raise ValidationError({"detail": [f"recovery rule(s) {', '.join(map(str, rules))} match this reason: change them first"]})
    reason.delete()
    custom_reasons_refit(tenant=tenant)


@transaction.atomic
def custom_reason_examples_add(*, reason: CustomReason, session_ids: Iterable[int]) -> int:
    """Attach sessions as examples (already attached ones are kept once); returns how many were new. A reason is
    used once it has MIN_EXAMPLES (the review queue adds them one at a time)."""
    tenant = reason.tenant
    _lock(tenant)
    sessions = custom_reason_example_sessions(tenant=tenant, session_ids=session_ids)
    attached = set(reason.examples.values_list("session_id", flat=True))
    new = [session for session in sessions if session.pk not in attached]
    custom_reason_limits_check(tenant=tenant, reason=reason, adding=len(new))
    CustomReasonExample.objects.for_tenant(tenant).bulk_create(_example_rows(tenant=tenant, reason=reason, sessions=new))
    reason.save(update_fields=["updated_at"])
    custom_reasons_refit(tenant=tenant)
    return len(new)


@transaction.atomic
def custom_reason_example_remove(*, reason: CustomReason, session_id: int) -> None:
    """Detach one example; below MIN_EXAMPLES the reason is no longer used until it has enough again."""
    _lock(reason.tenant)
    example = reason.examples.filter(session_id=session_id).first()
    if example is None:
        raise CustomReasonExample.DoesNotExist(f"session {session_id} is not an example of {reason.name}")
    example.delete()
    reason.save(update_fields=["updated_at"])
    custom_reasons_refit(tenant=reason.tenant)


def custom_reasons_refit(*, tenant: Tenant) -> None:
    """Refit and store each reason's figures (examples, leave-one-out accuracy, confusion, threshold)."""
    fitted = custom_reasons_fit(tenant=tenant)
    reasons = CustomReason.objects.for_tenant(tenant)
    names = dict(reasons.values_list("pk", "name"))
    counts = {pk: n for pk, n in reasons.values_list("pk").annotate(n=Count("examples"))}
    for pk in names:
        figures = fitted.figures.get(pk) if fitted is not None else None
        if figures is None:
            document = {"examples": counts[pk], "ready": False, "needs": max(0, MIN_EXAMPLES - counts[pk])}
        else:
            confusion = {names.get(int(k), k) if k != "none" else "none": n for k, n in figures.confusion.items()}
            document = {
                "examples": figures.examples,
                "ready": True,
                "loo_accuracy": round(figures.loo_accuracy, 4),
                "confusion": confusion,
                "threshold": round(figures.threshold, 6),
                "name_weight": fitted.name_weight,
                "temperature": round(fitted.temperature, 6),
            }
        reasons.filter(pk=pk).update(fit=document)
