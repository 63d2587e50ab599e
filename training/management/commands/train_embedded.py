"""`python manage.py train_embedded [--count N] [--seed S] [--activate] [--json]`

Simulates sessions, trains the embedded model, fits its temperature, evaluates it on the
synthetic test split (raw and terse) and on each held-out set of FORMRECAP_HELD_OUT_SETS
that is present (reported only, never used for training or tuning), and registers it as a model version.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from training.embedded import EmbeddedConfig, EmbeddedConfigError
from training.held_out import held_out_entries
from training.services import embedded_model_train_and_register


class Command(BaseCommand):
    help = "Train, calibrate, evaluate and register the embedded CPU classifier."

    def add_arguments(self, parser) -> None:
        defaults = EmbeddedConfig()
        parser.add_argument("--count", type=int, default=defaults.count, help="sessions to simulate")
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument("--c", dest="regularisation_c", type=float, default=defaults.regularisation_c)
        parser.add_argument("--activate", action="store_true", help="make it the active embedded model")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options) -> None:
        config = EmbeddedConfig(count=options["count"], seed=options["seed"], regularisation_c=options["regularisation_c"])
        try:
            model_version = embedded_model_train_and_register(config=config, activate=True if options["activate"] else None)
        except EmbeddedConfigError as exc:
            raise CommandError(str(exc)) from exc
        report = {
            "model_version": model_version.pk,
            "label": model_version.label,
            "status": model_version.status,
            "temperature": model_version.temperature,
            "synthetic_test_raw": model_version.metrics["test_raw"],
            "synthetic_test_terse": model_version.metrics["test_terse"],
            "held_out": held_out_entries(model_version.metrics),
        }
        # Recorded browser sessions: the validation split calibrated the model, the dev split is a report.
        for name in ("validation_browser", "dev_browser"):
            if name in model_version.metrics:
                report[name] = model_version.metrics[name]
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        mv = model_version
        self.stdout.write(f"registered {mv.label} (id {mv.pk}, {mv.status}), T = {mv.temperature:.3f}")
        shown = ("synthetic_test_raw", "synthetic_test_terse", "validation_browser", "dev_browser")
        rows = {name: report[name] for name in shown if name in report} | report["held_out"]
        for name, m in rows.items():
            low, high = m["macro_f1_ci95"]
            f1 = f"macro-F1 {m['macro_f1']:.4f} [{low:.3f}, {high:.3f}]"
            self.stdout.write(f"  {name:22} n={m['n']:5}  {f1}  ECE {m['ece']:.4f}  Brier {m['brier']:.4f}")
