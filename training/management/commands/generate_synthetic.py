"""`python manage.py generate_synthetic --count N --seed S --out DIR [--mix balanced|default|1=0.3,2=0.2,...]`

Simulates sessions, removes exact and near duplicates, splits them per class into
train/validation/test and writes ``DIR/{train,validation,test}.jsonl`` plus
``DIR/manifest.json``. Same arguments, byte-identical files.
"""

import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from classifier.labels import CLASSES, CODES
from training.datasets import DedupStats, deduplicate, stratified_split, write_jsonl
from training.simulator import GENERATOR_VERSION, simulate_sessions
from training.simulator.core import BALANCED_MIX, DEFAULT_MIX

SPLITS = ("train", "validation", "test")
NAMED_MIXES = {"default": DEFAULT_MIX, "balanced": BALANCED_MIX}


def parse_mix(text: str) -> dict[int, float]:
    """``default``, ``balanced`` or ``CLASS=WEIGHT,...`` (class as code 1-6 or name) → {code: weight}."""
    if text in NAMED_MIXES:
        return dict(NAMED_MIXES[text])
    mix: dict[int, float] = {}
    for part in text.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise CommandError(f"--mix: {part.strip()!r} is not CLASS=WEIGHT (or use 'default' or 'balanced')")
        key = key.strip()
        code = int(key) if key.isdigit() else CODES.get(key)
        if code not in CLASSES:
            known = ", ".join(f"{c}={name}" for c, name in CLASSES.items())
            raise CommandError(f"--mix: unknown class {key!r}; known: {known}")
        if code in mix:
            raise CommandError(f"--mix: class {key!r} given twice")
        try:
            weight = float(value)
        except ValueError:
            raise CommandError(f"--mix: weight {value.strip()!r} for class {key!r} is not a number") from None
        if not weight > 0 or weight == float("inf"):
            raise CommandError(f"--mix: weight for class {key!r} must be a positive number, got {value.strip()!r}")
        mix[code] = weight
    if sum(mix.values()) == float("inf"):
        raise CommandError("--mix: the weights add up to infinity; use ordinary numbers such as 1=0.3,2=0.2")
    return mix


def build_manifest(
    *, seed: int, count: int, mix: dict[int, float], stats: DedupStats, splits: dict[str, list[dict]], files: dict[str, bytes]
) -> dict:
    kept = [record for name in SPLITS for record in splits[name]]
    variants: dict[str, Counter] = {}
    for record in kept:
        variants.setdefault(record["class"], Counter())[record["variant"]] += 1
    field_names = {event["field"] for record in kept for event in record["events"] if event.get("field")}
    form_types = Counter(record["form_type"] for record in kept)
    total_weight = sum(mix.values())
    content = hashlib.sha256()
    for name in SPLITS:
        content.update(files[name])
    return {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "count_requested": count,
        "kept": stats.kept,
        "mix": {CLASSES[code]: round(weight / total_weight, 6) for code, weight in sorted(mix.items())},
        "dedup": stats.as_dict(),
        "splits": {name: _class_counts(splits[name]) for name in SPLITS},
        "classes": _class_counts(kept),
        "distinct_field_names": len(field_names),
        "distinct_form_types": len(form_types),
        "form_types": dict(sorted(form_types.items())),
        "variants": {name: dict(sorted(counts.items())) for name, counts in sorted(variants.items())},
        "files": {
            f"{name}.jsonl": {"records": len(splits[name]), "sha256": hashlib.sha256(files[name]).hexdigest()} for name in SPLITS
        },
        "content_hash": content.hexdigest(),
    }


def _class_counts(records: list[dict]) -> dict[str, int]:
    counts = Counter(record["class"] for record in records)
    return {name: counts[name] for name in CLASSES.values() if counts[name]}


class Command(BaseCommand):
    help = "Simulate labelled sessions, deduplicate, split per class, and write JSONL files with a manifest."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--count", type=int, required=True, help="sessions to simulate (before deduplication)")
        parser.add_argument("--seed", type=int, required=True)
        parser.add_argument("--out", type=Path, required=True, help="folder for the JSONL files and manifest.json")
        parser.add_argument("--mix", default="default", help="'default', 'balanced', or weights per class: 1=0.3,2=0.2,bot=0.1")

    def handle(self, *args, **options) -> None:
        count, seed, out = options["count"], options["seed"], Path(options["out"])
        if count < 1:
            raise CommandError(f"--count must be at least 1, got {count}")
        mix = parse_mix(options["mix"])
        if out.exists() and not out.is_dir():
            raise CommandError(f"--out {out} exists and is not a folder")

        # The bar follows the simulation; deduplication consumes the sessions as they are drawn.
        progress = tqdm(
            simulate_sessions(count, seed=seed, mix=mix), total=count, desc="simulating", unit="session",
            file=options.get("stderr") or sys.stderr, mininterval=0.5,
        )  # fmt: skip
        with progress:
            kept, stats = deduplicate(session.as_record() for session in progress)
        splits = stratified_split(kept, seed=seed)

        try:
            out.mkdir(parents=True, exist_ok=True)
            files: dict[str, bytes] = {}
            for name in SPLITS:
                path = out / f"{name}.jsonl"
                write_jsonl(path, splits[name])
                files[name] = path.read_bytes()
            manifest = build_manifest(seed=seed, count=count, mix=mix, stats=stats, splits=splits, files=files)
            (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        except OSError as exc:
            raise CommandError(f"--out {out}: cannot write ({exc.strerror or exc})") from exc

        self.stdout.write(
            f"kept {stats.kept} of {count} sessions: {stats.exact_duplicates} exact and {stats.near_duplicates} near duplicates "
            f"removed (duplicate rate {stats.duplicate_rate:.1%})"
        )
        for name in SPLITS:
            per_class = ", ".join(f"{cls} {n}" for cls, n in manifest["splits"][name].items())
            self.stdout.write(f"  {name + '.jsonl':17} {len(splits[name]):6}  ({per_class})")
        self.stdout.write(
            f"{manifest['distinct_field_names']} distinct field names, {manifest['distinct_form_types']} form types; "
            f"manifest: {out / 'manifest.json'}"
        )
