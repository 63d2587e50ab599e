"""Assembling a training set: simulator + Claude + operator-labelled sessions → dedup → splits → chat records.

    python manage.py assemble_dataset --simulated 1200 --claude var/data/claude/claude.jsonl

Every example is written in the model format (classifier/prompting.py) next to its label and
terse trace, so the same files serve fine-tuning, calibration and evaluation.
"""

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from classifier.explain import explain
from classifier.labels import CLASSES
from classifier.trace import parse_trace, serialise_trace, trace_from_input

from ..datasets import deduplicate, read_jsonl, stratified_split, write_jsonl
from ..models import Dataset
from ..simulator import GENERATOR_VERSION, simulate_sessions
from ..simulator.core import BALANCED_MIX
from .prompt import chat_record

SPLITS = ("train", "validation", "test")


def simulator_examples(count: int, seed: int) -> list[dict]:
    examples = []
    for session in simulate_sessions(count, seed=seed, mix=BALANCED_MIX):
        trace = trace_from_input(session.events)
        examples.append(_example(serialise_trace(trace), session.label, explain(trace, session.label).reason, 0.9, "simulator"))
    return examples


def claude_examples(path: Path) -> list[dict]:
    examples = []
    for record in read_jsonl(path):
        label = int(record["label"])
        if label not in CLASSES:
            raise ValueError(f"label {label} is not a class code 1-6")
        parse_trace(record["trace"])  # refuse a trace that does not parse before it reaches the dataset
        examples.append(_example(record["trace"], label, record["reason"], float(record["confidence"]), "claude"))
    return examples


def operator_examples(labelled: Iterable[tuple[str, int]]) -> list[dict]:
    """(terse trace, code) pairs from SessionLabel rows: a human said so, so confidence 1."""
    return [_example(trace, code, explain(parse_trace(trace), code).reason, 1.0, "operator") for trace, code in labelled]


def _example(trace: str, label: int, reason: str, confidence: float, source: str) -> dict:
    return {
        "events": trace,
        "label": label,
        "class": CLASSES[label],
        "reason": reason,
        "confidence": confidence,
        "source": source,
    }


def _training_line(example: dict) -> dict:
    record = chat_record(example["trace"], example["label"], example["reason"], example["confidence"])
    return {**record, "label": example["label"], "trace": example["trace"], "source": example["source"]}


def dataset_assemble(*, name: str, examples: list[dict], seed: int, out_root: Path | None = None) -> Dataset:
    """Dedup across sources (operator labels first, they win), split per class, write, register a version."""
    ordered = sorted(examples, key=lambda e: {"operator": 0, "claude": 1, "simulator": 2}[e["source"]])
    kept, stats = deduplicate(ordered)
    splits = stratified_split(kept, seed=seed)
    digest = hashlib.sha256()
    for part in SPLITS:
        for example in splits[part]:
            digest.update(f"{part}|{example['label']}|{example['trace']}".encode())
    content_hash = digest.hexdigest()[:16]

    with transaction.atomic():
        list(Dataset.objects.select_for_update().filter(name=name).values_list("pk", flat=True))
        version = (Dataset.objects.filter(name=name).aggregate(last=Max("version"))["last"] or 0) + 1
        folder = Path(out_root or Path(settings.FORMRECAP_MODEL_DIR) / "datasets") / f"{name}-v{version}"
        folder.mkdir(parents=True, exist_ok=True)
        for part in SPLITS:
            write_jsonl(folder / f"{part}.jsonl", (_training_line(e) for e in splits[part]))
        manifest = {
            "name": name,
            "version": version,
            "seed": seed,
            "generator_version": GENERATOR_VERSION,
            "dedup": stats.as_dict(),
            "sources": dict(Counter(e["source"] for e in kept)),
            "splits": {part: dict(sorted(Counter(e["class"] for e in splits[part]).items())) for part in SPLITS},
            "content_hash": content_hash,
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
        return Dataset.objects.create(
            name=name,
            version=version,
            path=str(folder),
            sources=manifest["sources"],
            manifest=manifest,
            content_hash=content_hash,
        )


def read_split(dataset_path: str | Path, part: str) -> list[dict]:
    return list(read_jsonl(Path(dataset_path) / f"{part}.jsonl"))


def dataset_register_folder(*, folder: Path) -> Dataset:
    """Register an existing dataset folder (train/validation/test.jsonl in the model format) as a Dataset row."""
    folder = Path(folder).resolve()
    missing = [part for part in SPLITS if not (folder / f"{part}.jsonl").exists()]
    if missing:
        raise FileNotFoundError(f"{folder}: missing {', '.join(f'{m}.jsonl' for m in missing)}")
    existing = Dataset.objects.filter(path=str(folder)).order_by("-version").first()
    digest = hashlib.sha256()
    for part in SPLITS:
        digest.update((folder / f"{part}.jsonl").read_bytes())
    content_hash = digest.hexdigest()[:16]
    if existing is not None and existing.content_hash == content_hash:
        return existing
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    counts = {part: sum(1 for _ in read_jsonl(folder / f"{part}.jsonl")) for part in SPLITS}
    manifest = {**manifest, "registered_from": str(folder), "counts": counts, "content_hash": content_hash}
    with transaction.atomic():
        name = folder.name[:100]
        version = (Dataset.objects.filter(name=name).aggregate(last=Max("version"))["last"] or 0) + 1
        return Dataset.objects.create(
            name=name,
            version=version,
            path=str(folder),
            sources=manifest.get("sources", {}),
            manifest=manifest,
            content_hash=content_hash,
        )
