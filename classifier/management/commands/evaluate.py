"""`python manage.py evaluate --dataset FILE.jsonl --backend NAME [--json] [--plots DIR] [--opaque-names]`

Classifies every labelled line of FILE (``events``: terse trace or raw events; ``label``: 1-6 or
``class``: name) and reports accuracy, macro-F1 with a bootstrap 95% CI, per-class F1, the
confusion matrix, ECE, Brier and reliability buckets. Lines may also say where they come from:
``source`` (hand_written, browser, simulator, published, …), ``difficulty`` (clear, borderline) and
``naming``; each one present gets its own table (n, accuracy, macro-F1, ECE, mean confidence per value).
``--opaque-names`` renames every field to input_1, input_2, … first (classifier/opaque.py), to see how
much the model leans on English names. Lines that cannot be read (bad JSON, invalid trace, unknown
label) are counted, listed and left out; they never stop the run. So are traces a generating backend (cloudflare,
claude) answered outside the model format ("unanswered"): the metrics are over the answered ones, n says how many.
"""

import dataclasses
import json
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from classifier.backends import DEFAULT_BACKEND, BackendUnavailable, get_backend
from classifier.labels import CLASSES
from classifier.opaque import opaque_names
from classifier.verbalized import MalformedAnswer
from training.evaluation import evaluate_probabilities
from training.held_out import file_sha256
from training.labelled import GROUPINGS, Rejected, breakdowns, classify_in_chunks, read_examples
from training.plots import confusion_svg, reliability_svg
from training.plots_png import reliability_png


class Command(BaseCommand):
    help = "Evaluate a classification backend on a labelled JSONL file: macro-F1 (bootstrap CI), per class, ECE, Brier."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dataset", type=Path, required=True, help="JSONL with 'events' and 'label' (1-6) or 'class'")
        parser.add_argument("--backend", default=DEFAULT_BACKEND, help=f"backend name (default {DEFAULT_BACKEND})")
        parser.add_argument("--model-version", type=int, help="a model version id (default: the backend's active model)")
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
        parser.add_argument("--plots", type=Path, help="folder for reliability.svg, reliability.png and confusion.svg")
        parser.add_argument(
            "--opaque-names", action="store_true", help="rename every field to input_1, input_2, … (first appearance order)"
        )
        parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")

    def handle(self, *args, **options) -> None:
        path = Path(options["dataset"])
        if not path.is_file():
            raise CommandError(f"--dataset {path}: no such file")
        examples, rejected = read_examples(path)
        if not examples:
            raise CommandError(f"{path}: no valid labelled lines ({len(rejected)} rejected)")
        if options["opaque_names"]:
            examples = [dataclasses.replace(e, trace=opaque_names(e.trace)) for e in examples]
        try:
            results = classify_in_chunks(
                get_backend(options["backend"], model_version_id=options.get("model_version")), [e.trace for e in examples]
            )
        except BackendUnavailable as exc:
            raise CommandError(str(exc)) from exc
        unanswered = [
            Rejected(e.line, e.id, str(r)) for e, r in zip(examples, results, strict=True) if isinstance(r, MalformedAnswer)
        ]
        answered = [(e, r) for e, r in zip(examples, results, strict=True) if not isinstance(r, MalformedAnswer)]
        if not answered:
            raise CommandError(
                f"the backend answered none of the {len(examples)} traces in the model format: {unanswered[0].error}"
            )
        examples, classifications = [e for e, _ in answered], [r for _, r in answered]

        labels = np.asarray([e.label for e in examples])
        probabilities = np.asarray([c.probabilities for c in classifications], dtype=np.float64)
        metrics = evaluate_probabilities(labels, probabilities, seed=options["seed"])
        report = {
            "dataset": str(path),
            "dataset_sha256": file_sha256(path),  # the fingerprint the promotion gate compares held-out sets by
            "opaque_names": options["opaque_names"],
            "backend": options["backend"],
            "model_versions": sorted({c.model_version for c in classifications}),
            "calibrated": all(c.calibrated for c in classifications),
            **metrics,
            "classes": [CLASSES[code] for code in CLASSES],
            **breakdowns(examples, probabilities),
            "invalid": {"count": len(rejected), "lines": [r.as_dict() for r in rejected]},
            "unanswered": {"count": len(unanswered), "lines": [r.as_dict() for r in unanswered]},
        }
        if options["plots"]:
            report["plots"] = self._write_plots(Path(options["plots"]), metrics)
        if options["json"]:
            self.stdout.write(json.dumps(report))
        else:
            self._write_tables(report)

    def _write_plots(self, folder: Path, metrics: dict) -> list[str]:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"--plots {folder}: cannot create the folder ({exc.strerror or exc})") from exc
        reliability, confusion = folder / "reliability.svg", folder / "confusion.svg"
        reliability.write_text(reliability_svg(metrics["reliability"], ece=metrics["ece"]), encoding="utf-8")
        png = reliability_png(metrics["reliability"], folder / "reliability.png", ece=metrics["ece"])
        confusion.write_text(confusion_svg(metrics["confusion_matrix"], list(CLASSES.values())), encoding="utf-8")
        return [str(reliability), str(png), str(confusion)]

    def _write_tables(self, report: dict) -> None:
        out = self.stdout.write
        low, high = report["macro_f1_ci95"]
        out(f"dataset   {report['dataset']}  (backend {report['backend']}, model {', '.join(report['model_versions'])})")
        unanswered = f", {report['unanswered']['count']} malformed answers excluded" if report["unanswered"]["count"] else ""
        out(f"n         {report['n']} evaluated, {report['invalid']['count']} invalid lines excluded{unanswered}")
        if report["opaque_names"]:
            out("names     opaque (every field renamed input_1, input_2, …)")
        out(f"accuracy  {report['accuracy']:.4f}")
        out(f"macro-F1  {report['macro_f1']:.4f}  (95% bootstrap CI {low:.4f} - {high:.4f})")
        calibrated = "" if report["calibrated"] else "  (uncalibrated)"
        out(f"ECE       {report['ece']:.4f}  (10 equal-width bins, confidence = top probability){calibrated}")
        out(f"Brier     {report['brier']:.4f}")

        names = report["classes"]
        matrix = report["confusion_matrix"]
        width = max(map(len, names))
        out("\nper class")
        out(f"  {'class':{width}}  {'F1':>6}  {'support':>7}")
        for name, row in zip(names, matrix, strict=True):
            out(f"  {name:{width}}  {report['per_class_f1'][name]:6.3f}  {sum(row):7}")

        out("\nconfusion matrix (rows: true class, columns: predicted code)")
        out(f"  {'':{width}}  " + " ".join(f"{code:>5}" for code in CLASSES))
        for code, name, row in zip(CLASSES, names, matrix, strict=True):
            out(f"  {f'{code} {name}':{width + 2}}" + " ".join(f"{n:5}" for n in row))

        for grouping in GROUPINGS:
            if f"by_{grouping}" in report:
                self._write_group_table(grouping, report[f"by_{grouping}"])

        out("\nreliability (confidence bin: count, mean confidence, accuracy)")
        for bucket in report["reliability"]:
            line = f"  {bucket['low']:.1f}-{bucket['high']:.1f}  {bucket['count']:6}"
            if bucket["count"]:
                line += f"  {bucket['confidence']:.3f}  {bucket['accuracy']:.3f}"
            out(line)

        if report["invalid"]["count"]:
            out(f"\ninvalid lines ({report['invalid']['count']}, excluded)")
            for rejected in report["invalid"]["lines"]:
                where = f"line {rejected['line']}" + (f" ({rejected['id']})" if rejected["id"] else "")
                out(f"  {where}: {rejected['error']}")
        if report["unanswered"]["count"]:
            out(f"\nmalformed answers ({report['unanswered']['count']}, excluded)")
            for rejected in report["unanswered"]["lines"]:
                where = f"line {rejected['line']}" + (f" ({rejected['id']})" if rejected["id"] else "")
                out(f"  {where}: {rejected['error']}")
        for plot in report.get("plots", []):
            out(f"wrote {plot}")

    def _write_group_table(self, grouping: str, groups: dict[str, dict]) -> None:
        out = self.stdout.write
        width = max(len(grouping), *map(len, groups))
        out(f"\nper {grouping} (macro-F1 over the classes present in each)")
        out(f"  {grouping:{width}}  {'n':>5}  {'accuracy':>8}  {'macro-F1':>8}  {'ECE':>6}  {'mean conf':>9}")
        for value, m in groups.items():
            figures = f"{m['accuracy']:8.3f}  {m['macro_f1']:8.3f}  {m['ece']:6.3f}  {m['mean_confidence']:9.3f}"
            out(f"  {value:{width}}  {m['n']:5}  {figures}")
