"""One function per class, each with weighted variants, following the DESIGN.md signatures.

Each behaviour gets a fresh Recorder and the concrete form, drives the recorder, and
returns the variant it played (kept in the dataset so borderline cases can be counted).
"""

import random
from collections.abc import Callable

from .forms import COUPON_FIELDS, KINDS, OFF_LEXICON_REGIONS, PRICE_REGIONS, regions_for, requirement_fields_for
from .recorder import Recorder

Form = list[tuple[str, str]]


def _keystrokes(rng: random.Random, kind: str) -> int:
    low, high = KINDS[kind].keystrokes
    return rng.randint(low, high)


AUTOFILL_KINDS = frozenset(("email", "first_name", "last_name", "full_name", "phone", "street", "city", "postcode", "company"))
AUTOFILL_SHARE = 0.15


def _fill_fluently(rng: random.Random, rec: Recorder, fields: Form) -> None:
    fields = list(fields)
    # The browser's autofill: one field focused, a suggestion picked, several fields set at once without focus.
    if not rec.bot and not rec.events and len(fields) >= 2 and rng.random() < AUTOFILL_SHARE:
        run = 0
        while run < len(fields) and fields[run][0] in AUTOFILL_KINDS:
            run += 1
        if run >= 2:
            rec.autofill([name for _, name in fields[:run]])
            fields = fields[run:]
    for kind, name in fields:
        rec.fill(name, _keystrokes(rng, kind))


def _pick(rng: random.Random, weighted: dict[str, float]) -> str:
    return rng.choices(list(weighted), weights=list(weighted.values()))[0]


def _share(rng: random.Random, fields: Form, low: float, high: float, minimum: int = 1) -> int:
    return max(minimum, min(len(fields), round(len(fields) * rng.uniform(low, high))))


# --- 1 validation_error -----------------------------------------------------


def validation_error(rng: random.Random, form: Form, form_type: str, rec: Recorder) -> str:
    variant = _pick(rng, {"retry_cycles": 0.45, "hard_failure": 0.14, "cascade": 0.14, "failure_then_idle": 0.09,
                          "two_fields": 0.08, "submit_blocked": 0.10})  # fmt: skip
    failing = [(kind, name) for kind, name in form if KINDS[kind].reasons or KINDS[kind].hard_reasons]
    if variant == "hard_failure":
        hard = [(k, n) for k, n in form if KINDS[k].hard_reasons] or [("email", "email")]
        kind, name = rng.choice(hard)
        before = [f for f in form[: form.index((kind, name))] if f != (kind, name)] if (kind, name) in form else []
        _fill_fluently(rng, rec, before[: rng.randint(0, len(before))])
        rec.fill(name, _keystrokes(rng, kind), rng.choice(KINDS[kind].hard_reasons))
        if rng.random() < 0.4:
            rec.scroll(rng.uniform(800, 4000))
        if rng.random() < 0.3:  # looks at the field again, gives up
            rec.look(name, rng.uniform(300, 2000))
        rec.exit()
        return variant

    kind, name = rng.choice(failing or [("email", "email")])
    index = next((i for i, f in enumerate(form) if f == (kind, name)), 0)
    _fill_fluently(rng, rec, form[: rng.randint(max(0, index - 4), index)])

    if variant == "submit_blocked":
        # A submit attempt: the browser flags untouched required fields, the visitor fixes some, fails again.
        untouched = form[index:]
        for _, field in untouched[: rng.randint(1, 4)]:
            rec.wait(rng.uniform(5, 60))
            rec.blur(field, "required")
        tries = rng.randint(1, 3)
    else:
        tries = rng.randint(2, 5) if variant != "failure_then_idle" else rng.randint(1, 3)

    reasons = list(KINDS[kind].reasons or ("invalid_format",))
    reason = rng.choice(reasons)
    typed = _keystrokes(rng, kind)
    # Recorded visitors often glance at the rate table or the rules beside a field that keeps refusing them.
    consulted = regions_for(rng, form_type)
    consult = 0.3 if rng.random() < 0.35 else 0.0
    for attempt in range(tries):
        if attempt and variant == "cascade" and len(reasons) > 1:
            reason = rng.choice([r for r in reasons if r != reason])
        # Retries correct a few characters or retype the whole value.
        keystrokes = typed if attempt == 0 else (rng.randint(1, 6) if rng.random() < 0.6 else max(1, typed + rng.randint(-3, 4)))
        rec.fill(name, keystrokes, reason)
        if rng.random() < 0.35:
            rec.scroll(rng.uniform(600, 4500))
        if attempt < tries - 1 and rng.random() < consult:  # checks the allowed range or the rules, then retries
            rec.look(rng.choice(consulted), rng.uniform(700, 5000))

    if variant == "two_fields":
        later = [(k, n) for k, n in form[index + 1 :] if KINDS[k].reasons]
        if later:
            kind2, name2 = rng.choice(later)
            for _ in range(rng.randint(1, 3)):
                rec.fill(name2, _keystrokes(rng, kind2), rng.choice(KINDS[kind2].reasons))
    if variant == "failure_then_idle":
        rec.idle(rng.uniform(12_000, 90_000))
    elif rng.random() < 0.2:
        rec.look(name, rng.uniform(400, 2500))
    rec.exit()
    return variant


# --- 2 distraction ------------------------------------------------------------


def distraction(rng: random.Random, form: Form, form_type: str, rec: Recorder) -> str:
    variant = _pick(rng, {"idle_exit": 0.36, "brief_return": 0.2, "multi_scroll_idle": 0.12, "mid_field_idle": 0.11,
                          "short_idle": 0.11, "fixed_error_then_idle": 0.1})  # fmt: skip
    done = _share(rng, form, 0.25, 0.7)
    if variant == "fixed_error_then_idle":
        # A failure corrected at once is no blocker: the visitor went on, then left for a long while.
        failing = [i for i, (k, _) in enumerate(form[:done]) if KINDS[k].reasons] or [0]
        at = rng.choice(failing)
        kind, name = form[at]
        _fill_fluently(rng, rec, form[:at])
        rec.fill(name, _keystrokes(rng, kind), rng.choice(KINDS[kind].reasons or ("invalid_format",)))
        rec.fill(name, rng.randint(1, 6))
        _fill_fluently(rng, rec, form[at + 1 : max(at + 2, done)])
    else:
        _fill_fluently(rng, rec, form[:done])
    if variant == "mid_field_idle" and done < len(form):
        kind, name = form[done]
        rec.between_fields()
        rec.focus(name)
        rec.type(name, rng.randint(1, max(1, _keystrokes(rng, kind) // 2)))
    long_idle = rng.uniform(25_000, 45_000) if variant == "short_idle" else rng.choice(
        [rng.uniform(30_000, 120_000), rng.uniform(120_000, 600_000), rng.uniform(600_000, 2_400_000)]
    )  # fmt: skip
    if variant == "multi_scroll_idle":
        for _ in range(rng.randint(2, 4)):
            rec.scroll(long_idle / rng.uniform(1.5, 3))
    else:
        rec.idle(long_idle)
    if variant == "brief_return":
        kind, name = form[min(done, len(form) - 1)]
        rec.between_fields()
        rec.focus(name)
        if rng.random() < 0.5:
            rec.type(name, rng.randint(1, 5))
        rec.wait(rng.uniform(500, 4000))
        rec.blur(name)
        if rng.random() < 0.3:
            rec.idle(rng.uniform(20_000, 200_000))
    rec.exit()
    return variant


# --- 3 comparison_shopping ------------------------------------------------------


def comparison_shopping(rng: random.Random, form: Form, form_type: str, rec: Recorder) -> str:
    variant = _pick(rng, {"browse_costs": 0.35, "typed_email_first": 0.17, "coupon_then_costs": 0.13,
                          "partial_fill_then_costs": 0.15, "offer_options": 0.2})  # fmt: skip
    regions = regions_for(rng, form_type)
    prices = [r for r in regions if r in PRICE_REGIONS] or [rng.choice(PRICE_REGIONS)]
    if variant == "offer_options":
        # Tiers and options named after the offer, not its price: the browsing shape must carry it.
        regions = rng.sample(OFF_LEXICON_REGIONS, k=rng.randint(2, 4))
        prices = regions[:1]
    if variant == "typed_email_first":
        email = next((n for k, n in form if k == "email"), "email")
        rec.fill(email, _keystrokes(rng, "email"))
    elif variant == "coupon_then_costs":
        rec.fill(rng.choice(COUPON_FIELDS), rng.randint(5, 12))
    elif variant == "partial_fill_then_costs":
        _fill_fluently(rng, rec, form[: rng.randint(1, 2)])
    if rng.random() < 0.5:
        rec.scroll(rng.uniform(800, 6000))
    for _ in range(rng.randint(2, 6)):
        region = rng.choice(regions)
        rec.look(region, rng.uniform(900, 9000))
        roll = rng.random()
        if roll < 0.4:
            rec.scroll(rng.uniform(500, 8000))
        elif roll < 0.55:  # glances at a form field without typing
            rec.look(rng.choice(form)[1], rng.uniform(300, 1800))
    if rng.random() < 0.7:  # back to the price before leaving
        rec.look(rng.choice(prices), rng.uniform(1000, 7000))
    if rng.random() < 0.3:
        rec.scroll(rng.uniform(500, 5000))
    rec.exit()
    return variant


# --- 4 accidental_exit -------------------------------------------------------------


def accidental_exit(rng: random.Random, form: Form, form_type: str, rec: Recorder) -> str:
    variant = _pick(rng, {"mid_field": 0.55, "after_blur": 0.2, "early_two_fields": 0.25})
    early = variant == "early_two_fields"
    done = min(len(form), 2) if early else _share(rng, form, 0.3, 0.9, minimum=min(3, len(form)))
    done = min(done, len(form) - 1) if len(form) > 1 else done
    _fill_fluently(rng, rec, form[:done])
    if variant != "after_blur" and done < len(form):
        kind, name = form[done]
        rec.between_fields()
        rec.focus(name)
        rec.wait(rec._human_ms(400, 0.4, 100, 1500))
        rec.type(name, rng.randint(1, max(1, min(8, _keystrokes(rng, kind)))), hesitate=False)
    # The abrupt end: back button, misclick or closed tab, within a moment of the last keystroke.
    rec.wait(rng.uniform(50, 900))
    rec.emit("exit")
    return variant


# --- 5 bot ---------------------------------------------------------------------------


AUTOMATION_VARIANTS = {"fill_cycle": 0.5, "fill_blocked": 0.3, "fill_partial_exit": 0.2}
# A script whose submit was refused does not close its tab: the session ends when the site's inactivity sweep
# abandons it, a long idle and then the exit (what the product reads; the browser recorder shows it).
LEFT_OPEN_SHARE = 0.5
SWEEP_IDLE_MS = 30 * 60 * 1000  # formrecap.models.default_abandonment_timeout(): the simulator runs without Django


def _script_gives_up(rng: random.Random, rec: Recorder) -> None:
    if rng.random() < LEFT_OPEN_SHARE:
        rec.wait(SWEEP_IDLE_MS)
    rec.exit()


def bot(rng: random.Random, form: Form, form_type: str, rec: Recorder) -> str:
    variant = _pick(rng, {"injection": 0.2, "instant_focus": 0.11, "one_blur": 0.06, "full_cycle_fast": 0.09,
                          "injection_exit": 0.07, "instant_focus_exit": 0.09, "automation": 0.3,
                          "paced": 0.08})  # fmt: skip
    if variant == "automation":
        return _automation_bot(rng, form, rec)
    if variant == "paced":
        return _paced_bot(rng, form, rec)
    # instant_focus_exit looks like a fluent visitor in a terse trace; only raw timing gives it away.
    quiet = variant == "instant_focus_exit"
    fields = list(form)
    if not quiet and not any(kind == "message" for kind, _ in fields) and rng.random() < 0.5:
        fields.append(("message", rng.choice(KINDS["message"].names)))
    blur_at = rng.randrange(len(fields)) if variant == "one_blur" else -1
    for position, (kind, name) in enumerate(fields):
        rec.wait(rng.uniform(0, 25))
        burst = rng.randint(150, 900) if kind == "message" and not quiet else _keystrokes(rng, kind)
        if variant in ("instant_focus", "full_cycle_fast", "instant_focus_exit"):
            rec.focus(name)
            rec.wait(rng.uniform(0, 10))
        rec.type(name, burst, hesitate=False)
        if variant == "full_cycle_fast" or position == blur_at:
            rec.blur(name)
    if variant in ("injection_exit", "instant_focus_exit"):
        rec.exit()
    elif rng.random() < 0.3:
        # The site refuses the submit (a field the script skipped, a value it got wrong): failures, then the script
        # gives up. The browser recorder shows these; they are no visitor blocked by a field.
        for _, name in rng.sample(fields, k=min(len(fields), rng.randint(1, 3))):
            rec.wait(rng.uniform(1, 10))
            rec.blur(name, rng.choice(("required", "invalid_format", "invalid")))
        _script_gives_up(rng, rec)
        return f"{variant}_blocked"
    else:
        rec.submit()
    return variant


def _automation_bot(rng: random.Random, form: Form, rec: Recorder) -> str:
    """Playwright/Selenium scripts: focus, the whole value in one input event (fill) or a burst (type), blur on the
    next field, a few milliseconds apart; a bad value is refused like anyone's, and a blocked submit ends the run."""
    variant = _pick(rng, AUTOMATION_VARIANTS)
    typing = rng.random() < 0.35  # type()/send_keys instead of fill()
    fields = form if variant != "fill_partial_exit" else form[: rng.randint(1, min(3, len(form)))]
    failing_at = rng.randrange(len(fields)) if variant == "fill_blocked" and rng.random() < 0.6 else -1
    for position, (kind, name) in enumerate(fields):
        rec.wait(rng.uniform(2, 120))
        rec.focus(name)
        rec.wait(rng.uniform(0, 15))
        rec.type(name, _keystrokes(rng, kind) if typing else 1, hesitate=False)
        rec.wait(rng.uniform(1, 60))
        reason = rng.choice(KINDS[kind].reasons or ("invalid_format",)) if position == failing_at else None
        rec.blur(name, reason)
        for _ in range(rng.randint(0, 3) if reason else 0):  # a script retrying the value it was given
            rec.wait(rng.uniform(2, 40))
            rec.fill_like_a_script(name, 1, reason)
    if variant == "fill_blocked":
        # The submit is cancelled: the site flags what it did not like, the script gives up.
        if failing_at < 0:
            for _, name in rng.sample(fields, k=min(len(fields), rng.randint(1, 2))):
                rec.wait(rng.uniform(1, 10))
                rec.blur(name, rng.choice(("required", "invalid_format", "invalid")))
        _script_gives_up(rng, rec)
        return _automation_variant(variant, typing)
    if variant == "fill_cycle" and rng.random() < 0.6:
        rec.submit()
    else:
        rec.exit()
    return _automation_variant(variant, typing)


def _paced_bot(rng: random.Random, form: Form, rec: Recorder) -> str:
    """A script told to look human: a fixed delay per key and per field, every text field in order, no mouse, then
    submit; the site refuses what it skipped (choices, consents) and the script stops there."""
    rec.key_gap_ms = rng.choice((35, 40, 50, 60, 75, 90, 120))
    per_field = rng.choice((200, 250, 400, 500, 800))
    typed = [(kind, name) for kind, name in form if kind not in ("choice", "checkbox")] or list(form)
    for kind, name in typed:
        rec.wait(per_field)
        rec.focus(name)
        rec.wait(per_field)
        rec.type(name, _keystrokes(rng, kind), hesitate=False)
        if rng.random() < 0.7:
            rec.blur(name)
    if rng.random() < 0.35:
        rec.submit()
        return "paced_submit"
    for _, name in rng.sample(list(form), k=min(len(form), rng.randint(1, 3))):
        rec.wait(rng.uniform(0, 5))
        rec.blur(name, "required")
    _script_gives_up(rng, rec)
    return "paced_blocked"


# Bots whose terse trace reads like a fluent visitor's: only raw timing gives them away, so they are learnt
# (and judged) from their raw events only.
TIMING_ONLY_VARIANTS = frozenset(
    ["instant_focus_exit"] + [f"automation_typed_{v}" for v in AUTOMATION_VARIANTS if v != "fill_blocked"]
)


def _automation_variant(variant: str, typing: bool) -> str:
    return f"automation_typed_{variant}" if typing else f"automation_{variant}"


# --- 6 committed_leave -----------------------------------------------------------------


def committed_leave(rng: random.Random, form: Form, form_type: str, rec: Recorder) -> str:
    variant = _pick(rng, {"requirements_then_leave": 0.45, "glance": 0.2, "typed_one_field": 0.2, "read_terms": 0.15})
    if rng.random() < 0.7:
        rec.scroll(rng.uniform(800, 7000))
    heavy = requirement_fields_for(rng, form_type)
    if variant == "typed_one_field":
        kind, name = form[0] if rng.random() < 0.6 else rng.choice(form)
        rec.fill(name, _keystrokes(rng, kind))
    if variant in ("requirements_then_leave", "typed_one_field", "read_terms"):
        looked = (
            heavy if variant != "read_terms" else [n for n in heavy if "term" in n or "polic" in n or "consent" in n] or ["terms"]
        )
        for name in looked[: rng.randint(1, 3)]:
            rec.look(name, rng.uniform(700, 7000))
            if rng.random() < 0.3:
                rec.scroll(rng.uniform(500, 4000))
    if variant == "glance" or rng.random() < 0.35:
        for _, name in rng.sample(form, k=min(len(form), rng.randint(1, 3))):
            rec.look(name, rng.uniform(300, 2500))
    if rng.random() < 0.4:
        rec.scroll(rng.uniform(600, 6000))
    rec.exit()
    return variant


BEHAVIOURS: dict[int, Callable[[random.Random, Form, str, Recorder], str]] = {
    1: validation_error,
    2: distraction,
    3: comparison_shopping,
    4: accidental_exit,
    5: bot,
    6: committed_leave,
}
