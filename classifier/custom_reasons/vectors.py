"""What a custom reason is compared on: a session's trace features and the names of the fields it ended on.

Within one class, tenants' reasons differ mostly by *where* the visitor stopped (a coupon field, the health
questions), which the class features do not say; so a vector is the standardised features beside a bag of
character trigrams of the field names touched, later fields weighing more (``coupon``/``cupon``/``code_promo``
share trigrams across languages). Names only: field names are already scrubbed of anything value-like at ingest.
"""

import hashlib
from functools import lru_cache

import numpy as np

from ..trace import Trace

NAME_DIMENSIONS = 256
FEATURE_CLIP = 5.0
RECENT_FIELDS = 4  # the last fields touched weigh fully; earlier ones fade
EARLIER_WEIGHT = 0.35


def field_names(trace: Trace) -> list[str]:
    """The fields (and named regions) the visitor focused or typed in, in order of their first touch, most recent
    touch deciding order: the last one is where they stopped."""
    order: dict[str, int] = {}
    for position, token in enumerate(trace.tokens):
        touched = token.kind in ("focus", "input", "blur") or (token.kind == "scroll" and token.field != "page")
        if touched and token.field:
            order[token.field] = position
    return [name for name, _ in sorted(order.items(), key=lambda item: item[1])]


@lru_cache(maxsize=4096)
def _trigram_slots(name: str) -> tuple[int, ...]:
    padded = f"_{name.lower()}_"
    grams = {padded[i : i + 3] for i in range(len(padded) - 2)}
    return tuple(int.from_bytes(hashlib.blake2b(g.encode(), digest_size=4).digest(), "big") % NAME_DIMENSIONS for g in grams)


def names_vector(names: list[str]) -> np.ndarray:
    """Unit-length bag of hashed character trigrams of ``names``; the last RECENT_FIELDS weigh 1, earlier ones less."""
    vector = np.zeros(NAME_DIMENSIONS)
    for position, name in enumerate(reversed(names)):
        weight = 1.0 if position < RECENT_FIELDS else EARLIER_WEIGHT
        for slot in _trigram_slots(name):
            vector[slot] += weight
    norm = np.linalg.norm(vector)
    return vector / norm if norm else vector


def combined_vectors(features: np.ndarray, names: list[np.ndarray], *, mean, scale, name_weight: float) -> np.ndarray:
    """Rows of [standardised features / sqrt(F), name_weight × names vector]: both parts about unit length."""
    standard = np.clip((np.asarray(features, dtype=float) - mean) / scale, -FEATURE_CLIP, FEATURE_CLIP)
    standard /= np.sqrt(standard.shape[1])
    return np.hstack([standard, name_weight * np.vstack(names)])
