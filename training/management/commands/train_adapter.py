"""`python manage.py train_adapter --runner local|modal [--config training/configs/X.yaml] [--profile research|cloudflare]
[--base-model NAME_OR_DIR] --dataset ID_OR_DIR [--max-steps N] [--epochs N] [--json]`

Creates a training run and carries it through the runner: locally it trains in-process,
then calibrates (T by NLL on the validation split), evaluates (test split, each held-out set),
registers a candidate model version and applies the promotion gate. On Modal it submits the
job and Celery follows it (`training.poll_run`). With --json the last line is one JSON object.
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from training.held_out import held_out_entries
from training.lora.config import PROFILES, AdapterTrainingConfig, ConfigError, config_fields_from_yaml
from training.lora.dataset import dataset_register_folder
from training.models import Dataset, TrainingRun
from training.runs import training_run_create, training_run_start

# flag (argparse dest) -> AdapterTrainingConfig field
FLAG_FIELDS = {
    "profile": "profile", "base_model": "base_model", "epochs": "epochs", "max_steps": "max_steps",
    "learning_rate": "learning_rate", "batch_size": "per_device_batch_size", "grad_accum": "gradient_accumulation_steps",
    "max_length": "max_length", "rank": "rank", "seed": "seed",
}  # fmt: skip


class Command(BaseCommand):
    help = "Fine-tune a LoRA adapter, calibrate, evaluate, register it and apply the promotion gate."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--config", type=Path, help="a YAML config (training/configs/); the flags below override it")
        parser.add_argument("--runner", choices=[r.value for r in TrainingRun.Runner], default="local")
        parser.add_argument("--profile", choices=list(PROFILES), help="default research")
        parser.add_argument("--base-model", help="hub name, or a local folder (e.g. from build_tiny_model)")
        parser.add_argument("--dataset", required=True, help="Dataset id, or a folder with train/validation/test.jsonl")
        parser.add_argument("--epochs", type=float)
        parser.add_argument("--max-steps", type=int, help="> 0 overrides --epochs")
        parser.add_argument("--learning-rate", type=float)
        parser.add_argument("--batch-size", type=int, help="per device")
        parser.add_argument("--grad-accum", type=int)
        parser.add_argument("--max-length", type=int)
        parser.add_argument("--rank", type=int, help="overrides the profile's r (alpha scales with it)")
        parser.add_argument("--seed", type=int)
        parser.add_argument("--json", action="store_true", help="end with one JSON line")

    def handle(self, *args, **options) -> None:
        dataset = self._dataset(options["dataset"])
        config = self._config(options)
        try:
            run = training_run_create(
                dataset=dataset, runner=options["runner"], config=config, triggered_by="train_adapter command"
            )
        except ConfigError as exc:
            raise CommandError(str(exc)) from exc
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

    def _config(self, options: dict) -> AdapterTrainingConfig:
        """The YAML file's settings, then the flags given; AdapterTrainingConfig's defaults for the rest."""
        values = {}
        if options["config"] is not None:
            try:
                values = config_fields_from_yaml(options["config"])
            except ConfigError as exc:
                raise CommandError(f"--config: {exc}") from exc
        values |= {name: options[flag] for flag, name in FLAG_FIELDS.items() if options[flag] is not None}
        if not values.get("base_model"):
            raise CommandError("a base model is needed: --base-model, or base_model in --config")
        try:
            return AdapterTrainingConfig(**{"base_model": str(values.pop("base_model")), **values})
        except TypeError as exc:
            raise CommandError(f"--config: {exc}") from exc

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
