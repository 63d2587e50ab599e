"""A LoRA model version is published where sites are served before it goes live ("train once, deploy twice"):

- vllm, when FORMRECAP_VLLM_BASE_URL names a server and vLLM can load the adapter (no DoRA, no modules_to_save):
  loaded at runtime through ``/v1/load_lora_adapter`` under its adapter name (classifier.backends.vllm.adapter_name),
  from FORMRECAP_VLLM_ADAPTER_ROOT/<its path on the Modal volume> for a Modal run, else from its artifact folder;
- cloudflare, when the version was trained with the `cloudflare` profile and Cloudflare credentials are set:
  published as a finetune (training/cloudflare_publish.py), once.

Each target's outcome is recorded in the version's ``deployments``. When one fails, DeploymentFailed is raised and
the version does not go live: the active version (and so every site's backend) stays as it was.
"""

import json
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from classifier.backends import BackendUnavailable

from .lora.config import PROFILES, ConfigError
from .models import ModelVersion
from .services import model_version_deployment_record


class DeploymentFailed(RuntimeError):
    """A target refused or could not be reached; the message names it and why."""


def vllm_unservable(model_version: ModelVersion) -> str:
    """Why vLLM cannot load this adapter ("" when it can): DoRA and modules_to_save need a merged model instead
    (training/modal_app.py `merge_adapter`). Read from the adapter's own config, else from its training config."""
    config_file = Path(model_version.artifact_uri) / "adapter_config.json"
    try:
        adapter = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        training = model_version.training_config or {}
        profile = PROFILES.get(training.get("profile") or "research", {})
        adapter = {"use_dora": profile.get("use_dora"), "modules_to_save": training.get("modules_to_save")}
    if adapter.get("use_dora"):
        return "a DoRA adapter: vLLM cannot load it (merge it and serve the merged model)"
    if adapter.get("modules_to_save"):
        return "an adapter with modules_to_save: vLLM cannot load it (merge it and serve the merged model)"
    return ""


def deployment_targets(model_version: ModelVersion) -> list[str]:
    """Where this version must be published before it goes live, from the settings (none for embedded models).
    An adapter vLLM cannot load is not sent there (the vllm backend cannot serve it either); it stays servable
    in-process (peft) and, with the cloudflare profile, at the edge."""
    if model_version.kind != ModelVersion.Kind.LORA:
        return []
    targets = []
    if settings.FORMRECAP_VLLM_BASE_URL and not vllm_unservable(model_version):
        targets.append("vllm")
    profile = (model_version.training_config or {}).get("profile")
    if profile == "cloudflare" and settings.FORMRECAP_CLOUDFLARE_ACCOUNT_ID and settings.FORMRECAP_CLOUDFLARE_API_TOKEN:
        targets.append("cloudflare")
    return targets


def model_version_deploy(*, model_version: ModelVersion) -> list[str]:
    """Publish to every target; returns them. Raises DeploymentFailed naming each failure (all are attempted)."""
    failures = []
    targets = deployment_targets(model_version)
    for target in targets:
        try:
            _DEPLOY[target](model_version)
        except (BackendUnavailable, ConfigError) as exc:
            failures.append(f"{target}: {exc}")
    if failures:
        raise DeploymentFailed("; ".join(failures))
    return targets


def _deploy_vllm(model_version: ModelVersion) -> None:
    from classifier.backends.vllm import VllmClient, adapter_name

    name = adapter_name(model_version)
    # Where the server finds it: a Modal run's adapter stays on the volume where it was trained (recorded by
    # training_run_finish), under the root the server mounts it at; otherwise the artifact folder itself.
    root = settings.FORMRECAP_VLLM_ADAPTER_ROOT
    on_volume = (model_version.training_config or {}).get("volume_adapter_path")
    path = f"{root.rstrip('/')}/{on_volume.lstrip('/')}" if root and on_volume else model_version.artifact_uri
    record = {"name": name, "path": path, "server": settings.FORMRECAP_VLLM_BASE_URL}
    try:
        answer = VllmClient.from_settings().load_adapter(name, path)
    except BackendUnavailable as exc:
        failed = {**record, "status": "failed", "error": str(exc), "failed_at": timezone.now().isoformat()}
        model_version_deployment_record(model_version=model_version, backend="vllm", record=failed)
        raise
    loaded = {**record, "status": "loaded", "answer": answer[:300], "loaded_at": timezone.now().isoformat()}
    model_version_deployment_record(model_version=model_version, backend="vllm", record=loaded)


def _deploy_cloudflare(model_version: ModelVersion) -> None:
    from .cloudflare_publish import DEPLOYMENT_KEY, model_version_publish_cloudflare

    record = (model_version.deployments or {}).get(DEPLOYMENT_KEY) or {}
    if record.get("status") == "published":
        return  # a finetune is published once; a rollback to it finds it there
    if record.get("finetune_id"):
        # created before but not finished: creating again would make a second finetune (or clash on the name)
        raise ConfigError(
            f"Cloudflare finetune {record['finetune_id']} of {model_version.label} is {record.get('status')}, not "
            "published: finish its upload or delete it in Cloudflare, then clear deployments['cloudflare']"
        )
    model_version_publish_cloudflare(model_version=model_version)


_DEPLOY = {"vllm": _deploy_vllm, "cloudflare": _deploy_cloudflare}
