"""`python manage.py evaluate --dataset FILE.jsonl --backend NAME [--json] [--plots DIR]`

Classifies every labelled line of FILE (``events``: terse trace or raw events; ``label``: 1-6 or
``class``: name) and reports accuracy, macro-F1 with a bootstrap 95% CI, per-class F1, the
confusion matrix, ECE, Brier and reliability buckets. Lines that cannot be read (bad JSON,
invalid trace, unknown label) are counted, listed and left out; they never stop the run.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from classifier.backends import DEFAULT_BACKEND, Backend, BackendUnavailable, Classification, get_backend
from classifier.labels import CLASSES, CODES
from classifier.trace import Trace, TraceError, trace_from_input
from training.evaluation import evaluate_probabilities
from training.plots import confusion_svg, reliability_svg

CHUNK = 1000  # traces per backend call


@dataclass(frozen=True)
class Example:
    line: int
    id: str | None
    trace: Trace
    label: int


@dataclass(frozen=True)
class Rejected:
    line: int
    id: str | None
    error: str

    def as_dict(self) -> dict:
        return {"line": self.line, "id": self.id, "error": self.error}


def read_examples(path: Path) -> tuple[list[Example], list[Rejected]]:
    examples: list[Example] = []
    rejected: list[Rejected] = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            record_id = None
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError(f"expected a JSON object, got {type(record).__name__}")
                record_id = str(record["id"]) if record.get("id") is not None else None
                if "events" not in record:
                    raise ValueError("no 'events'")
                label = _label(record)
                examples.append(Example(number, record_id, trace_from_input(record["events"]), label))
            except (ValueError, TraceError, RecursionError) as exc:  # json.JSONDecodeError is a ValueError
                rejected.append(Rejected(number, record_id, str(exc)))
    return examples, rejected


def classify_in_chunks(backend: Backend, traces: list[Trace]) -> list[Classification]:
    results: list[Classification] = []
    for start in range(0, len(traces), CHUNK):
        results += backend.classify(traces[start : start + CHUNK])
    return results


def _label(record: dict) -> int:
    label, name = record.get("label"), record.get("class")
    if label is None and name is None:
        raise ValueError("no 'label' or 'class'")
    code = None
    if label is not None:
        if isinstance(label, bool) or not isinstance(label, int | str) or str(label) not in {str(c) for c in CLASSES}:
            raise ValueError(f"label {label!r} is not a class code 1-6")
        code = int(label)
    if name is not None:
        if not isinstance(name, str) or name not in CODES:
            raise ValueError(f"unknown class {name!r}")
        if code is not None and CODES[name] != code:
            raise ValueError(f"label {code} and class {name!r} disagree")
        code = CODES[name]
    return code


class Command(BaseCommand):
    help = "Evaluate a classification backend on a labelled JSONL file: macro-F1 (bootstrap CI), per class, ECE, Brier."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dataset", type=Path, required=True, help="JSONL with 'events' and 'label' (1-6) or 'class'")
        parser.add_argument("--backend", default=DEFAULT_BACKEND, help=f"backend name (default {DEFAULT_BACKEND})")
        parser.add_argument("--model-version", type=int, help="a model version id (default: the backend's active model)")
        parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
        parser.add_argument("--plots", type=Path, help="folder for reliability.svg and confusion.svg")
        parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")

    def handle(self, *args, **options) -> None:
        path = Path(options["dataset"])
        if not path.is_file():
            raise CommandError(f"--dataset {path}: no such file")
        examples, rejected = read_examples(path)
        if not examples:
            raise CommandError(f"{path}: no valid labelled lines ({len(rejected)} rejected)")
        try:
            classifications = classify_in_chunks(
                get_backend(options["backend"], model_version_id=options.get("model_version")), [e.trace for e in examples]
            )
        except BackendUnavailable as exc:
            raise CommandError(str(exc)) from exc

        labels = np.asarray([e.label for e in examples])
        probabilities = np.asarray([c.probabilities for c in classifications], dtype=np.float64)
        metrics = evaluate_probabilities(labels, probabilities, seed=options["seed"])
        report = {
            "dataset": str(path),
            "backend": options["backend"],
            "model_versions": sorted({c.model_version for c in classifications}),
            "calibrated": all(c.calibrated for c in classifications),
            **metrics,
            "classes": [CLASSES[code] for code in CLASSES],
            "invalid": {"count": len(rejected), "lines": [r.as_dict() for r in rejected]},
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
        confusion.write_text(confusion_svg(metrics["confusion_matrix"], list(CLASSES.values())), encoding="utf-8")
        return [str(reliability), str(confusion)]

    def _write_tables(self, report: dict) -> None:
        out = self.stdout.write
        low, high = report["macro_f1_ci95"]
        out(f"dataset   {report['dataset']}  (backend {report['backend']}, model {', '.join(report['model_versions'])})")
        out(f"n         {report['n']} evaluated, {report['invalid']['count']} invalid lines excluded")
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
        for plot in report.get("plots", []):
            out(f"wrote {plot}")
