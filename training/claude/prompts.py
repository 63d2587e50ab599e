"""What one Claude call asks for: a fixed system prompt and a per-call user message drawn from a seeded RNG.

Each call varies the target class, the form (type and 6-12 field names), the target length, a behaviour hint
for the class (several phrasings, some borderline) and two rotating few-shot primers.
"""

import hashlib
import json
import random
from dataclasses import dataclass

from classifier.labels import CLASSES
from training.simulator.forms import FORM_TYPES, KINDS, build_form, regions_for, requirement_fields_for

from .primers import PRIMERS, Primer

MAX_TRACE_TOKENS = 200

SYSTEM_PROMPT = f"""You write realistic web form sessions for training a classifier that explains why visitors abandon forms.

A session is written in a trace language: comma-separated tokens.
  focus:FIELD            the visitor entered a field (or an informational region such as pricing_table)
  input:FIELD(xN)        N keystrokes in a row in that field (input:FIELD alone means one input event)
  blur:FIELD             the visitor left the field
  blur:FIELD(REASON)     the field failed validation when left; REASON is snake_case (required, too_short,
                         invalid_format, mismatch, taken, expired, invalid_luhn, ...)
  scroll:page(Nms)       the visitor scrolled or sat idle for N milliseconds (long idle gaps are written this way)
  exit | submit          the session ended
FIELD and REASON are snake_case (a-z, 0-9, _). The snippet never records what is typed, only these events.

The six abandonment classes and what a human labeller looks for:
1 validation_error: trying to finish but a field blocks them; repeated focus, input, blur(REASON) cycles on one field,
  keystroke counts changing between retries, sometimes a cascade of reasons; no progress past it; or one hard
  failure (already_registered) then exit.
2 distraction: steady error-free progress through a third to two thirds of the form, then a long idle
  (30 s to many minutes as scroll:page(Nms)), sometimes a brief return, then exit.
3 comparison_shopping: evaluating, not filling; focus/blur without typing on pricing, plans, shipping cost,
  reviews, warranty, coupon, order total; short-to-medium scrolls, returning to a price region.
4 accidental_exit: fluent typing across several fields, no errors, no idle, then an abrupt end mid-flow,
  often a few keystrokes into a field.
5 bot: mechanically impossible for a human: input with no focus, blur or scroll, or instant focus-input pairs,
  strict field order, bursts of hundreds of characters, usually ending in submit.
6 committed_leave: looked and decided no; a short session, focusing fields without typing (often uploads,
  income, company size, terms), at most one field typed, no long idle, no price browsing, no errors, then exit.

Answer with one JSON object and nothing else:
{{"trace": "<the session in the trace language>", "class": "<class name>", "reason": "<one sentence>", "confidence": <0.0-1.0>}}
Rules: the trace has at most {MAX_TRACE_TOKENS} tokens and ends with exit or submit; the class is the one requested;
the reason explains the label from the events in one sentence; confidence says how clearly the trace shows the class
(0.9+ for textbook cases, 0.55-0.75 for borderline ones). Vary field order, counts and durations like real visitors do."""

# Several phrasings per class, from the DESIGN.md signatures; those marked "Borderline" sit near another class.
CLASS_HINTS: dict[str, tuple[str, ...]] = {
    "validation_error": (
        "One field blocks the visitor: 2-4 focus, input, blur(REASON) cycles on the same field with different "
        "keystroke counts each try, short scrolls between tries, never past that field, then exit.",
        "A cascade of different validation reasons on one field (one rule after another, e.g. too_short then "
        "missing_digit then missing_symbol on a password) before giving up.",
        "Borderline: a single hard failure retyping cannot fix (already_registered, taken, card_declined, "
        "unsupported_country), a short pause, then exit.",
        "Two fields fail: the first is fixed after one retry, the second keeps failing, progress stops and the visitor exits.",
        "Borderline: failures on one field followed by a pause of a few seconds to 20 s (frustration, not minutes "
        "of distraction) before exit.",
    ),
    "distraction": (
        "Steady, error-free progress through a third to two thirds of the fields, then one long idle written as "
        "scroll:page(Nms) with N between 30000 and 900000, then exit.",
        "Part of the form filled fluently, idle for minutes (one or two long scroll:page tokens), a brief return "
        "(focus a field, maybe a few keystrokes), then exit.",
        "Borderline: the idle gap is near the lower end (30-60 s) and only a few fields are done before it; no errors, "
        "no price browsing.",
        "Fluent typing with a normal short scroll or two, then a very long gap (10+ minutes) mid-form, then exit "
        "without touching anything else.",
    ),
    "comparison_shopping": (
        "Evaluating, not filling: focus/blur without typing on informational regions (pricing, plan tiers, shipping "
        "cost, order total, reviews, warranty) with short-to-medium scrolls, back to a price region at least once, then exit.",
        "One field typed (usually an email), then the rest of the session inspects costs: shipping, fees, total, a "
        "coupon field, back to the total, exit.",
        "A coupon or promo code typed (no validation error), then the order total and price breakdown checked again, then exit.",
        "Borderline: a few fields filled fluently, then systematic browsing of plan or price regions (at least three, "
        "one visited twice), then exit.",
    ),
    "accidental_exit": (
        "Actively engaged: fluent typing across several fields, no errors, no idle, no browsing, then an abrupt exit "
        "a few keystrokes into the next field.",
        "Fast and confident: most of the form filled field after field, then exit right after focusing the next "
        "field (back button, misclick, closed tab).",
        "Borderline: only two or three fields typed fluently, then exit mid-field with no pause before it.",
        "A long engaged session: many fields filled without errors, at most one short scroll, the last token before "
        "exit is an input into a partly typed field.",
    ),
    "bot": (
        "Direct injection: input events with no focus, blur or scroll, fields in strict form order, one value per "
        "field, ending in submit.",
        "Instant focus-input pairs in strict order, no blurs, no scrolls, a burst of hundreds of keystrokes in a "
        "message or comment field, then submit.",
        "Borderline: a bot filling every field mechanically (focus, input, no blur) that ends in exit instead of submit.",
        "A spam bot: only two or three fields, one of them a huge burst (200-800 keystrokes), no pauses at all, then submit.",
    ),
    "committed_leave": (
        "Looked and decided no: a glance or short scroll, focusing requirement-heavy fields (uploads, income, "
        "employment, company size, terms) without typing, then exit; a short session, no long idle.",
        "At most one field typed, then a field that asks a lot (document upload, income, id number, terms) is "
        "focused and the visitor leaves soon after.",
        "Borderline: a short scroll, one or two plain fields focused without typing, then exit; no price browsing, "
        "no errors, no long pause.",
        "The terms or privacy policy region is read, a brief scroll, one demanding field focused, then exit.",
    ),
}

# Target lengths in trace tokens: (label, low, high).
LENGTHS: tuple[tuple[str, int, int], ...] = (("short", 4, 10), ("medium", 11, 25), ("long", 26, 60))

_FILLER_KINDS = ("full_name", "email", "phone", "street", "city", "postcode", "company", "message", "date", "choice")


@dataclass(frozen=True)
class FormContext:
    form_type: str
    field_names: tuple[str, ...]


@dataclass(frozen=True)
class PromptPlan:
    target: str
    form: FormContext
    length: tuple[str, int, int]
    hint: str
    primers: tuple[Primer, Primer]
    system: str
    user: str

    @property
    def prompt_hash(self) -> str:
        return hashlib.sha256(f"{self.system}\n\n{self.user}".encode()).hexdigest()[:16]


def draw_form_context(rng: random.Random) -> FormContext:
    """A form type and 6-12 names: its fields first, then regions and demanding fields a page like it shows."""
    form_type = rng.choice(sorted(FORM_TYPES))
    fields = [name for _, name in build_form(rng, form_type)]
    extras = [n for n in dict.fromkeys(requirement_fields_for(rng, form_type) + regions_for(rng, form_type)) if n not in fields]
    size = rng.randint(6, 12)
    kept_extras = min(len(extras), max(2, size - len(fields)))
    names = fields[: size - kept_extras] + extras[:kept_extras]
    while len(names) < 6:  # short forms (newsletter, password reset) borrow common fields
        name = rng.choice(KINDS[rng.choice(_FILLER_KINDS)].names)
        if name not in names:
            names.append(name)
    return FormContext(form_type, tuple(names))


def draw_primer_pair(rng: random.Random, previous: tuple[Primer, Primer] | None) -> tuple[Primer, Primer]:
    """Two distinct primers, never the same pair (in any order) as the call before."""
    while True:
        pair = tuple(rng.sample(PRIMERS, 2))
        if previous is None or set(pair) != set(previous):
            return pair  # type: ignore[return-value]


def plan_prompt(rng: random.Random, target: str, previous_primers: tuple[Primer, Primer] | None = None) -> PromptPlan:
    form = draw_form_context(rng)
    length = rng.choice(LENGTHS)
    hint = rng.choice(CLASS_HINTS[target])
    primers = draw_primer_pair(rng, previous_primers)
    user = _user_message(target, form, length, hint, primers)
    return PromptPlan(target, form, length, hint, primers, SYSTEM_PROMPT, user)


def _user_message(target: str, form: FormContext, length: tuple[str, int, int], hint: str, primers) -> str:
    code = next(code for code, name in CLASSES.items() if name == target)
    examples = "\n".join(f"({p.form_type} form) {json.dumps(p.as_answer())}" for p in primers)
    _, low, high = length
    return (
        "Two labelled examples from other forms, to show the format (do not copy them):\n"
        f"{examples}\n\n"
        "Now write one new session.\n"
        f"Form: {form.form_type.replace('_', ' ')}\n"
        f"Fields and regions on the page: {', '.join(form.field_names)}\n"
        f"Class: {code} {target}\n"
        f"Behaviour: {hint}\n"
        f"Length: {low} to {high} tokens.\n"
        "Use these field names (you may add one region the behaviour needs). Answer with the JSON object only."
    )
