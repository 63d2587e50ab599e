"""Nearest-prototype custom reasons, fitted and judged by leave-one-out on a tenant's few examples.

Each reason's prototype is the mean vector of its examples (vectors.py). A session is compared with the reasons that
may apply (its class's, and those with no parent): the nearest prototype wins when the session is inside that
reason's distance threshold, else no reason. Scores are a softmax over ``-distance² / T`` with "none" standing at
the nearest reason's threshold, so a session on a threshold scores at most 0.5.

Everything that is chosen is chosen on leave-one-out folds (each example held out of its own prototype): the
weight of field names against trace features, each reason's threshold (its own held-out examples against every
other reason's examples, keeping at least MIN_RECALL of its own), and the temperature T (held-out log-loss of each
example among its class's reasons and "none"). Reasons of any class are judged among themselves on the folds,
while a reading also offers them beside its class's reasons: their figures can flatter them.
"""

from dataclasses import dataclass, field

import numpy as np

from .vectors import combined_vectors

MIN_EXAMPLES = 3
MIN_RECALL = 0.8
NAME_WEIGHTS = (0.0, 0.5, 1.0, 2.0, 4.0)
TEMPERATURES = tuple(np.geomspace(0.02, 50.0, 35))


@dataclass(frozen=True)
class ReasonExamples:
    """The examples of a tenant's reasons: one row per example session."""

    reason_ids: np.ndarray  # (n,) the reason each example shows
    parents: dict[int, int | None]  # reason id -> parent class code (None: any class)
    features: np.ndarray  # (n, F)
    names: list[np.ndarray]  # n name vectors


@dataclass(frozen=True)
class ReasonFigures:
    examples: int
    loo_accuracy: float  # share of its examples that, held out, come back as this reason
    confusion: dict[str, int]  # held-out examples read as a sibling (by id) or as "none"
    threshold: float


@dataclass
class FittedReasons:
    ids: np.ndarray  # (R,)
    parents: np.ndarray  # (R,) parent code, 0 for any class
    centroids: np.ndarray  # (R, D)
    thresholds: np.ndarray  # (R,)
    temperature: float
    name_weight: float
    mean: np.ndarray
    scale: np.ndarray
    figures: dict[int, ReasonFigures] = field(default_factory=dict)

    def score(self, features: np.ndarray, names: np.ndarray, parent_code: int) -> tuple[int | None, float]:
        """(best reason id or None, its score; for None, the score of "none") for one session of class parent_code."""
        candidates = np.flatnonzero((self.parents == parent_code) | (self.parents == 0))
        if not len(candidates):
            return None, 1.0
        vector = combined_vectors(features[None, :], [names], mean=self.mean, scale=self.scale, name_weight=self.name_weight)
        distances = np.linalg.norm(self.centroids[candidates] - vector, axis=1)
        best = int(np.argmin(distances))
        threshold = self.thresholds[candidates[best]]
        probabilities = _softmax_with_none(distances, threshold, self.temperature)
        if distances[best] >= threshold:
            return None, float(probabilities[-1])
        return int(self.ids[candidates[best]]), float(probabilities[best])


def fit(examples: ReasonExamples, *, mean: np.ndarray, scale: np.ndarray) -> FittedReasons | None:
    """Fit every reason with at least MIN_EXAMPLES examples; None when none has."""
    counts = {rid: int((examples.reason_ids == rid).sum()) for rid in examples.parents}
    ready = [rid for rid in sorted(examples.parents) if counts[rid] >= MIN_EXAMPLES]
    if not ready:
        return None
    keep = np.isin(examples.reason_ids, ready)
    labels = examples.reason_ids[keep]
    features = np.asarray(examples.features, dtype=float)[keep]
    names = [vector for vector, kept in zip(examples.names, keep, strict=True) if kept]
    parents = np.array([examples.parents[rid] or 0 for rid in ready])
    ids = np.array(ready)

    best = None
    for weight in NAME_WEIGHTS:  # the weight whose held-out nearest-prototype reading is right most often
        vectors = combined_vectors(features, names, mean=mean, scale=scale, name_weight=weight)
        distances = _held_out_distances(vectors, labels, ids)
        accuracy = _nearest_accuracy(distances, labels, ids, parents)
        if best is None or accuracy > best[0] + 1e-9:
            best = (accuracy, weight, vectors, distances)
    _, weight, vectors, distances = best
    thresholds = np.array([_threshold(distances[:, r], labels == rid) for r, rid in enumerate(ids)])
    temperature = _temperature(distances, thresholds, labels, ids, parents)
    centroids = np.vstack([vectors[labels == rid].mean(axis=0) for rid in ids])
    fitted = FittedReasons(ids, parents, centroids, thresholds, temperature, weight, mean, scale)
    fitted.figures = _figures(distances, labels, ids, parents, thresholds)
    return fitted


def _held_out_distances(vectors: np.ndarray, labels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """(n, R): each example's distance to each prototype, its own prototype computed without it."""
    distances = np.empty((len(vectors), len(ids)))
    for r, rid in enumerate(ids):
        members = labels == rid
        total, count = vectors[members].sum(axis=0), members.sum()
        centroid = total / count
        distances[:, r] = np.linalg.norm(vectors - centroid, axis=1)
        own = np.flatnonzero(members)
        held_out = (total - vectors[own]) / (count - 1)
        distances[own, r] = np.linalg.norm(vectors[own] - held_out, axis=1)
    return distances


def _candidates(parents: np.ndarray, parent: int) -> np.ndarray:
    return np.flatnonzero((parents == parent) | (parents == 0))


def _nearest_accuracy(distances, labels, ids, parents) -> float:
    index = {rid: r for r, rid in enumerate(ids)}
    right = 0
    for i, rid in enumerate(labels):
        candidates = _candidates(parents, parents[index[rid]])
        right += ids[candidates[np.argmin(distances[i, candidates])]] == rid
    return right / len(labels)


def _threshold(distances: np.ndarray, members: np.ndarray) -> float:
    """The distance that best tells this reason's held-out examples (inside) from every other example (outside),
    keeping at least MIN_RECALL of its own inside: a session was already read as the reason's class, so losing
    it to "none" costs more than a low-scored attribution. Highest balanced accuracy, ties to the larger cut;
    1.25 × the farthest member when nothing is outside."""
    inside, outside = distances[members], distances[~members]
    if not len(outside):
        return float(inside.max() * 1.25)
    cuts = np.unique(np.concatenate([inside, outside]))
    candidates = np.concatenate([(cuts[:-1] + cuts[1:]) / 2, [cuts[-1] * 1.05]])
    best_cut, best_score = candidates[-1], -1.0
    for cut in candidates:
        recall = (inside < cut).mean()
        if recall < MIN_RECALL:
            continue
        score = recall + (outside >= cut).mean()
        if score >= best_score - 1e-12:
            best_cut, best_score = cut, score
    return float(best_cut)


def _softmax_with_none(distances: np.ndarray, threshold: float, temperature: float) -> np.ndarray:
    """Over the candidates and "none" (last), "none" standing at the nearest prototype's threshold."""
    logits = np.append(-(distances**2), -(threshold**2)) / temperature
    logits -= logits.max()
    weights = np.exp(logits)
    return weights / weights.sum()


def _cases(distances, labels, ids, parents):
    """Held-out cases: (distances over a candidate set, index of the right answer, candidates): every example
    against its own class's reasons (sessions of another class never meet these reasons when read)."""
    index = {rid: r for r, rid in enumerate(ids)}
    cases = []
    for i, rid in enumerate(labels):
        own_parent = parents[index[rid]]
        candidates = _candidates(parents, int(own_parent))
        right = int(np.flatnonzero(ids[candidates] == rid)[0])
        cases.append((distances[i, candidates], right, candidates))
    return cases


def _temperature(distances, thresholds, labels, ids, parents) -> float:
    cases = _cases(distances, labels, ids, parents)
    losses = []
    for temperature in TEMPERATURES:
        loss = 0.0
        for case_distances, right, candidates in cases:
            threshold = thresholds[candidates[np.argmin(case_distances)]]
            probabilities = _softmax_with_none(case_distances, threshold, temperature)
            loss -= np.log(max(probabilities[right], 1e-12))  # right == -1 is "none", the last entry
        losses.append(loss)
    return float(TEMPERATURES[int(np.argmin(losses))])


def _figures(distances, labels, ids, parents, thresholds) -> dict[int, ReasonFigures]:
    index = {rid: r for r, rid in enumerate(ids)}
    figures = {}
    for r, rid in enumerate(ids):
        members = np.flatnonzero(labels == rid)
        candidates = _candidates(parents, parents[index[rid]])
        confusion: dict[str, int] = {}
        right = 0
        for i in members:
            nearest = candidates[np.argmin(distances[i, candidates])]
            read = "none" if distances[i, nearest] >= thresholds[nearest] else str(ids[nearest])
            if read == str(rid):
                right += 1
            else:
                confusion[read] = confusion.get(read, 0) + 1
        figures[int(rid)] = ReasonFigures(len(members), right / len(members), confusion, float(thresholds[r]))
    return figures
