"""Backend routing: a name (a site's setting or an API/command argument) → a backend instance."""

from .base import Backend, BackendUnavailable, Classification, Explanation

# claude and zero_shot are baselines for evaluation (no adapter, uncalibrated), not meant to serve a site.
BACKEND_NAMES = ("embedded", "peft", "vllm", "cloudflare", "claude", "zero_shot")
# What a site's API key may ask for: a baseline would spend our Anthropic budget or load a base model into the
# web process on a tenant's request.
SERVING_BACKENDS = ("embedded", "peft", "vllm", "cloudflare")
# What a site can be classified by: a serving backend, or the cascade over its escalation settings.
SITE_BACKENDS = (*SERVING_BACKENDS, "cascade")
DEFAULT_BACKEND = "embedded"


def backend_for_site(site) -> Backend:
    """The backend a site's sessions are classified by, from its settings (a cascade uses its threshold and LLM)."""
    if site.classifier_backend == "cascade":
        from .cascade import CascadeBackend

        return CascadeBackend(threshold=site.escalation_threshold, escalate_to=site.escalation_backend)
    return get_backend(site.classifier_backend)


def get_backend(name: str = DEFAULT_BACKEND, *, model_version_id: int | None = None) -> Backend:
    """The backend ``name``, serving the active model of its kind or, when given, that model version."""
    if name not in BACKEND_NAMES:
        raise BackendUnavailable(f"unknown backend {name!r}; known: {', '.join(BACKEND_NAMES)}")
    model_version = None
    if model_version_id is not None:
        from training.models import ModelVersion

        model_version = ModelVersion.objects.filter(pk=model_version_id).first()
        if model_version is None:
            raise BackendUnavailable(f"no model version {model_version_id}")
    if name == "embedded":
        from .embedded import EmbeddedBackend

        return EmbeddedBackend(model_version)
    if name == "vllm":
        from .vllm import VllmBackend

        return VllmBackend(model_version)
    if name == "cloudflare":
        from .cloudflare import CloudflareBackend

        return CloudflareBackend(model_version)
    if name == "claude":
        from .claude import ClaudeBackend

        return ClaudeBackend(model_version)
    if name == "zero_shot":
        from .zero_shot import ZeroShotBackend

        return ZeroShotBackend(model_version)
    from .peft import PeftBackend

    return PeftBackend(model_version)


__all__ = [
    "Backend", "BackendUnavailable", "Classification", "Explanation", "get_backend", "backend_for_site", "BACKEND_NAMES",
    "SERVING_BACKENDS", "SITE_BACKENDS", "DEFAULT_BACKEND",
]  # fmt: skip
