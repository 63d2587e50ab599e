"""What a field name means, from its words: informational regions versus requirement-heavy asks.

Names are split into words at underscores; a word matches a stem when it starts with it and
is at most a few letters longer (``fees``, ``pricing``), so unseen names (``monthly_fee_table``,
``upload_w2``) land in the right group while ``feedback`` or ``special_requests`` do not.
A name that also names something to fill in (``shipping_address``, ``return_date``) is a field.
"""

import re
from functools import lru_cache

# Regions visitors evaluate rather than fill: prices, plans, costs, reviews, guarantees.
INFO_STEMS = (
    "price", "pric", "plan", "tier", "cost", "fee", "total", "shipping", "delivery", "postage", "review", "testimonial",
    "rating", "feature", "compare", "comparison", "warranty", "return", "refund", "coupon", "promo", "discount", "voucher",
    "gift", "rate", "apr", "interest", "quote", "premium", "summary", "guarantee", "badge", "installment", "instalment",
    "subscription", "package", "bundle", "faq", "specs", "specification", "cart", "savings", "deal", "offer", "competitor",
    "upgrade", "addon", "estimate", "breakdown", "tax", "billing", "membership", "pricing", "checkout", "deductible",
    "coverage", "excess", "payment", "option", "size", "chart", "details", "benefit", "perk", "trial",
)  # fmt: skip
# Asks that make visitors reconsider: documents, money, employment, legal consent.
REQUIREMENT_STEMS = (
    "upload", "resume", "document", "attachment", "passport", "licen", "income", "salary", "employ", "revenue", "terms",
    "privacy", "policy", "consent", "gdpr", "agreement", "agree", "ssn", "bank", "statement", "payslip", "paystub",
    "proof", "certificate", "credit", "reference", "transcript", "signature", "collateral", "cosigner", "background",
    "history", "headcount", "employees", "w2", "scan", "identity", "notar", "disclosure", "waiver", "cv", "tos", "file",
    "docs", "doc", "attach", "verification", "kyc", "guarantor",
)  # fmt: skip
REQUIREMENT_PAIRS = (
    ("social", "security"),
    ("company", "size"),
    ("team", "size"),
    ("tax", "return"),
    ("tax", "id"),
    ("id", "card"),
    ("id", "document"),
)
# Words that make a name something to fill in, whatever else it mentions.
FILLABLE_WORDS = frozenset(
    ("address", "street", "name", "email", "phone", "mobile", "date", "city", "zip", "postcode", "postal", "country")
    + ("state", "line", "first", "last", "username", "password")
)
# Failures that end an attempt at once: nothing to correct, the value is refused outright.
HARD_REASON_STEMS = ("taken", "registered", "exists", "in_use", "unavailable", "declined", "blocked", "duplicate", "not_allowed")
MAX_SUFFIX = 3

_WORDS = re.compile(r"[a-z]+|\d+")


def _words(field: str) -> list[str]:
    return _WORDS.findall(field)


def _matches(word: str, stems: tuple[str, ...]) -> bool:
    return any(word.startswith(stem) and len(word) - len(stem) <= MAX_SUFFIX for stem in stems)


@lru_cache(maxsize=8192)
def is_requirement(field: str) -> bool:
    words = _words(field)
    if any(a in words and b in words for a, b in REQUIREMENT_PAIRS):
        return True
    if any(_matches(w, ("return", "refund")) for w in words):
        return False
    return any(_matches(word, REQUIREMENT_STEMS) for word in words)


@lru_cache(maxsize=8192)
def is_informational(field: str) -> bool:
    if field == "page" or is_requirement(field):
        return False
    words = _words(field)
    if any(word in FILLABLE_WORDS for word in words) and not any(
        _matches(w, ("coupon", "promo", "discount", "voucher", "gift")) for w in words
    ):
        return False
    return any(_matches(word, INFO_STEMS) for word in words)


def is_hard_reason(reason: str) -> bool:
    return any(stem in reason for stem in HARD_REASON_STEMS)
