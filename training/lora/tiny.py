"""A tiny tokenizer + Llama model built locally, standing in for a hub base model in tests and demos.

No weights can be downloaded here, so the real loading and training code runs on this:
a byte-level BPE tokenizer trained on trace text (every digit its own token, so the class
digit is one token as with real bases) with a chat template that marks the assistant turn
for TRL's assistant-only loss, and a ~135k-parameter LlamaForCausalLM.
"""

import json
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from classifier.prompting import SYSTEM_PROMPT, answer_text, user_message

TINY_MARKER = "formrecap_tiny.json"
SPECIAL_TOKENS = ["<|pad|>", "<|bos|>", "<|eos|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
# {% generation %} marks what the assistant says: TRL computes the loss on that part only.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}<|assistant|>{% generation %}{{ message['content'] }}<|end|>{% endgeneration %}"
    "{% else %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def _corpus(traces: list[str]) -> list[str]:
    texts = [SYSTEM_PROMPT]
    for index, trace in enumerate(traces):
        texts.append(user_message(trace))
        texts.append(answer_text(index % 6 + 1, "the visitor left", 0.9))
    return texts


def build_tiny_model(
    out_dir: Path, *, traces: list[str], vocab_size: int = 2000, hidden_size: int = 64, layers: int = 2, seed: int = 0
) -> Path:
    """Train the tokenizer on ``traces``, initialise the model, save both to ``out_dir``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_corpus(traces), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<|bos|>",
        eos_token="<|end|>",
        pad_token="<|pad|>",
        additional_special_tokens=["<|system|>", "<|user|>", "<|assistant|>", "<|eos|>"],
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out_dir)

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=2048,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(out_dir)
    (out_dir / TINY_MARKER).write_text(json.dumps({"parameters": sum(p.numel() for p in model.parameters()), "vocab": len(fast)}))
    return out_dir


def is_tiny_model(path: str | Path) -> bool:
    return (Path(path) / TINY_MARKER).exists()
