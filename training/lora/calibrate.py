"""Calibrating and evaluating a trained adapter with the first-token digit read-out.

T is fitted by NLL on the validation split; ECE and Brier are reported before (T = 1) and
after; macro-F1 with a bootstrap CI on the test split and on each held-out set (FORMRECAP_HELD_OUT_SETS).
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from classifier.readout import digit_log_probs, load_adapter
from classifier.trace import serialise_trace, trace_from_input

from ..calibration import brier_score, calibrated_probabilities, expected_calibration_error, fit_temperature
from ..datasets import read_jsonl
from ..evaluation import evaluate_probabilities
from ..held_out import METRICS_KEY, HeldOutSet, held_out_entry
from .dataset import read_split

SUMMARY_KEYS = ("n", "accuracy", "macro_f1", "macro_f1_ci95", "ece", "brier", "mean_confidence")


def _summary(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    metrics = evaluate_probabilities(labels, probabilities)
    return {key: metrics[key] for key in SUMMARY_KEYS} | {"confusion_matrix": metrics["confusion_matrix"]}


def calibrate_adapter(
    adapter_dir: Path, dataset_path: Path, *, held_out_sets: Sequence[HeldOutSet] = (), base_model: str | None = None
) -> dict:
    """{"temperature", "validation": {before, after}, "test": …, "held_out": {set name: entry}} for the adapter.

    The held-out entries carry each file's fingerprint (training/held_out.py): the promotion gate compares
    on them, and cannot re-evaluate an adapter later, so every set available now is measured here.

    ``base_model`` overrides the base recorded in the adapter (a Modal run records its volume copy of a local base)."""
    model, tokenizer = load_adapter(adapter_dir, base_model)

    def log_probs_and_labels(lines: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        traces = [line["trace"] for line in lines]
        return digit_log_probs(model, tokenizer, traces), np.asarray([line["label"] for line in lines])

    val_lp, val_y = log_probs_and_labels(read_split(dataset_path, "validation"))
    temperature = fit_temperature(val_lp, val_y - 1)
    before = calibrated_probabilities(val_lp, 1.0)
    after = calibrated_probabilities(val_lp, temperature)
    report = {
        "temperature": temperature,
        "validation": {
            "n": int(len(val_y)),
            "ece_before": expected_calibration_error(before, val_y - 1),
            "ece_after": expected_calibration_error(after, val_y - 1),
            "brier_before": brier_score(before, val_y - 1),
            "brier_after": brier_score(after, val_y - 1),
        },
    }
    test_lp, test_y = log_probs_and_labels(read_split(dataset_path, "test"))
    report["test"] = _summary(test_y, calibrated_probabilities(test_lp, temperature))
    report[METRICS_KEY] = {}
    for held_out_set in held_out_sets:
        records = list(read_jsonl(held_out_set.path))
        traces = [serialise_trace(trace_from_input(r["events"])) for r in records]
        probabilities = calibrated_probabilities(digit_log_probs(model, tokenizer, traces), temperature)
        summary = _summary(np.asarray([r["label"] for r in records]), probabilities)
        report[METRICS_KEY][held_out_set.name] = held_out_entry(summary, held_out_set)
    return report
