"""Zero-shot baseline: a local base model with no adapter, read out like the adapters (first-token digit log-probs).

The published write-up found base models at macro-F1 0.06-0.11; with ``--model-version ID`` this serves that
adapter's own base, so the adapter's gain is measured on the same model. No temperature was fitted for a base
(T = 1): flagged uncalibrated. The base is FORMRECAP_ZERO_SHOT_BASE_MODEL (a folder, or a hub id already in the
local cache) unless a model version names one.
"""

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from training.models import ModelVersion

from ..explain import explain
from ..trace import Trace, serialise_trace
from .base import BackendUnavailable, Classification


@lru_cache(maxsize=2)
def load_base(base_model: str):
    """(model, tokenizer) of the base alone, for inference: training/lora/readout.py's load_adapter without the
    adapter (training's load_base_model prepares a model for k-bit training instead)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cuda = torch.cuda.is_available()
    model = AutoModelForCausalLM.from_pretrained(base_model, dtype=torch.bfloat16 if cuda else torch.float32)
    model.eval()
    if cuda:
        model.to("cuda")
    return model, AutoTokenizer.from_pretrained(base_model)


class ZeroShotBackend:
    name = "zero_shot"

    def __init__(self, model_version: ModelVersion | None = None, *, base_model: str | None = None) -> None:
        if model_version is not None and model_version.kind != ModelVersion.Kind.LORA:
            raise BackendUnavailable(f"model version {model_version.pk} is a {model_version.kind} model: it has no base model")
        base = base_model or (model_version.training_config.get("base_model") if model_version else None)
        base = base or settings.FORMRECAP_ZERO_SHOT_BASE_MODEL
        if not base:
            raise BackendUnavailable(
                "the zero_shot baseline needs a base model: set FORMRECAP_ZERO_SHOT_BASE_MODEL, or pass the --model-version "
                "of an adapter to use its base"
            )
        try:
            self.model, self.tokenizer = load_base(str(base))
        except ImportError as exc:
            raise BackendUnavailable(f"the zero_shot backend needs the ML requirements (requirements/ml.txt): {exc}") from exc
        except (OSError, ValueError) as exc:
            raise BackendUnavailable(f"base model {base} cannot be loaded: {exc}") from exc
        self.base_model = str(base)
        # Not `model_version`: predictions would then be attributed to the adapter whose base this is.
        self.label = f"zero-shot:{Path(base).name if Path(base).exists() else base}"

    def classify(self, traces: Sequence[Trace]) -> list[Classification]:
        from scipy.special import softmax

        from training.lora.readout import digit_log_probs

        try:
            log_probs = digit_log_probs(self.model, self.tokenizer, [serialise_trace(t) for t in traces])
        except ValueError as exc:  # a tokenizer that splits a digit, a base with no chat template
            raise BackendUnavailable(f"{self.label} cannot be read out by class digits: {exc}") from exc
        results = []
        for trace, row in zip(traces, softmax(log_probs, axis=-1), strict=True):
            code = int(row.argmax()) + 1
            results.append(
                Classification(
                    code=code,
                    probabilities=tuple(float(p) for p in row),
                    calibrated=False,
                    model_version=self.label,
                    model_version_id=None,
                    explanation=explain(trace, code),
                )
            )
        return results
