"""A LoRA model version is published where sites are served before it goes live ("train once, deploy twice"):

- vllm, when FORMRECAP_VLLM_BASE_URL names a server: loaded at runtime through ``/v1/load_lora_adapter`` under its
  adapter name (classifier.backends.vllm.adapter_name), from FORMRECAP_VLLM_ADAPTER_ROOT/<name> when that is set (the
  Modal volume's mount), else from its artifact folder;
- cloudflare, when the version was trained with the `cloudflare` profile and Cloudflare credentials are set:
  published as a finetune (training/cloudflare_publish.py), once.

Each target's outcome is recorded in the version's ``deployments``. When one fails, DeploymentFailed is raised and
the version does not go live: the active version (and so every site's backend) stays as it was.
"""

from django.conf import settings
from django.utils import timezone

from classifier.backends import BackendUnavailable

from .lora.config import ConfigError
from .models import ModelVersion
from .services import model_version_deployment_record


class DeploymentFailed(RuntimeError):
    """A target refused or could not be reached; the message names it and why."""


def deployment_targets(model_version: ModelVersion) -> list[str]:
    """Where this version must be published before it goes live, from the settings (none for embedded models)."""
    if model_version.kind != ModelVersion.Kind.LORA:
        return []
    targets = []
    if settings.FORMRECAP_VLLM_BASE_URL:
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
    root = settings.FORMRECAP_VLLM_ADAPTER_ROOT
    path = f"{root.rstrip('/')}/{name}" if root else model_version.artifact_uri
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

    if ((model_version.deployments or {}).get(DEPLOYMENT_KEY) or {}).get("status") == "published":
        return  # a finetune is published once; a rollback to it finds it there
    model_version_publish_cloudflare(model_version=model_version)


_DEPLOY = {"vllm": _deploy_vllm, "cloudflare": _deploy_cloudflare}
