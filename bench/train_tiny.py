"""Speed of the real fine-tuning code on the tiny local model: steps/s and wall time.

    .venv/bin/python bench/train_tiny.py --steps 150 [--profile cloudflare|research] [--examples 480]

On a CPU it runs the given profile in full precision (NF4 needs CUDA). Where a CUDA GPU is
present it runs the `research` profile with bitsandbytes NF4 on the same tiny model and
prints the same figures. Nothing is registered: this measures training only.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "formrecap.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument(
        "--profile", choices=["cloudflare", "research"], default=None, help="default: research on CUDA, else cloudflare"
    )
    parser.add_argument("--examples", type=int, default=480, help="simulated training examples")
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()

    import django

    django.setup()
    import torch

    from classifier.trace import serialise_trace, trace_from_input
    from training.lora.config import AdapterTrainingConfig
    from training.lora.prompt import chat_record
    from training.lora.tiny import build_tiny_model
    from training.lora.train import fine_tune
    from training.simulator import simulate_sessions
    from training.simulator.core import BALANCED_MIX

    cuda = torch.cuda.is_available()
    profile = args.profile or ("research" if cuda else "cloudflare")
    sessions = list(simulate_sessions(args.examples, seed=11, mix=BALANCED_MIX))
    records = [chat_record(serialise_trace(trace_from_input(s.events)), s.label, "bench", 0.9) for s in sessions]
    split = int(len(records) * 0.9)
    with tempfile.TemporaryDirectory() as scratch:
        base = build_tiny_model(Path(scratch) / "tiny", traces=[r["messages"][1]["content"][8:] for r in records[:300]])
        config = AdapterTrainingConfig(
            base_model=str(base), profile=profile, max_steps=args.steps, learning_rate=5e-3, per_device_batch_size=args.batch_size,
            gradient_accumulation_steps=1, max_length=256, modules_to_save=["lm_head"],
        )  # fmt: skip
        started = time.perf_counter()
        result = fine_tune(config, train=records[:split], validation=records[split:], output_dir=Path(scratch) / "out")
        wall = time.perf_counter() - started
    manifest = result.manifest
    device = torch.cuda.get_device_name(0) if cuda else f"CPU ({os.cpu_count()} cores)"
    losses = [point["loss"] for point in manifest["train_loss"]]
    print(f"device:       {device}; torch {torch.__version__}")
    print(
        f"profile:      {profile} (r={manifest['lora']['r']}, DoRA={manifest['lora']['use_dora']}, NF4={manifest['quantized_4bit']})"
    )
    print(f"data:         {split} train / {len(records) - split} validation simulated examples, batch {args.batch_size}")
    print(
        f"steps:        {manifest['steps']} in {manifest['train_seconds']:.1f} s → {manifest['steps'] / manifest['train_seconds']:.2f} steps/s"
    )
    print(f"wall time:    {wall:.1f} s (model build excluded; loading, training, evaluation and saving included)")
    print(f"train loss:   {losses[0]:.3f} → {losses[-1]:.3f}; best eval loss {manifest['best_eval_loss']:.3f}")


if __name__ == "__main__":
    main()
