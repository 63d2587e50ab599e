"""`python manage.py split_recorded training/data/browser/recorded.jsonl [--seed S] [--out DIR]`

Splits browser-recorded sessions by form into validation (calibration), dev (reports) and test (held out:
never trained, calibrated or tuned on; the promotion gate's `browser_test` set). Prints the counts.
"""

import json
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from training.datasets import read_jsonl, split_by_group, write_jsonl


class Command(BaseCommand):
    help = "Split recorded browser sessions by form into validation / dev / test JSONL files."

    def add_arguments(self, parser) -> None:
        parser.add_argument("recorded", type=Path)
        parser.add_argument("--seed", type=int, default=20261201)
        parser.add_argument("--out", type=Path, help="folder for the three files (default: the recorded file's)")

    def handle(self, *args, **options) -> None:
        path: Path = options["recorded"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        records = list(read_jsonl(path))
        if not records:
            raise CommandError(f"{path}: no sessions")
        splits = split_by_group(records, key="form", seed=options["seed"])
        folder = options["out"] or path.parent
        summary = {}
        for name, part in splits.items():
            write_jsonl(folder / f"{name}.jsonl", part)
            summary[name] = {
                "sessions": len(part),
                "forms": sorted({r.get("form") for r in part}),
                "classes": dict(sorted(Counter(r["class"] for r in part).items())),
            }
        self.stdout.write(json.dumps(summary, indent=2))
