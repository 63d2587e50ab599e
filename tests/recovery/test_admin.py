"""Recovery admin: tenant isolation on every page (rules, executions, review queue, alerts, discount codes,
settings, uplift), roles, webhook secrets shown once, and recording a human label from the review queue."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from classifier.models import SessionLabel
from formrecap.models import FormSession, Membership
from recovery.models import ActionExecution, DiscountCode, RecoveryRule, ReviewItem, TenantRecoverySettings, UxAlert
from recovery.webhooks import active_secrets
from tests.classifier.helpers import recorded_session
from tests.factories import MembershipFactory, SiteFactory, UserFactory
from tests.recovery.plans import PUBLIC_HOOK, execution_row, make_rule, plan, prediction_for

pytestmark = pytest.mark.django_db

SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]{20,}")
MODELS = ["recoveryrule", "actionexecution", "reviewitem", "uxalert", "discountcode", "tenantrecoverysettings"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def url(model: str, view: str, *args) -> str:
    return reverse(f"admin:recovery_{model}_{view}", args=args)


def html(response) -> str:
    return response.content.decode()


def member(tenant, role: str):
    user = UserFactory(username=f"{tenant.slug}-{role}")
    MembershipFactory(tenant=tenant, user=user, role=role)
    return user


def world(tenant) -> dict:
    """One tenant's recovery rows, every name carrying the tenant's slug."""
    slug = tenant.slug
    site = SiteFactory(tenant=tenant, name=f"{slug} shop")
    rule = make_rule(tenant, action="discount", name=f"{slug} discount", params={"amount": "10%"})
    session = recorded_session(site, form_id=f"{slug}-checkout")
    (review_execution,) = plan(prediction_for(session, 2, 0.9, calibrated=False))  # the fallback: a review item
    discounted = recorded_session(site, form_id=f"{slug}-signup")
    execution = execution_row(rule, discounted, "succeeded", detail={"note": f"{slug} sent"})
    execution.save()
    code = DiscountCode.all_tenants.create(
        tenant=tenant, execution=execution, code=f"FR-{slug.upper()}", amount="10%", expires_at=timezone.now()
    )
    alert = UxAlert.all_tenants.create(
        tenant=tenant, site=site, field=f"{slug}_email", sessions=30, validation_abandonments=9, rate=0.3
    )
    settings_row = TenantRecoverySettings.all_tenants.create(tenant=tenant)
    return {
        "site": site,
        "recoveryrule": rule,
        "actionexecution": execution,
        "reviewitem": ReviewItem.all_tenants.get(session=session),
        "uxalert": alert,
        "discountcode": code,
        "tenantrecoverysettings": settings_row,
        "review_execution": review_execution,
    }


@pytest.fixture
def acme(tenant):
    return world(tenant)


@pytest.fixture
def globex(other_tenant):
    return world(other_tenant)


@pytest.fixture
def owner(tenant):
    return member(tenant, Membership.Role.OWNER)


@pytest.fixture
def analyst(tenant):
    return member(tenant, Membership.Role.ANALYST)


# --- isolation on every page ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_each_changelist_shows_only_the_users_tenant(client, owner, acme, globex, model):
    client.force_login(owner)
    response = client.get(url(model, "changelist"))
    assert response.status_code == 200
    mine = {acme[model], acme["review_execution"]} if model == "actionexecution" else {acme[model]}
    assert set(response.context["cl"].result_list) == mine
    assert "globex" not in html(response).lower()


def test_list_filters_offer_only_the_users_rules_and_sites(client, owner, acme, globex):
    client.force_login(owner)
    page = html(client.get(url("actionexecution", "changelist")))
    assert "acme discount" in page and "globex" not in page.lower()
    foreign_filter = client.get(url("actionexecution", "changelist"), {"rule": globex["recoveryrule"].pk})
    assert list(foreign_filter.context["cl"].result_list) == []


# --- rules ---------------------------------------------------------------------------------------------------


def rule_form(tenant, **fields) -> dict:
    return {
        "tenant": tenant.pk,
        "name": "",
        "class_code": "",
        "min_confidence": 0,
        "max_confidence": 1,
        "action": "suppress",
        "params": "{}",
        "delay_seconds": 0,
        "cooldown_seconds": 0,
        "priority": 100,
        "holdout_share": 0,
        "active": "on",
        **fields,
    }


def test_an_editor_adds_a_rule(client, owner, tenant, acme):
    client.force_login(owner)
    response = client.post(url("recoveryrule", "add"), rule_form(tenant, name="acme quiet bots", class_code=5), follow=True)
    assert response.status_code == 200 and "was added successfully" in html(response)
    rule = RecoveryRule.all_tenants.get(name="acme quiet bots")
    assert (rule.tenant, rule.class_code, rule.action) == (tenant, 5, "suppress")


def test_a_webhook_rule_shows_its_secret_once(client, owner, tenant):
    client.force_login(owner)
    form = rule_form(tenant, name="acme hook", action="webhook", params=f'{{"url": "{PUBLIC_HOOK}"}}')
    response = client.post(url("recoveryrule", "add"), form)

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    (secret,) = SECRET.findall(html(response))
    rule = RecoveryRule.all_tenants.get(name="acme hook")
    assert active_secrets(rule) == [secret]
    # Nowhere else: not on the rule's page, not in the list.
    assert secret not in html(client.get(url("recoveryrule", "change", rule.pk)))
    assert not SECRET.search(html(client.get(url("recoveryrule", "changelist"))))


def test_the_rotate_action_shows_the_new_secret(client, owner, tenant):
    rule = make_rule(tenant, action="webhook", params={"url": PUBLIC_HOOK})
    (old,) = active_secrets(rule)
    client.force_login(owner)
    response = client.post(url("recoveryrule", "changelist"), {"action": "rotate_secret", "_selected_action": [str(rule.pk)]})
    (new,) = SECRET.findall(html(response))
    assert new != old and active_secrets(rule) == [new, old]


def test_the_rotate_action_refuses_another_tenants_rule(client, owner, acme, globex):
    foreign = make_rule(globex["site"].tenant, action="webhook", params={"url": PUBLIC_HOOK})
    before = active_secrets(foreign)
    client.force_login(owner)
    response = client.post(
        url("recoveryrule", "changelist"), {"action": "rotate_secret", "_selected_action": [str(foreign.pk)]}, follow=True
    )
    assert not SECRET.search(html(response))
    assert active_secrets(foreign) == before


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"min_confidence": 0.9, "max_confidence": 0.2}, "must be at least min_confidence"),
        ({"action": "webhook", "params": '{"url": "https://10.0.0.1/x"}'}, "private address"),
        ({"action": "webhook", "params": "{}"}, "needs an https URL"),
        ({"delay_seconds": 31 * 86400}, "30 days"),
    ],
)
def test_the_admin_applies_the_apis_rule_checks(client, owner, tenant, fields, error):
    client.force_login(owner)
    response = client.post(url("recoveryrule", "add"), rule_form(tenant, name="bad", **fields))
    assert response.status_code == 200 and error in html(response)
    assert not RecoveryRule.all_tenants.filter(name="bad").exists()


def test_a_rule_cannot_use_another_tenants_site(client, owner, tenant, acme, globex):
    client.force_login(owner)
    response = client.post(url("recoveryrule", "add"), rule_form(tenant, name="stolen", site=globex["site"].pk))
    assert "Select a valid choice" in html(response)
    assert not RecoveryRule.all_tenants.filter(name="stolen").exists()


def test_an_editor_of_two_tenants_cannot_mix_their_sites(client, owner, tenant, other_tenant, acme, globex):
    MembershipFactory(tenant=other_tenant, user=owner, role=Membership.Role.OWNER)
    client.force_login(owner)
    response = client.post(url("recoveryrule", "add"), rule_form(tenant, name="mixed", site=globex["site"].pk))
    assert "not found" in html(response)
    assert not RecoveryRule.all_tenants.filter(name="mixed").exists()


def test_an_editor_changes_a_rule(client, owner, acme):
    rule = acme["recoveryrule"]
    client.force_login(owner)
    form = rule_form(rule.tenant, action="discount", params='{"amount": "15%"}', priority=7)
    form.pop("tenant")
    response = client.post(url("recoveryrule", "change", rule.pk), form, follow=True)
    assert "was changed successfully" in html(response)
    rule.refresh_from_db()
    assert (rule.priority, rule.params, rule.tenant.slug) == (7, {"amount": "15%"}, "acme")


def test_the_rule_list_shows_treated_and_holdout_recovery(client, owner, tenant, acme):
    rule = make_rule(tenant, action="email", name="acme nudge")
    sessions = [recorded_session(acme["site"]) for _ in range(5)]
    rows = [execution_row(rule, s, "succeeded", recovered=i == 0) for i, s in enumerate(sessions[:3])]
    rows += [execution_row(rule, s, "holdout", recovered=True) for s in sessions[3:]]
    ActionExecution.all_tenants.bulk_create(rows)
    client.force_login(owner)
    page = html(client.get(url("recoveryrule", "changelist")))
    assert "1/3 (33%)" in page and "2/2 (100%)" in page


def test_an_analyst_reads_rules_but_cannot_change_them(client, analyst, tenant, acme):
    client.force_login(analyst)
    rule = acme["recoveryrule"]
    assert client.get(url("recoveryrule", "changelist")).status_code == 200
    assert client.get(url("recoveryrule", "add")).status_code == 403
    client.post(url("recoveryrule", "change", rule.pk), rule_form(tenant, priority=1))
    rule.refresh_from_db()
    assert rule.priority == 100


# --- executions, codes, alerts: read-only ------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["actionexecution", "discountcode", "uxalert"])
def test_system_rows_cannot_be_added_or_edited(client, owner, acme, model):
    client.force_login(owner)
    assert client.get(url(model, "add")).status_code == 403
    obj = acme[model]
    page = client.get(url(model, "change", obj.pk))
    assert page.status_code == 200 and 'name="_save"' not in html(page)


def test_resolving_alerts_touches_only_the_users_tenant(client, owner, acme, globex):
    client.force_login(owner)
    selected = [str(acme["uxalert"].pk), str(globex["uxalert"].pk)]
    client.post(url("uxalert", "changelist"), {"action": "resolve", "_selected_action": selected})
    assert UxAlert.all_tenants.get(pk=acme["uxalert"].pk).resolved_at is not None
    assert UxAlert.all_tenants.get(pk=globex["uxalert"].pk).resolved_at is None


# --- the review queue ------------------------------------------------------------------------------------------


def test_an_editor_records_the_human_label(client, owner, acme):
    item = acme["reviewitem"]
    client.force_login(owner)
    page = html(client.get(url("reviewitem", "change", item.pk)))
    assert "blur:email(invalid_format)" in page and "uncalibrated" in page  # the trace and the model's guess

    response = client.post(url("reviewitem", "change", item.pk), {"label": 1, "note": "email rule too strict"}, follow=True)

    assert "was changed successfully" in html(response)
    label = SessionLabel.all_tenants.get(session=item.session)
    assert (label.code, label.note, label.labelled_by, label.tenant) == (1, "email rule too strict", owner, item.tenant)
    item.refresh_from_db()
    assert item.reviewed_at is not None
    # A second verdict updates the label (one per session).
    client.post(url("reviewitem", "change", item.pk), {"label": 4, "note": ""})
    assert SessionLabel.all_tenants.get(session=item.session).code == 4


def label_select(page: str) -> str:
    return re.search(r'<select name="label".*?</select>', page, re.S).group(0)


def test_the_review_form_preselects_no_label_but_shows_the_models_guess(client, owner, acme):
    item = acme["reviewitem"]  # predicted 2 (distraction), uncalibrated
    client.force_login(owner)
    page = html(client.get(url("reviewitem", "change", item.pk)))

    select = label_select(page)
    assert re.search(r'<option value="" selected>—</option>', select)
    assert select.count("selected") == 1  # the empty choice only, not the model's guess
    guess = re.search(r"Model&#x27;s guess:</label>\s*<div class=\"readonly\">(.*?)</div>", page)
    assert guess and guess.group(1) == "2 distraction (0.90, uncalibrated)"  # shown as text, not as a choice


def test_the_review_form_needs_a_label_to_save(client, owner, acme):
    item = acme["reviewitem"]
    client.force_login(owner)
    response = client.post(url("reviewitem", "change", item.pk), {"label": "", "note": "not sure"})
    assert response.status_code == 200 and "This field is required." in html(response)
    assert not SessionLabel.all_tenants.exists()
    item.refresh_from_db()
    assert item.reviewed_at is None


def test_the_review_form_shows_an_earlier_verdict(client, owner, acme):
    item = acme["reviewitem"]
    client.force_login(owner)
    client.post(url("reviewitem", "change", item.pk), {"label": 4, "note": "tab closed"})
    page = html(client.get(url("reviewitem", "change", item.pk)))
    select = label_select(page)
    assert re.search(r'<option value="4" selected>', select) and select.count("selected") == 1
    assert "tab closed" in page


def test_a_session_submitted_after_all_leaves_the_review_queue(client, owner, acme):
    item = acme["reviewitem"]
    waiting = recorded_session(acme["site"], form_id="acme-waiting")
    plan(prediction_for(waiting, 2, 0.9, calibrated=False))
    FormSession.all_tenants.filter(pk=item.session_id).update(status=FormSession.Status.SUBMITTED)
    client.force_login(owner)

    assert [i.session_id for i in client.get(url("reviewitem", "changelist")).context["cl"].result_list] == [waiting.pk]
    assert client.get(url("reviewitem", "change", item.pk)).status_code == 302  # no longer in the queue


def test_the_review_list_puts_waiting_items_first(client, owner, acme):
    client.force_login(owner)
    page = client.get(url("reviewitem", "changelist"), {"review": "pending"})
    assert list(page.context["cl"].result_list) == [acme["reviewitem"]]
    assert list(client.get(url("reviewitem", "changelist"), {"review": "done"}).context["cl"].result_list) == []


def test_an_analyst_sees_the_queue_but_cannot_label(client, analyst, acme):
    item = acme["reviewitem"]
    client.force_login(analyst)
    assert client.get(url("reviewitem", "change", item.pk)).status_code == 200
    client.post(url("reviewitem", "change", item.pk), {"label": 1})
    assert not SessionLabel.all_tenants.exists()


def test_another_tenants_review_item_cannot_be_labelled(client, owner, acme, globex):
    client.force_login(owner)
    client.post(url("reviewitem", "change", globex["reviewitem"].pk), {"label": 1})
    assert not SessionLabel.all_tenants.exists()


# --- settings and the uplift page --------------------------------------------------------------------------------


def test_an_editor_sets_the_fallback(client, owner, acme):
    settings_row = acme["tenantrecoverysettings"]
    client.force_login(owner)
    client.post(
        url("tenantrecoverysettings", "change", settings_row.pk),
        {"fallback": "nothing", "ux_alert_threshold": 0.25, "ux_alert_min_sessions": 10},
    )
    settings_row.refresh_from_db()
    assert (settings_row.fallback, settings_row.ux_alert_threshold, settings_row.ux_alert_min_sessions) == ("nothing", 0.25, 10)


def test_the_uplift_page_shows_only_the_users_tenants(client, owner, acme, globex):
    for world_ in (acme, globex):
        holdout_session = recorded_session(world_["site"])
        execution_row(world_["recoveryrule"], holdout_session, "holdout", recovered=True).save()
    client.force_login(owner)
    response = client.get(url("recoveryrule", "stats"))
    assert response.status_code == 200
    page = html(response)
    assert "acme discount" in page and "globex" not in page.lower()
    assert "1/1" in page  # treated (the discount) and holdout, one each
    assert "Uplift: treated vs holdout" in html(client.get(url("recoveryrule", "changelist")))


def test_the_uplift_page_needs_a_membership(client, acme):
    outsider = UserFactory(username="outsider")
    client.force_login(outsider)
    assert client.get(url("recoveryrule", "stats")).status_code == 403
