"""Opaque field names: a trace with every field and region name replaced by ``input_1``, ``input_2``, … as a form
builder would name them, to measure (and train against) a model's reliance on English field names.

Only names change: the events, their order, counts, reasons, durations and timing stay as they were. ``page`` in
``scroll:page(Nms)`` is the trace language's idle token, not a name, and stays.
"""

import dataclasses
from collections.abc import Mapping

from .trace import Token, Trace

IDLE_REGION = "page"
PREFIX = "input_"
_TOKENS_AND_TIMING = {"tokens", "timing"}


def opaque_mapping(trace: Trace) -> dict[str, str]:
    """Original name → ``input_N``, numbered by first appearance in the tokens, then in the trace's per-field data."""
    mapping: dict[str, str] = {}
    for name in (*_token_names(trace), *_keyed_names(trace)):
        if name not in mapping:
            mapping[name] = f"{PREFIX}{len(mapping) + 1}"
    return mapping


def opaque_names(trace: Trace) -> Trace:
    """The same trace with every name replaced (one name, one ``input_N``, everywhere in the trace)."""
    mapping = opaque_mapping(trace)
    tokens = tuple(_renamed_token(token, mapping) for token in trace.tokens)
    # Per-field data beside the tokens (e.g. the field kinds read from HTML) is keyed by name: rename its keys too.
    keyed = {f.name: _renamed_keys(getattr(trace, f.name), mapping) for f in _keyed_fields(trace)}
    return dataclasses.replace(trace, tokens=tokens, **keyed)


def _is_name(token: Token) -> bool:
    return token.field is not None and not (token.kind == "scroll" and token.field == IDLE_REGION)


def _token_names(trace: Trace) -> list[str]:
    return [token.field for token in trace.tokens if _is_name(token)]


def _renamed_token(token: Token, mapping: dict[str, str]) -> Token:
    return dataclasses.replace(token, field=mapping[token.field]) if _is_name(token) else token


def _keyed_fields(trace: Trace) -> list[dataclasses.Field]:
    """Trace fields besides tokens and timing that hold a value per field name: a mapping or (name, value) pairs."""
    return [f for f in dataclasses.fields(trace) if f.name not in _TOKENS_AND_TIMING and _keys(getattr(trace, f.name))]


def _keys(value) -> list[str] | None:
    if isinstance(value, Mapping):
        return [key for key in value if isinstance(key, str)] or None
    if isinstance(value, tuple | list) and all(isinstance(pair, tuple | list) and len(pair) == 2 for pair in value):
        return [pair[0] for pair in value if isinstance(pair[0], str)] or None
    return None


def _keyed_names(trace: Trace) -> list[str]:
    return [name for f in _keyed_fields(trace) for name in _keys(getattr(trace, f.name))]


def _renamed_keys(value, mapping: dict[str, str]):
    if isinstance(value, Mapping):
        return type(value)((mapping.get(key, key), item) for key, item in value.items())
    return type(value)((mapping.get(name, name), item) for name, item in value)
