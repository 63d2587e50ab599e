"""Backends compared on one labelled set, like the published results page: macro-F1 with its bootstrap CI, per-class
F1, ECE, Brier, how many traces were answered in the model format, and latency per trace.

    specs = parse_backend_specs("embedded,peft:12,vllm:12,cloudflare:13,claude,zero_shot")
    report = compare_backends(examples, specs)     # backends that cannot run are listed as skipped, with the reason
    comparison_markdown(report); comparison_charts(report, folder)

A backend that cannot start (no credentials, no server, no active model) or fails mid-run is never dropped silently:
it is in ``report["skipped"]`` with the reason, and the Markdown says so.
"""

import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.backends import BACKEND_NAMES, BackendUnavailable, get_backend
from classifier.backends.cascade import CascadeBackend
from classifier.labels import CLASSES
from classifier.verbalized import MalformedAnswer

from .evaluation import evaluate_probabilities
from .labelled import Example, classify_in_chunks

LATENCY_SAMPLE = 30  # traces classified one at a time for the per-trace latency (a remote LLM is slow)
SPEC = re.compile(r"^(?P<name>[a-z_]+)(?::(?P<arg>[0-9.]+))?$")
COMPARABLE = (*BACKEND_NAMES, "cascade")


class ComparisonError(ValueError):
    """A backend list that cannot be compared; the message names the bad entry."""


@dataclass(frozen=True)
class BackendSpec:
    name: str
    model_version_id: int | None = None  # peft:12 — that model version; none: the backend's active model
    threshold: float | None = None  # cascade:0.8 — escalate below this (to vllm)

    @property
    def label(self) -> str:
        if self.threshold is not None:
            return f"{self.name}:{self.threshold:g}"
        return self.name if self.model_version_id is None else f"{self.name}:{self.model_version_id}"


def parse_backend_specs(text: str) -> list[BackendSpec]:
    specs: list[BackendSpec] = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        match = SPEC.match(entry)
        if match is None or match["name"] not in COMPARABLE:
            raise ComparisonError(
                f"{entry!r} is not a backend: use NAME or NAME:MODEL_VERSION_ID, NAME one of {', '.join(COMPARABLE)}"
            )
        name, arg = match["name"], match["arg"]
        if name == "cascade":
            try:
                threshold = float(arg) if arg is not None else 0.8
            except ValueError:
                raise ComparisonError(f"{entry!r}: a cascade threshold is a number between 0 and 1") from None
            if not 0 <= threshold <= 1:
                raise ComparisonError(f"{entry!r}: a cascade threshold is between 0 and 1")
            specs.append(BackendSpec(name, threshold=threshold))
        elif arg is not None and not arg.isdigit():
            raise ComparisonError(f"{entry!r}: a model version id is a whole number")
        else:
            specs.append(BackendSpec(name, model_version_id=int(arg) if arg else None))
    if not specs:
        raise ComparisonError("no backends given")
    if len({s.label for s in specs}) != len(specs):
        raise ComparisonError("a backend is listed twice")
    return specs


def _backend(spec: BackendSpec):
    if spec.name == "cascade":
        return CascadeBackend(threshold=spec.threshold, escalate_to="vllm")
    return get_backend(spec.name, model_version_id=spec.model_version_id)


def compare_backends(examples: Sequence[Example], specs: Sequence[BackendSpec], *, seed: int = 0) -> dict:
    traces = [e.trace for e in examples]
    rows, skipped = [], []
    for spec in specs:
        try:
            backend = _backend(spec)
            started = time.perf_counter()
            results = classify_in_chunks(backend, traces)
            elapsed = time.perf_counter() - started
            # one at a time, the way classify_in_chunks asks: a malformed answer is a result here, not an error
            one = getattr(backend, "classify_each", backend.classify)
            singles = []
            for trace in traces[:LATENCY_SAMPLE]:
                began = time.perf_counter()
                one([trace])
                singles.append((time.perf_counter() - began) * 1000)
        except BackendUnavailable as exc:
            skipped.append({"backend": spec.label, "reason": str(exc)})
            continue
        except Exception as exc:  # one backend's failure never costs the others' rows
            skipped.append({"backend": spec.label, "reason": f"failed: {type(exc).__name__}: {exc}"[:500]})
            continue
        rows.append(_row(spec, examples, results, elapsed=elapsed, singles=singles, seed=seed))
    return {"n_total": len(examples), "classes": list(CLASSES.values()), "backends": rows, "skipped": skipped}


def _row(spec: BackendSpec, examples, results, *, elapsed: float, singles: list[float], seed: int) -> dict:
    answered = [(e, r) for e, r in zip(examples, results, strict=True) if not isinstance(r, MalformedAnswer)]
    row = {
        "backend": spec.label,
        "n_valid": len(answered),
        "n_total": len(examples),
        "p50_ms_per_trace": round(statistics.median(singles), 3) if singles else None,
        "batch_ms_per_trace": round(elapsed * 1000 / max(1, len(examples)), 3),
    }
    if not answered:
        return {**row, "macro_f1": None, "note": "no answer in the model format"}
    labels = np.asarray([e.label for e, _ in answered])
    probabilities = np.asarray([r.probabilities for _, r in answered], dtype=np.float64)
    metrics = evaluate_probabilities(labels, probabilities, seed=seed)
    escalated = sum(1 for _, r in answered if r.routing.get("escalated"))
    llm_answered = sum(1 for _, r in answered if r.routing.get("answered_by") not in (None, "embedded"))
    return {
        **row,
        "model_versions": sorted({r.model_version for _, r in answered}),
        "calibrated": all(r.calibrated for _, r in answered),
        **{key: metrics[key] for key in ("accuracy", "macro_f1", "macro_f1_ci95", "per_class_f1", "ece", "brier")},
        "reliability": metrics["reliability"],
        **(
            {"escalated_share": escalated / len(answered), "llm_answered_share": llm_answered / len(answered)}
            if spec.name == "cascade"
            else {}
        ),
    }


def comparison_markdown(report: dict, *, title: str = "Model comparison") -> str:
    lines = [
        f"# {title}",
        "",
        f"{report['n_total']} labelled traces" + (f" from `{report['dataset']}`" if "dataset" in report else ""),
        "",
    ]
    lines += [
        "| backend | macro-F1 (95% CI) | ECE | Brier | valid / total | p50 ms per trace | calibrated |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in report["backends"]:
        counts = f"{row['n_valid']} / {row['n_total']}"
        if row["macro_f1"] is None:
            lines.append(f"| {row['backend']} | — | — | — | {counts} | {row['p50_ms_per_trace']} | {row['note']} |")
            continue
        low, high = row["macro_f1_ci95"]
        calibrated = "yes" if row["calibrated"] else "no (verbalized)"
        lines.append(
            f"| {row['backend']} | {row['macro_f1']:.3f} ({low:.3f}–{high:.3f}) | {row['ece']:.3f} | {row['brier']:.3f} | "
            f"{counts} | {row['p50_ms_per_trace']:.2f} | {calibrated} |"
        )
    scored = [row for row in report["backends"] if row["macro_f1"] is not None]
    if scored:
        lines += [
            "",
            "## F1 per class",
            "",
            "| backend | " + " | ".join(report["classes"]) + " |",
            "|---" * (len(report["classes"]) + 1) + "|",
        ]
        for row in scored:
            lines.append(f"| {row['backend']} | " + " | ".join(f"{row['per_class_f1'][c]:.3f}" for c in report["classes"]) + " |")
    for row in scored:
        if "escalated_share" in row:
            lines += [
                "",
                f"{row['backend']}: {row['escalated_share']:.1%} of traces escalated, {row['llm_answered_share']:.1%} "
                "answered by the LLM backend (the rest kept the embedded answer when it could not answer).",
            ]
    if report["skipped"]:
        lines += ["", "## Skipped", ""] + [f"- **{s['backend']}**: {s['reason']}" for s in report["skipped"]]
    return "\n".join(lines) + "\n"


def comparison_charts(report: dict, folder: Path) -> list[Path]:
    """Per-class F1 bars, F1 against ECE, and a reliability diagram per backend, as PNG files in ``folder``."""
    from .comparison_charts import f1_against_ece_png, per_class_f1_png
    from .plots_png import reliability_png

    folder.mkdir(parents=True, exist_ok=True)
    scored = [row for row in report["backends"] if row["macro_f1"] is not None]
    if not scored:
        return []
    written = [
        per_class_f1_png(scored, report["classes"], folder / "per_class_f1.png"),
        f1_against_ece_png(scored, folder / "f1_vs_ece.png"),
    ]
    for row in scored:
        slug = re.sub(r"[^a-z0-9_.-]", "_", row["backend"])
        written.append(reliability_png(row["reliability"], folder / f"reliability_{slug}.png", ece=row["ece"]))
    return written
