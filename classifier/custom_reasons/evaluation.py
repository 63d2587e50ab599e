"""Leave-one-out figures of custom reasons on a labelled file (``custom_reason`` per line): what
``manage.py evaluate_custom_reasons`` prints and the tests check, fitted exactly as a tenant's reasons are."""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..features import features_matrix
from ..trace import trace_from_input
from .prototypes import FittedReasons, ReasonExamples, fit
from .selectors import own_standardisation
from .vectors import field_names, names_vector


@dataclass(frozen=True)
class Evaluation:
    names: dict[int, str]  # reason id -> name
    fitted: FittedReasons
    loo_accuracy: float  # over every example, each held out of its own prototype
    none_read_as_none: tuple[int, int]  # (sessions with no custom reason read as none, how many there are)


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def evaluate_rows(rows: list[dict], *, mean=None, scale=None) -> Evaluation:
    """Fit the reasons the rows name (their parent is the row's class) and read the rows with none through them."""
    names = sorted({row["custom_reason"] for row in rows if row.get("custom_reason")})
    ids = {name: index for index, name in enumerate(names, 1)}
    examples = [row for row in rows if row.get("custom_reason")]
    traces = [trace_from_input(row["events"]) for row in examples]
    features = features_matrix(traces)
    if mean is None:
        mean, scale = own_standardisation(features)
    parents = {ids[row["custom_reason"]]: row["label"] for row in examples}
    fitted = fit(
        ReasonExamples(
            reason_ids=np.array([ids[row["custom_reason"]] for row in examples]),
            parents=parents,
            features=features,
            names=[names_vector(field_names(trace)) for trace in traces],
        ),
        mean=mean,
        scale=scale,
    )
    right = sum(f.loo_accuracy * f.examples for f in fitted.figures.values())
    total = sum(f.examples for f in fitted.figures.values())
    nones = [row for row in rows if not row.get("custom_reason")]
    read_none = 0
    for row in nones:
        trace = trace_from_input(row["events"])
        reason, _ = fitted.score(features_matrix([trace])[0], names_vector(field_names(trace)), row["label"])
        read_none += reason is None
    return Evaluation({v: k for k, v in ids.items()}, fitted, right / total, (read_none, len(nones)))
