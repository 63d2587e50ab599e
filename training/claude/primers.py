"""Hand-written few-shot primers: four labelled sessions per class on varied forms, some of them borderline.

Two of them are shown per call, rotating, as examples of the answer format and of what a label means.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Primer:
    form_type: str
    trace: str
    cls: str
    reason: str
    confidence: float

    def as_answer(self) -> dict:
        return {"trace": self.trace, "class": self.cls, "reason": self.reason, "confidence": self.confidence}


PRIMERS: tuple[Primer, ...] = (
    # --- validation_error ---------------------------------------------------------------------
    Primer(
        "checkout",
        "focus:email, input:email(x18), blur:email, focus:full_name, input:full_name(x14), blur:full_name, "
        "focus:card_number, input:card_number(x16), blur:card_number(invalid_luhn), focus:card_number, "
        "input:card_number(x16), blur:card_number(invalid_luhn), scroll:page(1800ms), focus:card_number, "
        "input:card_number(x15), blur:card_number(invalid_luhn), exit",
        "validation_error",
        "Three card number attempts fail the Luhn check and the visitor never gets past that field.",
        0.92,
    ),
    Primer(
        "account_signup",
        "focus:email, input:email(x21), blur:email, focus:password, input:password(x6), blur:password(too_short), "
        "focus:password, input:password(x9), blur:password(missing_digit), focus:password, input:password(x11), "
        "blur:password(missing_symbol), scroll:page(1200ms), exit",
        "validation_error",
        "A cascade of password rules blocks the visitor, who gives up after the third failure.",
        0.88,
    ),
    Primer(
        "saas_trial",
        "focus:full_name, input:full_name(x13), blur:full_name, focus:work_email, input:work_email(x24), "
        "blur:work_email(already_registered), scroll:page(2600ms), exit",
        "validation_error",
        "A single hard failure (the email is already registered) ends an otherwise normal attempt.",
        0.7,
    ),
    Primer(
        "government_permit",
        "focus:legal_name, input:legal_name(x17), blur:legal_name, focus:date_of_birth, input:date_of_birth(x10), "
        "blur:date_of_birth, focus:postal_code, input:postal_code(x6), blur:postal_code(invalid_postcode), "
        "focus:postal_code, input:postal_code(x7), blur:postal_code(out_of_area), exit",
        "validation_error",
        "The postcode is refused twice for different reasons and the visitor stops there.",
        0.81,
    ),
    # --- distraction --------------------------------------------------------------------------
    Primer(
        "job_application",
        "focus:first_name, input:first_name(x6), blur:first_name, focus:last_name, input:last_name(x8), "
        "blur:last_name, focus:email, input:email(x19), blur:email, scroll:page(184000ms), exit",
        "distraction",
        "Three fields filled without errors, then three minutes of nothing before leaving.",
        0.86,
    ),
    Primer(
        "insurance_quote",
        "focus:first_name, input:first_name(x5), blur:first_name, focus:surname, input:surname(x9), blur:surname, "
        "focus:dob, input:dob(x10), blur:dob, focus:postcode, input:postcode(x6), blur:postcode, "
        "scroll:page(412000ms), focus:cover_level, blur:cover_level, scroll:page(95000ms), exit",
        "distraction",
        "Steady progress halfway through, a seven-minute gap, a brief return, then another long idle and exit.",
        0.83,
    ),
    Primer(
        "support_ticket",
        "focus:email, input:email(x16), blur:email, focus:subject, input:subject(x22), blur:subject, "
        "focus:issue_description, input:issue_description(x41), scroll:page(38000ms), exit",
        "distraction",
        "Fluent typing stops mid-message for about forty seconds and the visitor never resumes.",
        0.62,
    ),
    Primer(
        "hotel_booking",
        "focus:check_in_date, input:check_in_date(x10), blur:check_in_date, focus:check_out_date, "
        "input:check_out_date(x10), blur:check_out_date, focus:number_of_guests, input:number_of_guests, "
        "blur:number_of_guests, scroll:page(61000ms), scroll:page(540000ms), exit",
        "distraction",
        "The dates and guests are entered cleanly, then the tab sits idle for ten minutes.",
        0.84,
    ),
    # --- comparison_shopping ------------------------------------------------------------------
    Primer(
        "subscription_checkout",
        "scroll:page(2400ms), focus:plan_tiers, blur:plan_tiers, focus:annual_pricing, blur:annual_pricing, "
        "scroll:page(3100ms), focus:plan_features, blur:plan_features, focus:monthly_price, blur:monthly_price, "
        "focus:plan_tiers, blur:plan_tiers, exit",
        "comparison_shopping",
        "The visitor only inspects plans and prices, returning to the plan tiers before leaving.",
        0.87,
    ),
    Primer(
        "checkout",
        "focus:email, input:email(x20), blur:email, scroll:page(1500ms), focus:shipping_cost, blur:shipping_cost, "
        "focus:order_total, blur:order_total, focus:promo_code, input:promo_code(x8), blur:promo_code, "
        "focus:order_total, blur:order_total, scroll:page(4200ms), focus:return_policy, blur:return_policy, exit",
        "comparison_shopping",
        "After the email the visitor weighs shipping, a promo code and the total, twice, then leaves.",
        0.85,
    ),
    Primer(
        "hotel_booking",
        "focus:room_rates, blur:room_rates, scroll:page(5200ms), focus:reviews, blur:reviews, focus:nightly_rate, "
        "blur:nightly_rate, focus:refund_policy, blur:refund_policy, scroll:page(2900ms), focus:room_rates, "
        "blur:room_rates, exit",
        "comparison_shopping",
        "Rates, reviews and the refund policy are browsed without typing anything.",
        0.83,
    ),
    Primer(
        "saas_trial",
        "focus:full_name, input:full_name(x12), blur:full_name, focus:work_email, input:work_email(x22), "
        "blur:work_email, scroll:page(3800ms), focus:pricing_table, blur:pricing_table, focus:compare_plans, "
        "blur:compare_plans, scroll:page(6400ms), focus:pricing_table, blur:pricing_table, exit",
        "comparison_shopping",
        "Two fields typed, then the session turns into reading the pricing table and plan comparison.",
        0.66,
    ),
    # --- accidental_exit ----------------------------------------------------------------------
    Primer(
        "checkout",
        "focus:email, input:email(x17), blur:email, focus:full_name, input:full_name(x13), blur:full_name, "
        "focus:shipping_address, input:shipping_address(x27), blur:shipping_address, focus:city, input:city(x3), exit",
        "accidental_exit",
        "Fluent, error-free typing ends abruptly three keystrokes into the city field.",
        0.84,
    ),
    Primer(
        "b2b_lead",
        "focus:first_name, input:first_name(x5), blur:first_name, focus:last_name, input:last_name(x7), "
        "blur:last_name, focus:email, input:email(x23), blur:email, focus:company_name, input:company_name(x2), exit",
        "accidental_exit",
        "An engaged visitor is cut off two characters into the company name with no pause before.",
        0.8,
    ),
    Primer(
        "donation",
        "focus:donation_amount, input:donation_amount(x2), blur:donation_amount, focus:full_name, input:full_name(x4), exit",
        "accidental_exit",
        "A quick start on the amount and name stops mid-word, which looks like a misclick or closed tab.",
        0.58,
    ),
    Primer(
        "rental_application",
        "focus:full_name, input:full_name(x16), blur:full_name, focus:email, input:email(x22), blur:email, "
        "focus:phone, input:phone(x11), blur:phone, focus:move_in_date, input:move_in_date(x10), blur:move_in_date, "
        "scroll:page(900ms), focus:monthly_rent, input:monthly_rent(x4), blur:monthly_rent, focus:address, "
        "input:address(x6), exit",
        "accidental_exit",
        "Five fields filled without a hitch, then the session ends while the address is being typed.",
        0.82,
    ),
    # --- bot ----------------------------------------------------------------------------------
    Primer(
        "contact_us",
        "input:name, input:email, input:phone, input:message(x412), submit",
        "bot",
        "Values injected with no focus, blur or scroll, a 412-character burst in the message, then submit.",
        0.96,
    ),
    Primer(
        "account_signup",
        "focus:email, input:email(x24), focus:username, input:username(x10), focus:password, input:password(x14), "
        "focus:confirm_password, input:confirm_password(x14), submit",
        "bot",
        "Instant focus-input pairs in strict order with no blur or scroll, straight to submit.",
        0.9,
    ),
    Primer(
        "b2b_lead",
        "input:first_name, input:last_name, input:email, input:company, input:job_title, input:phone, "
        "input:comments(x280), submit",
        "bot",
        "Every field is filled by direct injection in form order and the form is submitted at once.",
        0.94,
    ),
    Primer(
        "event_registration",
        "focus:attendee_name, input:attendee_name(x11), focus:email, input:email(x30), focus:special_requests, "
        "input:special_requests(x650), exit",
        "bot",
        "Mechanical focus-input pairs and a 650-character burst, though it leaves instead of submitting.",
        0.7,
    ),
    # --- committed_leave ----------------------------------------------------------------------
    Primer(
        "loan_application",
        "scroll:page(2100ms), focus:annual_income, blur:annual_income, focus:employment_status, "
        "blur:employment_status, focus:bank_statement, blur:bank_statement, exit",
        "committed_leave",
        "The visitor looks at the income, employment and bank statement requirements and goes.",
        0.84,
    ),
    Primer(
        "job_application",
        "focus:first_name, input:first_name(x6), blur:first_name, scroll:page(1700ms), focus:resume_upload, "
        "blur:resume_upload, focus:references, blur:references, exit",
        "committed_leave",
        "One field typed, then the resume upload and references are enough to turn the visitor away.",
        0.78,
    ),
    Primer(
        "newsletter",
        "scroll:page(900ms), focus:email, blur:email, focus:privacy_policy, blur:privacy_policy, exit",
        "committed_leave",
        "A glance at the email field and the privacy policy, nothing typed, a quick exit.",
        0.68,
    ),
    Primer(
        "b2b_lead",
        "scroll:page(2600ms), focus:company_size, blur:company_size, focus:annual_revenue, blur:annual_revenue, "
        "scroll:page(1400ms), focus:gdpr_consent, blur:gdpr_consent, exit",
        "committed_leave",
        "Company size, revenue and consent are looked at without typing, then the visitor decides no.",
        0.8,
    ),
)
