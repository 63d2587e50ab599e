"""Operator labels in admin: tenant-scoped (TenantScopedAdmin); an editor picks a class for one of their sessions."""

import pytest
from django.urls import reverse

from classifier.models import SessionLabel
from formrecap.models import Membership
from tests.classifier.helpers import recorded_session
from tests.factories import MembershipFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def member(tenant, role: str):
    user = UserFactory(username=f"{tenant.slug}-{role}")
    MembershipFactory(tenant=tenant, user=user, role=role)
    return user


@pytest.fixture
def owner(tenant):
    return member(tenant, Membership.Role.OWNER)


@pytest.fixture
def analyst(tenant):
    return member(tenant, Membership.Role.ANALYST)


@pytest.fixture
def session(tenant):
    return recorded_session(SiteFactory(tenant=tenant, name="acme shop"), form_id="acme-checkout")


@pytest.fixture
def foreign_session(other_tenant):
    return recorded_session(SiteFactory(tenant=other_tenant, name="globex shop"), form_id="globex-checkout")


def url(view: str, *args) -> str:
    return reverse(f"admin:classifier_sessionlabel_{view}", args=args)


def html(response) -> str:
    return response.content.decode()


def test_an_editor_labels_one_of_their_sessions(client, owner, session):
    client.force_login(owner)
    form = client.get(url("add"))
    assert form.status_code == 200 and 'name="session"' in html(form) and 'name="tenant"' not in html(form)

    response = client.post(url("add"), {"session": session.pk, "code": 1, "note": "the email rule is too strict"}, follow=True)

    assert response.status_code == 200 and "was added successfully" in html(response)
    label = SessionLabel.all_tenants.get()
    assert (label.session, label.tenant, label.code, label.labelled_by) == (session, session.tenant, 1, owner)


def test_a_foreign_session_cannot_be_labelled(client, owner, session, foreign_session):
    client.force_login(owner)
    response = client.post(url("add"), {"session": foreign_session.pk, "code": 5})
    assert response.status_code == 200 and "Select a valid choice" in html(response)
    assert not SessionLabel.all_tenants.exists()


def test_a_session_has_one_label(client, owner, session):
    SessionLabel.all_tenants.create(tenant=session.tenant, session=session, code=2)
    client.force_login(owner)
    response = client.post(url("add"), {"session": session.pk, "code": 4})
    assert "Session label with this Session already exists" in html(response)
    assert SessionLabel.all_tenants.get().code == 2


def test_an_editor_changes_the_class_but_not_the_session(client, owner, session, tenant):
    other = recorded_session(session.site, form_id="another")
    label = SessionLabel.all_tenants.create(tenant=tenant, session=session, code=2)
    client.force_login(owner)

    page = html(client.get(url("change", label.pk)))
    assert "blur:email(invalid_format)" in page  # the session's trace, to label by
    client.post(url("change", label.pk), {"session": other.pk, "code": 1, "note": "a validation loop"})

    label.refresh_from_db()
    assert (label.session, label.code, label.note, label.labelled_by) == (session, 1, "a validation loop", owner)


def test_the_list_shows_only_the_users_tenants(client, owner, session, foreign_session, tenant, other_tenant):
    mine = SessionLabel.all_tenants.create(tenant=tenant, session=session, code=3)
    theirs = SessionLabel.all_tenants.create(tenant=other_tenant, session=foreign_session, code=5)
    client.force_login(owner)

    response = client.get(url("changelist"))
    assert list(response.context["cl"].result_list) == [mine]
    assert "3 comparison_shopping" in html(response) and "globex" not in html(response).lower()
    # A foreign label answers like a missing one, and cannot be changed or deleted.
    assert client.get(url("change", theirs.pk)).status_code == 302
    client.post(url("change", theirs.pk), {"code": 1})
    client.post(url("changelist"), {"action": "delete_selected", "_selected_action": [str(theirs.pk)], "post": "yes"})
    theirs.refresh_from_db()
    assert theirs.code == 5


def test_an_analyst_reads_labels_but_cannot_label(client, analyst, session, tenant):
    label = SessionLabel.all_tenants.create(tenant=tenant, session=session, code=3)
    client.force_login(analyst)
    assert client.get(url("changelist")).status_code == 200
    assert client.get(url("change", label.pk)).status_code == 200
    assert client.get(url("add")).status_code == 403
    client.post(url("change", label.pk), {"code": 1})
    label.refresh_from_db()
    assert label.code == 3


def test_a_superuser_labels_any_tenants_session(client, foreign_session, other_tenant):
    root = UserFactory(username="root", is_superuser=True)
    client.force_login(root)
    client.post(url("add"), {"session": foreign_session.pk, "code": 6})
    label = SessionLabel.all_tenants.get()
    assert (label.tenant, label.code, label.labelled_by) == (other_tenant, 6, root)
