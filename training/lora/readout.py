"""First-token read-out: log-probabilities of the six class digits at the answer's first position.

The answer starts with the digit, so the model's distribution at the last prompt position,
restricted to the tokens "1"…"6" and renormalised, is its class distribution. Dividing
these log-probabilities by a fitted temperature T gives the calibrated probabilities.
"""

from pathlib import Path

import numpy as np

from classifier.labels import CLASS_CODES

from .prompt import prompt_messages, supports_system_role


def digit_token_ids(tokenizer) -> list[int]:
    ids = []
    for code in CLASS_CODES:
        encoded = tokenizer.encode(str(code), add_special_tokens=False)
        if len(encoded) != 1:
            raise ValueError(f"the tokenizer splits the digit {code} into {len(encoded)} tokens; the read-out needs one")
        ids.append(encoded[0])
    return ids


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
    system_role = supports_system_role(tokenizer)
    rows = []
    with torch.no_grad():
        for start in range(0, len(traces), batch_size):
            prompts = [
                tokenizer.apply_chat_template(
                    prompt_messages(trace, system_role=system_role), add_generation_prompt=True, tokenize=False
                )
                for trace in traces[start : start + batch_size]
            ]
            batch = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
            logits = model(**batch).logits[:, -1, :].float()
            log_probs = torch.log_softmax(logits, dim=-1)[:, digits.to(device)]
            rows.append((log_probs - torch.logsumexp(log_probs, dim=-1, keepdim=True)).cpu().numpy())
    return np.concatenate(rows) if rows else np.zeros((0, len(CLASS_CODES)))
