"""A cascade site whose embedded reading is unsure asks its LLM backend: here the in-process PEFT read-out of a real
(tiny, locally trained) adapter. The stored prediction is the adapter's answer, under the cascade's own model version
(one row per session however the answer moves between models), with the routing naming who answered."""

import pytest

from classifier.backends import get_backend
from classifier.models import Prediction
from classifier.selectors import session_trace
from classifier.services import prediction_for_session
from formrecap.models import Site
from tests.classifier.helpers import recorded_session
from training.models import ModelVersion


@pytest.fixture
def active_adapter(db, tiny_adapter) -> ModelVersion:
    adapter_dir, _ = tiny_adapter
    return ModelVersion.objects.create(
        kind=ModelVersion.Kind.LORA, name="tiny-cascade", version=1, artifact_uri=str(adapter_dir), temperature=1.3,
        status=ModelVersion.Status.ACTIVE,
    )  # fmt: skip


def test_an_unsure_session_is_answered_by_the_adapter_and_stored_once(site, active_embedded_model, active_adapter):
    Site.objects.for_tenant(site.tenant).filter(pk=site.pk).update(
        classifier_backend="cascade",
        escalation_backend="peft",
        escalation_threshold=1.0,  # every reading is unsure
    )
    session = recorded_session(site)
    prediction = prediction_for_session(tenant=site.tenant, session_id=session.pk)
    adapter_says = get_backend("peft").classify([session_trace(session=session)])[0]
    embedded_says = get_backend("embedded").classify([session_trace(session=session)])[0]

    assert prediction.backend == "cascade" and prediction.code == adapter_says.code
    assert prediction.probabilities == pytest.approx(adapter_says.probabilities_by_code(), abs=1e-6)
    assert prediction.model_version_id == active_embedded_model.pk  # the cascade's own model: one row per session
    routing = prediction.routing
    assert (routing["answered_by"], routing["model_version"], routing["escalated"]) == ("peft", active_adapter.label, True)
    assert routing["first"]["class"] == embedded_says.label
    assert routing["first"]["confidence"] == pytest.approx(embedded_says.confidence, abs=1e-4)

    # the site goes back to the embedded model alone: the same row is read again, never a second one
    Site.objects.for_tenant(site.tenant).filter(pk=site.pk).update(classifier_backend="embedded")
    session.event_count += 1  # the session grew (a late batch): it is read again
    session.save(update_fields=["event_count"])
    again = prediction_for_session(tenant=site.tenant, session_id=session.pk)
    assert again.pk == prediction.pk and again.backend == "embedded" and again.routing == {}
    assert Prediction.objects.for_tenant(site.tenant).filter(session=session).count() == 1
