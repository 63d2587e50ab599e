"""What an operator reads in admin: sessions with their reason, confidence, backend and recovery (filterable, one
query for the page whatever its length), and a site's install tag naming this host with an installation check."""

import html

import pytest
from django.urls import reverse

from classifier.services import prediction_for_session
from formrecap.models import Membership
from recovery.models import ActionExecution, RecoveryRule
from tests.classifier.helpers import recorded_session
from tests.factories import FormSessionFactory, MembershipFactory, SiteFactory, UserFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def operator(client, tenant):
    user = UserFactory(username="operator")
    MembershipFactory(tenant=tenant, user=user, role=Membership.Role.OWNER)
    client.force_login(user)
    return client


SESSIONS = reverse("admin:formrecap_formsession_changelist")


def test_sessions_show_reason_confidence_backend_and_recovery(operator, site, active_embedded_model):
    classified = recorded_session(site)
    prediction = prediction_for_session(tenant=site.tenant, session_id=classified.pk)
    rule = RecoveryRule.all_tenants.create(tenant=site.tenant, name="resume", action=RecoveryRule.Action.UX_ALERT)
    ActionExecution.all_tenants.create(
        tenant=site.tenant, session=classified, rule=rule, action=RecoveryRule.Action.UX_ALERT, class_code=prediction.code,
        confidence=prediction.confidence, status=ActionExecution.Status.SUCCEEDED, prediction=prediction,
        run_after=prediction.created_at, idempotency_key=f"test-{classified.pk}",
    )  # fmt: skip
    FormSessionFactory(site=site, status="in_progress")
    page = operator.get(SESSIONS).content.decode()
    assert "validation error" in page and f"{prediction.confidence:.2f}" in page and ">embedded<" in page
    assert "ux alert: succeeded" in page

    only_validation = operator.get(SESSIONS, {"reason": "1"}).content.decode()
    assert str(classified.session_uuid) in only_validation and only_validation.count("ux alert: succeeded") == 1
    assert "0 form sessions" in operator.get(SESSIONS, {"reason": "4"}).content.decode()
    unread = operator.get(SESSIONS, {"reason": "none"}).content.decode()
    assert str(classified.session_uuid) not in unread and "1 form session" in unread
    band = "high" if prediction.confidence >= 0.8 else "medium" if prediction.confidence >= 0.5 else "low"
    assert str(classified.session_uuid) in operator.get(SESSIONS, {"confidence": band}).content.decode()


def test_the_sessions_page_costs_the_same_queries_for_3_or_30_rows(operator, site, django_assert_max_num_queries):
    FormSessionFactory.create_batch(3, site=site)
    with django_assert_max_num_queries(30) as few:
        operator.get(SESSIONS)
    FormSessionFactory.create_batch(27, site=site)
    with django_assert_max_num_queries(len(few.captured_queries)):
        operator.get(SESSIONS)


def test_the_install_tag_names_this_host_and_the_check_reports_the_first_batch(operator, tenant, settings):
    site = SiteFactory(tenant=tenant, name="shop")
    page = reverse("admin:formrecap_site_change", args=[site.pk])
    body = html.unescape(operator.get(page).content.decode())
    assert f'src="http://testserver/snippet/v1/formrecap.js" data-site-key="{site.site_key}"' in body
    assert "No batch received yet" in body
    FormSessionFactory(site=site)
    assert "Installed: the first batch arrived" in operator.get(page).content.decode()
    settings.FORMRECAP_PUBLIC_ORIGIN = "https://recap.example.com"
    assert 'src="https://recap.example.com/snippet/v1/formrecap.js"' in html.unescape(operator.get(page).content.decode())
