"""`python manage.py train_adapter --runner local|modal --profile research|cloudflare --base-model NAME_OR_DIR
--dataset ID_OR_DIR [--max-steps N] [--epochs N] [--json]`

Creates a training run and carries it through the runner: locally it trains in-process,
then calibrates (T by NLL on the validation split), evaluates (test split, each held-out set),
registers a candidate model version and applies the promotion gate. On Modal it submits the
job and Celery follows it (`training.poll_run`). With --json the last line is one JSON object.
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from training.held_out import held_out_entries
from training.lora.config import PROFILES, AdapterTrainingConfig, ConfigError, validate_config
from training.lora.dataset import dataset_register_folder
from training.models import Dataset, TrainingRun
from training.runs import training_run_create, training_run_start


class Command(BaseCommand):
    help = "Fine-tune a LoRA adapter, calibrate, evaluate, register it and apply the promotion gate."

    def add_arguments(self, parser) -> None:
        defaults = AdapterTrainingConfig(base_model="")
        parser.add_argument("--runner", choices=[r.value for r in TrainingRun.Runner], default="local")
        parser.add_argument("--profile", choices=list(PROFILES), default="research")
        parser.add_argument("--base-model", required=True, help="hub name, or a local folder (e.g. from build_tiny_model)")
        parser.add_argument("--dataset", required=True, help="Dataset id, or a folder with train/validation/test.jsonl")
        parser.add_argument("--epochs", type=float, default=defaults.epochs)
        parser.add_argument("--max-steps", type=int, default=defaults.max_steps, help="> 0 overrides --epochs")
        parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
        parser.add_argument("--batch-size", type=int, default=defaults.per_device_batch_size, help="per device")
        parser.add_argument("--grad-accum", type=int, default=defaults.gradient_accumulation_steps)
        parser.add_argument("--max-length", type=int, default=defaults.max_length)
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument("--json", action="store_true", help="end with one JSON line")

    def handle(self, *args, **options) -> None:
        from training.lora.tiny import is_tiny_model

        dataset = self._dataset(options["dataset"])
        base = options["base_model"]
        tiny = is_tiny_model(base)
        config = AdapterTrainingConfig(
            base_model=str(Path(base).resolve()) if Path(base).exists() else base,
            profile=options["profile"],
            epochs=options["epochs"],
            max_steps=options["max_steps"],
            learning_rate=options["learning_rate"],
            per_device_batch_size=options["batch_size"],
            gradient_accumulation_steps=options["grad_accum"],
            max_length=options["max_length"],
            seed=options["seed"],
            # A randomly initialised stand-in must also learn its output layer to say anything.
            modules_to_save=["lm_head"] if tiny else None,
        )
        if config.max_length < 16 or config.learning_rate <= 0:
            raise CommandError("--max-length must be at least 16 and --learning-rate positive")
        try:
            validate_config(config, base_is_local_stand_in=tiny)
        except ConfigError as exc:
            raise CommandError(str(exc)) from exc
        run = training_run_create(dataset=dataset, runner=options["runner"], config=config, triggered_by="train_adapter command")
        run, still_running = training_run_start(run_id=run.pk)
        if run.status == TrainingRun.Status.FAILED:
            raise CommandError(f"training run {run.pk} failed: {run.error.strip().splitlines()[-1] if run.error else 'unknown'}")
        if still_running:
            from training.tasks import poll_run_task

            poll_run_task.apply_async(args=(run.pk,), countdown=60)
            self.stdout.write(
                f"run {run.pk} submitted to {run.runner} as {run.external_id}; Celery follows it (training.poll_run)"
            )
            if options["json"]:
                self.stdout.write(json.dumps({"training_run": run.pk, "status": run.status, "external_id": run.external_id}))
            return
        self._report(run, as_json=options["json"])

    def _dataset(self, value: str) -> Dataset:
        if value.isdigit():
            dataset = Dataset.objects.filter(pk=int(value)).first()
            if dataset is None:
                raise CommandError(f"--dataset {value}: no dataset with this id")
            return dataset
        try:
            return dataset_register_folder(folder=Path(value))
        except (OSError, ValueError) as exc:  # missing files, or lines that are not JSON
            raise CommandError(f"--dataset {value}: {exc}") from exc

    def _report(self, run: TrainingRun, *, as_json: bool) -> None:
        version = run.model_version
        held_out = {
            name: {key: entry.get(key) for key in ("n", "macro_f1", "ece", "sha256")}
            for name, entry in held_out_entries(version.metrics).items()
        }
        losses = run.losses or {}
        train_losses = [point["loss"] for point in losses.get("train", [])]
        registered = f"registered {version.label} (id {version.pk}, {version.status})"
        self.stdout.write(f"run {run.pk} {run.status} in {run.duration_seconds:.1f} s; {registered}")
        if train_losses:
            self.stdout.write(
                f"  train loss {train_losses[0]:.3f} → {train_losses[-1]:.3f}; best eval loss {losses.get('best_eval')}"
            )
        scores = "; ".join(f"{name}: macro-F1 {m['macro_f1']:.4f}, ECE {m['ece']:.4f}" for name, m in held_out.items())
        self.stdout.write(f"  T = {version.temperature:.3f}; {scores or 'no held-out set was available'}")
        self.stdout.write(f"  gate: {version.status_reason}")
        if as_json:
            payload = {
                "model_version": version.pk,
                "status": version.status,
                "temperature": version.temperature,
                "held_out": held_out,
                "test": {key: version.metrics.get("test", {}).get(key) for key in ("n", "macro_f1", "ece")},
                "training_run": run.pk,
                "train_loss_first": train_losses[0] if train_losses else None,
                "train_loss_last": train_losses[-1] if train_losses else None,
                "validation": version.metrics.get("validation"),
            }
            self.stdout.write(json.dumps(payload))
