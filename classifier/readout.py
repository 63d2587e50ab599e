"""First-token read-out: the six class digits' log-probabilities at the answer's first position → class probabilities.

The answer starts with the digit, so the model's distribution at the last prompt position, restricted
to the tokens "1"…"6" and renormalised, is its class distribution; softmax(log-probs / T) with the
model version's fitted temperature T is the calibrated one. The in-process PEFT read-out and the
vLLM backend (which gets the log-probs over HTTP) both end here, so they cannot drift apart.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .labels import CLASS_CODES
from .prompting import chat_prompts

# A digit absent from a server's top-N list (vocabulary-wide log-probs, no restriction to the digits) is at most as
# likely as the least likely token listed; how much less is unknown. One nat below it keeps the digit strictly less
# likely than anything seen without calling it impossible: -inf would give it probability 0 after any temperature,
# and an infinite NLL if it was the label.
MISSING_DIGIT_MARGIN = 1.0


def digit_token_ids(tokenizer) -> list[int]:
    """The token ids of "1"…"6" (codes in order); the read-out needs each digit to be one token."""
    ids = []
    for code in CLASS_CODES:
        encoded = tokenizer.encode(str(code), add_special_tokens=False)
        if len(encoded) != 1:
            raise ValueError(f"the tokenizer splits the digit {code} into {len(encoded)} tokens; the read-out needs one")
        ids.append(encoded[0])
    return ids


def renormalise(log_probs) -> np.ndarray:
    """(n, 6) log-probabilities over the six digits only (each row's exp sums to 1).

    numpy only: training code imports this module, and the Modal training image carries numpy but not scipy."""
    log_probs = np.asarray(log_probs, dtype=np.float64)
    peak = log_probs.max(axis=-1, keepdims=True)
    return log_probs - peak - np.log(np.exp(log_probs - peak).sum(axis=-1, keepdims=True))


def digit_probabilities(log_probs, temperature: float) -> np.ndarray:
    """(n, 6) class probabilities: softmax(log-probs / T). With T fitted on validation data they are calibrated."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    return np.exp(renormalise(renormalise(log_probs) / temperature))


def digit_log_probs_from_top(top_log_probs: Mapping[int, float], digit_ids: Sequence[int]) -> tuple[np.ndarray, list[int]]:
    """(renormalised log-probs, one per digit asked about, and the 1-based positions estimated) from one position's
    top-N {token id: log-prob}: the six class digits, or a custom reading's reason numbers.

    When the server restricted its answer to the digits all six are there. In a vocabulary-wide top-N,
    digits may be missing: each is set to the smallest log-prob listed minus MISSING_DIGIT_MARGIN (see above)
    and reported, so a caller can say the row is partly estimated. With no digit at all there is nothing to
    read: ValueError.
    """
    found = [top_log_probs.get(token_id) for token_id in digit_ids]
    if all(value is None for value in found):
        asked = "six class digits" if len(digit_ids) == len(CLASS_CODES) else f"{len(digit_ids)} digits asked about"
        raise ValueError(f"none of the {asked} is among the {len(top_log_probs)} top log-probs")
    floor = min(top_log_probs.values()) - MISSING_DIGIT_MARGIN
    missing = [position for position, value in enumerate(found, 1) if value is None]
    row = np.asarray([floor if value is None else value for value in found], dtype=np.float64)
    return renormalise(row[None, :])[0], missing


# --- in-process (PEFT) ------------------------------------------------------------------------------


def load_adapter(adapter_dir: Path, base_model: str | None = None):
    """(model, tokenizer) with the LoRA adapter applied; the base comes from the adapter config unless given."""
    import torch
    from peft import PeftConfig, PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter_dir = Path(adapter_dir)
    base = base_model or PeftConfig.from_pretrained(adapter_dir).base_model_name_or_path
    dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
    model = PeftModel.from_pretrained(model, adapter_dir)
    model.eval()
    if torch.cuda.is_available():
        model.to("cuda")
    tokenizer = AutoTokenizer.from_pretrained(adapter_dir)
    return model, tokenizer


def digit_log_probs(model, tokenizer, traces: list[str], *, batch_size: int = 16) -> np.ndarray:
    """(n, 6) log-probabilities over the class digits (rows sum to 1 after exp), codes 1..6 in order."""
    import torch

    digits = torch.tensor(digit_token_ids(tokenizer))
    tokenizer.padding_side = "left"  # the last position is then the answer's first position for every row
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    device = next(model.parameters()).device
    rows = []
    with torch.no_grad():
        for start in range(0, len(traces), batch_size):
            prompts = chat_prompts(tokenizer, traces[start : start + batch_size])
            batch = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
            logits = model(**batch).logits[:, -1, :].float()
            log_probs = torch.log_softmax(logits, dim=-1)[:, digits.to(device)]
            rows.append((log_probs - torch.logsumexp(log_probs, dim=-1, keepdim=True)).cpu().numpy())
    return np.concatenate(rows) if rows else np.zeros((0, len(CLASS_CODES)))
