"""The Modal app: LoRA fine-tuning on a GPU, adapter merging, and a vLLM server for the adapters.

    modal deploy -m training.modal_app                         # the Celery ModalRunner spawns `train`
    FORMRECAP_MODAL_GPU=A100 modal deploy -m training.modal_app

Datasets, base models uploaded from this machine, adapters and merged models live on the
``formrecap-artifacts`` volume, mounted at /artifacts. The ``formrecap-hf`` secret carries
``HF_TOKEN`` for gated bases (Gemma, Llama). Settings read at import (when deploying):

    FORMRECAP_MODAL_GPU               training and merge GPU (default L4)
    FORMRECAP_MODAL_TRAIN_TIMEOUT_S   training time limit (default 4 h)
    FORMRECAP_MODAL_SERVE_GPU         vLLM GPU (default: FORMRECAP_MODAL_GPU)
    FORMRECAP_MODAL_SERVE_MODEL       base served by vLLM: a hub id, or a merged model on the volume
                                      (/artifacts/merged/<run id>); default google/gemma-2b-it
    FORMRECAP_MODAL_SERVE_ADAPTERS    "name=adapters/12,..." to serve; default: every adapter on the
                                      volume trained on that base that vLLM can load

vLLM loads plain LoRA adapters only: DoRA adapters (the ``research`` profile) and adapters with
``modules_to_save`` are served by merging them first (``merge_adapter``) and serving the merged
folder as the model. The server is OpenAI-compatible (``/v1/completions`` with ``logprobs``, the
adapter name as ``model``) behind Modal proxy auth.

``modal`` is imported here and in training/lora/runners.py only; the web app never needs it.
"""

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath

import modal

from training.lora.runners import MODAL_APP_NAME, MODAL_VOLUME_NAME, VOLUME_MOUNT, read_sft_split

GPU = os.environ.get("FORMRECAP_MODAL_GPU", "L4")
TRAIN_TIMEOUT_S = int(os.environ.get("FORMRECAP_MODAL_TRAIN_TIMEOUT_S", str(4 * 3600)))
MERGE_TIMEOUT_S = 3600
SERVE_GPU = os.environ.get("FORMRECAP_MODAL_SERVE_GPU", GPU)
SERVE_MODEL = os.environ.get("FORMRECAP_MODAL_SERVE_MODEL", "google/gemma-2b-it")
SERVE_ADAPTERS = os.environ.get("FORMRECAP_MODAL_SERVE_ADAPTERS", "")
VLLM_PORT = 8000
VLLM_VERSION = "0.33.0"
MAX_LOGPROBS = 20

HF_SECRET_NAME = "formrecap-hf"
HF_CACHE_VOLUME_NAME = "formrecap-hf-cache"
HF_CACHE = "/hf-cache"
ARTIFACTS = Path(str(VOLUME_MOUNT))  # tests point this at a temporary folder and call the functions with .local()

# What the training container needs, pinned to the versions in requirements/ml.txt and web.txt.
TRAINING_PACKAGES = (
    "torch",
    "transformers",
    "tokenizers",
    "safetensors",
    "accelerate",
    "datasets",
    "peft",
    "trl",
    "bitsandbytes",
    "numpy",
)
REQUIREMENTS_DIR = Path(__file__).resolve().parent.parent / "requirements"


def pinned_requirements(names: tuple[str, ...], files: tuple[str, ...] = ("ml.txt", "web.txt")) -> list[str]:
    """``name==version`` for each name, from the repo's pinned requirement files."""
    pins: dict[str, str] = {}
    for file in files:
        for line in (REQUIREMENTS_DIR / file).read_text().splitlines():
            requirement = line.split("#", 1)[0].strip()
            if "==" in requirement and not requirement.startswith("-"):
                name = requirement.split("==", 1)[0].split("[", 1)[0].strip().lower().replace("_", "-")
                pins.setdefault(name, requirement)
    missing = [name for name in names if name not in pins]
    if missing:
        raise RuntimeError(f"no pinned version in requirements/{', '.join(files)} for: {', '.join(missing)}")
    return [pins[name] for name in names]


# Inside a Modal container the image is already built (and requirements/ is not there).
_training_requirements = pinned_requirements(TRAINING_PACKAGES) if modal.is_local() else []

# Sources reach the containers through the images below (the training image also needs `classifier`).
app = modal.App(MODAL_APP_NAME, include_source=False)
artifacts = modal.Volume.from_name(MODAL_VOLUME_NAME, create_if_missing=True)
hf_cache = modal.Volume.from_name(HF_CACHE_VOLUME_NAME, create_if_missing=True)
hf_secret = modal.Secret.from_name(HF_SECRET_NAME, required_keys=["HF_TOKEN"])

training_image = (
    modal.Image.debian_slim(python_version="3.11")
    .uv_pip_install(*_training_requirements)
    .env({"HF_HOME": HF_CACHE, "TOKENIZERS_PARALLELISM": "false"})
    .add_local_python_source("training", "classifier")
)
vllm_image = (
    modal.Image.debian_slim(python_version="3.12")
    .uv_pip_install(f"vllm=={VLLM_VERSION}")
    .env({"HF_HOME": HF_CACHE, "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True"})
    .add_local_python_source("training")
)


def volume_path(path: str) -> Path:
    """A path on the artifacts volume, given relative to its root or under /artifacts."""
    pure = PurePosixPath(path)
    if pure.is_absolute():
        try:
            pure = pure.relative_to(VOLUME_MOUNT)
        except ValueError:
            raise ValueError(f"{path!r} is not on the artifacts volume (mounted at {VOLUME_MOUNT})") from None
    if ".." in pure.parts or not pure.parts:
        raise ValueError(f"{path!r} is not a path inside the artifacts volume")
    return ARTIFACTS / pure


def _reload_volume() -> None:
    # A running container sees files committed after it started only after a reload.
    if not modal.is_local():
        artifacts.reload()


def _commit_volume() -> None:
    if not modal.is_local():
        artifacts.commit()


def run_training(payload: dict) -> dict:
    """Fine-tune on the dataset files from the volume; the adapter lands in /artifacts/adapters/<run id>/."""
    from training.lora.config import AdapterTrainingConfig
    from training.lora.train import fine_tune

    _reload_volume()
    run_id = str(payload["run_id"])
    config = AdapterTrainingConfig(**payload["config"])
    if PurePosixPath(config.base_model).is_relative_to(VOLUME_MOUNT):  # a base uploaded by the runner
        config.base_model = str(volume_path(config.base_model))
    dataset = volume_path(payload["dataset_path"])
    train_records, validation_records = read_sft_split(dataset, "train"), read_sft_split(dataset, "validation")
    adapter_path = payload.get("output_dir") or f"adapters/{run_id}"
    destination = volume_path(adapter_path)
    # Checkpoints (optimizer state included) stay on the container's disk; only the adapter is kept.
    with tempfile.TemporaryDirectory(prefix="formrecap-run-") as scratch:
        try:
            finished = fine_tune(config, train=train_records, validation=validation_records, output_dir=Path(scratch))
        except TimeoutError as exc:
            # The runner reads a builtin TimeoutError from FunctionCall.get as "still running".
            raise RuntimeError(f"training failed with a timeout: {exc}") from exc
        if destination.exists():
            shutil.rmtree(destination)  # a retried run replaces its own adapter
        shutil.copytree(finished.adapter_dir, destination)
    _commit_volume()  # the adapter is safe before anything else can fail
    # Calibration and held-out evaluation read the adapter here, on the GPU: the worker fits T from the numbers. If
    # the read-out fails the run still succeeds; the worker then calibrates in-process (the local runner's way).
    try:
        readout = remote_readout(destination, config.base_model, dataset, payload.get("held_out", []))
    except Exception:  # noqa: BLE001 - logged with its cause; the trained adapter must not be lost to it
        logging.getLogger(__name__).exception("run %s: the read-out failed; the worker will calibrate", run_id)
        readout = None
    return {
        "run_id": run_id,
        "adapter_path": str(destination.relative_to(ARTIFACTS)),
        "adapter_dir": str(VOLUME_MOUNT / destination.relative_to(ARTIFACTS)),
        "manifest": finished.manifest,
        "readout": readout,
        "local_output_dir": payload.get("local_output_dir"),  # where the runner downloads the adapter to
    }


def remote_readout(adapter_dir: Path, base_model: str, dataset: Path, held_out: list[dict]) -> dict:
    """First-token digit log-probs of the validation and test splits and the held-out sets (training.lora.calibrate)."""
    from classifier.readout import load_adapter
    from training.lora.calibrate import adapter_readout

    model, tokenizer = load_adapter(Path(adapter_dir), base_model)
    return adapter_readout(model, tokenizer, dataset, held_out)


def run_merge(payload: dict) -> dict:
    """Fold a LoRA/DoRA adapter into its base (PEFT ``merge_and_unload``) and save a full model folder."""
    import torch
    from peft import PeftConfig, PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _reload_volume()
    adapter_dir = volume_path(payload["adapter_path"])
    output_dir = volume_path(payload.get("output_path") or f"merged/{adapter_dir.name}")
    base_model = payload.get("base_model") or PeftConfig.from_pretrained(adapter_dir).base_model_name_or_path
    # Full precision (bf16 on GPU), never 4-bit: merging into a quantised base loses the adapter's precision.
    dtype = torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float32
    model = AutoModelForCausalLM.from_pretrained(base_model, dtype=dtype)
    merged = PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
    if output_dir.exists():
        shutil.rmtree(output_dir)
    merged.save_pretrained(output_dir)
    AutoTokenizer.from_pretrained(adapter_dir).save_pretrained(output_dir)
    _commit_volume()
    return {
        "adapter_path": payload["adapter_path"],
        "base_model": base_model,
        "merged_path": str(output_dir.relative_to(ARTIFACTS)),
        "merged_dir": str(VOLUME_MOUNT / output_dir.relative_to(ARTIFACTS)),
    }


def servable_adapters(base_model: str, adapters_root: Path) -> tuple[dict[str, Path], dict[str, str]]:
    """({name: folder} vLLM can load on ``base_model``, {name: why not} for the others) under ``adapters_root``."""
    servable: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    for config_file in sorted(adapters_root.glob("*/adapter_config.json")):
        name = f"run-{config_file.parent.name}"
        config = json.loads(config_file.read_text())
        if config.get("base_model_name_or_path") != base_model:
            skipped[name] = f"trained on {config.get('base_model_name_or_path')!r}, not {base_model!r}"
        elif config.get("use_dora"):
            skipped[name] = "DoRA adapter: vLLM cannot load it; merge it and serve the merged model"
        elif config.get("modules_to_save"):
            skipped[name] = "has modules_to_save: vLLM cannot load it; merge it and serve the merged model"
        else:
            servable[name] = config_file.parent
    return servable, skipped


def parse_adapter_list(text: str) -> dict[str, Path]:
    """``"name=adapters/12,other=adapters/13"`` → {name: folder on the volume}."""
    adapters = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, path = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"FORMRECAP_MODAL_SERVE_ADAPTERS: {item!r} is not NAME=PATH")
        adapters[name.strip()] = volume_path(path.strip())
    return adapters


def lora_rank_limit(adapters: dict[str, Path]) -> int:
    """The smallest ``--max-lora-rank`` vLLM accepts that fits every adapter (at least 32, the Cloudflare limit)."""
    ranks = [json.loads((folder / "adapter_config.json").read_text()).get("r", 0) for folder in adapters.values()]
    needed = max([32, *ranks])
    return next(size for size in (32, 64, 128, 256, 512) if size >= needed)


def vllm_command(model: str, adapters: dict[str, Path], *, port: int = VLLM_PORT, max_lora_rank: int = 32) -> list[str]:
    """The ``vllm serve`` command line: the base with LoRA enabled, adapters by name, logprobs available."""
    command = ["vllm", "serve", model, "--host", "0.0.0.0", "--port", str(port)]  # noqa: S104 - inside the container
    command += ["--max-logprobs", str(MAX_LOGPROBS), "--max-model-len", "4096"]
    # The `vllm` backend restricts answers to the six digit tokens: only processed log-probs are then over the digits
    # alone (raw ones stay vocabulary-wide), and the checkpoint's generation_config.json must not reshape them.
    command += ["--logprobs-mode", "processed_logprobs", "--generation-config", "vllm"]
    command += ["--enable-lora", "--max-lora-rank", str(max_lora_rank), "--max-loras", str(max(1, min(len(adapters), 8)))]
    if adapters:
        command += ["--lora-modules", *(f"{name}={folder}" for name, folder in adapters.items())]
    return command


@app.function(
    image=training_image,
    gpu=GPU,
    volumes={str(VOLUME_MOUNT): artifacts, HF_CACHE: hf_cache},
    secrets=[hf_secret],
    timeout=TRAIN_TIMEOUT_S,
)
def train(payload: dict) -> dict:
    """``{"run_id", "config", "dataset_path", "output_dir"}`` (paths on the volume) → ``{"adapter_path", "manifest", ...}``."""
    return run_training(payload)


@app.function(
    image=training_image,
    gpu=GPU,
    volumes={str(VOLUME_MOUNT): artifacts, HF_CACHE: hf_cache},
    secrets=[hf_secret],
    timeout=MERGE_TIMEOUT_S,
)
def merge_adapter(payload: dict) -> dict:
    """``{"adapter_path", "output_path"?, "base_model"?}`` → ``{"merged_path", "merged_dir", "base_model"}``."""
    return run_merge(payload)


@app.function(
    image=vllm_image,
    gpu=SERVE_GPU,
    volumes={str(VOLUME_MOUNT): artifacts.read_only(), HF_CACHE: hf_cache},
    secrets=[hf_secret],
    # The container reads these at import, so they must reach it, not just the deploying shell.
    env={"FORMRECAP_MODAL_SERVE_MODEL": SERVE_MODEL, "FORMRECAP_MODAL_SERVE_ADAPTERS": SERVE_ADAPTERS},
    timeout=10 * 60,
    scaledown_window=15 * 60,
)
@modal.concurrent(max_inputs=32)
@modal.web_server(port=VLLM_PORT, startup_timeout=15 * 60, requires_proxy_auth=True)
def serve() -> None:
    """vLLM's OpenAI-compatible server for the base model and its LoRA adapters from the volume."""
    import subprocess

    if SERVE_ADAPTERS:
        adapters = parse_adapter_list(SERVE_ADAPTERS)
    else:
        adapters, skipped = servable_adapters(SERVE_MODEL, ARTIFACTS / "adapters")
        for name, reason in skipped.items():
            print(f"not serving {name}: {reason}")
    subprocess.Popen(vllm_command(SERVE_MODEL, adapters, max_lora_rank=lora_rank_limit(adapters)))
