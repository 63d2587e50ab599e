"""Field-name semantics generalise to names the simulator never used."""

import pytest

from classifier.lexicon import is_hard_reason, is_informational, is_requirement


@pytest.mark.parametrize(
    "name", ["monthly_fee_table", "plan_tiers", "shipping_rates", "customer_reviews", "promo_code", "return_policy"]
)
def test_informational(name):
    assert is_informational(name) and not is_requirement(name)


@pytest.mark.parametrize(
    "name", ["upload_w2", "cv", "proof_of_income", "accept_terms", "privacy_policy", "employer_name", "id_scan"]
)
def test_requirement(name):
    assert is_requirement(name) and not is_informational(name)


@pytest.mark.parametrize("name", ["email", "first_name", "card_number", "zip"])
def test_plain_fields(name):
    assert not is_informational(name) and not is_requirement(name)


def test_hard_reasons():
    assert is_hard_reason("already_registered") and is_hard_reason("username_taken") and not is_hard_reason("too_short")
