"""Fine-tuning configuration: the two LoRA profiles and what Cloudflare Workers AI accepts.

Arithmetic of the defaults (the published run): 884 examples / effective batch 16
(4 per device × 4 accumulation) = 56 steps per epoch, × 3 epochs = 168 steps, cosine LR 2e-4.
"""

from dataclasses import asdict, dataclass, fields
from pathlib import Path

# Bases Cloudflare serves BYO-LoRA adapters for (their Workers AI names in comments). The default where Django settings
# are not loaded (a Modal container); elsewhere FORMRECAP_CLOUDFLARE_BASE_MODELS decides (cloudflare_accepted_bases).
CLOUDFLARE_BASE_MODELS = {
    "mistralai/Mistral-7B-Instruct-v0.2",  # @cf/mistral/mistral-7b-instruct-v0.2-lora
    "google/gemma-2b-it",  # @cf/google/gemma-2b-it-lora
    "google/gemma-7b-it",  # @cf/google/gemma-7b-it-lora
    "meta-llama/Llama-2-7b-chat-hf",  # @cf/meta-llama/llama-2-7b-chat-hf-lora
}
CLOUDFLARE_MAX_RANK = 32
CLOUDFLARE_MAX_ADAPTER_BYTES = 300 * 1024 * 1024

PROFILES: dict[str, dict] = {
    # QLoRA as in the best published run: NF4 base, DoRA, every linear layer.
    "research": {
        "r": 16, "lora_alpha": 32, "lora_dropout": 0.05, "use_dora": True, "target_modules": "all-linear", "quantize_4bit": True,
    },
    # What Cloudflare runs in practice: small rank on attention q/v only, no DoRA.
    "cloudflare": {
        "r": 8, "lora_alpha": 16, "lora_dropout": 0.05, "use_dora": False, "target_modules": ["q_proj", "v_proj"],
        "quantize_4bit": False,
    },
}  # fmt: skip


class ConfigError(ValueError):
    """A training configuration that cannot work; the message says why."""


@dataclass
class AdapterTrainingConfig:
    base_model: str
    profile: str = "research"
    epochs: float = 3.0
    max_steps: int = -1  # > 0 overrides epochs (smoke runs, tests)
    learning_rate: float = 2e-4
    lr_scheduler_type: str = "cosine"
    per_device_batch_size: int = 4
    gradient_accumulation_steps: int = 4  # effective batch 16
    max_length: int = 1024
    seed: int = 7
    warmup_ratio: float = 0.03
    # A randomly initialised base (the tiny test model) must also learn its output layer.
    modules_to_save: list[str] | None = None
    rank: int | None = None  # overrides the profile's r (alpha scales with it)
    logging_steps: int = 10

    def lora_settings(self) -> dict:
        settings = dict(PROFILES[self.profile])
        if self.rank is not None:
            settings["lora_alpha"] = settings["lora_alpha"] * self.rank // settings["r"]
            settings["r"] = self.rank
        return settings

    @property
    def effective_batch(self) -> int:
        return self.per_device_batch_size * self.gradient_accumulation_steps

    def as_dict(self) -> dict:
        return asdict(self)


# What a YAML config may set: every training setting.
YAML_FIELDS = frozenset(f.name for f in fields(AdapterTrainingConfig))
YAML_TYPES = {
    "base_model": str, "profile": str, "epochs": float, "max_steps": int, "learning_rate": float,
    "lr_scheduler_type": str, "per_device_batch_size": int, "gradient_accumulation_steps": int, "max_length": int,
    "seed": int, "warmup_ratio": float, "modules_to_save": list, "rank": int, "logging_steps": int,
}  # fmt: skip
YAML_TYPE_NAMES = {str: "text", int: "a whole number", float: "a number", list: "a list of module names"}


def config_fields_from_yaml(path: Path) -> dict:
    """The AdapterTrainingConfig fields a YAML file under training/configs/ sets (TRL style: one key per setting).
    ConfigError names a file that cannot be read, is not a mapping, or sets what is no training setting."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    if unknown := sorted(set(map(str, data)) - YAML_FIELDS):
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(YAML_FIELDS))}")
    return {name: _typed(path, name, value) for name, value in data.items()}


def _typed(path: Path, name: str, value):
    """YAML reads ``2e-4`` as a string (it wants ``2.0e-4``): numbers are taken from either; other types refused."""
    kind = YAML_TYPES[name]
    if kind is list:
        if value is None or (isinstance(value, list) and all(isinstance(item, str) for item in value)):
            return value
    elif kind in (int, float) and not isinstance(value, bool):
        try:
            number = kind(value) if kind is float else int(str(value))
        except (TypeError, ValueError):
            pass
        else:
            return number
    elif kind is str and isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise ConfigError(f"{path}: {name} must be {YAML_TYPE_NAMES[kind]}, got {value!r}")


def validate_config(config: AdapterTrainingConfig, *, base_is_local_stand_in: bool) -> None:
    """Refuse, before any GPU time is spent, what cannot be trained or deployed."""
    if config.profile not in PROFILES:
        raise ConfigError(f"unknown profile {config.profile!r}; choose one of {', '.join(PROFILES)}")
    if config.epochs <= 0 and config.max_steps <= 0:
        raise ConfigError("epochs or max_steps must be positive")
    if config.per_device_batch_size < 1 or config.gradient_accumulation_steps < 1:
        raise ConfigError("batch size and gradient accumulation must be at least 1")
    if config.profile == "cloudflare":
        rank = config.lora_settings()["r"]
        if rank > CLOUDFLARE_MAX_RANK:
            raise ConfigError(f"Cloudflare Workers AI accepts LoRA rank ≤ {CLOUDFLARE_MAX_RANK}, got r={rank}")
        accepted = cloudflare_accepted_bases()
        if config.base_model not in accepted and not base_is_local_stand_in:
            raise ConfigError(
                f"Cloudflare Workers AI does not serve LoRA adapters for {config.base_model!r}; "
                f"use one of {', '.join(sorted(accepted))}"
            )


def check_adapter_size(config: AdapterTrainingConfig, adapter_bytes: int) -> None:
    if config.profile == "cloudflare" and adapter_bytes > CLOUDFLARE_MAX_ADAPTER_BYTES:
        raise ConfigError(f"adapter is {adapter_bytes / 2**20:.0f} MB; Cloudflare Workers AI accepts at most 300 MB")


def cloudflare_accepted_bases() -> set[str]:
    """The setting FORMRECAP_CLOUDFLARE_BASE_MODELS (Cloudflare's list has changed), or the default above where
    Django settings are not configured (training runs in a Modal container without them)."""
    try:
        from django.conf import settings

        if settings.configured:
            return set(settings.FORMRECAP_CLOUDFLARE_BASE_MODELS)
    except (ImportError, AttributeError):
        pass
    return set(CLOUDFLARE_BASE_MODELS)


def check_cloudflare_adapter(adapter_config: dict, *, adapter_bytes: int, base_model: str, accepted_bases: set[str]) -> None:
    """Refuse, before any upload, an adapter Cloudflare Workers AI cannot serve (the cloudflare profile's limits)."""
    if adapter_config.get("peft_type", "LORA") != "LORA":
        raise ConfigError(f"Cloudflare serves LoRA adapters, not {adapter_config.get('peft_type')}")
    if adapter_config.get("use_dora"):
        raise ConfigError("Cloudflare serves plain LoRA: a DoRA adapter must be trained with the cloudflare profile")
    if adapter_config.get("modules_to_save"):
        # Full copies of whole layers (lm_head): a LoRA server applies low-rank deltas only.
        raise ConfigError(f"Cloudflare cannot load modules_to_save ({', '.join(adapter_config['modules_to_save'])})")
    ranks = [adapter_config.get("r", 0), *(adapter_config.get("rank_pattern") or {}).values()]
    if max(ranks) > CLOUDFLARE_MAX_RANK:
        raise ConfigError(f"Cloudflare Workers AI accepts LoRA rank ≤ {CLOUDFLARE_MAX_RANK}, got r={max(ranks)}")
    if adapter_bytes >= CLOUDFLARE_MAX_ADAPTER_BYTES:
        raise ConfigError(f"adapter is {adapter_bytes / 2**20:.0f} MB; Cloudflare Workers AI accepts less than 300 MB")
    if base_model not in accepted_bases:
        raise ConfigError(
            f"Cloudflare Workers AI does not serve LoRA adapters for {base_model!r}; "
            f"accepted (FORMRECAP_CLOUDFLARE_BASE_MODELS): {', '.join(sorted(accepted_bases)) or 'none'}"
        )
