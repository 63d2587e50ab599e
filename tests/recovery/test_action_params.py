"""Rule params are documented per action, and each action's template is a valid rule as it stands: the rule form
shows both, and choosing an action in real Chromium fills its template into an empty params box."""

import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from formrecap.models import Membership
from recovery.action_params import ACTION_PARAMS, ANY_ACTION_PARAMS, TEMPLATES
from recovery.models import RecoveryRule
from recovery.services import recovery_rule_clean
from tests.factories import MembershipFactory, UserFactory
from tests.recovery.plans import PUBLIC_HOOK

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


@pytest.mark.parametrize("action", RecoveryRule.Action.values)
def test_every_action_is_documented_and_its_template_is_a_valid_rule(db, tenant, action):
    assert action in ACTION_PARAMS and action in TEMPLATES
    documented = {name for name, _, _ in ACTION_PARAMS[action]}
    assert set(TEMPLATES[action]) <= documented
    values = {
        "site_id": None, "name": "t", "class_code": None, "min_confidence": 0.0, "max_confidence": 1.0,
        "action": action, "params": TEMPLATES[action], "delay_seconds": 0, "cooldown_seconds": 0, "priority": 100,
        "holdout_share": 0.0, "active": True,
    }  # fmt: skip
    if "url" in values["params"]:  # the template's example host must be replaced; a public address stands in here
        values["params"] = {**values["params"], "url": PUBLIC_HOOK}
    assert recovery_rule_clean(tenant=tenant, values=values)["params"] == values["params"]
    for name, required, _ in ACTION_PARAMS[action]:  # the README lists every parameter
        assert f"`{name}`" in README, name
        if required:  # leaving a required parameter out is refused, naming it
            with pytest.raises(ValidationError, match=name):
                recovery_rule_clean(tenant=tenant, values={**values, "params": {}})


def test_the_rule_form_documents_the_params_and_carries_the_templates(client, tenant):
    owner = UserFactory(username="rules-owner")
    MembershipFactory(tenant=tenant, user=owner, role=Membership.Role.OWNER)
    client.force_login(owner)
    page = client.get(reverse("admin:recovery_recoveryrule_add")).content.decode()
    assert "<code>amount</code> (required)" in page and "<code>resume_url</code>" in page
    assert ANY_ACTION_PARAMS[0][0] in page and "recovery/rule_templates.js" in page
    opening = '<script id="formrecap-rule-templates" type="application/json">'
    start = page.index(opening) + len(opening)
    assert json.loads(page[start : page.index("</script>", start)]) == TEMPLATES
