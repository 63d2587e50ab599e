"""Tenant isolation, enforced in one place.

Every tenant-owned model has two managers:

* ``objects`` (``TenantManager``) fails closed: any query that does not start with
  ``for_tenant(tenant)`` raises ``TenantScopeError`` instead of returning every
  tenant's rows.
* ``all_tenants`` is the unscoped bypass. It is the model's default manager so that
  Django's own machinery (admin, migrations, unique validation, cascades) works; the
  application uses it only to resolve credentials and in admin and system tasks.
"""

from django.db import models


class TenantScopeError(RuntimeError):
    """A tenant-owned model was queried without a tenant."""


class TenantManager(models.Manager):
    def __init__(self, tenant_path: str = "tenant") -> None:
        super().__init__()
        self.tenant_path = tenant_path

    def get_queryset(self) -> models.QuerySet:
        raise TenantScopeError(
            f"{self.model.__name__}.objects needs a tenant: use "
            f"{self.model.__name__}.objects.for_tenant(tenant) (or all_tenants in admin/system code)."
        )

    def for_tenant(self, tenant) -> models.QuerySet:
        if tenant is None or getattr(tenant, "pk", None) is None:
            raise TenantScopeError(f"{self.model.__name__}.objects.for_tenant() needs a saved tenant, got {tenant!r}.")
        return super().get_queryset().filter(**{self.tenant_path: tenant})

    def create(self, **kwargs):
        # Creating a row reads nothing, so it needs no scope; the row carries its tenant.
        return super().get_queryset().create(**kwargs)
