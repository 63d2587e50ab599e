"""The held-out evaluation sets (FORMRECAP_HELD_OUT_SETS) and the metrics entries models keep for them.

Every entry records the set's name and the sha256 of the file it was measured on, so two models are only ever
compared on the same bytes: a set that was edited, or a different file under the same name, is another set.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from classifier.embedded_model import EmbeddedModel

from .embedded import evaluate_labelled_file

METRICS_KEY = "held_out"  # model_version.metrics["held_out"][set name] = entry
ENTRY_KEYS = ("n", "accuracy", "macro_f1", "macro_f1_ci95", "ece", "brier", "mean_confidence", "confusion_matrix")


@dataclass(frozen=True)
class HeldOutSet:
    name: str
    path: Path
    sha256: str

    @property
    def short(self) -> str:
        """The set as reasons and admin name it: ``hand_labelled (sha256 3f2a9c1b7d4e)``."""
        return f"{self.name} (sha256 {self.sha256[:12]})"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def held_out_sets_configured() -> dict[str, Path]:
    return {name: Path(path) for name, path in settings.FORMRECAP_HELD_OUT_SETS.items()}


def held_out_sets_available() -> list[HeldOutSet]:
    """The configured sets whose file exists here, fingerprinted now; a missing file is simply not available
    (a set someone has yet to write, or an image built without it)."""
    return [HeldOutSet(name, path, file_sha256(path)) for name, path in held_out_sets_configured().items() if path.is_file()]


def held_out_sets_missing() -> str:
    """The configured sets that are not there, for a reason line: ``hand_labelled (training/data/…)``."""
    missing = [f"{name} ({path})" for name, path in held_out_sets_configured().items() if not path.is_file()]
    return ", ".join(missing) or "none configured (FORMRECAP_HELD_OUT_SETS is empty)"


def held_out_entry(metrics: dict, held_out_set: HeldOutSet) -> dict:
    """What a model stores for a set: the headline metrics (training.evaluation) plus which file they are for."""
    return {key: metrics[key] for key in ENTRY_KEYS if key in metrics} | {
        "set": held_out_set.name,
        "sha256": held_out_set.sha256,
    }


def held_out_entries(metrics: dict | None) -> dict[str, dict]:
    """Every held-out entry a model has, by set name, whatever file it was measured on."""
    entries = (metrics or {}).get(METRICS_KEY)
    return entries if isinstance(entries, dict) else {}


def held_out_matching(metrics: dict | None, sets: Iterable[HeldOutSet]) -> dict[str, dict]:
    """The entries measured on exactly the files of ``sets`` (same name and sha256), by set name."""
    entries = held_out_entries(metrics)
    return {s.name: entries[s.name] for s in sets if (entries.get(s.name) or {}).get("sha256") == s.sha256}


def embedded_held_out_metrics(model: EmbeddedModel, sets: Iterable[HeldOutSet]) -> dict[str, dict]:
    """Entries of an embedded model on each set, computed now."""
    return {s.name: held_out_entry(evaluate_labelled_file(model, s.path), s) for s in sets}
