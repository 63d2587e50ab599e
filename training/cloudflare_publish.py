"""Publishing a LoRA adapter to Cloudflare Workers AI, recorded on its model version (``deployments["cloudflare"]``).

    python manage.py publish_cloudflare_adapter --model-version 7 [--name formrecap-lora-cloudflare-v7]

``POST .../ai/finetunes/ {model, name, description}``, then one multipart ``POST .../finetunes/{id}/finetune-assets/``
(``file_name`` + ``file``) for ``adapter_config.json`` (with the ``model_type`` Cloudflare needs) and for
``adapter_model.safetensors``. Uploaded files cannot be changed (a new version is a new finetune), so every check
that can be made (rank, size, base, plain LoRA) is made before the first request.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from classifier.backends.cloudflare import DEPLOYMENT_KEY, CloudflareClient, CloudflareConfig, model_family

from .lora.config import ConfigError, check_cloudflare_adapter
from .models import ModelVersion
from .services import model_version_deployment_record

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
FINETUNE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@dataclass(frozen=True)
class CloudflarePublication:
    base_model: str  # the HuggingFace base it was trained on
    model: str  # the Workers AI model that serves it
    model_type: str  # gemma | mistral | llama, as adapter_config.json must say
    name: str
    description: str
    adapter_config: bytes  # the adapter's config with model_type added
    weights: Path


def _default_name(model_version: ModelVersion) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", f"formrecap-{model_version.name}-v{model_version.version}".lower()).strip("-")[:64]


def cloudflare_publication_prepare(*, model_version: ModelVersion, name: str | None = None) -> CloudflarePublication:
    """Everything the upload needs, checked; raises ConfigError naming the problem. Sends nothing."""
    if model_version.kind != ModelVersion.Kind.LORA:
        raise ConfigError(f"model version {model_version.pk} is a {model_version.kind} model, not a LoRA adapter")
    previous = (model_version.deployments or {}).get(DEPLOYMENT_KEY) or {}
    if previous.get("status") == "published":
        raise ConfigError(
            f"{model_version.label} is already published as finetune {previous['finetune_id']} ({previous.get('name')}); "
            "Cloudflare files cannot be changed: train and register a new version"
        )
    name = name or _default_name(model_version)
    if not FINETUNE_NAME.match(name):
        raise ConfigError(f"finetune name {name!r}: use 1-64 lowercase letters, digits and dashes")
    if previous.get("finetune_id") and previous.get("name") == name:
        raise ConfigError(
            f"an earlier attempt already created finetune {previous['finetune_id']} named {name!r}; pass --name for a new one"
        )

    folder = Path(model_version.artifact_uri)
    missing = [f for f in (ADAPTER_CONFIG, ADAPTER_WEIGHTS) if not (folder / f).is_file()]
    if missing:
        raise ConfigError(f"{folder}: no {' or '.join(missing)} (Cloudflare needs both, and the weights as safetensors)")
    try:
        adapter_config = json.loads((folder / ADAPTER_CONFIG).read_text())
    except ValueError as exc:
        raise ConfigError(f"{folder / ADAPTER_CONFIG} is not JSON: {exc}") from exc

    accepted = dict(settings.FORMRECAP_CLOUDFLARE_BASE_MODELS)
    base_model = model_version.training_config.get("base_model") or adapter_config.get("base_model_name_or_path") or ""
    weights = folder / ADAPTER_WEIGHTS
    check_cloudflare_adapter(
        adapter_config, adapter_bytes=weights.stat().st_size, base_model=base_model, accepted_bases=set(accepted)
    )
    try:
        family = model_family(base_model)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    model_type = "llama" if family.startswith("llama") else family
    if adapter_config.get("model_type") not in (None, model_type):
        raise ConfigError(f"{ADAPTER_CONFIG} says model_type {adapter_config['model_type']!r}, but the base is {model_type}")
    lora = f"r={adapter_config.get('r')}, {', '.join(sorted(adapter_config.get('target_modules') or []))}"
    return CloudflarePublication(
        base_model=base_model,
        model=accepted[base_model],
        model_type=model_type,
        name=name,
        description=f"FormRecap {model_version.label} ({lora}) on {base_model}"[:200],
        adapter_config=json.dumps({**adapter_config, "model_type": model_type}, indent=2).encode(),
        weights=weights,
    )


def model_version_publish_cloudflare(
    *, model_version: ModelVersion, name: str | None = None, client: CloudflareClient | None = None
) -> ModelVersion:
    """Create the finetune and upload both files; the record says how far it got, so a failure is never silent.

    Raises ConfigError (nothing sent) or the client's CloudflareError / BackendUnavailable (recorded as failed)."""
    publication = cloudflare_publication_prepare(model_version=model_version, name=name)
    owned = client is None
    client = client or CloudflareClient(CloudflareConfig.from_settings())
    record = {
        "status": "creating",
        "name": publication.name,
        "model": publication.model,
        "base_model": publication.base_model,
        "model_type": publication.model_type,
        "account_id": client.config.account_id,
        "assets": [],
    }
    try:
        created = client.finetune_create(model=publication.model, name=publication.name, description=publication.description)
        record |= {"status": "uploading", "finetune_id": created["id"], "created_at": timezone.now().isoformat()}
        model_version_deployment_record(model_version=model_version, backend=DEPLOYMENT_KEY, record=record)
        for file_name, content in (
            (ADAPTER_CONFIG, publication.adapter_config),
            (ADAPTER_WEIGHTS, publication.weights.read_bytes()),
        ):
            client.finetune_asset_upload(finetune_id=created["id"], file_name=file_name, content=content)
            record["assets"] = [*record["assets"], file_name]
    except Exception as exc:
        record |= {"status": "failed", "error": str(exc), "failed_at": timezone.now().isoformat()}
        model_version_deployment_record(model_version=model_version, backend=DEPLOYMENT_KEY, record=record)
        raise
    finally:
        if owned:
            client.close()
    record |= {"status": "published", "published_at": timezone.now().isoformat()}
    return model_version_deployment_record(model_version=model_version, backend=DEPLOYMENT_KEY, record=record)
