"""What a field name means, from its words: informational regions versus requirement-heavy asks.

Matched on word stems, not on a fixed list of names, so unseen names (``monthly_fee_table``,
``upload_w2``) still land in the right group.
"""

import re
from functools import lru_cache

# Regions visitors evaluate rather than fill: prices, plans, costs, reviews, guarantees.
INFO_STEMS = (
    "price", "pricing", "plan", "tier", "cost", "fee", "total", "shipping", "delivery", "postage", "review", "testimonial",
    "rating", "feature", "compare", "comparison", "warrant", "return", "refund", "coupon", "promo", "discount", "voucher",
    "gift", "rate", "apr", "interest", "quote", "premium", "summary", "guarantee", "badge", "installment", "instalment",
    "subscription", "package", "bundle", "faq", "spec", "cart", "checkout_summary", "savings", "deal", "offer", "competitor",
    "upgrade", "addon", "add_on", "estimate", "breakdown", "tax",
)  # fmt: skip
# Asks that make visitors reconsider: documents, money, employment, legal consent.
REQUIREMENT_STEMS = (
    "upload", "resume", "document", "attachment", "passport", "licen", "income", "salary", "employ", "revenue", "terms",
    "privacy", "policy", "consent", "gdpr", "agreement", "agree", "social_security", "ssn", "bank", "statement", "payslip",
    "pay_stub", "proof", "certificate", "credit_score", "reference", "transcript", "signature", "collateral", "cosigner",
    "co_signer", "background", "medical_history", "company_size", "employees", "headcount", "tax_return", "w2", "scan",
    "verification_document", "id_card", "identity", "notar", "disclosure", "waiver",
)  # fmt: skip
REQUIREMENT_WORDS = {"cv", "id", "file", "docs", "doc", "tos"}
# Failures that end an attempt at once: nothing to correct, the value is refused outright.
HARD_REASON_STEMS = ("taken", "registered", "exists", "in_use", "unavailable", "declined", "blocked", "duplicate", "not_allowed")

_WORDS = re.compile(r"[a-z]+|\d+")


@lru_cache(maxsize=4096)
def is_informational(field: str) -> bool:
    # "return_policy" is about returns (informational), "privacy_policy" a requirement.
    if field in ("page",):
        return False
    return any(stem in field for stem in INFO_STEMS) and not is_requirement(field)


@lru_cache(maxsize=4096)
def is_requirement(field: str) -> bool:
    if any(word in REQUIREMENT_WORDS for word in _WORDS.findall(field)):
        return True
    return any(stem in field for stem in REQUIREMENT_STEMS) and "return" not in field and "refund" not in field


def is_hard_reason(reason: str) -> bool:
    return any(stem in reason for stem in HARD_REASON_STEMS)
