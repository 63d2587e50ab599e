"""Dataset plumbing: JSONL files, exact and near-duplicate removal, stratified splits."""

import json
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from classifier.trace import Trace, serialise_trace, trace_from_input


def read_jsonl(path: Path) -> Iterator[dict]:
    with Path(path).open() as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def write_jsonl(path: Path, records: Iterable[dict]) -> int:
    count = 0
    with Path(path).open("w") as handle:
        for record in records:
            handle.write(json.dumps(record, separators=(",", ":")) + "\n")
            count += 1
    return count


def _bucket(value: int | None) -> int:
    # Powers of two: 8 and 9 keystrokes are the same shape, 8 and 30 are not.
    return int(math.log2(value + 1)) if value else 0


def structural_key(trace: Trace) -> tuple:
    """Two sessions with the same key differ only in exact counts and durations: near-duplicates."""
    return tuple(
        (t.kind, t.field, t.reason, _bucket(t.count if t.kind == "input" else None), _bucket(t.duration_ms)) for t in trace.tokens
    )


@dataclass(frozen=True)
class DedupStats:
    total: int
    exact_duplicates: int
    near_duplicates: int

    @property
    def kept(self) -> int:
        return self.total - self.exact_duplicates - self.near_duplicates

    @property
    def duplicate_rate(self) -> float:
        return (self.exact_duplicates + self.near_duplicates) / self.total if self.total else 0.0

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "exact_duplicates": self.exact_duplicates,
            "near_duplicates": self.near_duplicates,
            "kept": self.kept,
            "duplicate_rate": round(self.duplicate_rate, 4),
        }


def _is_thin(record: dict) -> bool:
    return str(record.get("variant", "")).startswith("thin_")


def deduplicate(records: Iterable[dict]) -> tuple[list[dict], DedupStats]:
    """Keep the first of each exact trace and of each structural shape; each record gets its terse ``trace``.

    Thin sessions (training/simulator/thin.py) share a handful of shapes on purpose, each with several labels at
    their odds: keeping only the first of a shape would keep one label and teach certainty. Only exact repeats
    of those are dropped."""
    kept: list[dict] = []
    exact_seen: set[str] = set()
    shape_seen: set[tuple] = set()
    total = exact = near = 0
    for record in records:
        total += 1
        trace = trace_from_input(record["events"])
        text = serialise_trace(trace)
        if text in exact_seen:
            exact += 1
            continue
        exact_seen.add(text)
        shape = structural_key(trace)
        if shape in shape_seen and not _is_thin(record):
            near += 1
            continue
        shape_seen.add(shape)
        kept.append({**record, "trace": text})
    return kept, DedupStats(total, exact, near)


def stratified_split(records: list[dict], *, seed: int, fractions=(0.8, 0.1, 0.1)) -> dict[str, list[dict]]:
    """train/validation/test with each class split in the same proportions."""
    by_label: dict[int, list[dict]] = defaultdict(list)
    for record in records:
        by_label[record["label"]].append(record)
    rng = random.Random(seed)
    splits: dict[str, list[dict]] = {"train": [], "validation": [], "test": []}
    for label in sorted(by_label):
        group = by_label[label]
        rng.shuffle(group)
        n_train = round(len(group) * fractions[0])
        n_val = round(len(group) * fractions[1])
        splits["train"] += group[:n_train]
        splits["validation"] += group[n_train : n_train + n_val]
        splits["test"] += group[n_train + n_val :]
    for part in splits.values():
        rng.shuffle(part)
    return splits


def split_by_group(
    records: list[dict], *, key: str, seed: int, names=("validation", "dev", "test"), fractions=(0.4, 0.2, 0.4)
) -> dict[str, list[dict]]:
    """Whole groups (e.g. every session recorded on one form) go to one split, so a later split judges a model
    on forms the earlier ones never showed it. Groups are shuffled by ``seed`` and dealt out until each split
    holds its share of the records."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        groups[str(record.get(key))].append(record)
    order = sorted(groups)
    random.Random(seed).shuffle(order)
    total = len(records)
    splits: dict[str, list[dict]] = {name: [] for name in names}
    targets = [fraction * total for fraction in fractions]
    current = 0
    for group in order:
        # Move on once this split has its share, but never leave a later split without a group.
        while current < len(names) - 1 and len(splits[names[current]]) >= targets[current]:
            current += 1
        splits[names[current]] += groups[group]
    return splits
