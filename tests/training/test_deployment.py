"""Deploy on promote: a LoRA version is published to its serving targets before it goes live; a failure keeps it a
candidate with the reason and leaves the active version (and every site's backend) as it was. Loading into a real
vLLM server is tested in tests/classifier/test_vllm_backend.py."""

import json

import pytest

from classifier.backends.vllm import adapter_name
from tests.classifier.vllm_server import free_port
from tests.training.helpers import held_out_metrics
from training.deployment import DeploymentFailed, deployment_targets, vllm_unservable
from training.models import ModelVersion
from training.promotion import model_version_rollback, promotion_gate_apply
from training.services import model_version_activate

pytestmark = pytest.mark.django_db


def lora(name: str, *, profile: str = "cloudflare", **training) -> ModelVersion:
    return ModelVersion.objects.create(
        kind=ModelVersion.Kind.LORA, name=name, version=1, artifact_uri=f"/adapters/{name}", temperature=1.0,
        training_config={"profile": profile, "base_model": "tiny", **training},
    )  # fmt: skip


@pytest.fixture
def dead_vllm(settings) -> str:
    """A vLLM URL nothing listens on, set as the server; returns it."""
    settings.FORMRECAP_VLLM_BASE_URL = url = f"http://127.0.0.1:{free_port()}/v1/"
    settings.FORMRECAP_VLLM_RETRIES = 0
    return url


def test_targets_follow_the_settings_the_kind_and_what_vllm_can_load(settings, tmp_path):
    settings.FORMRECAP_VLLM_BASE_URL = ""
    settings.FORMRECAP_CLOUDFLARE_ACCOUNT_ID = settings.FORMRECAP_CLOUDFLARE_API_TOKEN = ""
    assert deployment_targets(lora("a")) == []  # served in-process (peft): nothing to publish
    settings.FORMRECAP_VLLM_BASE_URL = "https://vllm.example/v1/"
    settings.FORMRECAP_CLOUDFLARE_ACCOUNT_ID, settings.FORMRECAP_CLOUDFLARE_API_TOKEN = "acct", "token"
    assert deployment_targets(lora("b")) == ["vllm", "cloudflare"]
    # DoRA (the research profile) and modules_to_save need a merged model: vLLM cannot load them, nor serve them
    research = lora("c", profile="research")
    assert deployment_targets(research) == [] and "DoRA" in vllm_unservable(research)
    assert deployment_targets(lora("d", modules_to_save=["lm_head"])) == ["cloudflare"]
    # the adapter's own config wins over the training config
    folder = tmp_path / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"use_dora": False, "modules_to_save": None}))
    from_files = lora("e", profile="research")
    ModelVersion.objects.filter(pk=from_files.pk).update(artifact_uri=str(folder))
    from_files.refresh_from_db()
    assert vllm_unservable(from_files) == ""
    embedded = ModelVersion.objects.create(kind=ModelVersion.Kind.EMBEDDED, name="emb", version=1, artifact_uri="/m")
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


def test_a_modal_adapter_is_loaded_from_its_place_on_the_volume(dead_vllm, settings):
    settings.FORMRECAP_VLLM_ADAPTER_ROOT = "/vol/"
    on_volume = lora("remote", volume_adapter_path="adapters/7")
    local = lora("local")
    for version in (on_volume, local):
        with pytest.raises(DeploymentFailed):
            model_version_activate(model_version=version)
        version.refresh_from_db()
    assert on_volume.deployments["vllm"]["path"] == "/vol/adapters/7"
    assert local.deployments["vllm"]["path"] == "/adapters/local"  # trained here: its own folder


def test_a_half_published_cloudflare_finetune_is_never_created_twice(settings):
    settings.FORMRECAP_VLLM_BASE_URL = ""
    settings.FORMRECAP_CLOUDFLARE_ACCOUNT_ID, settings.FORMRECAP_CLOUDFLARE_API_TOKEN = "acct", "token"
    half = lora("half")
    ModelVersion.objects.filter(pk=half.pk).update(deployments={"cloudflare": {"status": "uploading", "finetune_id": "ft-1"}})
    half.refresh_from_db()
    with pytest.raises(DeploymentFailed, match="cloudflare: Cloudflare finetune ft-1 of .* is uploading, not published"):
        model_version_activate(model_version=half)
    half.refresh_from_db()
    assert half.status == ModelVersion.Status.CANDIDATE
    published = lora("published")
    ModelVersion.objects.filter(pk=published.pk).update(deployments={"cloudflare": {"status": "published"}})
    published.refresh_from_db()
    assert model_version_activate(model_version=published).status == ModelVersion.Status.ACTIVE  # nothing sent again


def test_the_gate_keeps_a_candidate_whose_deployment_failed(dead_vllm, settings, active_embedded_model):
    candidate = lora("gated")
    ModelVersion.objects.filter(pk=candidate.pk).update(metrics=held_out_metrics(macro_f1=0.99, ece=0.01))
    candidate.refresh_from_db()
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
