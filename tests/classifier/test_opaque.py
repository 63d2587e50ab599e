"""Opaque names: every field and region renamed input_N by first appearance, consistently and totally; nothing else
about the trace changes."""

import dataclasses
import re

import pytest

from classifier.opaque import opaque_mapping, opaque_names
from classifier.trace import Trace, normalise_events, parse_trace, serialise_trace
from training.simulator import simulate_sessions

OPAQUE = re.compile(r"input_[0-9]+")


def test_names_are_numbered_by_first_appearance_and_page_stays():
    trace = parse_trace(
        "focus:email, input:email(x8), blur:email(invalid_format), scroll:page(2000ms), focus:pricing_table, "
        "blur:pricing_table, scroll:plan_tiers(800ms), focus:email, input:email(x9), blur:email(invalid_format), exit"
    )
    assert opaque_mapping(trace) == {"email": "input_1", "pricing_table": "input_2", "plan_tiers": "input_3"}
    assert serialise_trace(opaque_names(trace)) == (
        "focus:input_1, input:input_1(x8), blur:input_1(invalid_format), scroll:page(2000ms), focus:input_2, "
        "blur:input_2, scroll:input_3(800ms), focus:input_1, input:input_1(x9), blur:input_1(invalid_format), exit"
    )


def test_a_field_already_named_like_an_opaque_one_is_renamed_too():
    # input_2 first seen as the first name becomes input_1: no original name survives, so none can collide.
    trace = parse_trace("focus:input_2, blur:input_2, focus:input_1, blur:input_1, exit")
    assert serialise_trace(opaque_names(trace)) == "focus:input_1, blur:input_1, focus:input_2, blur:input_2, exit"


def _names(trace: Trace) -> list[str]:
    return [t.field for t in trace.tokens if t.field is not None and not (t.kind == "scroll" and t.field == "page")]


@pytest.mark.parametrize("form", ["raw", "terse"])
def test_renaming_is_total_consistent_and_changes_nothing_else(form):
    for session in simulate_sessions(60, seed=5):
        trace = normalise_events(session.events)
        trace = trace if form == "raw" else parse_trace(serialise_trace(trace))
        renamed = opaque_names(trace)
        mapping = opaque_mapping(trace)

        assert all(OPAQUE.fullmatch(name) for name in _names(renamed))  # total: no original name left
        assert sorted(mapping.values(), key=lambda n: int(n[6:])) == [f"input_{i}" for i in range(1, len(mapping) + 1)]
        assert [mapping[name] for name in _names(trace)] == _names(renamed)  # consistent: one name, one input_N
        assert len(set(mapping.values())) == len(mapping)  # two fields never merge into one
        strip = [dataclasses.replace(t, field=None) for t in trace.tokens]
        assert strip == [dataclasses.replace(t, field=None) for t in renamed.tokens]  # kinds, counts, reasons, durations
        assert renamed.timing == trace.timing
        assert parse_trace(serialise_trace(renamed)).tokens == renamed.tokens  # still a valid trace


@dataclasses.dataclass(frozen=True)
class _WithFieldData(Trace):
    """A trace carrying per-field data beside the tokens, in both shapes a Trace may use for it."""

    kind_map: dict = dataclasses.field(default_factory=dict)
    kind_pairs: tuple = ()


def test_per_field_data_beside_the_tokens_is_renamed_with_the_same_mapping():
    base = parse_trace("focus:email, input:email(x3), blur:email, focus:password, exit")
    trace = _WithFieldData(
        base.tokens, None, kind_map={"email": "email", "password": "password"}, kind_pairs=(("password", "password"),)
    )
    renamed = opaque_names(trace)
    assert renamed.kind_map == {"input_1": "email", "input_2": "password"}
    assert renamed.kind_pairs == (("input_2", "password"),)


def test_a_name_only_in_the_per_field_data_still_gets_an_opaque_name():
    # A kept tail (normalise_events keep_tail) can drop a field's tokens while its kind stays.
    trace = _WithFieldData(parse_trace("focus:email, exit").tokens, None, kind_map={"gone": "tel", "email": "email"})
    assert opaque_names(trace).kind_map == {"input_2": "tel", "input_1": "email"}


@pytest.mark.skipif("kinds" not in {f.name for f in dataclasses.fields(Trace)}, reason="traces carry no field kinds")
def test_field_kinds_read_from_raw_events_follow_their_fields():
    events = [
        {"type": "focus", "field": "work_email", "ts": 0, "kind": "email"},
        {"type": "input", "field": "work_email", "ts": 100},
        {"type": "blur", "field": "work_email", "ts": 300},
        {"type": "focus", "field": "phone", "ts": 900, "kind": "tel"},
        {"type": "exit", "ts": 1500},
    ]
    renamed = opaque_names(normalise_events(events))
    assert dict(renamed.kinds) == {"input_1": "email", "input_2": "tel"}
