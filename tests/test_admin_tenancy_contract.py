"""The tenant isolation contract of every admin built on TenantScopedAdmin, in one place.

Two tenants, Acme and Globex, hold one object of every tenant-scoped admin model each. Logged in as Acme's owner,
no admin page may show anything of Globex's, whichever id is put in the URL: change, delete and history pages of
Globex objects answer exactly like a missing object; changelists (searched or filtered by Globex ids), add pages
prefilled with Globex ids (the raw-id widget's label, the select's choices) and autocomplete never name a Globex
object or link to one. A new admin built on TenantScopedAdmin must add its model to ``tenant_world`` below.
"""

import contextlib

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from classifier.custom_reasons.services import custom_reason_create
from classifier.models import SessionLabel
from formrecap.admin_tenancy import TenantScopedAdmin
from formrecap.models import Membership, Tenant
from formrecap.services import api_key_create
from notifications.models import Notification
from recovery.models import DiscountCode, ReviewItem, TenantRecoverySettings, UxAlert
from tests.classifier.helpers import recorded_session
from tests.factories import MembershipFactory, SiteFactory, UserFactory
from tests.recovery.plans import execution_row, make_rule, plan, prediction_for

pytestmark = pytest.mark.django_db

MISSING_PK = 987654321

SCOPED = sorted(
    (model._meta.app_label, model._meta.model_name)
    for model, model_admin in admin.site._registry.items()
    if isinstance(model_admin, TenantScopedAdmin)
)


def tenant_world(tenant: Tenant) -> dict:
    """One object of every tenant-scoped admin model (by model name), plus the tenant's owner as "user"."""
    slug = tenant.slug
    owner = UserFactory(username=f"{slug}-owner")
    membership = MembershipFactory(tenant=tenant, user=owner, role=Membership.Role.OWNER)
    site = SiteFactory(tenant=tenant, name=f"{slug} shop", allowed_origins=[f"https://{slug}.example.com"])
    api_key = api_key_create(tenant=tenant, name=f"{slug}-key", scopes=["read"]).api_key
    session = recorded_session(site, form_id=f"{slug}-checkout", visitor_ref=f"{slug}-visitor")
    prediction = prediction_for(session, 2, 0.9, calibrated=False)
    plan(prediction)  # an uncalibrated reading goes to the review queue
    rule = make_rule(tenant, action="discount", name=f"{slug} discount", params={"amount": "10%"})
    execution = execution_row(rule, session, "succeeded", detail={"note": f"{slug} sent"})
    execution.save()
    return {
        "user": owner,
        "tenant": tenant,
        "membership": membership,
        "site": site,
        "apikey": api_key,
        "formsession": session,
        "prediction": prediction,
        "sessionlabel": SessionLabel.all_tenants.create(
            tenant=tenant, session=session, code=3, note=f"{slug} label", labelled_by=owner
        ),
        "recoveryrule": rule,
        "actionexecution": execution,
        "discountcode": DiscountCode.all_tenants.create(
            tenant=tenant, execution=execution, code=f"FR-{slug.upper()}", amount="10%", expires_at=timezone.now()
        ),
        "uxalert": UxAlert.all_tenants.create(
            tenant=tenant, site=site, field=f"{slug}_email", sessions=30, validation_abandonments=9, rate=0.3
        ),
        "reviewitem": ReviewItem.all_tenants.get(session=session),
        "tenantrecoverysettings": TenantRecoverySettings.all_tenants.create(tenant=tenant),
        "notification": Notification.all_tenants.create(
            tenant=tenant, kind=Notification.Kind.UX_ALERT_OPENED, title=f"{slug} alert", body="b", dedupe_key=slug
        ),
        "customreason": custom_reason_create(tenant=tenant, name=f"{slug.replace('-', '_')}_coupon", parent_code=3),
    }


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def acme(tenant) -> dict:
    return tenant_world(tenant)


@pytest.fixture
def globex(other_tenant) -> dict:
    return tenant_world(other_tenant)


@pytest.fixture
def owner_client(client, acme, globex):
    client.force_login(acme["user"])
    return client


def url(app_model: tuple[str, str], view: str, *args) -> str:
    return reverse(f"admin:{app_model[0]}_{app_model[1]}_{view}", args=args)


def change_links(world: dict) -> list[str]:
    links = []
    for obj in world.values():
        with contextlib.suppress(NoReverseMatch):  # users are not in this admin
            links.append(reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk]))
    return links


def assert_nothing_of(response, world: dict) -> None:
    page = response.content.decode()
    texts = [
        world["tenant"].slug,
        world["site"].site_key,
        world["apikey"].prefix,
        str(world["formsession"].session_uuid),
    ]
    leaked = [text for text in texts if text.lower() in page.lower()]
    leaked += [link for link in change_links(world) if f'"{link}' in page]
    assert not leaked, f"{response.request['PATH_INFO']}?{response.request.get('QUERY_STRING', '')} shows {leaked}"


def foreign_keys(app_model: tuple[str, str]) -> list:
    model = next(m for m in admin.site._registry if (m._meta.app_label, m._meta.model_name) == app_model)
    return [field for field in model._meta.get_fields() if (field.many_to_one or field.one_to_one) and field.concrete]


def test_every_tenant_scoped_admin_has_a_world_object(acme):
    missing = {model for _, model in SCOPED} - acme.keys()
    assert not missing, f"add {sorted(missing)} to tenant_world"
    assert len(SCOPED) >= 14


@pytest.mark.parametrize("app_model", SCOPED, ids="_".join)
def test_changelists_list_and_find_nothing_foreign(owner_client, acme, globex, app_model):
    response = owner_client.get(url(app_model, "changelist"))
    assert response.status_code == 200
    assert_nothing_of(response, globex)
    searched = owner_client.get(url(app_model, "changelist"), {"q": str(globex["formsession"].session_uuid)})
    if searched.status_code == 200:
        assert globex[app_model[1]] not in searched.context["cl"].result_list


@pytest.mark.parametrize("view", ["change", "delete", "history"])
@pytest.mark.parametrize("app_model", SCOPED, ids="_".join)
def test_foreign_object_pages_answer_like_missing_ones(owner_client, acme, globex, app_model, view):
    foreign = owner_client.get(url(app_model, view, globex[app_model[1]].pk))
    missing = owner_client.get(url(app_model, view, MISSING_PK))
    assert (foreign.status_code, foreign.get("Location")) == (missing.status_code, missing.get("Location"))
    assert_nothing_of(foreign, globex)
    if foreign.status_code == 302:
        assert_nothing_of(owner_client.get(foreign["Location"]), globex)


@pytest.mark.parametrize("app_model", SCOPED, ids="_".join)
def test_add_pages_prefilled_with_foreign_ids_show_nothing_of_them(owner_client, acme, globex, app_model):
    for field in foreign_keys(app_model):
        target = globex.get(field.related_model._meta.model_name)
        if target is None:
            continue
        response = owner_client.get(url(app_model, "add"), {field.name: target.pk})
        assert response.status_code in (200, 403), (field.name, response.status_code)
        assert_nothing_of(response, globex)


@pytest.mark.parametrize("app_model", SCOPED, ids="_".join)
def test_changelists_filtered_by_foreign_ids_show_nothing_of_them(owner_client, acme, globex, app_model):
    for field in foreign_keys(app_model):
        target = globex.get(field.related_model._meta.model_name)
        if target is None:
            continue
        for lookup in (field.name, f"{field.name}__id__exact", field.attname):
            response = owner_client.get(url(app_model, "changelist"), {lookup: target.pk})
            assert response.status_code in (200, 302), (lookup, response.status_code)
            assert_nothing_of(response, globex)
            if response.status_code == 200:
                assert globex[app_model[1]] not in response.context["cl"].result_list, lookup


@pytest.mark.parametrize("app_model", SCOPED, ids="_".join)
def test_autocomplete_never_offers_foreign_objects(owner_client, acme, globex, app_model):
    for field in foreign_keys(app_model):
        params = {"app_label": app_model[0], "model_name": app_model[1], "field_name": field.name}
        for term in ("", "globex"):
            response = owner_client.get(reverse("admin:autocomplete"), {**params, "term": term})
            assert response.status_code in (200, 403, 404), (field.name, response.status_code)
            assert_nothing_of(response, globex)
