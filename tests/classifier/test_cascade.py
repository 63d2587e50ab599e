"""The cascade: the embedded model first, the site's LLM backend when it is unsure, the embedded answer when the LLM
cannot answer; the stored prediction says who answered and why. (Escalation to a real vLLM server is tested in
test_vllm_backend.py.)"""

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from classifier.backends import SITE_BACKENDS, BackendUnavailable, backend_for_site
from classifier.backends.cascade import ESCALATION_BACKENDS, CascadeBackend
from classifier.models import Prediction
from classifier.services import prediction_for_session
from classifier.trace import parse_trace
from formrecap.models import Site
from tests.classifier.helpers import recorded_session

THIN = parse_trace("focus:input_1, exit")  # three tokens: the embedded model must not be sure of these
CLEAR = parse_trace(
    "focus:email, input:email(x9), blur:email(invalid_format), focus:email, input:email(x2), blur:email(invalid_format), "
    "focus:email, input:email(x3), blur:email(invalid_format), exit"
)


def test_site_choices_are_the_backends_the_router_knows():
    assert set(Site.Backend.values) == set(SITE_BACKENDS)
    assert set(Site.Escalation.values) == set(ESCALATION_BACKENDS)


def test_confident_traces_stay_embedded_and_unsure_ones_are_escalated(active_embedded_model, settings):
    settings.FORMRECAP_VLLM_BASE_URL = ""  # the escalation cannot answer: the embedded reading stands, with why
    confidences = [c.confidence for c in CascadeBackend(threshold=0.0, escalate_to="vllm").classify([THIN, CLEAR])]
    threshold = (min(confidences) + max(confidences)) / 2
    assert min(confidences) < threshold < max(confidences), confidences
    thin, clear = CascadeBackend(threshold=threshold, escalate_to="vllm").classify([THIN, CLEAR])
    assert clear.routing == {"answered_by": "embedded", "reason": f"embedded confidence {clear.confidence:.2f} ≥ {threshold:.2f}"}
    assert thin.routing["answered_by"] == "embedded" and thin.routing["escalated"] is True
    assert "vllm unavailable: no active LoRA adapter" in thin.routing["reason"]
    assert thin.routing["first"]["confidence"] == pytest.approx(thin.confidence, abs=1e-4)
    assert thin.model_version_id == active_embedded_model.pk


def test_a_cascade_never_escalates_at_threshold_zero_and_loads_no_llm(active_embedded_model):
    def must_not_be_built():
        raise AssertionError("the LLM backend was built though no trace needed it")

    cascade = CascadeBackend(threshold=0.0, escalate_to="vllm", second=must_not_be_built)
    assert all(c.routing["answered_by"] == "embedded" for c in cascade.classify([THIN, CLEAR]))


@pytest.mark.parametrize(
    ("threshold", "escalate_to", "message"),
    [
        (1.5, "vllm", "between 0 and 1"),
        (-0.1, "vllm", "between 0 and 1"),
        (0.5, "claude", "not 'claude'"),
        (0.5, "cascade", "not 'cascade'"),
    ],
)
def test_bad_cascade_settings_are_refused_naming_the_problem(active_embedded_model, threshold, escalate_to, message):
    with pytest.raises(BackendUnavailable, match=message):
        CascadeBackend(threshold=threshold, escalate_to=escalate_to)


def test_site_settings_are_validated(site):
    site.escalation_threshold = 1.2
    with pytest.raises(ValidationError, match="escalation_threshold"):
        site.full_clean()
    site.escalation_threshold, site.classifier_backend = 0.5, "claude"
    with pytest.raises(ValidationError, match="classifier_backend"):
        site.full_clean()


def _cascade(site: Site, *, escalation_backend: str) -> None:
    Site.objects.for_tenant(site.tenant).filter(pk=site.pk).update(
        classifier_backend="cascade", escalation_backend=escalation_backend, escalation_threshold=1.0
    )


def test_a_cascade_sites_session_prediction_records_the_routing_once(site, active_embedded_model, settings):
    settings.FORMRECAP_VLLM_BASE_URL = ""
    _cascade(site, escalation_backend="vllm")
    site.refresh_from_db()
    assert isinstance(backend_for_site(site), CascadeBackend)
    session = recorded_session(site)
    first = prediction_for_session(tenant=site.tenant, session_id=session.pk)
    again = prediction_for_session(tenant=site.tenant, session_id=session.pk)  # a redelivered task
    assert again.pk == first.pk
    assert Prediction.objects.for_tenant(site.tenant).filter(session=session).count() == 1
    assert first.backend == "cascade" and first.model_version_id == active_embedded_model.pk
    assert first.routing["answered_by"] == "embedded" and first.routing["escalated"] is True
    assert "vllm unavailable" in first.routing["reason"]


def test_the_api_shows_the_sites_backend_settings_and_the_routing(api_client, site, active_embedded_model, settings):
    settings.FORMRECAP_VLLM_BASE_URL = ""
    _cascade(site, escalation_backend="cloudflare")
    body = api_client.get(f"/api/v1/sites/{site.pk}/").json()
    settings_shown = (body["classifier_backend"], body["escalation_backend"], body["escalation_threshold"])
    assert settings_shown == ("cascade", "cloudflare", 1.0)
    session = recorded_session(site)
    prediction_for_session(tenant=site.tenant, session_id=session.pk)
    detail = api_client.get(f"/api/v1/sessions/{session.pk}/").json()
    assert detail["prediction"]["backend"] == "cascade"
    assert detail["prediction"]["routing"]["answered_by"] == "embedded"
    assert "cloudflare unavailable" in detail["prediction"]["routing"]["reason"]


def test_a_write_key_sets_the_sites_classifier_through_the_api(api_client, site):
    response = api_client.patch(
        f"/api/v1/sites/{site.pk}/",
        {"classifier_backend": "cascade", "escalation_backend": "peft", "escalation_threshold": 0.7},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert (response.json()["classifier_backend"], response.json()["escalation_threshold"]) == ("cascade", 0.7)
    site.refresh_from_db()
    assert (site.classifier_backend, site.escalation_backend, site.escalation_threshold) == ("cascade", "peft", 0.7)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"escalation_threshold": 1.5}, "escalation_threshold"),
        ({"classifier_backend": "claude"}, "classifier_backend"),
        ({"escalation_backend": "cascade"}, "escalation_backend"),
        ({"name": "renamed"}, "name"),
        ({}, "non_field_errors"),
        (["cascade"], "non_field_errors"),
    ],
)
def test_bad_classifier_settings_are_a_400_naming_the_field(api_client, site, body, field):
    response = api_client.patch(f"/api/v1/sites/{site.pk}/", body, format="json")
    assert response.status_code == 400 and field in response.json(), response.content
    site.refresh_from_db()
    assert site.classifier_backend == "embedded" and site.name != "renamed"


def test_another_tenants_site_and_a_read_only_key_cannot_change_it(other_api_client, site, tenant):
    from formrecap.services import api_key_create

    response = other_api_client.patch(f"/api/v1/sites/{site.pk}/", {"classifier_backend": "cascade"}, format="json")
    assert response.status_code == 404
    reader = api_key_create(tenant=tenant, name="reader", scopes=["read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {reader.secret}")
    response = client.patch(f"/api/v1/sites/{site.pk}/", {"classifier_backend": "cascade"}, format="json")
    assert response.status_code == 403
    site.refresh_from_db()
    assert site.classifier_backend == "embedded"
