"""Forms the simulator fills: field kinds, name variants, typical keystrokes and fitting validation reasons.

A form is a list of (kind, name) pairs; names are drawn from each kind's variants so the
same kind appears under many names across forms (email, work_email, contact_email …).
"""

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldKind:
    names: tuple[str, ...]
    keystrokes: tuple[int, int]  # typical range typed by a human filling it
    reasons: tuple[str, ...] = ()  # validation failures that fit the field
    hard_reasons: tuple[str, ...] = ()  # a single failure that ends the attempt (already registered …)


KINDS: dict[str, FieldKind] = {
    "email": FieldKind(
        (
            "email",
            "email_address",
            "work_email",
            "contact_email",
            "your_email",
            "business_email",
            "user_email",
            "login_email",
            "applicant_email",
            "patient_email",
            "guest_email",
            "billing_email",
            "e_mail",
            "email_confirm",
        ),
        (9, 32),
        ("invalid_format", "required", "invalid_domain", "mismatch"),
        ("already_registered", "taken"),
    ),
    "password": FieldKind(
        ("password", "new_password", "create_password", "account_password", "passcode", "choose_password", "pwd"),
        (7, 22),
        ("too_short", "missing_digit", "missing_uppercase", "missing_symbol", "too_weak", "required", "too_common"),
    ),
    "password_confirm": FieldKind(
        ("confirm_password", "password_confirmation", "repeat_password", "verify_password"), (7, 22), ("mismatch",)
    ),
    "username": FieldKind(
        ("username", "user_name", "handle", "display_name", "screen_name", "account_name"),
        (4, 16),
        ("too_short", "invalid_characters"),
        ("taken", "already_taken", "unavailable"),
    ),
    "first_name": FieldKind(
        ("first_name", "given_name", "fname", "forename", "patient_first_name", "applicant_first_name"), (3, 10), ("required",)
    ),
    "last_name": FieldKind(("last_name", "surname", "family_name", "lname", "patient_last_name"), (3, 12), ("required",)),
    "full_name": FieldKind(
        ("full_name", "name", "your_name", "contact_name", "cardholder_name", "guest_name", "attendee_name", "legal_name"),
        (6, 24),
        ("required", "too_short"),
    ),
    "phone": FieldKind(
        ("phone", "phone_number", "mobile", "mobile_number", "telephone", "contact_phone", "cell_phone", "daytime_phone"),
        (9, 15),
        ("invalid_format", "too_short", "invalid_country_code"),
    ),
    "street": FieldKind(
        (
            "street_address",
            "address",
            "address_line",
            "billing_address",
            "shipping_address",
            "home_address",
            "street",
            "mailing_address",
        ),
        (12, 38),
        ("required", "address_not_found"),
    ),
    "city": FieldKind(("city", "town", "billing_city", "shipping_city", "locality"), (4, 14), ("required",)),
    "postcode": FieldKind(
        ("zip", "zip_code", "postal_code", "postcode", "billing_zip", "shipping_postcode"),
        (4, 8),
        ("invalid_format", "invalid_postcode", "out_of_area"),
    ),
    "state": FieldKind(("state", "province", "region", "county", "state_province"), (1, 1), ("required",)),
    "country": FieldKind(
        ("country", "country_of_residence", "nationality", "billing_country"), (1, 1), ("required", "unsupported_country")
    ),
    "card_number": FieldKind(
        ("card_number", "credit_card", "cc_number", "card_no", "payment_card", "debit_card_number"),
        (15, 19),
        ("invalid_luhn", "invalid_format", "card_declined", "unsupported_card"),
    ),
    "card_expiry": FieldKind(
        ("expiry", "expiry_date", "card_expiry", "exp_date", "expiration", "valid_thru"),
        (4, 5),
        ("expired", "invalid_format", "invalid_date"),
    ),
    "cvv": FieldKind(
        ("cvv", "cvc", "security_code", "card_code", "cvv_code"), (3, 4), ("invalid_format", "too_short", "invalid_cvv")
    ),
    "date": FieldKind(
        (
            "date_of_birth",
            "dob",
            "birth_date",
            "birthday",
            "start_date",
            "check_in_date",
            "check_out_date",
            "travel_date",
            "appointment_date",
            "move_in_date",
            "event_date",
            "departure_date",
            "incident_date",
            "policy_start",
        ),
        (6, 10),
        ("invalid_date", "out_of_range", "in_the_past", "too_young", "invalid_format"),
    ),
    "amount": FieldKind(
        (
            "loan_amount",
            "amount",
            "donation_amount",
            "budget",
            "deposit",
            "coverage_amount",
            "quantity",
            "guests",
            "number_of_guests",
            "vehicle_value",
            "property_value",
            "down_payment",
            "monthly_rent",
        ),
        (1, 7),
        ("out_of_range", "too_low", "too_high", "invalid_number"),
    ),
    "message": FieldKind(
        (
            "message",
            "comments",
            "description",
            "cover_letter",
            "notes",
            "issue_description",
            "additional_info",
            "special_requests",
            "project_details",
            "feedback",
            "reason_for_visit",
            "symptoms",
            "question",
        ),
        (20, 260),
        ("too_short", "too_long", "required"),
    ),
    "subject": FieldKind(
        ("subject", "title", "topic", "order_number", "ticket_subject", "reference_number", "booking_reference"),
        (5, 30),
        ("required", "not_found", "invalid_format"),
    ),
    "company": FieldKind(
        ("company", "company_name", "organization", "business_name", "employer_name", "organisation", "school"),
        (4, 22),
        ("required",),
    ),
    "job_title": FieldKind(("job_title", "role", "position", "occupation", "title_role", "department"), (4, 20), ("required",)),
    "url": FieldKind(
        ("website", "linkedin_url", "portfolio_url", "company_website", "github_profile", "website_url"),
        (10, 34),
        ("invalid_url", "invalid_format"),
    ),
    "id_number": FieldKind(
        (
            "ssn",
            "social_security_number",
            "national_id",
            "passport_number",
            "tax_id",
            "drivers_license",
            "vat_number",
            "policy_number",
            "member_id",
            "insurance_id",
            "license_plate",
            "vin",
            "account_number",
            "routing_number",
            "iban",
        ),
        (6, 22),
        ("invalid_format", "invalid_checksum", "not_found", "mismatch"),
    ),
    "otp": FieldKind(
        ("verification_code", "otp", "sms_code", "one_time_code", "confirmation_code", "promo_pin"),
        (4, 6),
        ("invalid_code", "expired", "too_short"),
    ),
    "choice": FieldKind(
        (
            "plan_choice",
            "room_type",
            "gender",
            "marital_status",
            "vehicle_make",
            "vehicle_model",
            "ticket_type",
            "preferred_contact",
            "appointment_type",
            "cover_level",
            "property_type",
            "heard_about_us",
            "satisfaction",
            "rating_choice",
            "age_range",
            "industry",
            "team_size",
            "product",
            "category",
            "priority",
            "language",
            "time_slot",
            "seat_preference",
        ),
        (1, 2),
        ("required",),
    ),
    "checkbox": FieldKind(
        ("newsletter_opt_in", "marketing_consent", "remember_me", "save_card", "sms_opt_in", "same_as_billing"), (1, 1), ()
    ),
}

# Regions a visitor inspects rather than fills (comparison shopping looks at these).
INFO_REGIONS = (
    "pricing_table",
    "price_breakdown",
    "plan_tiers",
    "plan_comparison",
    "compare_plans",
    "shipping_cost",
    "shipping_options",
    "delivery_estimate",
    "delivery_fee",
    "order_total",
    "order_summary",
    "cart_total",
    "feature_list",
    "plan_features",
    "customer_reviews",
    "reviews",
    "testimonials",
    "ratings",
    "warranty_info",
    "return_policy",
    "refund_policy",
    "price_per_month",
    "annual_pricing",
    "monthly_price",
    "total_cost",
    "fees",
    "interest_rate",
    "apr_table",
    "premium_quote",
    "quote_summary",
    "room_rates",
    "nightly_rate",
    "ticket_prices",
    "membership_tiers",
    "coupon_code",
    "promo_code",
    "discount_code",
    "gift_card",
    "tax_estimate",
    "installment_options",
    "price_match",
    "competitor_comparison",
    "trust_badges",
    "money_back_guarantee",
)
# Regions named after the offer itself rather than its price: tiers, options, product pages.
OFF_LEXICON_REGIONS = (
    "basic", "pro", "enterprise", "starter", "business_tier", "gold_membership", "silver_membership", "platinum",
    "monthly_billing", "annual_billing", "size_chart", "product_details", "option_a", "option_b", "standard", "deluxe",
    "economy", "first_class", "family_pack", "single_room", "suite", "color_options", "model_comparison", "specs_table",
    "package_small", "package_large", "add_ons", "extras", "insurance_options", "cover_levels", "policy_excess",
)  # fmt: skip
PRICE_REGIONS = tuple(
    r for r in INFO_REGIONS if any(w in r for w in ("pric", "plan", "cost", "total", "fee", "rate", "quote", "premium", "tier"))
)
COUPON_FIELDS = ("coupon_code", "promo_code", "discount_code", "gift_card")

# Fields that ask a lot of the visitor (committed leavers look at these and go).
REQUIREMENT_FIELDS = (
    "resume_upload",
    "cv_upload",
    "upload_resume",
    "id_document",
    "proof_of_address",
    "upload_id",
    "passport_scan",
    "bank_statement",
    "payslip_upload",
    "annual_income",
    "monthly_income",
    "household_income",
    "employment_status",
    "employer",
    "years_employed",
    "company_size",
    "number_of_employees",
    "annual_revenue",
    "credit_score",
    "tax_return",
    "terms",
    "terms_and_conditions",
    "accept_terms",
    "privacy_policy",
    "consent",
    "data_processing_consent",
    "gdpr_consent",
    "medical_history",
    "insurance_card_upload",
    "references",
    "portfolio_upload",
    "transcript_upload",
    "background_check_consent",
    "ssn",
    "social_security_number",
    "co_signer",
    "collateral",
    "business_registration",
    "signature",
    "supporting_documents",
)

# Form types: ordered field kinds (with optional probability of appearing) plus extra fields that ask a lot.
FORM_TYPES: dict[str, dict] = {
    "account_signup": {
        "fields": ["email", "username?", "password", "password_confirm?", "first_name?", "last_name?", "checkbox?"],
        "extra": ["terms", "privacy_policy", "accept_terms"],
    },
    "saas_trial": {
        "fields": ["full_name", "email", "company", "job_title?", "phone?", "choice", "password"],
        "extra": ["company_size", "terms", "number_of_employees"],
    },
    "checkout": {
        "fields": ["email", "full_name", "street", "city", "postcode", "country?", "phone?", "card_number", "card_expiry", "cvv"],
        "extra": ["terms_and_conditions"],
    },
    "subscription_checkout": {
        "fields": ["email", "choice", "full_name", "card_number", "card_expiry", "cvv", "postcode"],
        "extra": ["terms"],
    },
    "job_application": {
        "fields": ["first_name", "last_name", "email", "phone", "url?", "job_title?", "message"],
        "extra": [
            "resume_upload",
            "cv_upload",
            "references",
            "portfolio_upload",
            "background_check_consent",
            "transcript_upload",
        ],
    },
    "loan_application": {
        "fields": ["full_name", "date", "email", "phone", "street", "amount", "id_number"],
        "extra": [
            "annual_income",
            "employment_status",
            "employer",
            "bank_statement",
            "payslip_upload",
            "years_employed",
            "credit_score",
            "co_signer",
            "collateral",
        ],
    },
    "insurance_quote": {
        "fields": ["first_name", "last_name", "date", "postcode", "choice", "amount?", "id_number?", "email", "phone?"],
        "extra": ["medical_history", "terms", "consent", "proof_of_address"],
    },
    "hotel_booking": {
        "fields": ["date", "date", "amount", "choice", "full_name", "email", "phone", "message?", "card_number?"],
        "extra": ["terms", "privacy_policy"],
    },
    "flight_booking": {
        "fields": ["date", "date?", "amount", "full_name", "date", "id_number", "email", "phone", "choice?"],
        "extra": ["passport_scan", "terms"],
    },
    "medical_intake": {
        "fields": ["first_name", "last_name", "date", "phone", "email?", "id_number", "message", "choice?"],
        "extra": ["medical_history", "insurance_card_upload", "consent", "data_processing_consent"],
    },
    "support_ticket": {
        "fields": ["full_name?", "email", "subject", "choice?", "message"],
        "extra": ["supporting_documents", "privacy_policy"],
    },
    "b2b_lead": {
        "fields": ["first_name", "last_name", "email", "company", "job_title", "phone?", "choice?", "message?"],
        "extra": ["company_size", "annual_revenue", "number_of_employees", "gdpr_consent"],
    },
    "survey": {"fields": ["choice", "choice", "choice?", "message", "choice?", "email?"], "extra": ["consent"]},
    "government_permit": {
        "fields": ["full_name", "date", "id_number", "street", "city", "postcode", "phone", "email", "message?"],
        "extra": ["proof_of_address", "id_document", "supporting_documents", "signature", "business_registration"],
    },
    "event_registration": {
        "fields": ["full_name", "email", "company?", "choice", "amount?", "phone?", "choice?"],
        "extra": ["terms", "marketing_consent"],
    },
    "newsletter": {"fields": ["email", "first_name?", "checkbox?"], "extra": ["privacy_policy", "consent"]},
    "password_reset": {"fields": ["email", "otp", "password", "password_confirm"], "extra": []},
    "rental_application": {
        "fields": ["full_name", "email", "phone", "date", "amount", "street", "id_number?"],
        "extra": ["monthly_income", "employer", "references", "bank_statement", "background_check_consent"],
    },
    "car_insurance": {
        "fields": ["full_name", "date", "id_number", "choice", "choice", "amount", "postcode", "email"],
        "extra": ["drivers_license", "terms"],
    },
    "donation": {"fields": ["amount", "full_name", "email", "street?", "card_number", "card_expiry", "cvv"], "extra": ["terms"]},
    "restaurant_reservation": {"fields": ["date", "choice", "amount", "full_name", "phone", "message?"], "extra": ["terms"]},
    "university_application": {
        "fields": ["first_name", "last_name", "date", "email", "phone", "company", "message"],
        "extra": ["transcript_upload", "references", "supporting_documents"],
    },
    "mortgage_calculator_lead": {
        "fields": ["amount", "amount", "postcode", "choice", "email", "phone?"],
        "extra": ["annual_income", "credit_score", "employment_status"],
    },
    "warranty_claim": {
        "fields": ["full_name", "email", "subject", "id_number", "date", "message"],
        "extra": ["supporting_documents", "proof_of_address"],
    },
    "contact_us": {"fields": ["full_name", "email", "phone?", "subject?", "message"], "extra": ["privacy_policy"]},
}

# Informational regions a form type is likely to show next to the form.
FORM_REGIONS: dict[str, tuple[str, ...]] = {
    "checkout": (
        "shipping_cost",
        "shipping_options",
        "delivery_estimate",
        "order_total",
        "order_summary",
        "cart_total",
        "tax_estimate",
        "return_policy",
        "coupon_code",
        "promo_code",
        "installment_options",
        "delivery_fee",
        "gift_card",
        "money_back_guarantee",
    ),
    "subscription_checkout": (
        "pricing_table",
        "plan_tiers",
        "plan_features",
        "annual_pricing",
        "monthly_price",
        "coupon_code",
        "refund_policy",
    ),
    "saas_trial": (
        "pricing_table",
        "plan_comparison",
        "compare_plans",
        "feature_list",
        "customer_reviews",
        "price_per_month",
        "testimonials",
    ),
    "hotel_booking": ("room_rates", "nightly_rate", "reviews", "ratings", "total_cost", "refund_policy", "fees", "price_match"),
    "flight_booking": ("ticket_prices", "fees", "total_cost", "refund_policy", "seat_prices", "price_breakdown"),
    "loan_application": ("interest_rate", "apr_table", "fees", "total_cost", "installment_options", "competitor_comparison"),
    "insurance_quote": (
        "premium_quote",
        "quote_summary",
        "plan_comparison",
        "customer_reviews",
        "warranty_info",
        "price_breakdown",
    ),
    "car_insurance": ("premium_quote", "quote_summary", "compare_plans", "customer_reviews", "fees"),
    "event_registration": ("ticket_prices", "membership_tiers", "promo_code", "refund_policy", "feature_list"),
    "donation": ("feature_list", "testimonials", "trust_badges"),
    "mortgage_calculator_lead": ("interest_rate", "apr_table", "monthly_price", "total_cost", "fees", "competitor_comparison"),
    "b2b_lead": ("pricing_table", "plan_tiers", "feature_list", "customer_reviews", "testimonials", "compare_plans"),
    "account_signup": ("pricing_table", "plan_tiers", "feature_list", "testimonials", "membership_tiers"),
}


def build_form(rng: random.Random, form_type: str) -> list[tuple[str, str]]:
    """Concrete (kind, field name) pairs for one visit, names unique within the form."""
    spec = FORM_TYPES[form_type]
    fields: list[tuple[str, str]] = []
    used: set[str] = set()
    for entry in spec["fields"]:
        kind = entry.rstrip("?")
        if entry.endswith("?") and rng.random() < 0.45:
            continue
        options = [n for n in KINDS[kind].names if n not in used]
        if not options:
            continue
        name = rng.choice(options)
        used.add(name)
        fields.append((kind, name))
    return fields


def regions_for(rng: random.Random, form_type: str) -> list[str]:
    pool = FORM_REGIONS.get(form_type) or rng.sample(INFO_REGIONS, 6)
    return rng.sample(pool, k=min(len(pool), rng.randint(2, 5)))


def requirement_fields_for(rng: random.Random, form_type: str) -> list[str]:
    pool = list(FORM_TYPES[form_type]["extra"]) or list(REQUIREMENT_FIELDS)
    if rng.random() < 0.3:
        pool += rng.sample(REQUIREMENT_FIELDS, 3)
    return rng.sample(pool, k=min(len(pool), rng.randint(1, 3)))
