"""Deploy on promote: a LoRA version is published to its serving targets before it goes live; a failure keeps it a
candidate with the reason and leaves the active version (and every site's backend) as it was. Loading into a real
vLLM server is tested in tests/classifier/test_vllm_backend.py."""

import pytest

from classifier.backends.vllm import adapter_name
from tests.classifier.vllm_server import free_port
from tests.training.helpers import held_out_metrics
from training.deployment import DeploymentFailed, deployment_targets
from training.models import ModelVersion
from training.promotion import model_version_rollback, promotion_gate_apply
from training.services import model_version_activate

pytestmark = pytest.mark.django_db


def lora(name: str, *, profile: str = "research", **fields) -> ModelVersion:
    return ModelVersion.objects.create(
        kind=ModelVersion.Kind.LORA, name=name, version=1, artifact_uri=f"/adapters/{name}", temperature=1.0,
        training_config={"profile": profile, "base_model": "tiny"}, **fields,
    )  # fmt: skip


@pytest.fixture
def dead_vllm(settings) -> str:
    """A vLLM URL nothing listens on, set as the server; returns it."""
    settings.FORMRECAP_VLLM_BASE_URL = url = f"http://127.0.0.1:{free_port()}/v1/"
    settings.FORMRECAP_VLLM_RETRIES = 0
    return url


def test_targets_follow_the_settings_and_the_kind(settings):
    settings.FORMRECAP_VLLM_BASE_URL = ""
    settings.FORMRECAP_CLOUDFLARE_ACCOUNT_ID = settings.FORMRECAP_CLOUDFLARE_API_TOKEN = ""
    assert deployment_targets(lora("a")) == []  # served in-process (peft): nothing to publish
    settings.FORMRECAP_VLLM_BASE_URL = "https://vllm.example/v1/"
    settings.FORMRECAP_CLOUDFLARE_ACCOUNT_ID, settings.FORMRECAP_CLOUDFLARE_API_TOKEN = "acct", "token"
    assert deployment_targets(lora("b")) == ["vllm"]  # a research adapter is not Cloudflare's kind
    assert deployment_targets(lora("c", profile="cloudflare")) == ["vllm", "cloudflare"]
    embedded = ModelVersion.objects.create(kind=ModelVersion.Kind.EMBEDDED, name="e", version=1, artifact_uri="/m")
    assert deployment_targets(embedded) == []


def test_a_failed_deployment_keeps_the_active_version_and_says_why(dead_vllm, settings):
    settings.FORMRECAP_VLLM_BASE_URL = ""
    live = model_version_activate(model_version=lora("live"))
    settings.FORMRECAP_VLLM_BASE_URL = dead_vllm
    candidate = lora("next")
    with pytest.raises(DeploymentFailed, match="vllm: vLLM server .* is unavailable"):
        model_version_activate(model_version=candidate)
    candidate.refresh_from_db()
    live.refresh_from_db()
    assert (candidate.status, live.status) == (ModelVersion.Status.CANDIDATE, ModelVersion.Status.ACTIVE)
    assert candidate.status_reason.startswith("not activated: deployment failed: vllm:")
    record = candidate.deployments["vllm"]
    assert (record["status"], record["name"], record["path"]) == ("failed", adapter_name(candidate), "/adapters/next")


def test_the_adapter_root_setting_names_the_path_the_server_loads(dead_vllm, settings):
    settings.FORMRECAP_VLLM_ADAPTER_ROOT = "/vol/adapters/"
    candidate = lora("rooted")
    with pytest.raises(DeploymentFailed):
        model_version_activate(model_version=candidate)
    candidate.refresh_from_db()
    assert candidate.deployments["vllm"]["path"] == "/vol/adapters/rooted-v1"


def test_the_gate_keeps_a_candidate_whose_deployment_failed(dead_vllm, settings, active_embedded_model):
    candidate = lora("gated", metrics=held_out_metrics(macro_f1=0.99, ece=0.01))
    settings.FORMRECAP_PROMOTION_MIN_F1 = 0.0
    promoted, reason = promotion_gate_apply(candidate=candidate)
    assert not promoted and "passed the gate, but deployment failed: vllm:" in reason
    candidate.refresh_from_db()
    assert candidate.status == ModelVersion.Status.CANDIDATE


def test_a_rollback_that_cannot_be_deployed_keeps_the_current_version(dead_vllm, settings):
    settings.FORMRECAP_VLLM_BASE_URL = ""
    first = model_version_activate(model_version=lora("first"))
    second = model_version_activate(model_version=lora("second"))
    settings.FORMRECAP_VLLM_BASE_URL = dead_vllm
    with pytest.raises(DeploymentFailed):
        model_version_rollback(kind=ModelVersion.Kind.LORA)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (ModelVersion.Status.RETIRED, ModelVersion.Status.ACTIVE)
