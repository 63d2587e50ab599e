"""Realistic form pages for the browser recorder: real HTML semantics, the site's own validation, informational regions.

Each template is a form a real site would run (signup, checkout, job application, loan quote…): inputs with
their type, ``autocomplete`` token, ``required``, ``pattern``, ``minlength``, selects, textareas, dates, uploads,
checkboxes and radios; a site script that validates as real sites do (``setCustomValidity``, ``aria-invalid`` with
``data-formrecap-reason``, a Luhn check, password rules one after another, "already registered" on blur, postcode
by country, IBAN checksum, file type and size); and regions (prices, plans, shipping costs, reviews, terms) marked
with ``data-formrecap-field``. ``render_page`` writes one template under one naming scheme (``naming.py``) with
the repo's snippet installed.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .naming import LANGUAGES, Namer

# The site's "now" on Playwright's fake clock: card expiry, ages and earliest dates are judged against it.
CLOCK_START = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)

# Emails the site already knows (the "already registered" check); personas pick one to fail on purpose.
TAKEN_EMAILS = ("anna.schmidt@example.com", "j.martin@example.org", "maria.garcia@example.net", "tom.baker@example.com")


@dataclass(frozen=True)
class Field:
    concept: str
    label: str
    type: str = "text"  # an <input> type, or "select" / "textarea"
    required: bool = False
    autocomplete: str = ""
    check: str = ""  # the site script's rule (CHECKS in SITE_JS), space separated
    heavy: bool = False  # asks for commitment (an upload, income, employer, company size, terms): visitors weigh it
    compare: bool = False  # picks among priced options (plan, shipping, cover): what comparison shoppers toggle
    options: tuple[str, ...] = ()
    attrs: tuple[tuple[str, str], ...] = ()
    value: str = ""  # what a person types (values.py); defaults to the concept
    group: str | None = None  # a repeated section (employment history) and the entry's index
    index: int | None = None
    hint: str = ""

    @property
    def kind(self) -> str:
        return self.value or self.concept

    @property
    def typed(self) -> bool:
        return self.type not in ("select", "radio", "checkbox", "file")


@dataclass(frozen=True)
class Region:
    concept: str
    role: str  # price | trust | legal | info: what a visitor evaluates there
    title: str
    body: str
    control: str = ""  # a button or summary inside: clicking it focuses the region


@dataclass(frozen=True)
class Section:
    title: str
    items: tuple[Field | Region, ...]


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    brand: str
    title: str
    path: str
    root: str  # the bracketed scheme's object: user[email]
    sections: tuple[Section, ...]
    aside: tuple[Region, ...] = ()
    submit: str = "Submit"
    mode: str = "native"  # native: the browser's constraint validation; script: novalidate, the site checks on submit
    success: str = "navigate"  # navigate | call (formrecap.submitted) | remove (the app swaps the form out)
    style: str = "both"  # how the site marks failures: custom (setCustomValidity) | aria | both
    named: bool = True  # the site names its reasons in data-formrecap-reason
    country: str = "GB"
    footer_form: bool = False  # a newsletter form in the footer: a second form no persona uses
    coupon: bool = False  # an Apply button next to the coupon field

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(item for section in self.sections for item in section.items if isinstance(item, Field))

    @property
    def regions(self) -> tuple[Region, ...]:
        inline = tuple(item for section in self.sections for item in section.items if isinstance(item, Region))
        return inline + self.aside

    def regions_by(self, *roles: str) -> tuple[Region, ...]:
        return tuple(region for region in self.regions if region.role in roles)


def f(concept: str, label: str, type: str = "text", **kw) -> Field:
    attrs = kw.pop("attrs", {})
    options = tuple(kw.pop("options", ()))
    return Field(concept, label, type, options=options, attrs=tuple(attrs.items()), **kw)


def table(rows: list[tuple[str, ...]]) -> str:
    head, *body = rows
    cells = "".join(f"<th>{html.escape(c)}</th>" for c in head)
    lines = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{lines}</tbody></table>"


def reviews(*quotes: tuple[str, str, int]) -> str:
    return "".join(
        f"<blockquote>{'★' * stars}{'☆' * (5 - stars)} “{html.escape(q)}” <cite>— {who}</cite></blockquote>"
        for q, who, stars in quotes
    )


def prose(*paragraphs: str) -> str:
    return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


LEGAL = (
    "By continuing you agree that we process the data you give us to handle your request, as described in our privacy "
    "notice. You can withdraw consent at any time by writing to us.",
    "We keep your data only as long as needed for this purpose and for the periods the law requires. You have the right "
    "to access, correct and erase it, and to complain to the supervisory authority.",
)

COUNTRIES = ("United Kingdom", "Germany", "France", "Spain", "Portugal", "Italy", "Netherlands", "Ireland", "United States")
COUNTRY_CODES = ("GB", "DE", "FR", "ES", "PT", "IT", "NL", "IE", "US")

# ---------------------------------------------------------------------------------------------------------------
# The templates
# ---------------------------------------------------------------------------------------------------------------

SAAS_SIGNUP = Template(
    name="saas_signup",
    description="SaaS trial signup with password rules and plan tiers",
    brand="Cloudlyst",
    title="Start your 14-day free trial",
    path="/signup",
    root="user",
    mode="native",
    style="both",
    sections=(
        Section(
            "Choose a plan",
            (
                Region(
                    "plan_tiers",
                    "price",
                    "Plans",
                    table(
                        [
                            ("Plan", "Per user / month", "Projects", "Support"),
                            ("Starter", "€9", "5", "Email"),
                            ("Team", "€19", "Unlimited", "Chat"),
                            ("Business", "€39", "Unlimited", "Phone, SLA"),
                        ]
                    ),
                    control="Compare all features",
                ),
                f("plan", "Plan", "radio", options=("Starter", "Team", "Business"), required=True, compare=True),
            ),
        ),
        Section(
            "Your account",
            (
                f("full_name", "Full name", required=True, autocomplete="name"),
                f("work_email", "Work email", "email", required=True, autocomplete="email", check="taken", value="email"),
                f("company", "Company", autocomplete="organization"),
                f("team_size", "Team size", "select", options=("Just me", "2-10", "11-50", "51-200", "201+"), heavy=True),
                f(
                    "password",
                    "Password",
                    "password",
                    required=True,
                    autocomplete="new-password",
                    check="password",
                    hint="At least 10 characters with a number, a capital letter and a symbol.",
                ),
                f(
                    "password_confirm",
                    "Repeat password",
                    "password",
                    required=True,
                    autocomplete="new-password",
                    check="confirm",
                    value="password",
                ),
                f("terms", "I accept the terms of service", "checkbox", required=True, heavy=True),
                f("newsletter", "Send me product news", "checkbox"),
            ),
        ),
    ),
    aside=(
        Region(
            "feature_list",
            "info",
            "Everything in your trial",
            "<ul><li>Unlimited boards</li><li>Automations</li><li>SSO on Business</li><li>Cancel anytime</li></ul>",
        ),
        Region(
            "reviews",
            "trust",
            "What teams say",
            reviews(("Replaced three tools for us.", "Ines, product lead", 5), ("Setup took an afternoon.", "Mark, CTO", 4)),
        ),
        Region("terms_of_service", "legal", "Terms of service", prose(*LEGAL), control="Read the full terms"),
    ),
    submit="Create account",
)

SHOP_CHECKOUT = Template(
    name="shop_checkout",
    description="online shop checkout with shipping options, coupon and card (Luhn)",
    brand="Northwind Outfitters",
    title="Checkout",
    path="/checkout",
    root="order",
    mode="script",
    success="navigate",
    style="aria",
    coupon=True,
    footer_form=True,
    sections=(
        Section(
            "Contact",
            (f("email", "Email", "email", required=True, autocomplete="email"), f("newsletter", "Email me offers", "checkbox")),
        ),
        Section(
            "Shipping address",
            (
                f("first_name", "First name", required=True, autocomplete="given-name"),
                f("last_name", "Last name", required=True, autocomplete="family-name"),
                f("street", "Address", required=True, autocomplete="address-line1"),
                f("address_line2", "Apartment, suite (optional)", autocomplete="address-line2"),
                f("city", "City", required=True, autocomplete="address-level2"),
                f("country", "Country", "select", options=COUNTRIES, required=True, autocomplete="country-name"),
                f("postcode", "Postcode", required=True, autocomplete="postal-code", check="postcode"),
                f("phone", "Phone (for the courier)", "tel", autocomplete="tel", attrs={"pattern": r"[+0-9 ()\-]{7,20}"}),
            ),
        ),
        Section(
            "Delivery",
            (
                Region(
                    "shipping_costs",
                    "price",
                    "Shipping costs",
                    table(
                        [
                            ("Method", "Cost", "Arrives"),
                            ("Standard", "€4.95", "3-5 days"),
                            ("Express", "€9.95", "1-2 days"),
                            ("Next day", "€14.95", "tomorrow before 12:00"),
                        ]
                    ),
                    control="Delivery details",
                ),
                f(
                    "shipping_method",
                    "Shipping method",
                    "radio",
                    options=("Standard", "Express", "Next day"),
                    required=True,
                    compare=True,
                ),
            ),
        ),
        Section(
            "Payment",
            (
                f("coupon", "Discount code", autocomplete="off"),
                f("card_name", "Name on card", required=True, autocomplete="cc-name"),
                f(
                    "card_number",
                    "Card number",
                    required=True,
                    autocomplete="cc-number",
                    check="luhn",
                    attrs={"inputmode": "numeric"},
                ),
                f(
                    "card_expiry",
                    "Expiry (MM/YY)",
                    required=True,
                    autocomplete="cc-exp",
                    check="expiry",
                    attrs={"placeholder": "MM/YY"},
                ),
                f("card_cvc", "Security code", required=True, autocomplete="cc-csc", check="cvc", attrs={"inputmode": "numeric"}),
                f("billing_same", "Billing address same as shipping", "checkbox"),
            ),
        ),
    ),
    aside=(
        Region(
            "order_summary",
            "price",
            "Your order",
            table([("Item", "Qty", "Price"), ("Trail jacket, M", "1", "€129.00"), ("Merino socks", "2", "€24.00")]),
        ),
        Region("order_total", "price", "Total", "<p>Subtotal €153.00 · Shipping from €4.95 · <strong>Total €157.95</strong></p>"),
        Region("returns_policy", "trust", "Free returns", prose("Return anything within 30 days, free of charge.")),
        Region(
            "reviews",
            "trust",
            "Rated 4.7/5",
            reviews(("Fast delivery and great fit.", "Sam", 5), ("Jacket ran a bit small.", "Lea", 3)),
        ),
    ),
    submit="Pay now",
)

JOB_APPLICATION = Template(
    name="job_application",
    description="job application with CV upload, cover letter and employment history",
    brand="Brightwave Labs",
    title="Apply: Senior Data Engineer",
    path="/careers/apply",
    root="applicant",
    mode="native",
    style="custom",
    sections=(
        Section(
            "The role",
            (
                Region(
                    "role_description",
                    "info",
                    "About the role",
                    prose("You will build and run our data platform.", "Hybrid, 3 days in our Lisbon office."),
                    control="Full job description",
                ),
                f(
                    "position",
                    "Position",
                    "select",
                    options=("Senior Data Engineer", "Data Engineer", "Analytics Engineer"),
                    required=True,
                ),
            ),
        ),
        Section(
            "About you",
            (
                f("first_name", "First name", required=True, autocomplete="given-name"),
                f("last_name", "Last name", required=True, autocomplete="family-name"),
                f("email", "Email", "email", required=True, autocomplete="email"),
                f("phone", "Phone", "tel", required=True, autocomplete="tel", attrs={"pattern": r"\+?[0-9 ]{9,16}"}),
                f("linkedin", "LinkedIn profile", "url", autocomplete="url"),
            ),
        ),
        Section(
            "Documents",
            (
                f(
                    "cv",
                    "CV (PDF or Word, max 2 MB)",
                    "file",
                    required=True,
                    heavy=True,
                    check="file",
                    attrs={"accept": ".pdf,.doc,.docx", "data-ext": "pdf,doc,docx", "data-max-bytes": "2000000"},
                ),
                f("cover_letter", "Cover letter", "textarea", attrs={"minlength": "80", "rows": "5"}),
            ),
        ),
        Section(
            "Employment history",
            (
                f("employer", "Most recent employer", required=True, heavy=True, group="history", index=0, value="employer"),
                f("role", "Your role", required=True, group="history", index=0, value="job_title"),
                f("period_start", "From", "month", required=True, group="history", index=0, value="month"),
                f("period_end", "To", "month", group="history", index=0, value="month"),
                f("employer", "Previous employer", heavy=True, group="history", index=1, value="employer"),
                f("role", "Your role", group="history", index=1, value="job_title"),
            ),
        ),
        Section(
            "Logistics",
            (
                f(
                    "salary_expectation",
                    "Salary expectation (€ / year)",
                    "number",
                    heavy=True,
                    attrs={"min": "20000", "max": "250000", "step": "1000"},
                ),
                f("notice_period", "Notice period", "select", options=("Immediately", "1 month", "2 months", "3 months")),
                f(
                    "work_permit",
                    "Do you have the right to work in Portugal?",
                    "radio",
                    options=("Yes", "No"),
                    required=True,
                    heavy=True,
                ),
                f("start_date", "Earliest start date", "date", attrs={"min": "2026-12-01"}),
                f("privacy_consent", "I agree to the processing of my data for this application", "checkbox", required=True),
            ),
        ),
    ),
    aside=(
        Region(
            "benefits", "info", "Benefits", "<ul><li>25 days holiday</li><li>Learning budget</li><li>Health insurance</li></ul>"
        ),
        Region("privacy_notice", "legal", "Applicant privacy notice", prose(*LEGAL), control="Read more"),
    ),
    submit="Send application",
)

LOAN_QUOTE = Template(
    name="loan_quote",
    description="personal loan quote with income, employer and IBAN",
    brand="Finora Bank",
    title="Get your personal loan quote",
    path="/loans/quote",
    root="application",
    mode="script",
    success="remove",
    style="both",
    sections=(
        Section(
            "Your loan",
            (
                f(
                    "loan_amount",
                    "How much would you like to borrow? (€)",
                    "number",
                    required=True,
                    attrs={"min": "1000", "max": "50000", "step": "100"},
                ),
                f(
                    "loan_term",
                    "Over how long?",
                    "select",
                    required=True,
                    options=("12 months", "24 months", "36 months", "48 months", "60 months", "84 months"),
                    compare=True,
                ),
                f(
                    "loan_purpose",
                    "What is it for?",
                    "select",
                    options=("Car", "Home improvement", "Debt consolidation", "Wedding", "Other"),
                ),
                Region(
                    "rates_table",
                    "price",
                    "Our rates",
                    table(
                        [
                            ("Amount", "Representative APR"),
                            ("€1,000-€7,499", "9.9%"),
                            ("€7,500-€25,000", "6.4%"),
                            ("€25,001-€50,000", "7.9%"),
                        ]
                    ),
                    control="How we set your rate",
                ),
                Region(
                    "representative_example",
                    "price",
                    "Representative example",
                    prose("Borrow €10,000 over 48 months at 6.4% APR: 48 payments of €236.18, total €11,336.64."),
                ),
            ),
        ),
        Section(
            "About you",
            (
                f("first_name", "First name", required=True, autocomplete="given-name"),
                f("last_name", "Last name", required=True, autocomplete="family-name"),
                f(
                    "date_of_birth",
                    "Date of birth",
                    "date",
                    required=True,
                    autocomplete="bday",
                    check="age",
                    attrs={"data-min-age": "18"},
                ),
                f("email", "Email", "email", required=True, autocomplete="email"),
                f("phone", "Mobile", "tel", required=True, autocomplete="tel", attrs={"pattern": r"\+?[0-9 ]{9,16}"}),
            ),
        ),
        Section(
            "Income and employment",
            (
                f(
                    "employment_status",
                    "Employment status",
                    "select",
                    required=True,
                    heavy=True,
                    options=("Employed full-time", "Employed part-time", "Self-employed", "Retired", "Student", "Not working"),
                ),
                f("employer", "Employer", heavy=True, autocomplete="organization"),
                f("employment_years", "Years with this employer", "number", heavy=True, attrs={"min": "0", "max": "60"}),
                f(
                    "annual_income",
                    "Annual income before tax (€)",
                    "number",
                    required=True,
                    heavy=True,
                    attrs={"min": "0", "step": "100"},
                ),
                f("monthly_rent", "Monthly rent or mortgage (€)", "number", attrs={"min": "0"}),
                f("iban", "IBAN for the payout", required=True, check="iban", heavy=True),
                f("credit_check_consent", "I agree to a credit check", "checkbox", required=True, heavy=True),
            ),
        ),
    ),
    aside=(
        Region("fees", "price", "Fees", prose("No arrangement fee. Early repayment: at most 1% of the amount repaid.")),
        Region(
            "credit_check_info",
            "legal",
            "About the credit check",
            prose("A quote is a soft search and does not affect your score."),
        ),
        Region("reviews", "trust", "Trustpilot 4.5", reviews(("Money arrived the next day.", "Paul", 5))),
    ),
    submit="Get my quote",
)

CAR_INSURANCE = Template(
    name="car_insurance_quote",
    description="car insurance quote with vehicle registration, licence and cover levels",
    brand="Shieldway",
    title="Car insurance quote",
    path="/car-insurance/quote",
    root="quote",
    mode="native",
    style="custom",
    sections=(
        Section(
            "Your car",
            (
                f(
                    "vehicle_reg",
                    "Registration number",
                    required=True,
                    attrs={"pattern": r"[A-Za-z]{2}[0-9]{2} ?[A-Za-z]{3}", "maxlength": "8"},
                ),
                f(
                    "vehicle_make",
                    "Make",
                    "select",
                    required=True,
                    options=("Ford", "Volkswagen", "Vauxhall", "BMW", "Toyota", "Kia", "Tesla", "Other"),
                ),
                f("vehicle_year", "Year of registration", "number", required=True, attrs={"min": "1990", "max": "2026"}),
                f(
                    "annual_mileage",
                    "Miles per year",
                    "number",
                    required=True,
                    attrs={"min": "500", "max": "60000", "step": "500"},
                ),
            ),
        ),
        Section(
            "Main driver",
            (
                f(
                    "date_of_birth",
                    "Date of birth",
                    "date",
                    required=True,
                    autocomplete="bday",
                    check="age",
                    attrs={"data-min-age": "17"},
                ),
                f("postcode", "Postcode where the car is kept", required=True, autocomplete="postal-code", check="postcode"),
                f("licence_years", "Years holding a full licence", "number", required=True, attrs={"min": "0", "max": "70"}),
                f("claims", "Claims in the last 5 years", "select", required=True, options=("None", "1", "2", "3 or more")),
            ),
        ),
        Section(
            "Cover",
            (
                Region(
                    "cover_comparison",
                    "price",
                    "Compare cover",
                    table(
                        [
                            ("", "Third party", "Third party, fire & theft", "Comprehensive"),
                            ("From / month", "£38", "£44", "£51"),
                            ("Courtesy car", "-", "-", "yes"),
                            ("Windscreen", "-", "-", "yes"),
                        ]
                    ),
                    control="What's covered",
                ),
                f(
                    "cover_level",
                    "Level of cover",
                    "radio",
                    required=True,
                    compare=True,
                    options=("Third party", "Third party, fire & theft", "Comprehensive"),
                ),
                Region(
                    "excess_table",
                    "price",
                    "Excess",
                    table([("Excess", "Voluntary", "Compulsory"), ("Standard", "£250", "£150")]),
                ),
                f("start_date", "Cover start date", "date", required=True, attrs={"min": "2026-12-01", "max": "2027-02-28"}),
                f("email", "Email for your quote", "email", required=True, autocomplete="email"),
                f("phone", "Phone", "tel", autocomplete="tel", attrs={"pattern": r"0[0-9 ]{9,12}"}),
            ),
        ),
    ),
    aside=(
        Region(
            "reviews",
            "trust",
            "Customers rate us 4.6",
            reviews(("Cheaper than my renewal.", "Dan", 5), ("Claim took weeks.", "Ola", 2)),
        ),
        Region("policy_terms", "legal", "Policy terms", prose(*LEGAL), control="Policy wording"),
    ),
    submit="Get my price",
)

B2B_DEMO = Template(
    name="b2b_demo_request",
    description="B2B demo request with company size, budget and business email",
    brand="Quanta Analytics",
    title="Book a demo",
    path="/demo",
    root="lead",
    mode="script",
    success="call",
    style="aria",
    sections=(
        Section(
            "Tell us about you",
            (
                f("first_name", "First name", required=True, autocomplete="given-name"),
                f("last_name", "Last name", required=True, autocomplete="family-name"),
                f("work_email", "Business email", "email", required=True, autocomplete="email", check="business", value="email"),
                f("company", "Company", required=True, autocomplete="organization"),
                f("job_title", "Job title", autocomplete="organization-title"),
                f(
                    "company_size",
                    "Company size",
                    "select",
                    required=True,
                    heavy=True,
                    options=("1-10", "11-50", "51-200", "201-1000", "1000+"),
                ),
                f(
                    "industry",
                    "Industry",
                    "select",
                    options=("Retail", "SaaS", "Finance", "Healthcare", "Manufacturing", "Other"),
                ),
                f("country", "Country", "select", required=True, options=COUNTRIES, autocomplete="country-name"),
                f("phone", "Phone", "tel", autocomplete="tel"),
                f(
                    "budget",
                    "Budget this year",
                    "select",
                    heavy=True,
                    options=("Under €10k", "€10k-€50k", "€50k-€200k", "Over €200k"),
                ),
                f("message", "What would you like to see?", "textarea", attrs={"rows": "4", "maxlength": "2000"}),
                f("consent", "Contact me about Quanta products", "checkbox", required=True),
            ),
        ),
    ),
    aside=(
        Region(
            "pricing_tiers",
            "price",
            "Pricing",
            table([("Tier", "Price"), ("Growth", "€1,200 / month"), ("Scale", "€3,900 / month"), ("Enterprise", "Talk to us")]),
            control="See full pricing",
        ),
        Region(
            "testimonials", "trust", "Trusted by 900 teams", reviews(("Cut our reporting time in half.", "Head of BI, Lumo", 5))
        ),
        Region("feature_list", "info", "What you get", "<ul><li>Live dashboards</li><li>Forecasting</li><li>SOC 2</li></ul>"),
        Region("privacy_policy", "legal", "Privacy", prose(LEGAL[0])),
    ),
    submit="Request demo",
)

CUSTOMER_SURVEY = Template(
    name="customer_survey",
    description="customer satisfaction survey with ratings and a prize draw",
    brand="Hearthstone Coffee",
    title="Tell us how we did",
    path="/survey",
    root="response",
    mode="native",
    style="custom",
    named=False,
    sections=(
        Section(
            "Your visit",
            (
                Region(
                    "survey_intro",
                    "info",
                    "Three minutes",
                    prose("Answer eight questions and enter our draw for a year of coffee."),
                ),
                f(
                    "visit_frequency",
                    "How often do you visit?",
                    "select",
                    required=True,
                    options=("First time", "Monthly", "Weekly", "Most days"),
                ),
                f("satisfaction", "How satisfied were you?", "radio", required=True, options=("1", "2", "3", "4", "5")),
                f(
                    "recommend_score",
                    "How likely are you to recommend us? (0-10)",
                    "number",
                    required=True,
                    attrs={"min": "0", "max": "10"},
                ),
                f(
                    "favourite_product",
                    "Favourite product",
                    "select",
                    options=("Flat white", "Filter", "Cold brew", "Pastries", "Other"),
                ),
                f("improvement", "What could we do better?", "textarea", attrs={"rows": "4"}),
                f("age_group", "Age group", "select", options=("Under 18", "18-24", "25-34", "35-44", "45-54", "55+")),
            ),
        ),
        Section(
            "Prize draw",
            (
                f("email", "Email (only for the draw)", "email", autocomplete="email"),
                f("prize_draw", "Enter me into the prize draw", "checkbox"),
                Region(
                    "prize_rules",
                    "legal",
                    "Draw rules",
                    prose("One entry per person. Winner drawn on 31 January."),
                    control="Full rules",
                ),
            ),
        ),
    ),
    submit="Send answers",
)

PARKING_PERMIT = Template(
    name="parking_permit",
    description="council residents' parking permit with ID, proof of address and vehicle documents",
    brand="City of Elmbridge",
    title="Apply for a residents' parking permit",
    path="/permits/parking",
    root="permit",
    mode="native",
    style="both",
    sections=(
        Section(
            "Permit",
            (
                f(
                    "permit_type",
                    "Permit type",
                    "select",
                    required=True,
                    options=("Resident (12 months)", "Resident (6 months)", "Visitor vouchers", "Carer"),
                ),
                Region(
                    "permit_fees",
                    "price",
                    "Fees",
                    table([("Permit", "First car", "Second car"), ("12 months", "£96", "£168"), ("6 months", "£54", "£90")]),
                ),
                Region(
                    "eligibility_rules",
                    "info",
                    "Who can apply",
                    prose("You must live in a controlled zone and the car must be registered at your address."),
                    control="Check eligibility",
                ),
            ),
        ),
        Section(
            "Applicant",
            (
                f("first_name", "First name", required=True, autocomplete="given-name"),
                f("last_name", "Last name", required=True, autocomplete="family-name"),
                f("date_of_birth", "Date of birth", "date", required=True, autocomplete="bday"),
                f(
                    "national_id",
                    "National Insurance number",
                    required=True,
                    heavy=True,
                    attrs={"pattern": r"[A-Za-z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-Da-d]"},
                ),
                f("street", "Address", required=True, autocomplete="address-line1"),
                f("postcode", "Postcode", required=True, autocomplete="postal-code", check="postcode"),
                f("city", "Town", required=True, autocomplete="address-level2"),
            ),
        ),
        Section(
            "Vehicle and documents",
            (
                f("vehicle_reg", "Vehicle registration", required=True, attrs={"pattern": r"[A-Za-z]{2}[0-9]{2} ?[A-Za-z]{3}"}),
                f("vehicle_make", "Make", "select", options=("Ford", "Volkswagen", "Vauxhall", "BMW", "Toyota", "Kia", "Other")),
                f(
                    "proof_of_address",
                    "Proof of address (council tax bill, PDF or photo)",
                    "file",
                    required=True,
                    heavy=True,
                    check="file",
                    attrs={"accept": ".pdf,.jpg,.jpeg,.png", "data-ext": "pdf,jpg,jpeg,png", "data-max-bytes": "5000000"},
                ),
                f(
                    "vehicle_document",
                    "Vehicle registration document (V5C)",
                    "file",
                    required=True,
                    heavy=True,
                    check="file",
                    attrs={"accept": ".pdf,.jpg,.jpeg,.png", "data-ext": "pdf,jpg,jpeg,png", "data-max-bytes": "5000000"},
                ),
                f("start_date", "Permit start date", "date", required=True, attrs={"min": "2026-12-01"}),
                f("declaration", "I declare the information is true", "checkbox", required=True, heavy=True),
            ),
        ),
    ),
    aside=(Region("data_protection", "legal", "How we use your data", prose(*LEGAL), control="Data protection notice"),),
    submit="Pay and apply",
)

HOTEL_BOOKING = Template(
    name="hotel_booking",
    description="hotel booking with dates, room types and a card guarantee",
    brand="Harbour Lights Hotel",
    title="Book your stay",
    path="/book",
    root="booking",
    mode="script",
    success="call",
    style="both",
    sections=(
        Section(
            "Your stay",
            (
                f("checkin", "Check-in", "date", required=True, attrs={"min": "2026-12-01"}),
                f(
                    "checkout",
                    "Check-out",
                    "date",
                    required=True,
                    check="after",
                    attrs={"min": "2026-12-02", "data-after": "checkin"},
                ),
                f("guests", "Guests", "select", required=True, options=("1", "2", "3", "4")),
                Region(
                    "room_rates",
                    "price",
                    "Rates per night",
                    table(
                        [
                            ("Room", "Flexible", "Non-refundable"),
                            ("Classic double", "€139", "€119"),
                            ("Sea view", "€179", "€155"),
                            ("Suite", "€260", "€229"),
                        ]
                    ),
                    control="Rate details",
                ),
                f("room_type", "Room", "radio", required=True, options=("Classic double", "Sea view", "Suite"), compare=True),
            ),
        ),
        Section(
            "Guest details",
            (
                f("first_name", "First name", required=True, autocomplete="given-name"),
                f("last_name", "Last name", required=True, autocomplete="family-name"),
                f("email", "Email", "email", required=True, autocomplete="email"),
                f("phone", "Phone", "tel", required=True, autocomplete="tel"),
                f(
                    "arrival_time",
                    "Estimated arrival",
                    "select",
                    options=("Before 15:00", "15:00-18:00", "18:00-21:00", "After 21:00"),
                ),
                f("special_requests", "Special requests", "textarea", attrs={"rows": "3"}),
            ),
        ),
        Section(
            "Guarantee",
            (
                Region(
                    "cancellation_policy",
                    "legal",
                    "Cancellation",
                    prose("Flexible rates: free cancellation until 48 hours before arrival."),
                    control="Full policy",
                ),
                f("card_number", "Card number (charged at the hotel)", required=True, autocomplete="cc-number", check="luhn"),
                f("card_expiry", "Expiry (MM/YY)", required=True, autocomplete="cc-exp", check="expiry"),
            ),
        ),
    ),
    aside=(
        Region(
            "guest_reviews",
            "trust",
            "Guests say",
            reviews(("Stunning view, tiny bathroom.", "Nora", 4), ("Best breakfast.", "Eli", 5)),
        ),
        Region("amenities", "info", "Amenities", "<ul><li>Spa</li><li>Free Wi-Fi</li><li>Parking €15/night</li></ul>"),
    ),
    submit="Book now",
)

NEWSLETTER = Template(
    name="newsletter_signup",
    description="newsletter signup with interests and frequency",
    brand="The Weekly Sprout",
    title="Get the Weekly Sprout",
    path="/newsletter",
    root="subscriber",
    mode="script",
    success="call",
    style="aria",
    sections=(
        Section(
            "Subscribe",
            (
                f("email", "Email", "email", required=True, autocomplete="email", check="taken"),
                f("first_name", "First name", autocomplete="given-name"),
                f("interests", "Topics", "checkbox", options=("Vegetables", "Fruit trees", "Balcony gardens", "Composting")),
                f("frequency", "How often?", "radio", options=("Weekly", "Monthly"), required=True),
                f("privacy_consent", "I agree to the privacy policy", "checkbox", required=True),
            ),
        ),
    ),
    aside=(
        Region(
            "sample_issue",
            "info",
            "Read a sample issue",
            prose("This week: winter salads and a worm bin in a flat."),
            control="Open sample",
        ),
        Region("subscriber_reviews", "trust", "Readers say", reviews(("The only newsletter I open.", "Rui", 5))),
        Region("privacy_policy", "legal", "Privacy policy", prose(LEGAL[0])),
    ),
    submit="Subscribe",
)

MEDICAL_INTAKE = Template(
    name="medical_intake",
    description="new patient intake with insurance, symptoms, ID upload and consent",
    brand="Riverside Clinic",
    title="New patient registration",
    path="/patients/new",
    root="patient",
    mode="native",
    style="both",
    sections=(
        Section(
            "Patient",
            (
                f("first_name", "First name", required=True, autocomplete="given-name"),
                f("last_name", "Last name", required=True, autocomplete="family-name"),
                f("date_of_birth", "Date of birth", "date", required=True, autocomplete="bday"),
                f("phone", "Phone", "tel", required=True, autocomplete="tel", attrs={"pattern": r"\+?[0-9 ]{9,16}"}),
                f("email", "Email", "email", autocomplete="email"),
            ),
        ),
        Section(
            "Insurance",
            (
                f(
                    "insurance_provider",
                    "Insurance",
                    "select",
                    required=True,
                    heavy=True,
                    options=("Public (NHS)", "Bupa", "AXA Health", "Vitality", "Self-pay"),
                ),
                f("insurance_number", "Membership number", heavy=True, attrs={"pattern": r"[A-Za-z0-9]{8,12}"}),
                Region(
                    "consultation_fees",
                    "price",
                    "Self-pay fees",
                    table([("Appointment", "Fee"), ("GP, 15 min", "£85"), ("GP, 30 min", "£140"), ("Blood test", "£60")]),
                ),
            ),
        ),
        Section(
            "Health",
            (
                f(
                    "visit_reason",
                    "Reason for your visit",
                    "select",
                    required=True,
                    options=("Check-up", "New symptoms", "Ongoing condition", "Prescription", "Other"),
                ),
                f("symptoms", "Describe your symptoms", "textarea", attrs={"rows": "4"}),
                f("medications", "Current medication", "textarea", attrs={"rows": "2"}),
                f("allergies", "Allergies"),
                f("emergency_name", "Emergency contact", required=True, value="full_name"),
                f("emergency_phone", "Emergency contact phone", "tel", required=True, value="phone"),
                f(
                    "id_document",
                    "Photo ID (passport or licence)",
                    "file",
                    required=True,
                    heavy=True,
                    check="file",
                    attrs={"accept": ".pdf,.jpg,.jpeg,.png", "data-ext": "pdf,jpg,jpeg,png", "data-max-bytes": "4000000"},
                ),
                f(
                    "treatment_consent",
                    "I consent to treatment and to the clinic's privacy notice",
                    "checkbox",
                    required=True,
                    heavy=True,
                ),
            ),
        ),
    ),
    aside=(
        Region("privacy_notice", "legal", "Privacy notice", prose(*LEGAL), control="Read the notice"),
        Region("clinic_info", "info", "Opening hours", prose("Mon-Fri 8:00-19:00, Sat 9:00-13:00.")),
    ),
    submit="Register",
)

RENTAL_APPLICATION = Template(
    name="rental_application",
    description="flat rental application with income, employer, payslip and ID upload",
    brand="Keystone Lettings",
    title="Apply for 14 Canal Street, Flat 3",
    path="/apply",
    root="tenant",
    mode="script",
    success="remove",
    style="custom",
    sections=(
        Section(
            "The flat",
            (
                Region(
                    "rent_breakdown",
                    "price",
                    "Rent",
                    table([("", "Per month"), ("Rent", "€1,450"), ("Service charge", "€85"), ("Parking (optional)", "€60")]),
                ),
                Region("deposit_info", "price", "Deposit", prose("Two months' rent (€2,900), held in a deposit scheme.")),
                Region(
                    "property_details",
                    "info",
                    "Details",
                    prose("2 bedrooms, 68 m², 3rd floor with lift, available from January."),
                    control="View floor plan",
                ),
            ),
        ),
        Section(
            "You",
            (
                f("first_name", "First name", required=True, autocomplete="given-name"),
                f("last_name", "Last name", required=True, autocomplete="family-name"),
                f("email", "Email", "email", required=True, autocomplete="email"),
                f("phone", "Phone", "tel", required=True, autocomplete="tel"),
                f(
                    "date_of_birth",
                    "Date of birth",
                    "date",
                    required=True,
                    autocomplete="bday",
                    check="age",
                    attrs={"data-min-age": "18"},
                ),
                f("current_address", "Current address", required=True, autocomplete="street-address", value="street"),
                f("move_in_date", "Move-in date", "date", required=True, attrs={"min": "2027-01-01"}),
            ),
        ),
        Section(
            "Income",
            (
                f(
                    "employment_status",
                    "Employment",
                    "select",
                    required=True,
                    heavy=True,
                    options=("Employed", "Self-employed", "Student", "Retired", "Other"),
                ),
                f("employer", "Employer", heavy=True, autocomplete="organization"),
                f("monthly_income", "Net monthly income (€)", "number", required=True, heavy=True, attrs={"min": "0"}),
                f(
                    "proof_of_income",
                    "Last three payslips (PDF)",
                    "file",
                    required=True,
                    heavy=True,
                    check="file",
                    attrs={"accept": ".pdf", "data-ext": "pdf", "data-max-bytes": "3000000"},
                ),
                f(
                    "id_document",
                    "Passport or ID card",
                    "file",
                    required=True,
                    heavy=True,
                    check="file",
                    attrs={"accept": ".pdf,.jpg,.png", "data-ext": "pdf,jpg,png", "data-max-bytes": "3000000"},
                ),
                f("guarantor", "Can you provide a guarantor?", "radio", options=("Yes", "No"), heavy=True),
                f("pets", "Pets?", "radio", options=("None", "Cat", "Dog", "Other")),
                f("references", "References (landlord, employer)", "textarea", attrs={"rows": "3"}),
            ),
        ),
    ),
    aside=(Region("tenancy_terms", "legal", "Tenancy terms", prose(*LEGAL), control="Read the terms"),),
    submit="Submit application",
)

EVENT_REGISTRATION = Template(
    name="event_registration",
    description="conference registration with ticket tiers, workshops and a promo code",
    brand="DevSummit 2027",
    title="Register for DevSummit 2027",
    path="/register",
    root="attendee",
    mode="native",
    style="both",
    coupon=True,
    sections=(
        Section(
            "Ticket",
            (
                Region(
                    "ticket_tiers",
                    "price",
                    "Tickets",
                    table(
                        [
                            ("Ticket", "Early bird", "Regular"),
                            ("Standard", "€349", "€449"),
                            ("Pro (workshops)", "€549", "€649"),
                            ("Student", "€99", "€99"),
                        ]
                    ),
                    control="What's included",
                ),
                f(
                    "ticket_type",
                    "Ticket",
                    "radio",
                    required=True,
                    options=("Standard", "Pro (workshops)", "Student"),
                    compare=True,
                ),
                f(
                    "workshop",
                    "Workshop (Pro only)",
                    "select",
                    options=("None", "Rust in production", "Kubernetes deep dive", "LLM evals"),
                ),
                f("promo_code", "Promo code", value="coupon"),
            ),
        ),
        Section(
            "Attendee",
            (
                f("first_name", "First name", required=True, autocomplete="given-name"),
                f("last_name", "Last name", required=True, autocomplete="family-name"),
                f("email", "Email", "email", required=True, autocomplete="email"),
                f("company", "Company", autocomplete="organization"),
                f("job_title", "Job title", autocomplete="organization-title"),
                f(
                    "dietary",
                    "Dietary requirements",
                    "select",
                    options=("None", "Vegetarian", "Vegan", "Gluten-free", "Halal", "Kosher"),
                ),
                f("tshirt_size", "T-shirt", "select", options=("XS", "S", "M", "L", "XL", "XXL")),
                f("terms", "I accept the code of conduct and terms", "checkbox", required=True),
            ),
        ),
    ),
    aside=(
        Region("agenda", "info", "Agenda", "<ul><li>Day 1: keynotes</li><li>Day 2: tracks</li><li>Day 3: workshops</li></ul>"),
        Region("speaker_lineup", "info", "Speakers", prose("40 speakers from 12 countries.")),
        Region("attendee_reviews", "trust", "Last year", reviews(("Best conference of my year.", "Priya", 5))),
        Region(
            "refund_policy", "legal", "Refunds", prose("Full refund until 30 days before the event."), control="Refund policy"
        ),
    ),
    submit="Register",
)

DONATION = Template(
    name="donation",
    description="charity donation with preset amounts, monthly giving and card",
    brand="Clearwater Trust",
    title="Give clean water",
    path="/donate",
    root="donor",
    mode="script",
    success="remove",
    style="aria",
    sections=(
        Section(
            "Your gift",
            (
                Region(
                    "donation_impact",
                    "price",
                    "What your gift does",
                    table(
                        [
                            ("Gift", "Provides"),
                            ("€15", "a family filter"),
                            ("€50", "a school tap for a month"),
                            ("€150", "a well repair"),
                        ]
                    ),
                ),
                f("donation_amount", "Amount", "radio", options=("€15", "€50", "€150", "Other"), required=True, compare=True),
                f("custom_amount", "Other amount (€)", "number", attrs={"min": "2", "step": "1"}),
                f("donation_frequency", "Frequency", "radio", options=("Once", "Monthly"), required=True, compare=True),
            ),
        ),
        Section(
            "Your details",
            (
                f("first_name", "First name", required=True, autocomplete="given-name"),
                f("last_name", "Last name", required=True, autocomplete="family-name"),
                f("email", "Email", "email", required=True, autocomplete="email"),
                f("street", "Address", autocomplete="address-line1"),
                f("postcode", "Postcode", autocomplete="postal-code", check="postcode"),
                f("gift_aid", "I'd like a tax receipt", "checkbox"),
                f("dedication", "Dedicate this gift (optional)", value="short_text"),
            ),
        ),
        Section(
            "Payment",
            (
                f("card_number", "Card number", required=True, autocomplete="cc-number", check="luhn"),
                f("card_expiry", "Expiry (MM/YY)", required=True, autocomplete="cc-exp", check="expiry"),
                f("card_cvc", "CVC", required=True, autocomplete="cc-csc", check="cvc"),
            ),
        ),
    ),
    aside=(
        Region("financial_transparency", "trust", "Where the money goes", prose("89p of every euro funds projects.")),
        Region("privacy_policy", "legal", "Privacy", prose(LEGAL[0]), control="Privacy policy"),
    ),
    submit="Donate",
)

ENERGY_SWITCH = Template(
    name="energy_switch",
    description="energy supplier switch with tariffs, meter number and IBAN direct debit",
    brand="Voltaro Energy",
    title="Switch to Voltaro",
    path="/switch",
    root="customer",
    mode="native",
    style="both",
    country="DE",
    sections=(
        Section(
            "Your tariff",
            (
                f("postcode", "Postcode", required=True, autocomplete="postal-code", check="postcode"),
                f(
                    "annual_usage",
                    "Annual usage (kWh)",
                    "number",
                    required=True,
                    attrs={"min": "500", "max": "20000", "step": "100"},
                ),
                Region(
                    "tariff_table",
                    "price",
                    "Tariffs",
                    table(
                        [
                            ("Tariff", "Price / kWh", "Base / month", "Term"),
                            ("Fix 24", "29.9 ct", "€11.90", "24 months"),
                            ("Flex", "31.4 ct", "€9.90", "monthly"),
                            ("Green 12", "30.8 ct", "€12.50", "12 months"),
                        ]
                    ),
                    control="Price details",
                ),
                f("tariff", "Tariff", "radio", required=True, options=("Fix 24", "Flex", "Green 12"), compare=True),
                Region(
                    "price_cap_info", "price", "Price guarantee", prose("Fix 24 guarantees your price per kWh for 24 months.")
                ),
            ),
        ),
        Section(
            "Supply address",
            (
                f("first_name", "First name", required=True, autocomplete="given-name"),
                f("last_name", "Last name", required=True, autocomplete="family-name"),
                f("email", "Email", "email", required=True, autocomplete="email"),
                f("phone", "Phone", "tel", autocomplete="tel"),
                f("street", "Street and number", required=True, autocomplete="address-line1"),
                f("meter_number", "Meter number", required=True, heavy=True, attrs={"pattern": r"[0-9A-Za-z]{8,14}"}),
                f("switch_date", "Preferred start", "date", attrs={"min": "2026-12-15"}),
            ),
        ),
        Section(
            "Payment",
            (
                f("iban", "IBAN (direct debit)", required=True, check="iban", heavy=True),
                f("payment_day", "Debit day", "select", options=("1st", "15th", "28th")),
                f("terms", "I accept the contract terms", "checkbox", required=True, heavy=True),
            ),
        ),
    ),
    aside=(
        Region(
            "customer_reviews",
            "trust",
            "Customer reviews",
            reviews(("Switch was painless.", "Jonas", 5), ("Hotline slow.", "Eva", 3)),
        ),
        Region("contract_terms", "legal", "Contract terms", prose(*LEGAL), control="Read the contract terms"),
    ),
    submit="Switch now",
)

COURSE_ENROLLMENT = Template(
    name="course_enrollment",
    description="online course enrolment with fees, payment plans and transcript upload",
    brand="Lumen Academy",
    title="Enrol: Data Analytics Certificate",
    path="/enrol",
    root="student",
    mode="script",
    success="call",
    style="both",
    coupon=True,
    sections=(
        Section(
            "Course",
            (
                f(
                    "course",
                    "Course",
                    "select",
                    required=True,
                    options=("Data Analytics Certificate", "UX Design", "Cloud Engineering"),
                ),
                f("intake", "Start", "select", required=True, options=("January 2027", "April 2027", "September 2027")),
                Region(
                    "course_fees",
                    "price",
                    "Fees",
                    table([("Option", "Price"), ("Pay upfront", "€3,600"), ("12 monthly payments", "€320 / month")]),
                ),
                f("payment_plan", "Payment", "radio", required=True, options=("Upfront", "Monthly"), compare=True),
                Region(
                    "payment_plans",
                    "price",
                    "Payment plans",
                    prose("0% interest. First payment on enrolment."),
                    control="Compare plans",
                ),
                f("promo_code", "Promo code", value="coupon"),
            ),
        ),
        Section(
            "Student",
            (
                f("first_name", "First name", required=True, autocomplete="given-name"),
                f("last_name", "Last name", required=True, autocomplete="family-name"),
                f("email", "Email", "email", required=True, autocomplete="email", check="taken"),
                f("phone", "Phone", "tel", autocomplete="tel"),
                f(
                    "education_level",
                    "Highest qualification",
                    "select",
                    required=True,
                    heavy=True,
                    options=("Secondary school", "Bachelor's", "Master's", "PhD", "Other"),
                ),
                f(
                    "transcript",
                    "Transcript or diploma (PDF)",
                    "file",
                    heavy=True,
                    check="file",
                    attrs={"accept": ".pdf", "data-ext": "pdf", "data-max-bytes": "4000000"},
                ),
                f("terms", "I accept the enrolment terms", "checkbox", required=True, heavy=True),
            ),
        ),
    ),
    aside=(
        Region(
            "syllabus", "info", "Syllabus", "<ol><li>Spreadsheets to SQL</li><li>Python for analysis</li><li>Dashboards</li></ol>"
        ),
        Region(
            "student_reviews",
            "trust",
            "Graduates",
            reviews(("Got a job two months after.", "Ana", 5), ("Heavy workload.", "Ben", 4)),
        ),
        Region("refund_policy", "legal", "Refunds", prose("Cancel within 14 days for a full refund."), control="Refund terms"),
    ),
    submit="Enrol now",
)

TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        SAAS_SIGNUP, SHOP_CHECKOUT, JOB_APPLICATION, LOAN_QUOTE, CAR_INSURANCE, B2B_DEMO, CUSTOMER_SURVEY, PARKING_PERMIT,
        HOTEL_BOOKING, NEWSLETTER, MEDICAL_INTAKE, RENTAL_APPLICATION, EVENT_REGISTRATION, DONATION, ENERGY_SWITCH,
        COURSE_ENROLLMENT,
    )
}  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# The site's own script: validation as real sites do it, and what happens on submit
# ---------------------------------------------------------------------------------------------------------------

SITE_JS = r"""
(() => {
  const CFG = __CFG__;
  const form = document.getElementById(CFG.form);
  const byName = (n) => form.elements.namedItem(n);
  const digits = (s) => s.replace(/\D/g, "");
  const luhn = (d) => { let sum = 0; for (let i = 0; i < d.length; i++) { let n = +d[d.length - 1 - i]; if (i % 2) { n *= 2; if (n > 9) n -= 9; } sum += n; } return sum % 10 === 0; };
  const ibanOk = (s) => {
    const v = s.replace(/\s+/g, "").toUpperCase();
    if (!/^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$/.test(v)) return false;
    let m = 0;
    for (const ch of (v.slice(4) + v.slice(0, 4)).replace(/[A-Z]/g, (c) => c.charCodeAt(0) - 55)) m = (m * 10 + +ch) % 97;
    return m === 1;
  };
  const age = (iso) => { const b = new Date(iso), n = new Date(); let a = n.getFullYear() - b.getFullYear();
    if (n.getMonth() < b.getMonth() || (n.getMonth() === b.getMonth() && n.getDate() < b.getDate())) a--; return a; };
  const POSTCODES = { GB: /^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$/i, DE: /^\d{5}$/, FR: /^\d{5}$/, ES: /^\d{5}$/, IT: /^\d{5}$/,
    NL: /^\d{4} ?[A-Z]{2}$/i, PT: /^\d{4}-\d{3}$/, IE: /^[A-Z]\d{2} ?[A-Z\d]{4}$/i, US: /^\d{5}(-\d{4})?$/ };
  const COUNTRY = { "United Kingdom": "GB", Germany: "DE", France: "FR", Spain: "ES", Portugal: "PT", Italy: "IT", Netherlands: "NL",
    Ireland: "IE", "United States": "US" };
  const CHECKS = {
    luhn: (el) => { const d = digits(el.value); return d.length < 13 || d.length > 19 || !luhn(d) ? "invalid_luhn" : ""; },
    expiry: (el) => { const m = /^(\d{2}) ?\/ ?(\d{2})$/.exec(el.value.trim());
      if (!m || +m[1] < 1 || +m[1] > 12) return "invalid_format";
      return new Date(2000 + +m[2], +m[1], 1) <= new Date() ? "expired" : ""; },
    cvc: (el) => /^\d{3,4}$/.test(el.value.trim()) ? "" : "invalid_format",
    password: (el) => { const v = el.value; if (v.length < 10) return "too_short"; if (!/\d/.test(v)) return "missing_number";
      if (!/[A-Z]/.test(v)) return "missing_uppercase"; if (!/[^A-Za-z0-9]/.test(v)) return "missing_symbol"; return ""; },
    confirm: (el) => { const o = byName(el.dataset.match); return o && el.value !== o.value ? "mismatch" : ""; },
    taken: (el) => CFG.taken.includes(el.value.trim().toLowerCase()) ? CFG.takenReason : "",
    business: (el) => /@(gmail|yahoo|hotmail|outlook|gmx|web|icloud|aol)\./i.test(el.value) ? "business_email_required" : "",
    postcode: (el) => { const c = el.dataset.country && byName(el.dataset.country);
      const re = POSTCODES[(c && COUNTRY[c.value]) || CFG.country]; return re && !re.test(el.value.trim()) ? "invalid_postcode" : ""; },
    iban: (el) => ibanOk(el.value) ? "" : "invalid_iban",
    file: (el) => { const f = el.files && el.files[0]; if (!f) return "";
      if (!el.dataset.ext.split(",").includes(f.name.split(".").pop().toLowerCase())) return "invalid_file_type";
      return f.size > +el.dataset.maxBytes ? "file_too_large" : ""; },
    age: (el) => age(el.value) < +el.dataset.minAge ? "too_young" : "",
    after: (el) => { const o = byName(el.dataset.after); return o && o.value && el.value <= o.value ? "invalid_date_range" : ""; },
  };
  const MESSAGES = { invalid_luhn: "That card number isn't valid.", expired: "This card has expired.", too_short: "Use at least 10 characters.",
    missing_number: "Add a number.", missing_uppercase: "Add a capital letter.", missing_symbol: "Add a symbol such as ! or #.",
    mismatch: "Passwords don't match.", already_registered: "An account with this email already exists. Sign in instead?",
    already_subscribed: "You're already subscribed.", business_email_required: "Please use your work email.",
    invalid_postcode: "Check the postcode.", invalid_iban: "Check your IBAN.", invalid_file_type: "This file type isn't accepted.",
    file_too_large: "The file is too large.", too_young: "You must be older to apply.", invalid_date_range: "Check-out must be after check-in.",
    required: "This field is required.", invalid_format: "Check the format." };
  // a site running its own checks on submit names the browser's failures in its own words
  const NATIVE = [["valueMissing", "required"], ["typeMismatch", "invalid_format"], ["patternMismatch", "invalid_format"],
    ["tooShort", "too_short"], ["rangeUnderflow", "too_low"], ["rangeOverflow", "too_high"], ["stepMismatch", "invalid_format"],
    ["badInput", "invalid_format"]];
  const filled = (el) => el.type === "file" ? el.files.length > 0 : (el.type === "checkbox" || el.type === "radio") ? true : el.value !== "";
  const evaluate = (el, submitting) => {
    if (!filled(el)) {
      if (!submitting || !el.required) return "";
    } else for (const rule of (el.dataset.validate || "").split(" ").filter(Boolean)) { const why = CHECKS[rule](el); if (why) return why; }
    if (CFG.mode !== "script" || !submitting) return "";
    if (el.type === "radio" || el.type === "checkbox") {
      const group = form.querySelectorAll(`[name="${CSS.escape(el.name)}"]`);
      return el.required && ![...group].some((x) => x.checked) ? "required" : "";
    }
    if (el.required && !filled(el)) return "required";
    for (const [flag, why] of NATIVE) if (el.validity[flag]) return why;
    return "";
  };
  const message = (why) => MESSAGES[why] || "Please check this field.";
  const marked = (el) => el.getAttribute("aria-invalid") === "true" || el.validity.customError;
  const mark = (el, why) => {
    if (CFG.style !== "aria") el.setCustomValidity(why ? message(why) : "");
    if (CFG.style !== "custom") why ? el.setAttribute("aria-invalid", "true") : el.removeAttribute("aria-invalid");
    if (CFG.named) why ? el.setAttribute("data-formrecap-reason", why) : el.removeAttribute("data-formrecap-reason");
    const out = document.getElementById(el.id + "-error") || document.getElementById(el.name + "-error");
    if (out) out.textContent = why ? message(why) : "";
  };
  const checked = (el) => el.dataset && el.dataset.validate !== undefined;
  // validate when a field is left, again while a flagged field is corrected, and uploads as soon as chosen
  form.addEventListener("focusout", (e) => { const el = e.target; if (checked(el) && filled(el)) mark(el, evaluate(el, false)); });
  form.addEventListener("input", (e) => { const el = e.target; if (el.type === "file" || (marked(el) && checked(el))) mark(el, evaluate(el, false)); });
  form.addEventListener("change", (e) => {
    const el = e.target;
    if (el.tagName === "SELECT") form.querySelectorAll(`[data-country="${CSS.escape(el.name)}"]`).forEach((p) => p.value && mark(p, evaluate(p, false)));
  });
  const succeed = () => {
    if (CFG.success === "navigate") return location.assign(CFG.thanks);
    const done = document.createElement("div");
    done.className = "thanks";
    done.textContent = "Thank you! We'll be in touch.";
    if (CFG.success === "call") { form.hidden = true; form.after(done); window.formrecap && formrecap.submitted(form); }
    else form.replaceWith(done);
  };
  form.addEventListener("submit", (e) => {
    const els = [...form.elements].filter((el) => el.name && !/^(button|submit|hidden)$/.test(el.type));
    if (CFG.mode === "native") {
      // the browser has checked required, types and patterns; aria-only sites still refuse their own failures
      const bad = els.filter((el) => checked(el) && filled(el) && evaluate(el, false));
      if (!bad.length) return;
      e.preventDefault();
      bad.forEach((el) => mark(el, evaluate(el, false)));
      return bad[0].focus();
    }
    e.preventDefault();
    let first;
    for (const el of els) { const why = evaluate(el, true); mark(el, why); if (why && !first) first = el; }
    if (first) return first.focus();
    setTimeout(succeed, 120);  // the request to the site's own API
  });
  const apply = document.getElementById("apply-coupon");
  if (apply) apply.addEventListener("click", () => {
    const code = apply.previousElementSibling.value.trim().toUpperCase();
    document.getElementById("coupon-note").textContent = code === "WELCOME10" ? "WELCOME10 applied: 10% off." : "This code isn't valid.";
  });
})();
"""

CSS = """
*{box-sizing:border-box}body{margin:0;font:16px/1.45 system-ui,sans-serif;color:#1d232b;background:#f6f7f9}
header{display:flex;justify-content:space-between;align-items:center;padding:14px 32px;background:#fff;border-bottom:1px solid #dde}
header nav a{margin-left:22px}.logo{font-weight:700;font-size:20px;text-decoration:none;color:#123}
main{max-width:1180px;margin:0 auto;padding:24px 20px}.layout{display:grid;grid-template-columns:minmax(0,1fr) 340px;gap:28px}
h1{font-size:28px;margin:8px 0 18px}fieldset{border:1px solid #dde;border-radius:8px;background:#fff;margin:0 0 20px;padding:14px 20px}
legend{font-weight:600;padding:0 6px}.row{margin:10px 0 14px}.row label{display:block;font-weight:500;margin-bottom:4px}
input:not([type=checkbox]):not([type=radio]),select,textarea{width:100%;padding:9px 10px;border:1px solid #aab;border-radius:5px;font:inherit}
.choice label{display:inline-block;font-weight:400;margin-right:16px}.hint{color:#567;font-size:13px}
.error{color:#b00020;font-size:13px;min-height:1em}[aria-invalid=true]{border-color:#b00020}
.region{background:#fff;border:1px solid #dde;border-radius:8px;padding:12px 16px;margin:0 0 18px}.region h2{font-size:17px;margin:0 0 8px}
table{border-collapse:collapse;width:100%;font-size:14px}td,th{border-bottom:1px solid #eef;padding:5px 6px;text-align:left}
blockquote{margin:6px 0;font-size:14px}button{padding:11px 22px;font:inherit;border-radius:6px;border:0;background:#1a5fd0;color:#fff}
.region button,.coupon button{background:#e8edf6;color:#123;padding:6px 12px;margin-top:6px}
footer{padding:30px 32px;color:#567;background:#fff;border-top:1px solid #dde;margin-top:40px}footer a{margin-right:18px}
"""


@dataclass(frozen=True)
class RenderedField:
    field: Field
    name: str  # the HTML name attribute (what the snippet normalises)
    id: str
    option_ids: tuple[str, ...] = ()  # one element per radio / checkbox option

    @property
    def selector(self) -> str:
        return f"#{self.option_ids[0] if self.option_ids else self.id}"


@dataclass(frozen=True)
class RenderedRegion:
    region: Region
    name: str
    id: str
    control_id: str = ""


@dataclass
class RenderedForm:
    """One template under one naming scheme: the page and the ids a persona needs to act on it."""

    template: Template
    naming: str
    form_id: str
    fields: list[RenderedField] = field(default_factory=list)
    regions: list[RenderedRegion] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)  # purpose -> element id (logo, nav, terms link…)
    html: str = ""

    def by_concept(self, concept: str, index: int | None = None) -> RenderedField:
        for rendered in self.fields:
            if rendered.field.concept == concept and rendered.field.index == index:
                return rendered
        raise KeyError(concept)

    def has(self, concept: str) -> bool:
        return any(r.field.concept == concept for r in self.fields)


def render_page(
    template: Template, naming: str, *, site_key: str, snippet_url: str, endpoint: str, salt: str, snippet_at: str = "head"
) -> RenderedForm:
    """The whole page: header links, the form, regions, footer; the snippet loaded where ``snippet_at`` says."""
    namer = Namer(naming, root=template.root, salt=f"{template.name}:{salt}")
    form_id = {"opaque": f"gform_{len(template.name) % 7 + 1}"}.get(naming, template.name.replace("_", "-"))
    rendered = RenderedForm(template, naming, form_id)
    position = 0
    region_position = 0
    body: list[str] = []

    def region_html(region: Region) -> str:
        nonlocal region_position
        region_position += 1
        rid = f"r{region_position}"
        name = namer.region(region.concept, position=region_position)
        control_id = f"{rid}c" if region.control else ""
        control = ""
        if region.control:
            # a disclosure inside the region: clicking it gives the region focus (the snippet's focusin)
            control = f'<details><summary id="{control_id}">{html.escape(region.control)}</summary>{prose(LEGAL[1])}</details>'
        rendered.regions.append(RenderedRegion(region, name, rid, control_id))
        return (
            f'<section class="region" id="{rid}" data-formrecap-field="{html.escape(name)}"><h2>{html.escape(region.title)}</h2>'
            f"{region.body}{control}</section>"
        )

    def field_html(item: Field) -> str:
        nonlocal position
        position += 1
        fid = f"f{position}"
        name = namer.field(item.concept, position=position, group=item.group, index=item.index)
        attrs = dict(item.attrs)
        common = [f'name="{html.escape(name)}"']
        if item.required:
            common.append("required")
        if item.autocomplete:
            common.append(f'autocomplete="{item.autocomplete}"')
        if item.check:
            common.append(f'data-validate="{item.check}"')
        if item.check == "confirm":
            common.append(f'data-match="{html.escape(rendered.by_concept("password").name)}"')
        if item.check == "postcode" and rendered.has("country"):
            common.append(f'data-country="{html.escape(rendered.by_concept("country").name)}"')
        if item.check == "after":
            common.append(f'data-after="{html.escape(rendered.by_concept(attrs.pop("data-after")).name)}"')
        common += [f'{k}="{html.escape(v)}"' for k, v in attrs.items()]
        extra = " ".join(common)
        label = html.escape(item.label)
        hint = f'<div class="hint">{html.escape(item.hint)}</div>' if item.hint else ""
        error = f'<div class="error" id="{fid}-error" aria-live="polite"></div>'
        if item.type in ("radio", "checkbox") and (item.options or item.type == "radio"):
            ids = tuple(f"{fid}_{k}" for k in range(len(item.options)))
            rendered.fields.append(RenderedField(item, name, fid, ids))
            # required goes on every radio of the group (the browser checks the group); a checkbox group has none
            group_attrs = extra if item.type == "radio" else " ".join(a for a in common if a != "required")
            opts = "".join(
                f'<label><input type="{item.type}" id="{oid}" value="{html.escape(opt)}" {group_attrs}> {html.escape(opt)}</label>'
                for oid, opt in zip(ids, item.options, strict=True)
            )
            return f'<div class="row choice" role="group" aria-labelledby="{fid}-label"><span id="{fid}-label">{label}</span><br>{opts}{error}</div>'
        rendered.fields.append(RenderedField(item, name, fid))
        if item.type == "checkbox":
            terms = ""
            if item.concept in ("terms", "privacy_consent", "treatment_consent", "declaration"):
                # the link inside the label: a classic misclick that leaves the page
                rendered.links.setdefault("terms", f"{fid}-link")
                terms = f' (<a id="{fid}-link" href="/legal/terms">read</a>)'
            return f'<div class="row"><label><input type="checkbox" id="{fid}" {extra}> {label}</label>{terms}{error}</div>'
        if item.type == "select":
            options = '<option value="">Choose…</option>' + "".join(f"<option>{html.escape(o)}</option>" for o in item.options)
            return f'<div class="row"><label for="{fid}">{label}</label><select id="{fid}" {extra}>{options}</select>{hint}{error}</div>'
        if item.type == "textarea":
            return (
                f'<div class="row"><label for="{fid}">{label}</label><textarea id="{fid}" {extra}></textarea>{hint}{error}</div>'
            )
        control = f'<input type="{item.type}" id="{fid}" {extra}>'
        if item.concept in ("coupon", "promo_code") and template.coupon:
            control = f'<div class="coupon">{control}<button type="button" id="apply-coupon">Apply</button><div id="coupon-note"></div></div>'
        return f'<div class="row"><label for="{fid}">{label}</label>{control}{hint}{error}</div>'

    for section in template.sections:
        parts = [region_html(item) if isinstance(item, Region) else field_html(item) for item in section.items]
        body.append(f"<fieldset><legend>{html.escape(section.title)}</legend>{''.join(parts)}</fieldset>")
    aside = "".join(region_html(region) for region in template.aside)
    native = template.mode == "native"
    action = ' action="/thanks" method="post"' if native else ' action="/thanks" novalidate'
    form_html = (
        f'<form id="{form_id}"{action}>{"".join(body)}'
        f'<p class="hint">By submitting you agree to our <a id="form-terms" href="/legal/terms">terms</a>.</p>'
        f'<button type="submit" id="submit">{html.escape(template.submit)}</button></form>'
    )
    rendered.links.update({"logo": "logo", "nav": "nav-pricing", "help": "nav-help", "footer": "footer-privacy"})
    rendered.links.setdefault("terms", "form-terms")
    footer_form = ""
    if template.footer_form:
        footer_form = (
            '<form id="footer-newsletter" action="/newsletter" method="post"><label for="nl-email">Newsletter</label> '
            '<input type="email" id="nl-email" name="newsletter_email" autocomplete="email"> <button>Sign up</button></form>'
        )
    config = {
        "form": form_id,
        "mode": template.mode,
        "success": template.success,
        "style": template.style,
        "named": template.named,
        "country": template.country,
        "taken": list(TAKEN_EMAILS),
        "takenReason": "already_subscribed" if template.name == "newsletter_signup" else "already_registered",
        "thanks": "/thanks",
    }
    lang = naming if naming in LANGUAGES else "en"
    script = f'<script src="{snippet_url}" data-site-key="{site_key}" data-endpoint="{endpoint}"{" async" if snippet_at == "async" else ""}></script>'
    head_script = script if snippet_at in ("head", "async") else ""
    tail_script = script if snippet_at == "body" else ""
    rendered.html = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(template.title)} · {html.escape(template.brand)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style>{head_script}</head><body>'
        f'<header><a class="logo" id="logo" href="/">{html.escape(template.brand)}</a><nav><a id="nav-pricing" href="/pricing">Pricing</a>'
        f'<a id="nav-help" href="/help">Help</a><a id="nav-account" href="/account">Sign in</a></nav></header>'
        f'<main><h1>{html.escape(template.title)}</h1><div class="layout"><div>{form_html}</div><aside>{aside}</aside></div></main>'
        f'<footer><a id="footer-privacy" href="/legal/privacy">Privacy</a><a href="/legal/terms">Terms</a><a href="/contact">Contact</a>{footer_form}</footer>'
        f"<script>{SITE_JS.replace('__CFG__', json.dumps(config))}</script>{tail_script}</body></html>"
    )
    return rendered


def landing_page(template: Template, form_url: str) -> str:
    """The page a visitor comes from (an ad's landing page): the back button returns here."""
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(template.brand)}</title><style>{CSS}</style></head><body>'
        f'<header><a class="logo" href="/">{html.escape(template.brand)}</a></header><main><h1>{html.escape(template.brand)}</h1>'
        f"<p>{html.escape(template.description.capitalize())}.</p>"
        f'<p><a id="start" href="{form_url}">{html.escape(template.title)} →</a></p></main></body></html>'
    )


def other_page(path: str) -> str:
    return f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(path)}</title></head><body><h1>{html.escape(path)}</h1></body></html>'


def thanks_page() -> str:
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Thank you</title></head><body><h1>Thank you!</h1></body></html>'
    )
