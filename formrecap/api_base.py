"""The base class of every tenant-scoped API view.

Authentication and permissions come from the DRF defaults (an API key resolves the
tenant). Views get the tenant from ``self.tenant`` and never from the request body,
and build their querysets from it, so a foreign tenant's id is simply not found (404).
"""

from rest_framework.exceptions import NotAuthenticated
from rest_framework.views import APIView

from .authentication import TenantPrincipal
from .models import Tenant


class TenantApiView(APIView):
    @property
    def tenant(self) -> Tenant:
        principal = self.request.user
        if not isinstance(principal, TenantPrincipal):  # fail closed if permissions were overridden
            raise NotAuthenticated("an API key is required")
        return principal.tenant
