"""`python manage.py calibrate_verbalized --model-version ID [--dataset DIR] [--json]`

Fits the stated-confidence calibration map of an adapter served with no log-probs (Cloudflare Workers AI): asks the
`cloudflare` backend for the raw answers on the validation split, fits confidence -> P(correct) by isotonic
regression (training/verbalized.py), measures ECE/Brier before and after on the validation split (in-sample) and on
the test split (held out), and stores the map on the model version; the backend then answers calibrated.
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from classifier.backends import BackendUnavailable
from classifier.backends.cloudflare import CloudflareBackend
from classifier.trace import parse_trace
from classifier.verbalized import MalformedAnswer, VerbalizedAnswer
from training.lora.dataset import read_split
from training.models import ModelVersion
from training.services import model_version_verbalized_calibration_set
from training.verbalized import fit_verbalized_calibration, verbalized_calibration_measure


def _answers(backend: CloudflareBackend, lines: list[dict]) -> tuple[list[VerbalizedAnswer], list[int], int]:
    """(answers, their labels, malformed count): a malformed answer has no stated confidence to calibrate."""
    answers = backend.verbalized_answers([parse_trace(line["trace"]) for line in lines])
    kept = [(a, line["label"]) for a, line in zip(answers, lines, strict=True) if not isinstance(a, MalformedAnswer)]
    return [a for a, _ in kept], [label for _, label in kept], len(lines) - len(kept)


class Command(BaseCommand):
    help = "Fit and store the verbalized-confidence calibration map of a Cloudflare-served adapter."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--model-version", type=int, required=True)
        parser.add_argument("--dataset", type=Path, help="dataset folder (default: the one the adapter was trained on)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options) -> None:
        model_version = ModelVersion.objects.filter(pk=options["model_version"]).first()
        if model_version is None:
            raise CommandError(f"no model version {options['model_version']}")
        folder = options.get("dataset") or self._trained_on(model_version)
        try:
            backend = CloudflareBackend(model_version, apply_calibration=False)
            validation = _answers(backend, read_split(folder, "validation"))
            test = _answers(backend, read_split(folder, "test"))
        except BackendUnavailable as exc:
            raise CommandError(str(exc)) from exc
        except (OSError, KeyError, ValueError) as exc:
            raise CommandError(f"{folder}: cannot read the validation and test splits ({exc})") from exc
        try:
            fit = fit_verbalized_calibration(validation[0], validation[1])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        stored = {
            **fit.as_dict(),
            "malformed": validation[2],
            "dataset": str(folder),
            "test": {**verbalized_calibration_measure(test[0], test[1], fit.calibration), "malformed": test[2]},
        }
        model_version_verbalized_calibration_set(model_version=model_version, calibration=stored)
        if options["json"]:
            self.stdout.write(json.dumps(stored))
            return
        for split, measures in (("validation (fitted on)", stored), ("test (held out)", stored["test"])):
            self.stdout.write(
                f"{split:24} n={measures['n']} malformed={measures['malformed']}  ECE {measures['ece_before']:.4f} -> "
                f"{measures['ece_after']:.4f}  Brier {measures['brier_before']:.4f} -> {measures['brier_after']:.4f}"
            )
        self.stdout.write(f"stored on {model_version.label}: the cloudflare backend now answers calibrated")

    @staticmethod
    def _trained_on(model_version: ModelVersion) -> Path:
        run = model_version.training_runs.select_related("dataset").first()
        if run is None:
            raise CommandError(f"{model_version.label} has no training run to take the dataset from: pass --dataset")
        return Path(run.dataset.path)
