"""Recovery reads, each scoped to one tenant."""

from datetime import timedelta

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from classifier.models import Prediction
from formrecap.models import FormSession, Tenant

from .models import ActionExecution, RecoveryRule, TenantRecoverySettings, UxAlert


def recovery_settings_get(*, tenant: Tenant) -> TenantRecoverySettings:
    """The tenant's settings, or the defaults (unsaved) when the tenant never changed them."""
    stored = TenantRecoverySettings.objects.for_tenant(tenant).first()
    return stored if stored is not None else TenantRecoverySettings(tenant=tenant)


def recovery_rule_list(*, tenant: Tenant) -> QuerySet[RecoveryRule]:
    """The tenant's rules in the order a decision tries them: highest priority first, then oldest."""
    return RecoveryRule.objects.for_tenant(tenant).order_by("-priority", "id")


def action_execution_list(
    *, tenant: Tenant, rule_id: int | None = None, status: str | None = None, session_id: int | None = None
) -> QuerySet[ActionExecution]:
    """The tenant's executions, newest first."""
    executions = ActionExecution.objects.for_tenant(tenant).order_by("-created_at", "-id")
    if rule_id is not None:
        executions = executions.filter(rule_id=rule_id)
    if status is not None:
        executions = executions.filter(status=status)
    if session_id is not None:
        executions = executions.filter(session_id=session_id)
    return executions


def ux_alert_list(*, tenant: Tenant, site_id: int | None = None, is_open: bool | None = None) -> QuerySet[UxAlert]:
    """The tenant's UX alerts, most recently updated first; ``is_open`` keeps the unresolved (True) or resolved ones."""
    alerts = UxAlert.objects.for_tenant(tenant).order_by("-updated_at", "-id")
    if site_id is not None:
        alerts = alerts.filter(site_id=site_id)
    if is_open is not None:
        alerts = alerts.filter(resolved_at__isnull=is_open)
    return alerts


PLAN_CATCH_UP_DAYS = 7


def sessions_unplanned(*, limit: int = 500) -> list[tuple[int, int]]:
    """(tenant id, session id) of sessions abandoned for good in the last week that have a final prediction and
    were never planned. A system query across tenants, used only by the periodic catch-up task."""
    since = timezone.now() - timedelta(days=PLAN_CATCH_UP_DAYS)
    final = Prediction.all_tenants.filter(session=OuterRef("pk"), final=True)
    return list(
        FormSession.all_tenants.filter(status=FormSession.Status.ABANDONED, abandoned_at__gte=since, planned_at__isnull=True)
        .filter(Exists(final))
        .order_by("abandoned_at")
        .values_list("tenant_id", "pk")[:limit]
    )
