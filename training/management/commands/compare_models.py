"""`python manage.py compare_models --dataset FILE --backends embedded,peft:ID,vllm:ID,cloudflare:ID,claude,zero_shot
[--out DIR] [--opaque-names] [--json]`

Classifies FILE (the labelled JSONL `evaluate` reads) with each backend and prints a table: macro-F1 with its
bootstrap CI, ECE, Brier, n_valid/n_total (generating backends may answer outside the model format), p50 latency
per trace, then F1 per class. ``cascade:T`` compares the cascade (embedded, then vllm below T). Backends that cannot
run (no credentials, no server, no active model) are listed as skipped with the reason. The report is stored
(admin: Training › Model comparisons, with its charts); ``--out`` also writes report.json, report.md and the
PNG charts (per-class F1, F1 against ECE, a reliability diagram per backend).
"""

import base64
import dataclasses
import json
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from classifier.opaque import opaque_names
from training.comparison import ComparisonError, compare_backends, comparison_charts, comparison_markdown, parse_backend_specs
from training.held_out import file_sha256
from training.labelled import read_examples
from training.models import ModelComparison


class Command(BaseCommand):
    help = "Compare classification backends on one labelled JSONL file (table, Markdown, JSON, PNG charts)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dataset", type=Path, required=True, help="JSONL with 'events' and 'label' (1-6) or 'class'")
        parser.add_argument("--backends", required=True, help="comma-separated: NAME or NAME:MODEL_VERSION_ID, cascade:THRESHOLD")
        parser.add_argument("--out", type=Path, help="folder for report.json, report.md and the charts")
        parser.add_argument("--opaque-names", action="store_true", help="rename every field to input_1, input_2, …")
        parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
        parser.add_argument("--json", action="store_true", help="print the report as one JSON object")

    def handle(self, *args, **options) -> None:
        path: Path = options["dataset"]
        if not path.is_file():
            raise CommandError(f"--dataset {path}: no such file")
        try:
            specs = parse_backend_specs(options["backends"])
        except ComparisonError as exc:
            raise CommandError(f"--backends: {exc}") from exc
        examples, rejected = read_examples(path)
        if not examples:
            raise CommandError(f"{path}: no valid labelled lines ({len(rejected)} rejected)")
        if options["opaque_names"]:
            examples = [dataclasses.replace(e, trace=opaque_names(e.trace)) for e in examples]
        report = compare_backends(examples, specs, seed=options["seed"])
        report.update(dataset=str(path), dataset_sha256=file_sha256(path), opaque_names=options["opaque_names"])
        report["invalid_lines"] = [r.as_dict() for r in rejected]
        markdown = comparison_markdown(report)
        with tempfile.TemporaryDirectory() as scratch:
            folder = options["out"] or Path(scratch)
            try:
                charts = comparison_charts(report, folder)
                if options["out"]:
                    (folder / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
                    (folder / "report.md").write_text(markdown, encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"--out {folder}: cannot write the report ({exc.strerror or exc})") from exc
            encoded = {chart.name: base64.b64encode(chart.read_bytes()).decode("ascii") for chart in charts}
        stored = ModelComparison.objects.create(
            dataset=str(path), dataset_sha256=report["dataset_sha256"], backends=options["backends"][:500],
            report=report, markdown=markdown, charts=encoded,
        )  # fmt: skip
        if options["json"]:
            self.stdout.write(json.dumps({**report, "comparison_id": stored.pk}))
            return
        self.stdout.write(markdown)
        self.stdout.write(f"stored as model comparison {stored.pk}" + (f"; files in {options['out']}" if options["out"] else ""))
