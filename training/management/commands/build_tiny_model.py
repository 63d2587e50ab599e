"""`python manage.py build_tiny_model --out DIR [--traces N] [--seed S]`

Builds the tiny local tokenizer + Llama model (≈200k parameters) that stands in for a hub
base model wherever no weights can be downloaded: tests, demos, `bench/train_tiny.py`.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from classifier.trace import serialise_trace, trace_from_input
from training.simulator import simulate_sessions


class Command(BaseCommand):
    help = "Build the tiny local tokenizer + model used by tests and demos."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument("--traces", type=int, default=600, help="simulated traces the tokenizer learns from")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, out: Path, traces: int, seed: int, **options) -> None:
        from training.lora.tiny import build_tiny_model

        if traces < 10:
            raise CommandError("--traces must be at least 10")
        texts = [serialise_trace(trace_from_input(s.events)) for s in simulate_sessions(traces, seed=seed)]
        try:
            folder = build_tiny_model(out, traces=texts, seed=seed)
        except OSError as exc:
            raise CommandError(f"--out {out}: cannot write ({exc.strerror or exc})") from exc
        self.stdout.write(f"tiny model written to {folder}")
