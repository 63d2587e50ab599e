"""`python manage.py generate_claude --count N --out DIR [--model M] [--seed S] [--max-calls K] [--mix balanced|1=0.3,...]`

Asks Claude for one labelled session per call until ``DIR/claude.jsonl`` holds N examples, and writes
``DIR/claude_manifest.json``. Needs ANTHROPIC_API_KEY. Running again with a larger N continues the file.
"""

import os
import sys
import time
from pathlib import Path

import anthropic
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from training.claude import ClaudeGenerator, GenerationError, GeneratorConfig
from training.claude.generator import DEFAULT_INPUT_USD_PER_MTOK, DEFAULT_MODEL, DEFAULT_OUTPUT_USD_PER_MTOK, RunResult
from training.management.commands.generate_synthetic import parse_mix

API_TIMEOUT_S = 60.0


class Command(BaseCommand):
    help = "Generate labelled sessions with Claude, one per API call, into a resumable JSONL file with a manifest."
    # Tests pass an anthropic client built on a mock HTTP transport, and a sleep that records instead of sleeping.
    stealth_options = ("client", "sleep")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--count", type=int, required=True, help="examples the file should hold (earlier runs included)")
        parser.add_argument("--out", type=Path, required=True, help="folder for claude.jsonl and claude_manifest.json")
        parser.add_argument(
            "--model",
            default=getattr(settings, "FORMRECAP_CLAUDE_MODEL", DEFAULT_MODEL),
            help="Claude model id (default: %(default)s)",
        )
        parser.add_argument("--seed", type=int, default=0, help="seeds the per-call prompt choices and the jitter")
        parser.add_argument("--max-calls", type=int, help="API calls this run may make (default: 3 x the examples missing)")
        parser.add_argument("--mix", default="balanced", help="'balanced', 'default', or weights per class: 1=0.3,bot=0.1")
        parser.add_argument(
            "--input-price", type=float, help="USD per million input tokens", default=getattr(
                settings, "FORMRECAP_CLAUDE_INPUT_USD_PER_MTOK", DEFAULT_INPUT_USD_PER_MTOK),
        )  # fmt: skip
        parser.add_argument(
            "--output-price", type=float, help="USD per million output tokens", default=getattr(
                settings, "FORMRECAP_CLAUDE_OUTPUT_USD_PER_MTOK", DEFAULT_OUTPUT_USD_PER_MTOK),
        )  # fmt: skip
        parser.add_argument("--max-attempts", type=int, default=5, help="tries per call on 429, 5xx and connection errors")

    def handle(self, *args, **options) -> None:
        config = self._config(options)
        api_key = os.environ.get("ANTHROPIC_API_KEY")
        if not api_key:
            raise CommandError("ANTHROPIC_API_KEY is not set: generate_claude calls the Anthropic API and needs a key")
        client = options.get("client") or anthropic.Anthropic(api_key=api_key, max_retries=0, timeout=API_TIMEOUT_S)
        try:
            generator = ClaudeGenerator(config, client=client, sleep=options.get("sleep") or time.sleep)
        except GenerationError as exc:
            raise CommandError(str(exc)) from exc

        progress = tqdm(
            total=config.count, initial=config.count - generator.missing, desc="claude", unit="example",
            file=options.get("stderr") or sys.stderr, mininterval=0.5,
        )  # fmt: skip
        try:
            with progress:
                result = generator.generate(progress=progress)
        except GenerationError as exc:
            raise CommandError(
                f"{exc} ({len(generator.records)} examples in {generator.records_path}; run again to continue)"
            ) from exc
        self._report(result, generator)
        if result.stopped:
            raise CommandError(result.stopped)

    def _config(self, options: dict) -> GeneratorConfig:
        for name in ("count", "max_calls", "max_attempts"):
            if options[name] is not None and options[name] < 1:
                raise CommandError(f"--{name.replace('_', '-')} must be at least 1, got {options[name]}")
        for name in ("input_price", "output_price"):
            if not options[name] >= 0:
                raise CommandError(f"--{name.replace('_', '-')} must be a non-negative number, got {options[name]}")
        out = Path(options["out"])
        if out.exists() and not out.is_dir():
            raise CommandError(f"--out {out} exists and is not a folder")
        return GeneratorConfig(
            count=options["count"],
            out=out,
            model=options["model"],
            seed=options["seed"],
            max_calls=options["max_calls"],
            mix=parse_mix(options["mix"]),
            max_attempts=options["max_attempts"],
            input_usd_per_mtok=options["input_price"],
            output_usd_per_mtok=options["output_price"],
        )

    def _report(self, result: RunResult, generator: ClaudeGenerator) -> None:
        run, manifest = result.run, result.manifest
        write = self.stdout.write
        write(
            f"{run.accepted} examples added in {run.calls} calls; {generator.records_path} holds {manifest['records']} "
            f"({', '.join(f'{name} {n}' for name, n in manifest['classes'].items())})"
        )
        write(f"  duplicates rejected: {run.exact_duplicates} exact, {run.near_duplicates} near")
        invalid = ", ".join(f"{reason} {n}" for reason, n in sorted(run.invalid.items())) or "none"
        write(f"  invalid answers: {sum(run.invalid.values())} ({invalid})")
        retries = ", ".join(f"{cause} {n}" for cause, n in sorted(run.retries.items())) or "none"
        write(f"  retries: {sum(run.retries.values())} ({retries})")
        write(
            f"  tokens: {run.input_tokens} input, {run.output_tokens} output; estimated cost ${run.cost_usd:.4f} "
            f"(all runs: ${manifest['estimated_cost_usd']:.4f}) at ${generator.config.input_usd_per_mtok}/"
            f"${generator.config.output_usd_per_mtok} per million tokens, model {generator.config.model}"
        )
        write(f"manifest: {generator.manifest_path}")
