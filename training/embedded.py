"""Training the embedded model: simulate → dedup → split → features → logistic regression → temperature.

    python manage.py train_embedded --count 12000 --seed 7

Each simulated session is learned from twice, as raw events (with timing features) and as
its terse trace (without), so the model reads both forms the same way. Same seed, same
model and metrics: the simulator, the split and lbfgs are all deterministic.
"""

import hashlib
import json
import platform
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

from classifier.embedded_model import EmbeddedModel
from classifier.features import features_matrix
from classifier.labels import CLASS_CODES
from classifier.trace import Trace, parse_trace, trace_from_input

from .calibration import calibrated_probabilities, fit_temperature
from .datasets import deduplicate, read_jsonl, stratified_split
from .evaluation import evaluate_probabilities
from .simulator import GENERATOR_VERSION, simulate_sessions
from .simulator.behaviours import TIMING_ONLY_VARIANTS
from .simulator.core import BALANCED_MIX

MODEL_NAME = "embedded-lr"
DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass
class EmbeddedConfig:
    count: int = 12_000  # sessions simulated; ~1-2% are dropped as duplicates, 80/10/10 split
    seed: int = 7
    # Inverse L2 strength. Lower keeps weights (and so confidence) moderate on cases unlike training.
    regularisation_c: float = 0.5
    # Share of human training traces also seen without their plain blurs, as some writers omit them.
    blur_dropout: float = 0.15
    mix: dict = field(default_factory=lambda: dict(BALANCED_MIX))
    # Sessions recorded in real Chromium on the validation split's forms (another seed): what browsers send that the
    # simulator does not (a refused script's tab left open, paced scripts, focus scrolls), learnt at this share of
    # the training weight. Never a form of the dev or test split (refused).
    browser_train: str | None = str(DATA_DIR / "browser" / "train.jsonl")
    browser_train_share: float = 0.1  # on the dev sets 0.1-0.3 tie on browser dev; 0.1 keeps opaque hand-written best
    # Sessions recorded in real Chromium (training/browser) weigh this share of the calibration, so confidence is
    # fitted to what browsers send too; never trained on. Not more: the recorded split is small (tens of
    # sessions), and at an equal share its few confident errors set T for everything (1.8 → hand-written ECE 0.04).
    browser_validation: str | None = str(DATA_DIR / "browser" / "validation.jsonl")
    browser_share: float = 0.25
    # Reported only: recorded on forms the validation split never saw.
    browser_dev: str | None = str(DATA_DIR / "browser" / "dev.jsonl")
    # Held out (the promotion gate's browser_test set): read here only to refuse training on its forms.
    browser_test: str | None = str(DATA_DIR / "browser" / "test.jsonl")


@dataclass
class TrainedEmbedded:
    model: EmbeddedModel
    metrics: dict
    manifest: dict
    config: EmbeddedConfig
    seconds: float = 0.0


def _without_plain_blurs(trace: Trace) -> Trace:
    return Trace(tuple(t for t in trace.tokens if not (t.kind == "blur" and not t.reason)), None, trace.kinds)


def _views(records: list[dict], *, rng: random.Random | None = None, blur_dropout: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Raw and terse views of every record (plus blur-less terse views for a share of human sessions)."""
    traces: list[Trace] = []
    labels: list[int] = []
    for record in records:
        raw = trace_from_input(record["events"])
        terse = parse_trace(record["trace"])
        # A bot that only timing gives away looks human as a terse trace: learn it from its raw form only.
        views = [raw] if record.get("variant") in TIMING_ONLY_VARIANTS else [raw, terse]
        traces += views
        labels += [record["label"]] * len(views)
        if rng is not None and record["label"] != 5 and rng.random() < blur_dropout:
            traces.append(_without_plain_blurs(terse))
            labels.append(record["label"])
    return features_matrix(traces), np.asarray(labels)


MIN_COUNT = 300  # below this some class has no validation or test example


class EmbeddedConfigError(ValueError):
    """A configuration that cannot train a usable model; the message says why."""


def _validate(config: EmbeddedConfig) -> None:
    if config.count < MIN_COUNT:
        raise EmbeddedConfigError(f"count must be at least {MIN_COUNT} sessions, got {config.count}")
    if not (np.isfinite(config.regularisation_c) and config.regularisation_c > 0):
        raise EmbeddedConfigError(f"regularisation C must be a positive number, got {config.regularisation_c}")
    if set(int(code) for code, weight in config.mix.items() if weight > 0) != set(CLASS_CODES):
        raise EmbeddedConfigError("the class mix must give every one of the six classes a positive weight")
    for name in ("browser_share", "browser_train_share"):
        if not 0 <= getattr(config, name) < 1:
            raise EmbeddedConfigError(f"{name} must be at least 0 and below 1, got {getattr(config, name)}")
    taught = _forms(config.browser_train)
    for name in ("browser_dev", "browser_test"):
        if overlap := taught & _forms(getattr(config, name)):
            raise EmbeddedConfigError(
                f"{config.browser_train} holds sessions on {', '.join(sorted(overlap))}, a form of the {name} split: "
                "a model would be judged on forms it was trained on"
            )


def train_embedded(config: EmbeddedConfig) -> TrainedEmbedded:
    _validate(config)
    started = time.monotonic()
    records = [
        s.as_record() for s in simulate_sessions(config.count, seed=config.seed, mix={int(k): v for k, v in config.mix.items()})
    ]
    kept, dedup_stats = deduplicate(records)
    splits = stratified_split(kept, seed=config.seed)

    x_train, y_train = _views(splits["train"], rng=random.Random(config.seed), blur_dropout=config.blur_dropout)
    train_weights = np.ones(len(y_train))
    browser_train = _recorded(config.browser_train)
    if browser_train is not None:
        x_train, y_train, train_weights = _with_share(x_train, y_train, train_weights, *browser_train, config.browser_train_share)
    mean = x_train.mean(axis=0)
    scale = x_train.std(axis=0)
    scale[scale == 0] = 1.0
    classifier = LogisticRegression(C=config.regularisation_c, max_iter=5000)
    classifier.fit((x_train - mean) / scale, y_train, sample_weight=train_weights)
    if tuple(classifier.classes_) != CLASS_CODES:  # a row per class code, 1..6, or every prediction is misread
        raise EmbeddedConfigError(f"training data lacks classes: got {tuple(classifier.classes_)}")
    model = EmbeddedModel(mean, scale, classifier.coef_.copy(), classifier.intercept_.copy(), 1.0)

    x_val, y_val = _views(splits["validation"])
    browser_val = _recorded(config.browser_validation)
    x_cal, y_cal, weights = x_val, y_val, np.ones(len(y_val))
    if browser_val is not None:
        x_cal, y_cal, weights = _with_share(x_val, y_val, weights, *browser_val, config.browser_share)
    temperature = fit_temperature(model.logits(x_cal), y_cal - 1, weights)
    model = model.with_temperature(temperature)

    metrics = {"temperature": temperature, "validation": _evaluate(model, x_val, y_val)}
    if browser_val is not None:
        metrics["validation_browser"] = _evaluate(model, *browser_val)
    if (browser_dev := _recorded(config.browser_dev)) is not None:
        metrics["dev_browser"] = _evaluate(model, *browser_dev)
    for view in ("raw", "terse"):
        x_test, y_test = _single_view(splits["test"], view)
        metrics[f"test_{view}"] = _evaluate(model, x_test, y_test)
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "seed": config.seed,
        "count": config.count,
        "dedup": dedup_stats.as_dict(),
        "splits": {name: _class_counts(part) for name, part in splits.items()},
        "content_hash": _content_hash(kept),
        "recorded": {
            "train": {"sessions": 0 if browser_train is None else len(browser_train[1]), "share": config.browser_train_share},
            "validation": {"sessions": 0 if browser_val is None else len(browser_val[1]), "share": config.browser_share},
        },
        "packages": {"python": platform.python_version(), "numpy": np.__version__, "scikit-learn": sklearn.__version__},
    }
    # Kept apart from metrics and manifest, which the seed determines exactly.
    return TrainedEmbedded(model, metrics, manifest, config, seconds=round(time.monotonic() - started, 1))


def _with_share(x, y, weights, x_more, y_more, share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows appended so that together they weigh ``share`` of the total weight."""
    more = np.full(len(y_more), share / (1 - share) * weights.sum() / len(y_more))
    return np.vstack([x, x_more]), np.concatenate([y, y_more]), np.concatenate([weights, more])


def _recorded(path: str | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(features, labels) of a recorded JSONL file, or None when there is none (a trimmed checkout)."""
    if not path or not Path(path).is_file():
        return None
    records = list(read_jsonl(Path(path)))
    if not records:
        return None
    return features_matrix([trace_from_input(r["events"]) for r in records]), np.asarray([r["label"] for r in records])


def _forms(path: str | None) -> set[str]:
    if not path or not Path(path).is_file():
        return set()
    return {str(record["form"]) for record in read_jsonl(Path(path)) if record.get("form")}


def _single_view(records: list[dict], view: str) -> tuple[np.ndarray, np.ndarray]:
    if view == "terse":  # the bots only raw timing reveals are judged on their raw form (test_raw)
        records = [r for r in records if r.get("variant") not in TIMING_ONLY_VARIANTS]
    traces = [trace_from_input(r["events"]) if view == "raw" else parse_trace(r["trace"]) for r in records]
    return features_matrix(traces), np.asarray([r["label"] for r in records])


def _evaluate(model: EmbeddedModel, features: np.ndarray, labels: np.ndarray) -> dict:
    probabilities = calibrated_probabilities(model.logits(features), model.temperature)
    summary = evaluate_probabilities(labels, probabilities)
    return {k: summary[k] for k in ("n", "accuracy", "macro_f1", "macro_f1_ci95", "ece", "brier", "mean_confidence")}


def evaluate_labelled_file(model: EmbeddedModel, path: Path) -> dict:
    """Metrics on a hand-labelled JSONL file (``events`` + ``label``): reported, never trained or tuned on."""
    records = list(read_jsonl(path))
    features = features_matrix([trace_from_input(r["events"]) for r in records])
    return evaluate_probabilities(np.asarray([r["label"] for r in records]), model.probabilities(features))


def _class_counts(records: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        counts[record["class"]] = counts.get(record["class"], 0) + 1
    return dict(sorted(counts.items()))


def _content_hash(records: list[dict]) -> str:
    digest = hashlib.sha256()
    for record in records:
        digest.update(record["trace"].encode())
        digest.update(str(record["label"]).encode())
    return digest.hexdigest()[:16]


def save_trained(trained: TrainedEmbedded, folder: Path) -> None:
    metadata = {
        "metrics": trained.metrics,
        "manifest": trained.manifest,
        "config": asdict(trained.config),
        "seconds": trained.seconds,
    }
    trained.model.save(folder, metadata=metadata)
    (folder / "manifest.json").write_text(json.dumps(trained.manifest, indent=2, sort_keys=True))


__all__ = ["EmbeddedConfig", "TrainedEmbedded", "train_embedded", "save_trained", "evaluate_labelled_file", "MODEL_NAME"]
