"""The one fine-tuning function: transformers + peft + trl, with bitsandbytes NF4 when CUDA is present.

    python manage.py train_adapter --runner local --profile research --base-model DIR --dataset DIR

Loss on the answer only (prompt-completion examples with completion-only loss, which works
with any base model's chat template), evaluation and a checkpoint each epoch (or three times
in step-limited runs), the best checkpoint by validation loss kept, and a manifest of config,
data hash, losses, durations and versions.
"""

import hashlib
import json
import math
import platform
import time
from dataclasses import dataclass
from pathlib import Path

from classifier.prompting import supports_system_role

from .config import AdapterTrainingConfig, check_adapter_size, validate_config
from .prompt import prompt_completion
from .tiny import is_tiny_model


@dataclass
class FineTuneResult:
    adapter_dir: Path
    manifest: dict


def records_hash(records: list[dict]) -> str:
    digest = hashlib.sha256()
    for record in records:
        digest.update(json.dumps(record, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def _package_versions() -> dict:
    import peft
    import torch
    import transformers
    import trl

    versions = {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__}
    versions |= {"peft": peft.__version__, "trl": trl.__version__}
    try:
        import bitsandbytes

        versions["bitsandbytes"] = bitsandbytes.__version__
    except ImportError:  # pragma: no cover - part of the ML requirements
        pass
    return versions


def load_base_model(base_model: str, *, quantize_4bit: bool):
    """The base model, NF4-quantised when asked and CUDA is present (NF4 backward is unreliable on CPU)."""
    import torch
    from transformers import AutoModelForCausalLM

    if quantize_4bit and torch.cuda.is_available():
        from peft import prepare_model_for_kbit_training
        from transformers import BitsAndBytesConfig

        quantization = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16, bnb_4bit_use_double_quant=True
        )
        model = AutoModelForCausalLM.from_pretrained(base_model, quantization_config=quantization, device_map="auto")
        return prepare_model_for_kbit_training(model), True
    dtype = torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float32
    return AutoModelForCausalLM.from_pretrained(base_model, dtype=dtype), False


def fine_tune(config: AdapterTrainingConfig, *, train: list[dict], validation: list[dict], output_dir: Path) -> FineTuneResult:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    validate_config(config, base_is_local_stand_in=is_tiny_model(config.base_model))
    started = time.monotonic()
    output_dir = Path(output_dir)
    tokenizer = AutoTokenizer.from_pretrained(config.base_model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    lora = config.lora_settings()
    model, quantized = load_base_model(config.base_model, quantize_4bit=lora.pop("quantize_4bit"))
    peft_config = LoraConfig(task_type="CAUSAL_LM", modules_to_save=config.modules_to_save, **lora)

    system_role = supports_system_role(tokenizer)
    train_examples = [prompt_completion(r, system_role=system_role) for r in train]
    validation_examples = [prompt_completion(r, system_role=system_role) for r in validation]
    steps_per_epoch = max(1, math.ceil(len(train) / config.effective_batch))
    total_steps = config.max_steps if config.max_steps > 0 else math.ceil(steps_per_epoch * config.epochs)
    # Evaluate (and checkpoint) each epoch; a step-limited run gets three evaluations.
    by_epoch = config.max_steps <= 0
    eval_steps = max(1, math.ceil(total_steps / 3))
    cuda = torch.cuda.is_available()
    sft_config = SFTConfig(
        output_dir=str(output_dir / "checkpoints"),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler_type,
        warmup_steps=math.ceil(total_steps * config.warmup_ratio),
        per_device_train_batch_size=config.per_device_batch_size,
        per_device_eval_batch_size=config.per_device_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        max_length=config.max_length,
        completion_only_loss=True,
        eval_strategy="epoch" if by_epoch else "steps",
        eval_steps=None if by_epoch else eval_steps,
        save_strategy="epoch" if by_epoch else "steps",
        save_steps=None if by_epoch else eval_steps,
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        logging_steps=min(config.logging_steps, eval_steps if not by_epoch else steps_per_epoch),
        seed=config.seed,
        use_cpu=not cuda,
        bf16=cuda and torch.cuda.is_bf16_supported(),
        fp16=False,
        report_to="none",
        disable_tqdm=True,
    )
    trainer = SFTTrainer(
        model=model,
        args=sft_config,
        train_dataset=Dataset.from_list(train_examples),
        eval_dataset=Dataset.from_list(validation_examples),
        processing_class=tokenizer,
        peft_config=peft_config,
    )
    train_output = trainer.train()
    adapter_dir = output_dir / "adapter"
    trainer.model.save_pretrained(adapter_dir)  # the best checkpoint, reloaded at the end of training
    tokenizer.save_pretrained(adapter_dir)
    adapter_bytes = sum(f.stat().st_size for f in adapter_dir.glob("adapter_model*"))
    check_adapter_size(config, adapter_bytes)

    history = trainer.state.log_history
    manifest = {
        "config": config.as_dict(),
        "lora": config.lora_settings(),
        "quantized_4bit": quantized,
        "device": "cuda" if cuda else "cpu",
        "train_examples": len(train),
        "validation_examples": len(validation),
        "data_hash": records_hash(train + validation),
        "steps": trainer.state.global_step,
        "steps_per_epoch": steps_per_epoch,
        "train_loss": [{"step": h["step"], "loss": h["loss"]} for h in history if "loss" in h],
        "eval_loss": [{"step": h["step"], "loss": h["eval_loss"]} for h in history if "eval_loss" in h],
        "best_eval_loss": trainer.state.best_metric,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "adapter_bytes": adapter_bytes,
        "train_seconds": round(train_output.metrics.get("train_runtime", 0.0), 2),
        "total_seconds": round(time.monotonic() - started, 2),
        "packages": _package_versions(),
    }
    (adapter_dir / "training_manifest.json").write_text(json.dumps(manifest, indent=2))
    return FineTuneResult(adapter_dir=adapter_dir, manifest=manifest)
