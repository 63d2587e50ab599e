"""Django admin: tenant isolation for every FormRecap admin, roles, API keys and sites.

Two tenants, Acme (A) and Globex (B), each with an owner, an analyst, a site, an API
key and a recorded form session. Every string that identifies a Globex row contains
"globex" or is one of its keys/uuids, so "no Globex data in this page" is one check.
"""

import hashlib
import re
from dataclasses import dataclass

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from rest_framework.test import APIClient

from formrecap.admin_tenancy import TenantSiteListFilter
from formrecap.models import ApiKey, FormSession, Membership, Site, Tenant, TraceChunk
from formrecap.services import api_key_create
from tests.factories import FormSessionFactory, MembershipFactory, SiteFactory, TraceChunkFactory, UserFactory

ADMIN_MODELS = ["tenant", "membership", "site", "apikey", "formsession"]
# Admins whose objects tenant editors may delete (tenants are deleted by superusers only).
DELETABLE_MODELS = ["membership", "site", "apikey", "formsession"]
MISSING_PK = 987654321
SECRET_PATTERN = re.compile(r"sk_[A-Za-z0-9_-]{20,}")


# The site form's outreach delay and attribution window, as admin renders their defaults.
SITE_TIMES = {"outreach_delay_seconds": 1800, "attribution_window_seconds": 7 * 24 * 3600}
# the site form's other fields as the add page prefills them
SITE_DEFAULTS = {**SITE_TIMES, "classifier_backend": "embedded", "escalation_backend": "vllm", "escalation_threshold": 0.8}


@dataclass
class TenantWorld:
    """One tenant and everything the admin shows about it."""

    tenant: Tenant
    owner: object
    analyst: object
    owner_membership: Membership
    site: Site
    api_key: ApiKey
    secret: str
    session: FormSession
    chunk: TraceChunk

    def obj(self, model: str):
        return {
            "tenant": self.tenant,
            "membership": self.owner_membership,
            "site": self.site,
            "apikey": self.api_key,
            "formsession": self.session,
        }[model]

    def row_marker(self, model: str) -> str:
        """The text a changelist shows for this tenant's row of ``model``."""
        return {
            "tenant": self.tenant.name,
            "membership": self.owner.username,
            "site": self.site.name,
            "apikey": self.api_key.name,
            "formsession": str(self.session.session_uuid),
        }[model]

    def identifying_strings(self) -> list[str]:
        return [
            self.tenant.slug,  # also inside every name below
            self.site.site_key,
            self.api_key.prefix,
            self.api_key.hashed_secret,
            str(self.session.session_uuid),
        ]


def build_world(tenant: Tenant) -> TenantWorld:
    slug = tenant.slug
    owner = UserFactory(username=f"{slug}-owner")
    analyst = UserFactory(username=f"{slug}-analyst")
    owner_membership = MembershipFactory(tenant=tenant, user=owner, role=Membership.Role.OWNER)
    MembershipFactory(tenant=tenant, user=analyst, role=Membership.Role.ANALYST)
    site = SiteFactory(tenant=tenant, name=f"{slug} shop", allowed_origins=[f"https://{slug}.example.com"])
    issued = api_key_create(tenant=tenant, name=f"{slug}-deploy-key", scopes=["read"])
    session = FormSessionFactory(site=site, form_id=f"{slug}-checkout", path=f"/{slug}/checkout", visitor_ref=f"{slug}-visitor")
    chunk = TraceChunkFactory(session=session, seq=0, events=[{"type": "focus", "field": f"{slug}_email", "ts": 0}])
    return TenantWorld(
        tenant=tenant,
        owner=owner,
        analyst=analyst,
        owner_membership=owner_membership,
        site=site,
        api_key=issued.api_key,
        secret=issued.secret,
        session=session,
        chunk=chunk,
    )


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Each world creates four users; the production hasher would make this module slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def acme(tenant) -> TenantWorld:
    return build_world(tenant)


@pytest.fixture
def globex(other_tenant) -> TenantWorld:
    return build_world(other_tenant)


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True)


@pytest.fixture
def outsider(db):
    """Staff, but a member of no tenant."""
    return UserFactory(username="drifter")


def admin_url(model: str, view: str, *args) -> str:
    return reverse(f"admin:formrecap_{model}_{view}", args=args)


def html(response) -> str:
    return response.content.decode()


def assert_shows_nothing_of(response, world: TenantWorld) -> None:
    page = html(response).lower()
    leaked = [text for text in world.identifying_strings() if text.lower() in page]
    assert not leaked, f"{response.request['PATH_INFO']} shows {world.tenant.name}'s data: {leaked}"


def assert_not_found_for_foreign_object(client, response, world: TenantWorld) -> None:
    """Answered like a missing object: a redirect to the index saying it doesn't exist, or 403/404."""
    assert_shows_nothing_of(response, world)
    if response.status_code == 302:
        assert response.url == reverse("admin:index")
        index = client.get(response.url)
        assert "doesn’t exist" in html(index)
        assert_shows_nothing_of(index, world)
    else:
        assert response.status_code in (403, 404)


def stored(obj) -> bool:
    return type(obj)._default_manager.filter(pk=obj.pk).exists()


def stored_row(obj) -> dict:
    """Every column of the row as the database holds it."""
    return type(obj)._default_manager.filter(pk=obj.pk).values().get()


def tenant_choices(response) -> list[Tenant]:
    return list(response.context["adminform"].form.fields["tenant"].queryset)


def api_key_add_data(tenant: Tenant, name: str = "ci key") -> dict:
    return {"tenant": tenant.pk, "name": name, "scopes": ["read"]}


def site_add_data(tenant: Tenant, origins: str = "https://shop.example.com", name: str = "new shop") -> dict:
    return {
        "tenant": tenant.pk,
        "name": name,
        "allowed_origins": origins,
        "abandonment_timeout_seconds": 1800,
        **SITE_DEFAULTS,
        "is_active": "on",
    }


def add_api_key_through_admin(client, tenant: Tenant, name: str = "ci key"):
    """Posts the add form and follows the redirect; returns (response, secret shown)."""
    response = client.post(admin_url("apikey", "add"), api_key_add_data(tenant, name), follow=True)
    assert response.status_code == 200
    secrets_shown = SECRET_PATTERN.findall(html(response))
    assert len(secrets_shown) == 1, secrets_shown
    return response, secrets_shown[0]


def run_action(client, model: str, action: str, pks: list[int], **extra):
    data = {"action": action, "_selected_action": [str(pk) for pk in pks], **extra}
    return client.post(admin_url(model, "changelist"), data, follow=True)


def api_get_sites(secret: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client.get("/api/v1/sites/")


# --- Changelists ------------------------------------------------------------------


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_owner_changelist_shows_own_tenant_rows(client, acme, globex, model):
    client.force_login(acme.owner)
    response = client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    assert acme.row_marker(model) in html(response)


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_superuser_changelist_shows_both_tenants(client, superuser, acme, globex, model):
    client.force_login(superuser)
    response = client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    assert acme.row_marker(model) in html(response)
    assert globex.row_marker(model) in html(response)


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_analyst_can_view_changelist(client, acme, globex, model):
    client.force_login(acme.analyst)
    response = client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    assert acme.row_marker(model) in html(response)
    assert_shows_nothing_of(response, globex)


def test_admin_index_lists_formrecap_models_for_members(client, acme):
    client.force_login(acme.analyst)
    response = client.get(reverse("admin:index"))
    app_labels = [app["app_label"] for app in response.context["app_list"]]
    assert "formrecap" in app_labels


def test_staff_without_membership_sees_no_formrecap_models(client, outsider, acme):
    client.force_login(outsider)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert [app["app_label"] for app in response.context["app_list"]] == []
    assert reverse("admin:app_list", args=["formrecap"]) not in html(response)
    assert client.get(reverse("admin:app_list", args=["formrecap"])).status_code == 404


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_staff_without_membership_is_refused_every_changelist(client, outsider, acme, model):
    client.force_login(outsider)
    response = client.get(admin_url(model, "changelist"))
    assert response.status_code == 403
    assert_shows_nothing_of(response, acme)


# --- A foreign tenant's object pages ---------------------------------------------------


@pytest.mark.parametrize(
    "model, data",
    [
        ("tenant", {"name": "Hijacked", "slug": "hijacked"}),
        ("membership", {"role": "analyst"}),
        (
            "site",
            {
                "name": "Hijacked",
                "allowed_origins": "https://evil.example.com",
                "abandonment_timeout_seconds": 60,
                **SITE_DEFAULTS,
            },
        ),
        ("apikey", {"name": "Hijacked"}),
    ],
)
def test_owner_cannot_change_foreign_object(client, acme, globex, model, data):
    client.force_login(acme.owner)
    foreign = globex.obj(model)
    before = stored_row(foreign)
    response = client.post(admin_url(model, "change", foreign.pk), {"tenant": acme.tenant.pk, "user": acme.owner.pk, **data})
    assert_not_found_for_foreign_object(client, response, globex)
    assert stored_row(foreign) == before


@pytest.mark.parametrize("model", DELETABLE_MODELS)
def test_owner_cannot_delete_foreign_object(client, acme, globex, model):
    client.force_login(acme.owner)
    foreign = globex.obj(model)
    response = client.post(admin_url(model, "delete", foreign.pk), {"post": "yes"})
    assert_not_found_for_foreign_object(client, response, globex)
    assert stored(foreign)


@pytest.mark.parametrize("model", DELETABLE_MODELS)
def test_owner_cannot_bulk_delete_foreign_object(client, acme, globex, model):
    client.force_login(acme.owner)
    foreign = globex.obj(model)
    run_action(client, model, "delete_selected", [foreign.pk], post="yes")
    assert stored(foreign)


def test_owner_cannot_delete_tenants(client, acme):
    client.force_login(acme.owner)
    assert client.post(admin_url("tenant", "delete", acme.tenant.pk), {"post": "yes"}).status_code == 403
    assert Tenant.objects.filter(pk=acme.tenant.pk).exists()


# --- Form choices ----------------------------------------------------------------


@pytest.mark.parametrize("model", ["membership", "site", "apikey"])
def test_add_form_offers_only_own_tenant(client, acme, globex, model):
    client.force_login(acme.owner)
    response = client.get(admin_url(model, "add"))
    assert response.status_code == 200
    assert tenant_choices(response) == [acme.tenant]
    assert_shows_nothing_of(response, globex)


@pytest.mark.parametrize("model", ["site", "apikey"])
def test_superuser_add_form_offers_every_tenant(client, superuser, acme, globex, model):
    client.force_login(superuser)
    response = client.get(admin_url(model, "add"))
    assert set(tenant_choices(response)) == {acme.tenant, globex.tenant}


def test_membership_add_form_offers_no_foreign_users(client, acme, globex, superuser, outsider):
    client.force_login(acme.owner)
    response = client.get(admin_url("membership", "add"))
    users = set(response.context["adminform"].form.fields["user"].queryset)
    assert users == {acme.owner, acme.analyst}
    for username in (globex.owner.username, globex.analyst.username, superuser.username, outsider.username):
        assert username not in html(response)


@pytest.mark.parametrize(
    "model, data",
    [
        ("site", lambda tenant: site_add_data(tenant)),
        ("apikey", lambda tenant: api_key_add_data(tenant)),
    ],
)
def test_owner_cannot_add_objects_to_foreign_tenant(client, acme, globex, model, data):
    client.force_login(acme.owner)
    model_class = {"site": Site, "apikey": ApiKey}[model]
    count_before = model_class.all_tenants.count()
    response = client.post(admin_url(model, "add"), data(globex.tenant))
    assert response.status_code == 200
    assert "tenant" in response.context["adminform"].form.errors
    assert model_class.all_tenants.count() == count_before


def test_owner_cannot_add_membership_to_foreign_tenant(client, acme, globex):
    client.force_login(acme.owner)
    response = client.post(admin_url("membership", "add"), {"tenant": globex.tenant.pk, "user": acme.owner.pk, "role": "owner"})
    assert response.status_code == 200
    assert "tenant" in response.context["adminform"].form.errors
    assert not Membership.all_tenants.filter(tenant=globex.tenant, user=acme.owner).exists()


def test_form_session_site_filter_lists_only_own_sites(client, acme, globex):
    client.force_login(acme.owner)
    response = client.get(admin_url("formsession", "changelist"))
    site_filter = next(spec for spec in response.context["cl"].filter_specs if isinstance(spec, TenantSiteListFilter))
    assert site_filter.lookup_choices == [(acme.site.pk, acme.site.name)]
    assert globex.site.name not in html(response)


def test_form_session_site_filter_with_foreign_site_shows_nothing(client, acme, globex):
    client.force_login(acme.owner)
    response = client.get(admin_url("formsession", "changelist"), {"site": globex.site.pk})
    assert list(response.context["cl"].result_list) == []
    assert_shows_nothing_of(response, globex)


# --- Roles --------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["membership", "site", "apikey"])
def test_analyst_cannot_open_add_form(client, acme, model):
    client.force_login(acme.analyst)
    assert client.get(admin_url(model, "add")).status_code == 403


@pytest.mark.parametrize(
    "model, data",
    [
        ("site", lambda tenant: site_add_data(tenant)),
        ("apikey", lambda tenant: api_key_add_data(tenant)),
    ],
)
def test_analyst_add_post_is_forbidden(client, acme, model, data):
    client.force_login(acme.analyst)
    model_class = {"site": Site, "apikey": ApiKey}[model]
    count_before = model_class.all_tenants.count()
    assert client.post(admin_url(model, "add"), data(acme.tenant)).status_code == 403
    assert model_class.all_tenants.count() == count_before


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_analyst_can_view_own_object(client, acme, model):
    client.force_login(acme.analyst)
    response = client.get(admin_url(model, "change", acme.obj(model).pk))
    assert response.status_code == 200
    assert not response.context["has_change_permission"]


@pytest.mark.parametrize(
    "model, data",
    [
        ("tenant", {"name": "Renamed", "slug": "renamed"}),
        ("membership", {"tenant": None, "user": None, "role": "analyst"}),
        (
            "site",
            {
                "tenant": None,
                "name": "Renamed",
                "allowed_origins": "https://x.example.com",
                "abandonment_timeout_seconds": 60,
                **SITE_DEFAULTS,
            },
        ),
        ("apikey", {"name": "Renamed"}),
    ],
)
def test_analyst_change_post_is_forbidden(client, acme, model, data):
    client.force_login(acme.analyst)
    obj = acme.obj(model)
    before = stored_row(obj)
    data = {key: (value if value is not None else getattr(obj, f"{key}_id")) for key, value in data.items()}
    assert client.post(admin_url(model, "change", obj.pk), data).status_code == 403
    assert stored_row(obj) == before


@pytest.mark.parametrize("model", DELETABLE_MODELS)
def test_analyst_cannot_delete(client, acme, model):
    client.force_login(acme.analyst)
    obj = acme.obj(model)
    assert client.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert stored(obj)


@pytest.fixture
def acme_owner_globex_analyst(acme, globex):
    MembershipFactory(tenant=globex.tenant, user=acme.owner, role=Membership.Role.ANALYST)
    return acme.owner


def test_role_is_per_tenant_view(client, acme_owner_globex_analyst, globex):
    client.force_login(acme_owner_globex_analyst)
    response = client.get(admin_url("site", "change", globex.site.pk))
    assert response.status_code == 200
    assert not response.context["has_change_permission"]


def test_role_is_per_tenant_change(client, acme_owner_globex_analyst, globex):
    client.force_login(acme_owner_globex_analyst)
    data = site_add_data(globex.tenant, name="Renamed")
    assert client.post(admin_url("site", "change", globex.site.pk), data).status_code == 403
    assert Site.all_tenants.get(pk=globex.site.pk).name == globex.site.name


def test_role_is_per_tenant_add_choices(client, acme_owner_globex_analyst, acme):
    client.force_login(acme_owner_globex_analyst)
    assert tenant_choices(client.get(admin_url("site", "add"))) == [acme.tenant]


@pytest.mark.parametrize("model", DELETABLE_MODELS)
def test_role_is_per_tenant_bulk_delete(client, acme_owner_globex_analyst, globex, model):
    client.force_login(acme_owner_globex_analyst)
    run_action(client, model, "delete_selected", [globex.obj(model).pk], post="yes")
    assert stored(globex.obj(model))


def test_role_is_per_tenant_revoke(client, acme_owner_globex_analyst, acme, globex):
    client.force_login(acme_owner_globex_analyst)
    run_action(client, "apikey", "revoke_keys", [acme.api_key.pk, globex.api_key.pk])
    acme.api_key.refresh_from_db()
    globex.api_key.refresh_from_db()
    assert acme.api_key.revoked_at is not None
    assert globex.api_key.revoked_at is None


# --- API keys -------------------------------------------------------------------------


def test_created_api_key_secret_is_shown_once_and_kept_nowhere(client, acme):
    client.force_login(acme.owner)
    response, secret = add_api_key_through_admin(client, acme.tenant)
    assert html(response).count(secret) == 1 and "no-store" in response["Cache-Control"]
    # Not through django.contrib.messages: those travel in a cookie or the session table.
    assert not any(secret in str(message) for message in response.context["messages"])
    assert all(secret not in morsel.value for morsel in response.cookies.values())
    from django.contrib.sessions.models import Session

    assert not any(secret in str(s.get_decoded()) for s in Session.objects.all())


def test_created_api_key_secret_is_not_shown_again(client, acme):
    client.force_login(acme.owner)
    _, secret = add_api_key_through_admin(client, acme.tenant)
    key = ApiKey.all_tenants.get(name="ci key")
    assert secret not in html(client.get(admin_url("apikey", "changelist")))
    assert secret not in html(client.get(admin_url("apikey", "change", key.pk)))


def test_created_api_key_stores_only_hash_and_prefix(client, acme):
    client.force_login(acme.owner)
    _, secret = add_api_key_through_admin(client, acme.tenant)
    key = ApiKey.all_tenants.get(name="ci key")
    assert key.tenant == acme.tenant
    assert key.created_by == acme.owner
    assert key.scopes == ["read"]
    assert key.hashed_secret == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(key.prefix) and len(key.prefix) < len(secret)
    assert not [column for column, value in stored_row(key).items() if secret in str(value)]


def test_created_api_key_secret_is_not_in_admin_log(client, acme):
    client.force_login(acme.owner)
    _, secret = add_api_key_through_admin(client, acme.tenant)
    entry = LogEntry.objects.get(object_id=str(ApiKey.all_tenants.get(name="ci key").pk))
    assert secret not in entry.object_repr and secret not in entry.change_message
    assert ApiKey.all_tenants.get(name="ci key").prefix in entry.object_repr


def test_created_api_key_authenticates_against_the_api(client, acme, globex):
    client.force_login(acme.owner)
    _, secret = add_api_key_through_admin(client, acme.tenant)
    response = api_get_sites(secret)
    assert response.status_code == 200
    assert [site["name"] for site in response.json()] == [acme.site.name]


def test_revoke_action_revokes_key_and_api_refuses_it(client, acme):
    client.force_login(acme.owner)
    _, secret = add_api_key_through_admin(client, acme.tenant)
    key = ApiKey.all_tenants.get(name="ci key")
    response = run_action(client, "apikey", "revoke_keys", [key.pk])
    assert "Revoked 1 key(s)." in html(response)
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert api_get_sites(secret).status_code == 401


def test_owner_cannot_revoke_foreign_key(client, acme, globex):
    client.force_login(acme.owner)
    response = run_action(client, "apikey", "revoke_keys", [globex.api_key.pk])
    assert_shows_nothing_of(response, globex)
    globex.api_key.refresh_from_db()
    assert globex.api_key.revoked_at is None
    assert api_get_sites(globex.secret).status_code == 200


def test_analyst_cannot_revoke_keys(client, acme):
    client.force_login(acme.analyst)
    changelist = client.get(admin_url("apikey", "changelist"))
    assert "revoke_keys" not in html(changelist)
    run_action(client, "apikey", "revoke_keys", [acme.api_key.pk])
    acme.api_key.refresh_from_db()
    assert acme.api_key.revoked_at is None


def test_superuser_can_revoke_any_tenants_key(client, superuser, globex):
    client.force_login(superuser)
    run_action(client, "apikey", "revoke_keys", [globex.api_key.pk])
    globex.api_key.refresh_from_db()
    assert globex.api_key.revoked_at is not None
    assert api_get_sites(globex.secret).status_code == 401


def test_api_key_tenant_and_scopes_are_fixed_after_creation(client, acme):
    client.force_login(acme.owner)
    response = client.post(
        admin_url("apikey", "change", acme.api_key.pk), {"name": "renamed", "tenant": acme.tenant.pk, "scopes": ["read", "write"]}
    )
    assert response.status_code == 302
    acme.api_key.refresh_from_db()
    assert (acme.api_key.name, acme.api_key.scopes) == ("renamed", ["read"])
    assert api_get_sites(acme.secret).status_code == 200


# --- Sites ----------------------------------------------------------------------------


def test_site_created_in_admin_gets_a_public_key(client, acme):
    client.force_login(acme.owner)
    response = client.post(admin_url("site", "add"), site_add_data(acme.tenant, name="new shop"))
    assert response.status_code == 302
    site = Site.all_tenants.get(name="new shop")
    assert site.tenant == acme.tenant
    assert site.site_key.startswith("pk_") and len(site.site_key) > 10


def test_site_origins_are_normalised(client, acme):
    client.force_login(acme.owner)
    origins = "https://Shop.Example.com:443/\n\n  http://localhost:8000  \nhttps://shop.example.com"
    client.post(admin_url("site", "add"), site_add_data(acme.tenant, origins=origins, name="new shop"))
    site = Site.all_tenants.get(name="new shop")
    assert site.allowed_origins == ["http://localhost:8000", "https://shop.example.com"]


@pytest.mark.parametrize("origins", ["ftp://x", "https://shop.example.com/checkout", "123", '"abc"', "[1]"])
def test_site_form_rejects_what_is_not_an_origin(client, acme, origins):
    client.force_login(acme.owner)
    response = client.post(admin_url("site", "add"), site_add_data(acme.tenant, origins=origins, name="new shop"))
    assert response.status_code == 200
    assert "allowed_origins" in response.context["adminform"].form.errors
    assert not Site.all_tenants.filter(name="new shop").exists()


def test_site_form_shows_the_rejected_text_back(client, acme):
    client.force_login(acme.owner)
    response = client.post(admin_url("site", "add"), site_add_data(acme.tenant, origins="ftp://x", name="new shop"))
    textarea = re.search(r"<textarea[^>]*name=\"allowed_origins\"[^>]*>(.*?)</textarea>", html(response), re.S)
    assert textarea and textarea.group(1).strip() == "ftp://x"


def test_site_change_form_shows_origins_one_per_line(client, acme):
    client.force_login(acme.owner)
    Site.all_tenants.filter(pk=acme.site.pk).update(allowed_origins=["https://a.example.com", "https://b.example.com"])
    response = client.get(admin_url("site", "change", acme.site.pk))
    assert "https://a.example.com\nhttps://b.example.com" in html(response)


def test_site_tenant_is_fixed_after_creation(client, superuser, acme, globex):
    # Sessions carry their site's tenant, so moving a site would split its history across tenants.
    client.force_login(superuser)
    response = client.post(admin_url("site", "change", acme.site.pk), site_add_data(globex.tenant, name=acme.site.name))
    assert response.status_code == 302
    acme.site.refresh_from_db()
    assert acme.site.tenant == acme.tenant


# --- Form sessions ----------------------------------------------------------------------


def test_form_session_change_view_shows_trace_chunks_inline(client, acme, globex):
    client.force_login(acme.owner)
    response = client.get(admin_url("formsession", "change", acme.session.pk))
    assert response.status_code == 200
    assert "acme_email" in html(response)
    assert_shows_nothing_of(response, globex)


def test_form_sessions_cannot_be_added_or_changed(client, superuser, acme):
    client.force_login(superuser)
    assert client.get(admin_url("formsession", "add")).status_code == 403
    response = client.post(admin_url("formsession", "change", acme.session.pk), {"form_id": "x"})
    assert response.status_code == 403


@pytest.mark.parametrize("query", ["acme-checkout", "acme-visitor"])
def test_form_session_search_finds_own_sessions(client, acme, globex, query):
    client.force_login(acme.owner)
    response = client.get(admin_url("formsession", "changelist"), {"q": query})
    assert list(response.context["cl"].result_list) == [acme.session]


def test_form_session_search_by_uuid(client, acme, globex):
    client.force_login(acme.owner)
    response = client.get(admin_url("formsession", "changelist"), {"q": str(acme.session.session_uuid)})
    assert list(response.context["cl"].result_list) == [acme.session]


@pytest.mark.parametrize("query", ["globex", "globex-checkout", "GLOBEX-VISITOR"])
def test_form_session_search_never_finds_foreign_sessions(client, acme, globex, query):
    client.force_login(acme.owner)
    response = client.get(admin_url("formsession", "changelist"), {"q": query})
    assert list(response.context["cl"].result_list) == []
    assert str(globex.session.session_uuid) not in html(response)  # the page echoes the query itself


# --- Autocomplete (reachable for any relation whose target admin has search fields) ---------------


@pytest.mark.parametrize(
    "model, field", [("site", "tenant"), ("apikey", "tenant"), ("membership", "tenant"), ("formsession", "site")]
)
def test_autocomplete_offers_only_own_tenant(client, acme, globex, model, field):
    client.force_login(acme.owner)
    response = client.get(reverse("admin:autocomplete"), {"app_label": "formrecap", "model_name": model, "field_name": field})
    assert response.status_code == 200
    assert [result["text"] for result in response.json()["results"]] == [str(getattr(acme, field))]


def test_autocomplete_does_not_list_users_to_tenant_staff(client, acme, globex):
    client.force_login(acme.owner)
    params = {"app_label": "formrecap", "model_name": "membership", "field_name": "user"}
    response = client.get(reverse("admin:autocomplete"), params)
    assert response.status_code == 403
    assert "globex" not in html(response)


@pytest.mark.parametrize("value", ["abc", "9" * 25, "-1"])
def test_form_session_site_filter_with_junk_shows_nothing(client, acme, value):
    client.force_login(acme.owner)
    response = client.get(admin_url("formsession", "changelist"), {"site": value})
    assert response.status_code == 200
    assert str(acme.session.session_uuid) not in html(response)


def test_tenant_admin_role_cannot_manage_memberships(client, acme):
    admin_user = UserFactory(username="acme-admin")
    membership = MembershipFactory(tenant=acme.tenant, user=admin_user, role=Membership.Role.ADMIN)
    client.force_login(admin_user)
    data = {"tenant": acme.tenant.pk, "user": admin_user.pk, "role": Membership.Role.OWNER}
    assert client.post(admin_url("membership", "change", membership.pk), data).status_code == 403
    assert client.post(admin_url("membership", "delete", acme.owner_membership.pk), {"post": "yes"}).status_code == 403
    membership.refresh_from_db()
    assert membership.role == Membership.Role.ADMIN and stored(acme.owner_membership)
    # ...while sites, which admins do manage, stay editable.
    assert client.get(admin_url("site", "change", acme.site.pk)).context["has_change_permission"]
