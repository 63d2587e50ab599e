"""`python manage.py assemble_dataset [--name N] [--simulated K] [--claude FILE ...] [--operator-labels] [--seed S] [--json]`

Merges simulator, Claude and operator-labelled examples, deduplicates them, splits them per
class and writes chat records in the model format; registers a versioned Dataset row.
"""

import json
import re
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from classifier.trace import TraceError
from training.lora.dataset import claude_examples, dataset_assemble, operator_examples, simulator_examples
from training.selectors import operator_labelled_traces


class Command(BaseCommand):
    help = "Assemble a versioned training dataset from the simulator, Claude output and operator labels."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", default="formrecap")
        parser.add_argument("--simulated", type=int, default=1100, help="simulator examples (the published run used ~1,100)")
        parser.add_argument("--claude", type=Path, action="append", default=[], help="claude.jsonl from generate_claude")
        parser.add_argument("--operator-labels", action="store_true", help="include sessions labelled by operators")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options) -> None:
        if options["simulated"] < 0:
            raise CommandError("--simulated must be 0 or more")
        examples = simulator_examples(options["simulated"], options["seed"]) if options["simulated"] else []
        for path in options["claude"]:
            if not path.exists():
                raise CommandError(f"--claude {path}: no such file")
            try:
                examples += claude_examples(path)
            except (ValueError, KeyError, TypeError, TraceError) as exc:  # JSONDecodeError is a ValueError
                raise CommandError(f"--claude {path}: not a generate_claude output ({type(exc).__name__}: {exc})") from exc
        if options["operator_labels"]:
            examples += operator_examples(operator_labelled_traces())
        if len(examples) < 60:
            raise CommandError(f"only {len(examples)} examples: a dataset needs at least 60 (every class in every split)")
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,99}", options["name"]):
            raise CommandError("--name: lowercase letters, digits, - and _ only")
        dataset = dataset_assemble(name=options["name"], examples=examples, seed=options["seed"])
        if options["json"]:
            self.stdout.write(json.dumps({"dataset": dataset.pk, "path": dataset.path, **dataset.manifest}))
        else:
            self.stdout.write(f"dataset {dataset} (id {dataset.pk}) at {dataset.path}: {json.dumps(dataset.manifest['splits'])}")
