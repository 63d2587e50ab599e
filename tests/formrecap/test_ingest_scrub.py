"""Values hidden in allowed strings (field names, the path, the visitor reference) are scrubbed, the batch kept."""

import json

import pytest

from formrecap.ingest.schema import parse_batch
from formrecap.ingest.scrub import holds_card_number
from tests.formrecap.test_ingest_schema import VALID


def batch_with(*, field: str = "email", path: str = "/signup", visitor: str | None = None):
    body = json.loads(json.dumps(VALID))
    body["events"] = [{"type": "focus", "field": field, "ts": 0}, {"type": "input", "field": field, "ts": 50}]
    body["form"]["path"] = path
    if visitor is not None:
        body["visitor"] = visitor
    return parse_batch(body, max_events=500)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("typedsecret_4111111111111111", "typedsecret_redacted"),
        ("card 4111 1111 1111 1111", "card_redacted"),
        ("phone-555-123-4567", "phone_redacted"),
        ("typedsecret4111111111111111", "typedsecretredacted"),
        ("4111111111111111", "redacted"),
        ("contact[jane.doe+x@example.co.uk]", "contact_redacted"),
        ("jane@example.com", "redacted"),
        # Structure stays: short numbers, and names that only mention e-mail.
        ("address_line_1", "address_line_1"),
        ("history[0][employer]", "history_0_employer"),
        ("field_12345678", "field_12345678"),
        ("emailAddress", "email_address"),
        ("typedsecret_redacted", "typedsecret_redacted"),
    ],
)
def test_value_like_parts_of_field_names_are_scrubbed(raw, stored):
    batch = batch_with(field=raw)
    assert [event["field"] for event in batch.events] == [stored, stored]


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("/thanks/jane@example.com", "/thanks/redacted"),
        ("/u/jane%40example.com/edit", "/u/redacted/edit"),
        ("/pay/4111-1111-1111-1111", "/pay/redacted"),
        ("/call/555%20123%204567", "/call/redacted"),
        ("/orders/12345/step/2", "/orders/12345/step/2"),
        ("/blog/2024/05/post", "/blog/2024/05/post"),
    ],
)
def test_value_like_parts_of_the_path_are_scrubbed(raw, stored):
    assert batch_with(path=raw).path == stored


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("typed_4111111111111111", "typed_redacted"), ("checkout-555-123-4567", "checkout-redacted"), ("signup", "signup")],
)
def test_value_like_parts_of_the_form_id_are_scrubbed(raw, stored):
    body = json.loads(json.dumps(VALID))
    body["form"]["id"] = raw
    assert parse_batch(body, max_events=500).form_id == stored


@pytest.mark.parametrize(
    ("visitor", "stored"),
    [
        ("4111 1111 1111 1111", None),
        ("card:4111111111111111", None),
        ("jane@example.com", "jane@example.com"),  # the site's own reference: e-mail outreach needs it
        ("crm-123", "crm-123"),
        ("4111111111111112", "4111111111111112"),  # fails the Luhn check: an id, not a card
    ],
)
def test_a_visitor_reference_holding_a_card_number_is_dropped(visitor, stored):
    assert batch_with(visitor=visitor).visitor == stored


def test_card_numbers_are_found_with_separators_only_when_luhn_valid():
    assert holds_card_number("5555-5555-5555-4444")
    assert not holds_card_number("order 123456789012")
    assert not holds_card_number("41111111111111111111111")  # 23 digits: no card
