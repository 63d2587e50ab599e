"""`python manage.py split_recorded training/data/browser/recorded.jsonl [--seed S] [--out DIR] [--train REC]`

Splits browser-recorded sessions by form into validation (calibration), dev (reports) and test (held out:
never trained, calibrated or tuned on; the promotion gate's `browser_test` set). Prints the counts.
``--train`` writes train.jsonl from a second recording (another seed, `record_sessions --forms` the validation
split's forms), which train_embedded learns from; a session on a dev or test form is refused.

A session that ends without exit or submit (a tab hidden and never shown again, a visitor who went idle) is
classified by the product only when the sweep abandons it, with its trailing inactivity and then `exit`
(classifier.selectors.session_trace); such sessions get that ending here, so they are judged as the product
reads them.
"""

import json
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from formrecap.models import default_abandonment_timeout
from training.datasets import read_jsonl, split_by_group, write_jsonl


def as_the_product_reads_it(record: dict) -> dict:
    events = record["events"]
    if not events or events[-1]["type"] in ("exit", "submit"):
        return record
    ended = {"type": "exit", "ts": events[-1]["ts"] + default_abandonment_timeout() * 1000}
    return {**record, "events": [*events, ended], "ending": "inactivity_sweep"}


class Command(BaseCommand):
    help = "Split recorded browser sessions by form into validation / dev / test JSONL files."

    def add_arguments(self, parser) -> None:
        parser.add_argument("recorded", type=Path)
        parser.add_argument("--seed", type=int, default=20261201)
        parser.add_argument("--out", type=Path, help="folder for the three files (default: the recorded file's)")
        parser.add_argument("--train", type=Path, help="a recording on the validation split's forms: written as train.jsonl")

    def handle(self, *args, **options) -> None:
        path: Path = options["recorded"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        records = [as_the_product_reads_it(r) for r in read_jsonl(path)]
        if not records:
            raise CommandError(f"{path}: no sessions")
        splits = split_by_group(records, key="form", seed=options["seed"])
        if options["train"] is not None:
            splits["train"] = self._training(options["train"], held_out=splits["dev"] + splits["test"])
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

    def _training(self, path: Path, *, held_out: list[dict]) -> list[dict]:
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        records = [as_the_product_reads_it(r) for r in read_jsonl(path)]
        if unnamed := sum(1 for r in records if not r.get("form")):
            raise CommandError(f"{path}: {unnamed} session(s) name no form: cannot tell which split's forms they are on")
        if overlap := {r["form"] for r in records} & {r.get("form") for r in held_out}:
            raise CommandError(
                f"{path} has sessions on {', '.join(sorted(overlap))}, forms of the dev or test split: record the "
                "training sessions on the validation split's forms only"
            )
        return records
