"""Labelled JSONL files (hand-written, published, browser-recorded) read into traces, and classified in chunks: what
`evaluate` and `compare_models` share. The format is training/data/README.md's."""

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from classifier.backends import Backend, Classification
from classifier.labels import CLASSES, CODES
from classifier.trace import Trace, TraceError, trace_from_input
from classifier.verbalized import MalformedAnswer

from .evaluation import evaluate_groups

CHUNK = 1000  # traces per backend call
# Optional per-line facts to break the metrics down by: where a trace comes from, how hard it is, how its fields are named.
GROUPINGS = ("source", "difficulty", "naming")
UNSPECIFIED = "unspecified"  # a line without the fact, in a file where other lines have it


@dataclass(frozen=True)
class Example:
    line: int
    id: str | None
    trace: Trace
    label: int
    groups: dict[str, str] = field(default_factory=dict)  # grouping -> value, for those the line has


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
                label, groups = _label(record), _groups(record)
                examples.append(Example(number, record_id, trace_from_input(record["events"]), label, groups))
            except (ValueError, TraceError, RecursionError) as exc:  # json.JSONDecodeError is a ValueError
                rejected.append(Rejected(number, record_id, str(exc)))
    return examples, rejected


def classify_in_chunks(backend: Backend, traces: list[Trace]) -> list[Classification | MalformedAnswer]:
    """A Classification per trace, or, from backends that generate text (``classify_each``), the MalformedAnswer
    in place of an answer that was not in the model format."""
    classify = getattr(backend, "classify_each", backend.classify)
    results: list[Classification | MalformedAnswer] = []
    for start in range(0, len(traces), CHUNK):
        results += classify(traces[start : start + CHUNK])
    return results


def _groups(record: dict) -> dict[str, str]:
    groups = {}
    for grouping in GROUPINGS:
        value = record.get(grouping)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip() or len(value) > 64:
            raise ValueError(f"{grouping} {str(value)[:64]!r} is not a name (a non-empty string of at most 64 characters)")
        groups[grouping] = value.strip()
    return groups


def breakdowns(examples: list[Example], probabilities: np.ndarray) -> dict[str, dict[str, dict]]:
    """{"by_source": {value: metrics}, …} for each grouping that some example has."""
    labels = np.asarray([e.label for e in examples])
    result = {}
    for grouping in GROUPINGS:
        if any(grouping in e.groups for e in examples):
            values = [e.groups.get(grouping, UNSPECIFIED) for e in examples]
            result[f"by_{grouping}"] = evaluate_groups(labels, probabilities, values)
    return result


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
