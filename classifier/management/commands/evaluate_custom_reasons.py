"""Leave-one-out figures of custom reasons on a labelled file: ``manage.py evaluate_custom_reasons --dataset FILE``."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from classifier.custom_reasons.evaluation import evaluate_rows, read_rows
from classifier.labels import CLASSES


class Command(BaseCommand):
    help = "Fit the custom reasons a labelled JSONL file names and print each one's leave-one-out accuracy and confusion."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", default="training/data/custom_reasons.jsonl")
        parser.add_argument("--parent", type=int, help="only the reasons under this class code")

    def handle(self, *args, dataset, parent, **options):
        try:
            rows = read_rows(Path(dataset))
        except (OSError, ValueError) as exc:
            raise CommandError(f"{dataset}: {exc}") from exc
        if parent is not None:
            rows = [row for row in rows if row.get("label") == parent]
        if not any(row.get("custom_reason") for row in rows):
            raise CommandError(f"{dataset}: no line names a custom_reason")
        result = evaluate_rows(rows)
        fitted = result.fitted
        self.stdout.write(f"name weight {fitted.name_weight}, temperature {fitted.temperature:.3f}")
        for rid, figures in fitted.figures.items():
            confused = ", ".join(
                f"{result.names[int(k)] if k.isdigit() else k} {n}" for k, n in sorted(figures.confusion.items())
            )
            parent_name = CLASSES.get(int(fitted.parents[list(fitted.ids).index(rid)]), "any")
            self.stdout.write(
                f"{result.names[rid]:<22} under {parent_name:<20} examples {figures.examples:>3}  "
                f"held-out accuracy {figures.loo_accuracy:.3f}  misread: {confused or '-'}"
            )
        read, total = result.none_read_as_none
        self.stdout.write(
            f"overall held-out accuracy {result.loo_accuracy:.3f}; sessions with no custom reason read as none: {read}/{total}"
        )
