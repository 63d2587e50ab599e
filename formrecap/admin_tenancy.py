"""Tenant isolation for Django admin, in one base class.

Superusers see every tenant. Other staff see only the tenants they are members of;
their role there decides what they may do (owner/admin: change, analyst: view).
Foreign-tenant objects are filtered out of the queryset, so their change pages
answer "does not exist" like any missing object. Form choices are limited the same
way, users included: a tenant editor picks among the members of their own tenants
(only superusers create users, and they add a new user's first membership).
"""

from django.contrib import admin
from django.contrib.admin import widgets
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest

from .models import Membership, Site, Tenant

EDITOR_ROLES = (Membership.Role.OWNER, Membership.Role.ADMIN)


def _roles(request: HttpRequest) -> dict[int, str]:
    """tenant id → role for the logged-in user, computed once per request."""
    if not hasattr(request, "_formrecap_roles"):
        memberships = Membership.all_tenants.filter(user_id=request.user.pk).values_list("tenant_id", "role")
        request._formrecap_roles = dict(memberships)
    return request._formrecap_roles


def member_tenant_ids(request: HttpRequest) -> list[int]:
    return list(_roles(request))


def editable_tenant_ids(request: HttpRequest, roles: tuple[str, ...] = EDITOR_ROLES) -> list[int]:
    return [tenant_id for tenant_id, role in _roles(request).items() if role in roles]


class TenantScopedAdmin(admin.ModelAdmin):
    tenant_path = "tenant"  # lookup from this model to its Tenant
    editor_roles: tuple[str, ...] = EDITOR_ROLES  # roles that may add, change and delete here

    def object_tenant_id(self, obj) -> int:
        target = obj
        for part in self.tenant_path.split("__"):
            target = getattr(target, part)
        return target.pk

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        queryset = self.model.all_tenants.get_queryset()
        ordering = self.get_ordering(request)
        if ordering:
            queryset = queryset.order_by(*ordering)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.tenant_path}__in": member_tenant_ids(request)})

    def has_module_permission(self, request: HttpRequest) -> bool:
        return (
            request.user.is_active and request.user.is_staff and (request.user.is_superuser or bool(member_tenant_ids(request)))
        )

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        if request.user.is_superuser:
            return True
        if obj is not None:
            return self.object_tenant_id(obj) in member_tenant_ids(request)
        return self.has_module_permission(request)

    def _may_edit(self, request: HttpRequest, obj=None) -> bool:
        if request.user.is_superuser:
            return True
        if not request.user.is_staff:
            return False
        if obj is not None:
            return self.object_tenant_id(obj) in editable_tenant_ids(request, self.editor_roles)
        return bool(editable_tenant_ids(request, self.editor_roles))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._may_edit(request)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._may_edit(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return self._may_edit(request, obj)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        # Choices in forms are limited too, or a staff user could attach objects to another tenant; and every
        # widget resolves ids through the same limited queryset, or a prefilled foreign id would show its label.
        scope = None if request.user.is_superuser else editable_tenant_ids(request, self.editor_roles)
        related = db_field.related_model
        if related is Tenant:
            queryset = Tenant.objects.all()
            kwargs["queryset"] = queryset if scope is None else queryset.filter(pk__in=scope)
            only = scope if scope is not None else queryset.values_list("pk", flat=True)[:2]
            if len(only) == 1:
                kwargs.setdefault("initial", only[0])  # one tenant to choose from: chosen already
        elif related is get_user_model():
            # Listing every user would show each tenant's editors the other tenants' people.
            queryset = get_user_model()._default_manager.all()
            kwargs["queryset"] = queryset if scope is None else queryset.filter(memberships__tenant_id__in=scope).distinct()
        elif _is_tenant_owned(related):
            queryset = related._default_manager.all()
            kwargs["queryset"] = queryset if scope is None else queryset.filter(tenant_id__in=scope)
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if formfield is not None and type(formfield.widget) is widgets.ForeignKeyRawIdWidget:
            formfield.widget = TenantRawIdWidget(
                db_field.remote_field, self.admin_site, queryset=formfield.queryset, using=kwargs.get("using")
            )
        return formfield


def _is_tenant_owned(model) -> bool:
    return any(field.name == "tenant" and field.is_relation for field in model._meta.concrete_fields)


class TenantRawIdWidget(widgets.ForeignKeyRawIdWidget):
    """The stock raw-id widget labels the id it holds through the model's default manager (every tenant); this one
    labels only ids inside the form field's queryset, so a foreign id in the URL shows nothing but itself."""

    def __init__(self, rel, admin_site, *, queryset, **kwargs) -> None:
        super().__init__(rel, admin_site, **kwargs)
        self.queryset = queryset

    def label_and_url_for_value(self, value):
        key = self.rel.get_related_field().name
        try:
            visible = self.queryset.filter(**{key: value}).exists()
        except (ValueError, TypeError, ValidationError):
            visible = False
        return super().label_and_url_for_value(value) if visible else ("", "")


class TenantSiteListFilter(admin.SimpleListFilter):
    """A site filter that lists only the user's own sites (the stock one would list every tenant's)."""

    title = "site"
    parameter_name = "site"
    site_lookup = "site_id"  # from the listed model to its site's id (e.g. "session__site_id")

    def lookups(self, request, model_admin):
        sites = Site.all_tenants.order_by("name")
        if not request.user.is_superuser:
            sites = sites.filter(tenant_id__in=member_tenant_ids(request))
        return [(site.pk, site.name) for site in sites]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        listed = {str(site_id) for site_id, _ in self.lookup_choices}
        # Only the user's own sites can be filtered on; anything else (a foreign id, "abc") matches nothing.
        return queryset.filter(**{self.site_lookup: int(self.value())}) if self.value() in listed else queryset.none()


def rendered_with(variable, value, view):
    """``view()``'s response rendered while ``variable`` holds ``value`` (per request): admin display methods get no
    request, and a TemplateResponse renders lazily, after the view has returned."""
    token = variable.set(value)
    try:
        response = view()
        if hasattr(response, "render") and not response.is_rendered:
            response.render()
        return response
    finally:
        variable.reset(token)
