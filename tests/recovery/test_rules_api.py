"""The recovery API: rules (CRUD, validation, webhook secrets), executions and UX alerts; every endpoint with
another tenant's ids (404 on objects, never in lists, a foreign site is "not found")."""

import socket

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from formrecap.services import api_key_create
from recovery.models import ActionExecution, RecoveryRule, UxAlert, WebhookSecret
from recovery.webhooks import active_secrets
from tests.factories import FormSessionFactory, SiteFactory
from tests.recovery.plans import PUBLIC_HOOK, execution_row, make_rule

RULES = "/api/v1/recovery/rules/"
ACTIONS = "/api/v1/recovery/actions/"
ALERTS = "/api/v1/recovery/alerts/"
MISSING = 987654321


def rule_url(rule_id: int) -> str:
    return f"{RULES}{rule_id}/"


def rotate_url(rule_id: int) -> str:
    return f"{RULES}{rule_id}/rotate-secret/"


@pytest.fixture
def their_rule(other_site):
    return make_rule(other_site.tenant, action="webhook", site_id=other_site.pk, params={"url": PUBLIC_HOOK}, name="globex hook")


# --- create ---------------------------------------------------------------------------------------------


def test_create_a_rule(api_client, site):
    body = {
        "site": site.pk,
        "name": "nudge distracted visitors",
        "class_code": 2,
        "min_confidence": 0.6,
        "max_confidence": 1,
        "action": "email",
        "params": {"resume_url": "https://shop.example.com/signup"},
        "delay_seconds": 1800,
        "cooldown_seconds": 86400,
        "priority": 50,
        "holdout_share": 0.2,
        "active": True,
    }
    response = api_client.post(RULES, body, format="json")

    assert response.status_code == 201, response.content
    created = response.json()
    assert "secret" not in created
    rule = RecoveryRule.objects.for_tenant(site.tenant).get()
    assert created == {
        **body,
        "id": rule.pk,
        "max_confidence": 1.0,
        "custom_reason": None,
        "consecutive_failures": 0,
        "disabled_at": None,
        "created_at": created["created_at"],
    }
    assert (rule.site, rule.class_code, rule.delay_seconds, rule.holdout_share) == (site, 2, 1800, 0.2)


def test_create_with_defaults(api_client, site):
    response = api_client.post(RULES, {"action": "suppress"}, format="json")
    assert response.status_code == 201
    assert {k: response.json()[k] for k in ("site", "class_code", "min_confidence", "max_confidence", "priority", "active")} == {
        "site": None,
        "class_code": None,
        "min_confidence": 0.0,
        "max_confidence": 1.0,
        "priority": 100,
        "active": True,
    }


def test_a_webhook_rule_returns_its_secret_once(api_client, site):
    response = api_client.post(RULES, {"action": "webhook", "params": {"url": PUBLIC_HOOK}}, format="json")

    assert response.status_code == 201, response.content
    secret = response.json()["secret"]
    assert secret.startswith("whsec_") and response["Cache-Control"] == "no-store"
    rule = RecoveryRule.objects.for_tenant(site.tenant).get()
    assert active_secrets(rule) == [secret]
    # Never again: not in the rule, not in the list, not after an update.
    assert "secret" not in api_client.get(rule_url(rule.pk)).json()
    assert "secret" not in api_client.get(RULES).json()["results"][0]
    patched = api_client.patch(rule_url(rule.pk), {"priority": 5}, format="json")
    assert patched.status_code == 200 and "secret" not in patched.json()
    assert secret not in str(api_client.get(RULES).content)


# --- validation: 400 naming the field ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"min_confidence": -0.1}, "min_confidence", "between 0 and 1"),
        ({"max_confidence": 1.5}, "max_confidence", "between 0 and 1"),
        ({"min_confidence": 0.8, "max_confidence": 0.5}, "max_confidence", "at least min_confidence"),
        ({"holdout_share": 1.01}, "holdout_share", "between 0 and 1"),
        ({"min_confidence": "NaN"}, "min_confidence", ""),
        ({"action": "sms"}, "action", "not a valid choice"),
        ({"action": None}, "action", ""),
        ({"class_code": 7}, "class_code", "1-6"),
        ({"class_code": 0}, "class_code", "1-6"),
        ({"delay_seconds": 30 * 86400 + 1}, "delay_seconds", "30 days"),
        ({"delay_seconds": -1}, "delay_seconds", "from 0"),
        ({"cooldown_seconds": 10**12}, "cooldown_seconds", "365 days"),
        ({"priority": 2**40}, "priority", "whole number"),
        ({"params": ["not", "an", "object"]}, "params", "must be a JSON object"),
        ({"params": "url=https://x"}, "params", "must be a JSON object"),
        ({"params": {"allow_bots": "yes"}}, "params", "allow_bots"),
        ({"params": {"blob": "x" * 9000}}, "params", "at most 8192 bytes"),
        ({"name": "n" * 201}, "name", "200"),
        ({"site": MISSING}, "site", "not found"),
        ({"site": 9 * 10**20}, "site", "not found"),
        ({"site": "abc"}, "site", "valid integer"),
    ],
)
def test_invalid_rules_are_400_naming_the_field(api_client, site, body, field, message):
    response = api_client.post(RULES, {"action": "suppress", **body}, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert not RecoveryRule.objects.for_tenant(site.tenant).exists()


def test_another_tenants_site_is_not_found(api_client, site, other_site):
    response = api_client.post(RULES, {"action": "suppress", "site": other_site.pk}, format="json")
    assert response.status_code == 400 and response.json() == {"site": ["not found"]}
    # Exactly what a site that does not exist answers: nothing to enumerate.
    assert api_client.post(RULES, {"action": "suppress", "site": MISSING}, format="json").json() == {"site": ["not found"]}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "url: a webhook rule needs an https URL"),
        ({"url": ""}, "needs an https URL"),
        ({"url": 42}, "needs an https URL"),
        ({"url": "http://93.184.216.34/hook"}, "must use https"),
        ({"url": "ftp://93.184.216.34/hook"}, "must use https"),
        ({"url": "https://127.0.0.1/hook"}, "loopback"),
        ({"url": "https://[::1]/hook"}, "loopback"),
        ({"url": "https://10.1.2.3/hook"}, "private"),
        ({"url": "https://192.168.0.10/hook"}, "private"),
        ({"url": "https://169.254.169.254/latest/meta-data"}, "metadata"),
        ({"url": "https://localhost/hook"}, "local"),
        ({"url": "not a url"}, "not a valid URL"),
    ],
)
def test_webhook_rules_need_a_public_https_url(api_client, site, params, message):
    response = api_client.post(RULES, {"action": "webhook", "params": params}, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["params"]
    assert message in response.json()["params"][0]
    assert not WebhookSecret.all_tenants.exists()


@pytest.mark.parametrize(
    ("action", "params", "message"),
    [
        ("discount", {}, "amount: a discount rule needs an amount"),
        ("discount", {"amount": "x" * 33}, "amount"),
        ("discount", {"amount": "10%", "valid_days": 0}, "valid_days"),
        ("discount", {"amount": "10%", "via": "sms"}, 'via must be "email" or "webhook"'),
        ("discount", {"amount": "10%", "via": "webhook"}, "url: needs an https URL"),
        ("discount", {"amount": "10%", "via": "webhook", "url": "https://10.0.0.2/"}, "private"),
        ("ux_alert", {"window_days": 91}, "window_days"),
        ("ux_alert", {"url": "http://93.184.216.34/alerts"}, "must use https"),
        ("ux_alert", {"url": 7}, "url: needs an https URL"),
        ("email", {"allow_bots": "yes"}, "allow_bots must be true or false"),
    ],
)
def test_action_parameters_are_checked_as_their_handlers_read_them(api_client, action, params, message):
    response = api_client.post(RULES, {"action": action, "params": params}, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["params"] and message in response.json()["params"][0]


@pytest.mark.parametrize(
    ("action", "params", "gets_secret"),
    [
        ("discount", {"amount": "10%", "via": "webhook", "url": PUBLIC_HOOK}, True),
        ("discount", {"amount": "5.00 EUR", "valid_days": 30}, False),
        ("ux_alert", {"url": PUBLIC_HOOK, "window_days": 14}, True),
        ("ux_alert", {}, False),
    ],
)
def test_every_rule_that_sends_webhooks_gets_a_secret(api_client, site, action, params, gets_secret):
    response = api_client.post(RULES, {"action": action, "params": params}, format="json")
    assert response.status_code == 201, response.content
    assert ("secret" in response.json()) is gets_secret
    rule = RecoveryRule.objects.for_tenant(site.tenant).get()
    assert len(active_secrets(rule)) == int(gets_secret)
    assert (api_client.post(rotate_url(rule.pk)).status_code == 200) is gets_secret


def test_a_webhook_host_resolving_to_a_private_address_is_refused(api_client, monkeypatch):
    def resolve(host, port, *args, **kwargs):
        assert host == "hooks.internal.example"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    body = {"action": "webhook", "params": {"url": "https://hooks.internal.example/formrecap"}}
    response = api_client.post(RULES, body, format="json")
    assert response.status_code == 400
    assert response.json() == {"params": ["url: host resolves to a private address 10.0.0.7"]}


def test_a_read_only_key_cannot_change_rules(site, tenant):
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(tenant=tenant, name='ro', scopes=['read']).secret}")
    rule = make_rule(tenant)
    assert reader.get(RULES).status_code == 200
    assert reader.post(RULES, {"action": "suppress"}, format="json").status_code == 403
    assert reader.patch(rule_url(rule.pk), {"priority": 1}, format="json").status_code == 403
    assert reader.delete(rule_url(rule.pk)).status_code == 403
    assert RecoveryRule.objects.for_tenant(tenant).get().priority == 100


def test_rules_need_a_key(db):
    assert APIClient().get(RULES).status_code == 401


# --- read, update, delete ------------------------------------------------------------------------------------


def test_list_in_decision_order_and_retrieve(api_client, site):
    low = make_rule(site.tenant, priority=1)
    high = make_rule(site.tenant, priority=90)
    listed = api_client.get(RULES).json()
    assert listed["count"] == 2 and [r["id"] for r in listed["results"]] == [high.pk, low.pk]
    assert api_client.get(rule_url(low.pk)).json()["priority"] == 1
    assert api_client.get(rule_url(MISSING)).status_code == 404


def test_patch_changes_only_the_given_fields(api_client, site):
    rule = make_rule(site.tenant, name="keep", priority=5, min_confidence=0.4)
    response = api_client.patch(rule_url(rule.pk), {"priority": 70, "site": site.pk}, format="json")
    assert response.status_code == 200, response.content
    rule.refresh_from_db()
    assert (rule.name, rule.priority, rule.site, rule.min_confidence) == ("keep", 70, site, 0.4)


def test_patch_is_checked_against_the_stored_fields(api_client, site):
    rule = make_rule(site.tenant, max_confidence=0.5)
    response = api_client.patch(rule_url(rule.pk), {"min_confidence": 0.7}, format="json")
    assert response.status_code == 400 and "max_confidence" in response.json()
    rule.refresh_from_db()
    assert rule.min_confidence == 0.0


def test_put_replaces_the_rule(api_client, site):
    rule = make_rule(site.tenant, name="old", priority=5, class_code=3, holdout_share=0.5)
    response = api_client.put(rule_url(rule.pk), {"action": "email", "priority": 20}, format="json")
    assert response.status_code == 200, response.content
    rule.refresh_from_db()
    assert (rule.action, rule.priority, rule.name, rule.class_code, rule.holdout_share) == ("email", 20, "", None, 0.0)
    assert api_client.put(rule_url(rule.pk), {"priority": 20}, format="json").json() == {"action": ["This field is required."]}


def test_a_rule_that_becomes_a_webhook_gets_its_first_secret(api_client, site):
    rule = make_rule(site.tenant, action="email")
    assert api_client.patch(rule_url(rule.pk), {"action": "webhook"}, format="json").json() == {
        "params": ["url: a webhook rule needs an https URL"]
    }
    response = api_client.patch(rule_url(rule.pk), {"action": "webhook", "params": {"url": PUBLIC_HOOK}}, format="json")
    assert response.status_code == 200 and response.json()["secret"].startswith("whsec_")
    assert active_secrets(rule) == [response.json()["secret"]]


def test_a_new_url_re_enables_a_disabled_endpoint(api_client, site):
    rule = make_rule(site.tenant, action="webhook", params={"url": PUBLIC_HOOK})
    RecoveryRule.all_tenants.filter(pk=rule.pk).update(consecutive_failures=10, disabled_at=timezone.now())
    assert api_client.patch(rule_url(rule.pk), {"priority": 3}, format="json").json()["disabled_at"] is not None
    response = api_client.patch(rule_url(rule.pk), {"params": {"url": "https://93.184.216.35/v2"}}, format="json")
    assert (response.json()["disabled_at"], response.json()["consecutive_failures"]) == (None, 0)
    private = api_client.patch(rule_url(rule.pk), {"params": {"url": "https://10.0.0.1/"}}, format="json")
    assert private.status_code == 400 and "private" in private.json()["params"][0]


def test_delete_keeps_the_execution_log(api_client, site):
    rule = make_rule(site.tenant)
    session = FormSessionFactory(site=site, status="abandoned")
    execution = execution_row(rule, session, "succeeded")
    execution.save()
    assert api_client.delete(rule_url(rule.pk)).status_code == 204
    assert not RecoveryRule.all_tenants.exists()
    execution.refresh_from_db()
    assert execution.rule_id is None and execution.idempotency_key == f"{session.pk}:{rule.pk}"


# --- secret rotation --------------------------------------------------------------------------------------------


def test_rotate_secret_keeps_the_old_one_valid_for_the_overlap(api_client, site):
    first = api_client.post(RULES, {"action": "webhook", "params": {"url": PUBLIC_HOOK}}, format="json").json()
    response = api_client.post(rotate_url(first["id"]))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    new = response.json()["secret"]
    assert new.startswith("whsec_") and new != first["secret"]
    rule = RecoveryRule.objects.for_tenant(site.tenant).get()
    assert active_secrets(rule) == [new, first["secret"]]  # both sign during the overlap, newest first
    old = WebhookSecret.all_tenants.get(secret=first["secret"])
    assert 23 * 3600 < (old.expires_at - timezone.now()).total_seconds() <= 24 * 3600


def test_only_webhook_rules_rotate(api_client, site):
    rule = make_rule(site.tenant, action="email")
    response = api_client.post(rotate_url(rule.pk))
    assert response.status_code == 400 and "only rules that send webhooks" in response.json()["action"][0]


# --- another tenant's rules ---------------------------------------------------------------------------------


def test_another_tenants_rule_is_404_everywhere(api_client, site, their_rule):
    secrets_before = list(WebhookSecret.all_tenants.values_list("secret", flat=True))
    assert api_client.get(rule_url(their_rule.pk)).status_code == 404
    assert api_client.patch(rule_url(their_rule.pk), {"priority": 1}, format="json").status_code == 404
    assert api_client.put(rule_url(their_rule.pk), {"action": "suppress"}, format="json").status_code == 404
    assert api_client.delete(rule_url(their_rule.pk)).status_code == 404
    assert api_client.post(rotate_url(their_rule.pk)).status_code == 404
    assert api_client.get(RULES).json()["results"] == []
    their_rule.refresh_from_db()
    assert (their_rule.priority, their_rule.action) == (100, "webhook")
    assert list(WebhookSecret.all_tenants.values_list("secret", flat=True)) == secrets_before


def test_a_rule_cannot_be_moved_to_another_tenants_site(api_client, site, other_site):
    rule = make_rule(site.tenant, site_id=site.pk)
    response = api_client.patch(rule_url(rule.pk), {"site": other_site.pk}, format="json")
    assert response.status_code == 400 and response.json() == {"site": ["not found"]}
    rule.refresh_from_db()
    assert rule.site == site


# --- executions ------------------------------------------------------------------------------------------------


@pytest.fixture
def executions(site, other_site, their_rule):
    mine = make_rule(site.tenant, action="email", name="nudge")
    other = make_rule(site.tenant, action="suppress")
    sessions = FormSessionFactory.create_batch(3, site=site, status="abandoned")
    rows = ActionExecution.all_tenants.bulk_create(
        [
            execution_row(mine, sessions[0], "succeeded", recovered=True),
            execution_row(mine, sessions[1], "holdout"),
            execution_row(other, sessions[2], "scheduled", class_code=4),
            execution_row(their_rule, FormSessionFactory(site=other_site, status="abandoned"), "succeeded"),
        ]
    )
    return {"mine": mine, "other": other, "rows": rows, "sessions": sessions}


def test_actions_list_is_the_tenants_log_newest_first(api_client, executions):
    response = api_client.get(ACTIONS)
    assert response.status_code == 200
    body = response.json()
    ids = [row["id"] for row in body["results"]]
    assert body["count"] == 3 and ids == sorted(row.pk for row in executions["rows"][:3])[::-1]
    first = next(row for row in body["results"] if row["id"] == executions["rows"][0].pk)
    assert first["rule"] == executions["mine"].pk and first["class"] == "distraction"
    assert first["status"] == "succeeded" and first["recovered_at"] is not None
    assert first["idempotency_key"] == f"{executions['sessions'][0].pk}:{executions['mine'].pk}"


def test_actions_filters(api_client, executions, their_rule):
    def ids(**params):
        return {row["id"] for row in api_client.get(ACTIONS, params).json()["results"]}

    rows = executions["rows"]
    assert ids(rule=executions["mine"].pk) == {rows[0].pk, rows[1].pk}
    assert ids(status="holdout") == {rows[1].pk}
    assert ids(session=executions["sessions"][2].pk) == {rows[2].pk}
    assert ids(rule=their_rule.pk) == set()
    assert ids(session=rows[3].session_id) == set()
    assert api_client.get(ACTIONS, {"status": "sent"}).status_code == 400
    assert api_client.get(ACTIONS, {"rule": "x"}).status_code == 400
    assert api_client.get(ACTIONS, {"session": "9" * 20}).status_code == 400


def test_actions_are_paginated(api_client, executions):
    page = api_client.get(ACTIONS).json()
    assert set(page) == {"count", "next", "previous", "results"} and page["count"] == 3
    assert api_client.get(ACTIONS, {"page": 99}).status_code == 404


def test_action_detail_and_another_tenants_action(api_client, other_api_client, executions):
    mine, theirs = executions["rows"][0], executions["rows"][3]
    assert api_client.get(f"{ACTIONS}{mine.pk}/").json()["id"] == mine.pk
    assert api_client.get(f"{ACTIONS}{theirs.pk}/").status_code == 404
    assert other_api_client.get(f"{ACTIONS}{mine.pk}/").status_code == 404
    assert [row["id"] for row in other_api_client.get(ACTIONS).json()["results"]] == [theirs.pk]


# --- UX alerts -----------------------------------------------------------------------------------------------------


def test_alerts_list_is_tenant_scoped_and_filters(api_client, other_api_client, site, other_site):
    second_site = SiteFactory(tenant=site.tenant)
    common = {"reason": "invalid_format", "sessions": 40, "validation_abandonments": 12, "rate": 0.3}
    open_alert = UxAlert.all_tenants.create(tenant=site.tenant, site=site, field="email", **common)
    resolved = UxAlert.all_tenants.create(tenant=site.tenant, site=second_site, field="zip", resolved_at=timezone.now(), **common)
    theirs = UxAlert.all_tenants.create(tenant=other_site.tenant, site=other_site, field="card", **common)

    def ids(client=api_client, **params):
        response = client.get(ALERTS, params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert set(ids()) == {open_alert.pk, resolved.pk}
    assert ids(open="true") == [open_alert.pk]
    assert ids(open="false") == [resolved.pk]
    assert ids(site=second_site.pk) == [resolved.pk]
    assert ids(site=other_site.pk) == []
    assert ids(client=other_api_client) == [theirs.pk]
    row = api_client.get(ALERTS, {"open": "true"}).json()["results"][0]
    assert {k: row[k] for k in ("site", "field", "reason", "rate", "resolved_at")} == {
        "site": site.pk,
        "field": "email",
        "reason": "invalid_format",
        "rate": 0.3,
        "resolved_at": None,
    }


def test_openapi_documents_the_recovery_endpoints(db):
    paths = APIClient().get("/api/schema/", {"format": "json"}).json()["paths"]
    assert {
        "/api/v1/recovery/rules/",
        "/api/v1/recovery/rules/{rule_id}/",
        "/api/v1/recovery/rules/{rule_id}/rotate-secret/",
        "/api/v1/recovery/actions/",
        "/api/v1/recovery/actions/{action_id}/",
        "/api/v1/recovery/stats/",
        "/api/v1/recovery/alerts/",
    } <= set(paths)
    assert set(paths["/api/v1/recovery/rules/{rule_id}/"]) >= {"get", "put", "patch", "delete"}


def _raw_post(client, url, body: str, method: str = "post"):
    return getattr(client, method)(url, data=body.encode("utf-8", "surrogatepass"), content_type="application/json")


def test_unstorable_unicode_in_params_is_a_400_and_nothing_is_saved(api_client):
    from recovery.models import RecoveryRule

    for body in ('{"action": "review", "params": {"k": "\\ud800"}}', '{"action": "review", "params": {"k": "a\\u0000b"}}'):
        response = _raw_post(api_client, "/api/v1/recovery/rules/", body)
        assert response.status_code == 400 and "params" in response.json(), response.content
    assert not RecoveryRule.all_tenants.exists()


def test_an_error_echoing_a_surrogate_still_renders(api_client):
    response = _raw_post(
        api_client, "/api/v1/recovery/rules/", '{"action": "webhook", "params": {"url": "https://\\udc00.example.com/"}}'
    )
    assert response.status_code == 400


def test_deeply_nested_json_is_a_400(api_client):
    body = '{"action": "review", "params": ' + "[" * 5000 + "]" * 5000 + "}"
    response = _raw_post(api_client, "/api/v1/recovery/rules/", body)
    assert response.status_code == 400 and "nested too deeply" in response.json()["detail"]
