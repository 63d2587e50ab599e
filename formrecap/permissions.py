"""Default API permissions: a tenant resolved from a key, with the scope the method needs."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from .authentication import TenantPrincipal


class HasTenant(BasePermission):
    message = "this API key lacks the scope for this request"

    def has_permission(self, request, view) -> bool:
        principal = request.user
        if not isinstance(principal, TenantPrincipal):
            return False
        needed = "read" if request.method in SAFE_METHODS else "write"
        return needed in principal.api_key.scopes
