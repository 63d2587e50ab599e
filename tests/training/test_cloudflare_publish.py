"""`publish_cloudflare_adapter`: the cloudflare profile's checks before any request, the exact finetune and asset
requests (JSON, then multipart with model_type added), the record on the model version, failures recorded, and the
published adapter served by the cloudflare backend. Adapters are real PEFT files made on the tiny local base."""

import io
import json
from pathlib import Path

import httpx
import pytest
from django.core.management import CommandError, call_command

from classifier.backends.cloudflare import CloudflareBackend, CloudflareClient, CloudflareConfig
from classifier.trace import parse_trace
from tests.classifier import cloudflare_api as cf
from training.cloudflare_publish import model_version_publish_cloudflare
from training.lora.config import ConfigError
from training.models import ModelVersion
from training.services import model_version_register

GEMMA_BASE = "google/gemma-2b-it"
DEFAULT_NAME = "formrecap-lora-cloudflare-gemma-2b-it-v1"
ASSETS_PATH = f"{cf.API_ROOT}/finetunes/{cf.FINETUNE_ID}/finetune-assets/"


def make_adapter(tiny_base: Path, out: Path, **lora) -> Path:
    """A real, untrained PEFT LoRA adapter on the tiny base (what Cloudflare receives is the file format)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    settings = {"r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"], **lora}
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_base), LoraConfig(task_type="CAUSAL_LM", **settings))
    model.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def cloudflare_adapter(tiny_base, tmp_path_factory) -> Path:
    return make_adapter(tiny_base, tmp_path_factory.mktemp("cf") / "adapter")


def register(adapter_dir: Path, base_model: str = GEMMA_BASE) -> ModelVersion:
    # Trained on the tiny stand-in (no weights can be downloaded here), registered as the Gemma run it stands for.
    return model_version_register(
        kind=ModelVersion.Kind.LORA,
        name="lora-cloudflare-gemma-2b-it",
        artifact_uri=str(adapter_dir),
        training_config={"base_model": base_model, "profile": "cloudflare"},
        data_manifest={},
        metrics={},
        temperature=1.0,
    )


@pytest.fixture
def credentials(db, settings):
    cf.configure(settings)


def publish_script() -> cf.ScriptedCloudflare:
    return cf.ScriptedCloudflare(
        lambda request: cf.finetune_created(json.loads(request.content)["name"]),
        cf.asset_uploaded("adapter_config.json"),
        cf.asset_uploaded("adapter_model.safetensors"),
    )


def test_publish_sends_the_documented_requests_and_records_the_finetune(credentials, cloudflare_adapter, monkeypatch):
    api = publish_script().install(monkeypatch)
    version = register(cloudflare_adapter)
    out = io.StringIO()
    call_command("publish_cloudflare_adapter", model_version=version.pk, stdout=out)

    create, config_upload, weights_upload = api.requests
    assert (create.method, create.path) == ("POST", f"{cf.API_ROOT}/finetunes/")
    assert create.path == "/client/v4/accounts/0123456789abcdef0123456789abcdef/ai/finetunes/"
    assert create.headers["authorization"] == "Bearer cf-test-token"
    assert create.json == {
        "model": "@cf/google/gemma-2b-it-lora",
        "name": DEFAULT_NAME,
        "description": f"FormRecap {version.label} (r=8, q_proj, v_proj) on {GEMMA_BASE}",
    }

    local_config = json.loads((cloudflare_adapter / "adapter_config.json").read_text())
    assert "model_type" not in local_config  # PEFT does not write it; Cloudflare needs it
    assert (config_upload.path, weights_upload.path) == (ASSETS_PATH, ASSETS_PATH)
    assert config_upload.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert config_upload.form == {"file_name": "adapter_config.json"}
    filename, content = config_upload.files["file"]
    assert filename == "adapter_config.json" and json.loads(content) == {**local_config, "model_type": "gemma"}
    assert weights_upload.form == {"file_name": "adapter_model.safetensors"}
    assert weights_upload.files["file"] == (
        "adapter_model.safetensors",
        (cloudflare_adapter / "adapter_model.safetensors").read_bytes(),
    )
    assert "model_type" not in json.loads((cloudflare_adapter / "adapter_config.json").read_text())  # artifact untouched

    version.refresh_from_db()
    record = version.deployments["cloudflare"]
    assert record["status"] == "published" and record["finetune_id"] == cf.FINETUNE_ID
    assert (record["name"], record["model"], record["model_type"]) == (DEFAULT_NAME, "@cf/google/gemma-2b-it-lora", "gemma")
    assert record["assets"] == ["adapter_config.json", "adapter_model.safetensors"] and record["published_at"]
    assert f"as finetune {cf.FINETUNE_ID} ({DEFAULT_NAME})" in out.getvalue()


def test_the_published_adapter_is_served(credentials, cloudflare_adapter, monkeypatch):
    publish_script().install(monkeypatch)
    version = register(cloudflare_adapter)
    call_command("publish_cloudflare_adapter", model_version=version.pk, name="fr-checkout-v1", stdout=io.StringIO())
    version.refresh_from_db()

    api = cf.ScriptedCloudflare(cf.run_answer(cf.model_format(6, "committed_leave", 0.7))).install(monkeypatch)
    (result,) = CloudflareBackend(version).classify([parse_trace("focus:upload_cv, blur:upload_cv, exit")])
    assert result.code == 6
    assert api.requests[0].path == f"{cf.API_ROOT}/run/@cf/google/gemma-2b-it-lora"
    assert api.requests[0].json["lora"] == cf.FINETUNE_ID


def test_a_published_version_is_not_published_again(credentials, cloudflare_adapter, monkeypatch):
    publish_script().install(monkeypatch)
    version = register(cloudflare_adapter)
    call_command("publish_cloudflare_adapter", model_version=version.pk, stdout=io.StringIO())
    api = cf.ScriptedCloudflare().install(monkeypatch)
    with pytest.raises(CommandError, match="already published as finetune .* files cannot be changed"):
        call_command("publish_cloudflare_adapter", model_version=version.pk)
    assert api.requests == []


# --- refused before any request -------------------------------------------------------------------------------------


@pytest.fixture
def refusal(credentials, monkeypatch):
    """publish, expecting a refusal that sent nothing."""
    api = cf.ScriptedCloudflare().install(monkeypatch)

    def publish(version: ModelVersion, match: str) -> None:
        with pytest.raises(CommandError, match=f"not published, nothing was sent: .*{match}"):
            call_command("publish_cloudflare_adapter", model_version=version.pk)
        assert api.requests == []
        version.refresh_from_db()
        assert version.deployments == {}

    return publish


def test_rank_above_32_is_refused(refusal, tiny_base, tmp_path):
    refusal(register(make_adapter(tiny_base, tmp_path / "r64", r=64, lora_alpha=128)), r"rank ≤ 32, got r=64")


def test_modules_to_save_are_refused(refusal, tiny_base, tmp_path):
    # As the tiny base needs to learn anything: a full lm_head copy, which a LoRA server does not apply.
    adapter = make_adapter(tiny_base, tmp_path / "lm-head", modules_to_save=["lm_head"])
    refusal(register(adapter), r"cannot load modules_to_save \(lm_head\)")


def test_dora_is_refused(refusal, tiny_base, tmp_path):
    refusal(register(make_adapter(tiny_base, tmp_path / "dora", use_dora=True)), "plain LoRA")


def test_a_base_outside_the_accepted_list_is_refused(refusal, cloudflare_adapter, settings):
    refusal(
        register(cloudflare_adapter, "meta-llama/Llama-3.2-3B-Instruct"),
        "does not serve LoRA adapters for 'meta-llama/Llama-3.2-3B-Instruct'",
    )


def test_the_accepted_list_is_a_setting(credentials, cloudflare_adapter, settings, monkeypatch):
    settings.FORMRECAP_CLOUDFLARE_BASE_MODELS = {"google/gemma-3-12b-it": "@cf/google/gemma-3-12b-it"}
    api = publish_script().install(monkeypatch)
    call_command(
        "publish_cloudflare_adapter", model_version=register(cloudflare_adapter, "google/gemma-3-12b-it").pk, stdout=io.StringIO()
    )
    assert api.requests[0].json["model"] == "@cf/google/gemma-3-12b-it"
    with pytest.raises(CommandError, match="does not serve LoRA adapters for 'google/gemma-2b-it'"):
        call_command("publish_cloudflare_adapter", model_version=register(cloudflare_adapter).pk)


def test_an_adapter_of_300_mb_is_refused(refusal, cloudflare_adapter, tmp_path):
    big = tmp_path / "big"
    big.mkdir()
    (big / "adapter_config.json").write_text((cloudflare_adapter / "adapter_config.json").read_text())
    with (big / "adapter_model.safetensors").open("wb") as handle:
        handle.truncate(300 * 2**20)  # sparse: takes no disk
    refusal(register(big), "adapter is 300 MB; Cloudflare Workers AI accepts less than 300 MB")


def test_missing_files_are_refused(refusal, tmp_path):
    (tmp_path / "adapter_config.json").write_text("{}")
    refusal(register(tmp_path), "no adapter_model.safetensors")


def test_a_contradicting_model_type_is_refused(refusal, cloudflare_adapter, tmp_path):
    folder = tmp_path / "typed"
    folder.mkdir()
    config = json.loads((cloudflare_adapter / "adapter_config.json").read_text())
    (folder / "adapter_config.json").write_text(json.dumps({**config, "model_type": "mistral"}))
    (folder / "adapter_model.safetensors").write_bytes((cloudflare_adapter / "adapter_model.safetensors").read_bytes())
    refusal(register(folder), "says model_type 'mistral', but the base is gemma")


def test_a_bad_name_is_refused(refusal, cloudflare_adapter):
    version = register(cloudflare_adapter)
    with pytest.raises(CommandError, match="finetune name 'Checkout V1!'"):
        call_command("publish_cloudflare_adapter", model_version=version.pk, name="Checkout V1!")


def test_no_credentials_is_refused_before_any_request(db, settings, cloudflare_adapter, monkeypatch):
    cf.configure(settings, FORMRECAP_CLOUDFLARE_API_TOKEN="")
    api = cf.ScriptedCloudflare().install(monkeypatch)
    with pytest.raises(CommandError, match="not published: Cloudflare Workers AI needs FORMRECAP_CLOUDFLARE_API_TOKEN"):
        call_command("publish_cloudflare_adapter", model_version=register(cloudflare_adapter).pk)
    assert api.requests == []


# --- failures on the way are recorded -------------------------------------------------------------------------------


def client(sleeps: list[float]) -> CloudflareClient:
    return CloudflareClient(CloudflareConfig.from_settings(), sleep=sleeps.append)


def test_an_upload_that_fails_is_recorded_and_not_retried(credentials, cloudflare_adapter, monkeypatch):
    api = cf.ScriptedCloudflare(cf.finetune_created(DEFAULT_NAME), cf.asset_uploaded("adapter_config.json"), cf.SERVER_ERROR)
    api.install(monkeypatch)
    version = register(cloudflare_adapter)
    with pytest.raises(CommandError, match="not published: Cloudflare Workers AI answered HTTP 500: 3043 Internal server error"):
        call_command("publish_cloudflare_adapter", model_version=version.pk)
    assert len(api.requests) == 3  # a 5xx upload may have been stored: never sent twice
    version.refresh_from_db()
    record = version.deployments["cloudflare"]
    assert record["status"] == "failed" and record["finetune_id"] == cf.FINETUNE_ID
    assert record["assets"] == ["adapter_config.json"] and "HTTP 500" in record["error"]

    # The finetune with that name exists now: a retry must take another name.
    with pytest.raises(CommandError, match=f"already created finetune {cf.FINETUNE_ID} named '{DEFAULT_NAME}'; pass --name"):
        call_command("publish_cloudflare_adapter", model_version=version.pk)
    publish_script().install(monkeypatch)
    call_command("publish_cloudflare_adapter", model_version=version.pk, name=f"{DEFAULT_NAME}-b", stdout=io.StringIO())
    version.refresh_from_db()
    assert version.deployments["cloudflare"]["status"] == "published"


def test_a_refused_create_is_recorded(credentials, cloudflare_adapter, monkeypatch):
    cf.ScriptedCloudflare(cf.BAD_TOKEN).install(monkeypatch)
    version = register(cloudflare_adapter)
    with pytest.raises(CommandError, match=r"refused the API token \(HTTP 401: 10000 Authentication error\)"):
        call_command("publish_cloudflare_adapter", model_version=version.pk)
    version.refresh_from_db()
    assert version.deployments["cloudflare"]["status"] == "failed"
    assert "finetune_id" not in version.deployments["cloudflare"]


def test_a_rate_limited_create_is_retried_after_the_wait(credentials, cloudflare_adapter, monkeypatch):
    api = cf.ScriptedCloudflare(cf.capacity_exceeded("3"), *publish_script().steps).install(monkeypatch)
    sleeps: list[float] = []
    version = model_version_publish_cloudflare(model_version=register(cloudflare_adapter), client=client(sleeps))
    assert sleeps == [3.0] and len(api.requests) == 4
    assert api.requests[0].json == api.requests[1].json
    assert version.deployments["cloudflare"]["status"] == "published"


def test_a_create_that_times_out_is_not_retried(credentials, cloudflare_adapter, monkeypatch):
    api = cf.ScriptedCloudflare(httpx.ReadTimeout, *publish_script().steps).install(monkeypatch)
    with pytest.raises(Exception, match="it may have been created: check the Workers AI dashboard"):
        model_version_publish_cloudflare(model_version=register(cloudflare_adapter), client=client([]))
    assert len(api.requests) == 1


def test_the_research_profile_adapter_is_refused_by_the_service(credentials, tiny_adapter):
    adapter_dir, _ = tiny_adapter  # the research profile: DoRA on every linear layer
    with pytest.raises(ConfigError, match="Cloudflare serves plain LoRA: a DoRA adapter"):
        model_version_publish_cloudflare(model_version=register(adapter_dir))
