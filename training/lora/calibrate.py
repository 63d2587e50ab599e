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


def held_out_payload(held_out_sets: Sequence[HeldOutSet]) -> list[dict]:
    """The held-out sets as a remote read-out needs them (the records travel; the GPU has none of our files)."""
    return [
        {
            "name": s.name,
            "sha256": s.sha256,
            "records": [{"events": r["events"], "label": r["label"]} for r in read_jsonl(s.path)],
        }
        for s in held_out_sets
    ]


def adapter_readout(model, tokenizer, dataset_path: Path, held_out: Sequence[dict] = ()) -> dict:
    """First-token digit log-probs of the validation and test splits and of each held-out set, where the model runs
    (in-process here, or the Modal GPU function after training): numbers only, JSON-able, so the worker fits T from
    them without the base. ``held_out`` is held_out_payload's list."""

    def read(lines: list[dict], key: str) -> dict:
        texts = [line[key] if key == "trace" else serialise_trace(trace_from_input(line[key])) for line in lines]
        return {"log_probs": digit_log_probs(model, tokenizer, texts).tolist(), "labels": [int(line["label"]) for line in lines]}

    return {
        "validation": read(read_split(dataset_path, "validation"), "trace"),
        "test": read(read_split(dataset_path, "test"), "trace"),
        "held_out": {item["name"]: {"sha256": item["sha256"], **read(item["records"], "events")} for item in held_out},
    }


def calibration_from_readout(readout: dict) -> dict:
    """{"temperature", "validation": {before, after}, "test": …, "held_out": {set name: entry}} from the log-probs
    alone: T by NLL on the validation split, ECE and Brier before and after, metrics at T elsewhere."""

    def arrays(part: dict) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(part["log_probs"], dtype=np.float64).reshape(-1, 6), np.asarray(part["labels"])

    val_lp, val_y = arrays(readout["validation"])
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
    test_lp, test_y = arrays(readout["test"])
    report["test"] = _summary(test_y, calibrated_probabilities(test_lp, temperature))
    report[METRICS_KEY] = {}
    for name, part in readout.get("held_out", {}).items():
        lp, y = arrays(part)
        summary = _summary(y, calibrated_probabilities(lp, temperature))
        report[METRICS_KEY][name] = held_out_entry(summary, HeldOutSet(name=name, path=Path(name), sha256=part["sha256"]))
    return report


def calibrate_adapter(
    adapter_dir: Path, dataset_path: Path, *, held_out_sets: Sequence[HeldOutSet] = (), base_model: str | None = None
) -> dict:
    """calibration_from_readout of an in-process read-out: the local runner's calibration (the base is loaded here).

    The held-out entries carry each file's fingerprint (training/held_out.py): the promotion gate compares
    on them, and cannot re-evaluate an adapter later, so every set available now is measured here.

    ``base_model`` overrides the base recorded in the adapter (a Modal run records its volume copy of a local base)."""
    model, tokenizer = load_adapter(adapter_dir, base_model)
    return calibration_from_readout(adapter_readout(model, tokenizer, dataset_path, held_out_payload(held_out_sets)))
