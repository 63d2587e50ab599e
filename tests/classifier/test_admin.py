"""Admin for predictions (tenant-scoped, read-only, inline on sessions) and the model registry (superusers only)."""

from dataclasses import dataclass

import pytest
from django.urls import reverse

from classifier.admin import PredictionSiteFilter
from classifier.models import Prediction
from classifier.services import prediction_for_session
from formrecap.models import FormSession, Membership, Site, Tenant
from tests.classifier.helpers import another_active_model, recorded_session
from tests.factories import MembershipFactory, SiteFactory, UserFactory
from training.models import ModelVersion


@dataclass
class World:
    tenant: Tenant
    owner: object
    analyst: object
    site: Site
    session: FormSession
    prediction: Prediction


def build_world(tenant: Tenant) -> World:
    slug = tenant.slug
    owner, analyst = UserFactory(username=f"{slug}-owner"), UserFactory(username=f"{slug}-analyst")
    MembershipFactory(tenant=tenant, user=owner, role=Membership.Role.OWNER)
    MembershipFactory(tenant=tenant, user=analyst, role=Membership.Role.ANALYST)
    site = SiteFactory(tenant=tenant, name=f"{slug} shop")
    session = recorded_session(site, form_id=f"{slug}-checkout")
    prediction = prediction_for_session(tenant=tenant, session_id=session.pk)
    return World(tenant, owner, analyst, site, session, prediction)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def acme(tenant, active_embedded_model) -> World:
    return build_world(tenant)


@pytest.fixture
def globex(other_tenant, active_embedded_model) -> World:
    return build_world(other_tenant)


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True)


def url(model: str, view: str, *args) -> str:
    app = "training" if model == "modelversion" else "classifier"
    return reverse(f"admin:{app}_{model}_{view}", args=args)


def html(response) -> str:
    return response.content.decode()


def listed(response) -> list:
    return list(response.context["cl"].result_list)


# --- Predictions ------------------------------------------------------------------------------


def test_owner_sees_only_own_predictions(client, acme, globex):
    client.force_login(acme.owner)
    response = client.get(url("prediction", "changelist"))
    assert response.status_code == 200
    assert listed(response) == [acme.prediction]
    assert "acme-checkout" in html(response) and "globex" not in html(response).lower()


def test_superuser_sees_every_tenants_predictions(client, superuser, acme, globex):
    client.force_login(superuser)
    assert set(listed(client.get(url("prediction", "changelist")))) == {acme.prediction, globex.prediction}


def test_analyst_reads_a_prediction_with_its_explanation(client, acme):
    client.force_login(acme.analyst)
    response = client.get(url("prediction", "change", acme.prediction.pk))
    assert response.status_code == 200
    page = html(response)
    assert "validation_error" in page and acme.prediction.explanation["reason"].split(" but ")[0] in page
    assert "failed validation 3 times" in page


def test_predictions_cannot_be_added_or_changed(client, superuser, acme):
    client.force_login(superuser)
    assert client.get(url("prediction", "add")).status_code == 403
    response = client.post(url("prediction", "change", acme.prediction.pk), {"code": 5, "confidence": 1})
    assert response.status_code == 403
    acme.prediction.refresh_from_db()
    assert acme.prediction.code == 1


def test_owner_cannot_bulk_delete_foreign_predictions(client, acme, globex):
    client.force_login(acme.owner)
    data = {"action": "delete_selected", "_selected_action": [str(globex.prediction.pk)], "post": "yes"}
    client.post(url("prediction", "changelist"), data)
    assert Prediction.all_tenants.filter(pk=globex.prediction.pk).exists()


def test_list_filters_by_class_confidence_calibration_and_backend(client, acme):
    client.force_login(acme.owner)
    changelist = url("prediction", "changelist")
    assert listed(client.get(changelist, {"code__exact": 1, "calibrated__exact": 1, "backend": "embedded"})) == [acme.prediction]
    assert listed(client.get(changelist, {"code__exact": 5})) == []
    band = "high" if acme.prediction.confidence >= 0.8 else "medium" if acme.prediction.confidence >= 0.5 else "low"
    assert listed(client.get(changelist, {"confidence": band})) == [acme.prediction]
    other_bands = {"high", "medium", "low"} - {band}
    assert all(listed(client.get(changelist, {"confidence": b})) == [] for b in other_bands)


def test_site_filter_lists_only_own_sites_and_a_foreign_site_shows_nothing(client, acme, globex):
    client.force_login(acme.owner)
    response = client.get(url("prediction", "changelist"))
    site_filter = next(spec for spec in response.context["cl"].filter_specs if isinstance(spec, PredictionSiteFilter))
    assert site_filter.lookup_choices == [(acme.site.pk, acme.site.name)]
    assert listed(client.get(url("prediction", "changelist"), {"site": acme.site.pk})) == [acme.prediction]
    assert listed(client.get(url("prediction", "changelist"), {"site": globex.site.pk})) == []


def test_session_page_shows_its_predictions_inline(client, acme, globex):
    another_active_model(acme.prediction.model_version)
    newer = prediction_for_session(tenant=acme.tenant, session_id=acme.session.pk)
    client.force_login(acme.analyst)
    response = client.get(reverse("admin:formrecap_formsession_change", args=[acme.session.pk]))
    assert response.status_code == 200
    page = html(response)
    assert acme.prediction.model_version.label in page and newer.model_version.label in page
    assert "1 validation_error" in page and "failed validation 3 times" in page
    assert "globex" not in page.lower()


def test_owner_can_delete_a_session_with_its_predictions(client, acme):
    client.force_login(acme.owner)
    response = client.post(reverse("admin:formrecap_formsession_delete", args=[acme.session.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not FormSession.all_tenants.filter(pk=acme.session.pk).exists()
    assert not Prediction.all_tenants.filter(pk=acme.prediction.pk).exists()


# --- Model versions -------------------------------------------------------------------------


def test_superuser_lists_model_versions_with_key_metrics(client, superuser, active_embedded_model):
    client.force_login(superuser)
    response = client.get(url("modelversion", "changelist"))
    assert response.status_code == 200
    page = html(response)
    assert active_embedded_model.label in page and "Macro-F1 (test)" in page and "ECE (test)" in page
    assert f"{active_embedded_model.metrics['test_terse']['macro_f1']:.3f}" in page
    assert client.get(url("modelversion", "change", active_embedded_model.pk)).status_code == 200


@pytest.mark.parametrize("view", ["changelist", "change", "add"])
def test_tenant_staff_cannot_see_model_versions(client, acme, active_embedded_model, view):
    client.force_login(acme.owner)
    args = [active_embedded_model.pk] if view == "change" else []
    assert client.get(url("modelversion", view, *args)).status_code == 403
    assert "Model versions" not in html(client.get(reverse("admin:index")))


def test_model_versions_cannot_be_added_or_deleted(client, superuser, active_embedded_model):
    client.force_login(superuser)
    assert client.get(url("modelversion", "add")).status_code == 403
    assert client.get(url("modelversion", "delete", active_embedded_model.pk)).status_code == 403


def test_activate_action_makes_one_version_active(client, superuser, active_embedded_model):
    newer = another_active_model(active_embedded_model)
    client.force_login(superuser)
    data = {"action": "activate", "_selected_action": [str(active_embedded_model.pk)]}
    response = client.post(url("modelversion", "changelist"), data, follow=True)
    assert f"Activated {active_embedded_model.label}" in html(response)
    active_embedded_model.refresh_from_db()
    newer.refresh_from_db()
    assert (active_embedded_model.status, newer.status) == ("active", "retired")
    assert "activated in admin by root" in active_embedded_model.status_reason


def test_activate_action_needs_exactly_one_version(client, superuser, active_embedded_model):
    newer = another_active_model(active_embedded_model)
    client.force_login(superuser)
    data = {"action": "activate", "_selected_action": [str(active_embedded_model.pk), str(newer.pk)]}
    response = client.post(url("modelversion", "changelist"), data, follow=True)
    assert "Select exactly one model version" in html(response)
    assert ModelVersion.objects.get(status="active") == newer


def test_tenant_staff_cannot_run_the_activate_action(client, acme, active_embedded_model):
    newer = another_active_model(active_embedded_model)
    client.force_login(acme.owner)
    data = {"action": "activate", "_selected_action": [str(active_embedded_model.pk)]}
    assert client.post(url("modelversion", "changelist"), data).status_code == 403
    assert ModelVersion.objects.get(status="active") == newer
