"""LoRA adapters: the chat format, the tiny local model, fine-tuning, the digit read-out and runners."""
