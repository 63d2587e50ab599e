"""Reads of a tenant's custom reasons."""

from django.db.models import Count, QuerySet

from formrecap.models import Tenant

from ..models import CustomReason


def custom_reason_list(*, tenant: Tenant) -> QuerySet[CustomReason]:
    """The tenant's reasons by name, each with ``example_count``."""
    return CustomReason.objects.for_tenant(tenant).annotate(example_count=Count("examples")).order_by("name", "id")
