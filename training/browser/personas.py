"""Scripted visitors for the six abandonment classes of DESIGN.md, several variants each, clear and borderline.

A persona is what a real person (or a real bot) does on the page, written from the class definitions: a
validation_error visitor retries a field the site refuses; a distracted one makes steady progress and then is
gone for minutes; a comparison shopper reads prices, plans and shipping costs and returns to them; an accidental
exit is fluent typing cut off mid-field; a bot injects or fills mechanically; a committed leaver glances at what
is asked (an upload, income, terms) and goes, without idling. Borderline variants sit near another class but
keep the deciding trait (e.g. a single hard failure, an idle just over half a minute, two fields then an accident).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from classifier.labels import CODES

from .forms import RenderedField, RenderedForm, Template
from .values import SPAM, failing_fields
from .visitor import Visitor

# Departures: how the page goes away (see Visitor.leave); "stay" leaves the tab open (no exit: the site's
# inactivity timeout ends the session), "submit" is a bot's submit.
LEAVING = ("back", "close", "link", "navigate")


@dataclass(frozen=True)
class Variant:
    name: str
    label: str  # one of the six class names
    difficulty: str  # clear | borderline
    run: Callable[[Visitor, str], None]
    departures: tuple[str, ...]
    needs: Callable[[Template], bool] = lambda template: True
    human: bool = True
    fluent: bool = False  # draws a fluent typist (accidental exits type fluently)

    @property
    def code(self) -> int:
        return CODES[self.label]


# -- what a form offers ---------------------------------------------------------------------------------------


def fillable(form: RenderedForm) -> list[RenderedField]:
    """The fields a person gives a value to on the way through (optional extras skipped sometimes elsewhere)."""
    return [rf for rf in form.fields if rf.field.concept not in ("coupon", "promo_code", "newsletter", "billing_same")]


def typed_fields(form: RenderedForm) -> list[RenderedField]:
    return [rf for rf in form.fields if rf.field.typed and rf.field.type not in ("date", "month")]


def has_price(template: Template) -> bool:
    return len(template.regions_by("price")) >= 1


def has_heavy(template: Template) -> bool:
    return any(item.heavy and item.type not in ("radio", "checkbox") for item in template.fields)


def has_check(check: str) -> Callable[[Template], bool]:
    return lambda template: any(check in item.check.split() for item in template.fields)


def has_coupon(template: Template) -> bool:
    return any(item.concept in ("coupon", "promo_code") for item in template.fields) and has_price(template)


def has_compare(template: Template) -> bool:
    return any(item.compare for item in template.fields) and has_price(template)


def has_textarea(template: Template) -> bool:
    return any(item.type == "textarea" for item in template.fields)


def has_autofill(template: Template) -> bool:
    tokens = [item.autocomplete for item in template.fields if item.type not in ("date", "file")]
    return sum(1 for t in tokens if t and not t.startswith("cc-") and t not in ("off", "new-password", "bday")) >= 3


def has_failing(template: Template) -> bool:
    return bool(failing_fields(template))


def has_required_later(template: Template) -> bool:
    return sum(1 for item in template.fields if item.required) >= 4


# -- shared behaviour -----------------------------------------------------------------------------------------


def arrive(v: Visitor, *, long: bool = False) -> None:
    """Landing on the form: reading the heading and the first fields, sometimes a look further down."""
    v.pause("read")
    if long or v.rng.random() < 0.35:
        v.glance()


def progress(v: Visitor, fields: list[RenderedField], *, skip_optional: float = 0.4) -> None:
    """Steady, error-free progress: each field in turn with a normal pause before it."""
    for rf in fields:
        if not rf.field.required and v.rng.random() < skip_optional:
            continue
        v.pause("field")
        v.fill(rf)


def part(v: Visitor, low: float, high: float, *, at_least: int = 2) -> list[RenderedField]:
    fields = fillable(v.form)
    n = max(at_least, round(len(fields) * v.rng.uniform(low, high)))
    return fields[: min(n, len(fields) - 1)]


def depart(v: Visitor, departure: str, *, link: str = "logo", react: tuple[float, float] = (300, 1500)) -> None:
    if departure in LEAVING:
        v.wait(v.rng.uniform(*react))
    v.leave(departure, link=link)


def next_field(v: Visitor, rf: RenderedField) -> RenderedField | None:
    fields = v.form.fields
    i = fields.index(rf)
    return fields[i + 1] if i + 1 < len(fields) else None


def move_on(v: Visitor, rf: RenderedField) -> None:
    """Leave a field the way people do after typing: Tab, or a click into the next text field (either blurs this one)."""
    after = next_field(v, rf)
    v.pause("short")
    if after is not None and after.field.typed and v.rng.random() >= v.profile.tabber:
        v.go(after, mouse=True)
    else:  # Tab only moves focus: a checkbox or radio next in line is not ticked by it
        v.page.keyboard.press("Tab")
        v.focused = v._next_stop()
        v.wait(v.rng.uniform(80, 300))


def retype(v: Visitor, rf: RenderedField, previous: str, value: str) -> None:
    """Back into the refused field to correct it: add to the end when it only grew, otherwise clear and retype."""
    v.pause("read")  # reading the error message
    v.go(rf, mouse=True)
    if previous and value.startswith(previous) and value != previous:
        v.page.keyboard.press("End")
        v.wait(v.key_gap())
        v.type_text(value[len(previous) :], typos=False)
    else:
        v.erase(len(previous))
        v.type_text(value, typos=False)


def fail_once(v: Visitor, rf: RenderedField, value: str, previous: str | None) -> None:
    """One attempt at a refused value, then leaving the field (the blur the site's reason rides on)."""
    item = rf.field
    if item.type == "file":
        if value == "big":
            limit = int(dict(item.attrs).get("data-max-bytes", "2000000"))
            v.upload(rf, "scan_full_resolution.pdf", size=limit + v.rng.randrange(200_000, 900_000))
        else:
            v.upload(rf, value)
    elif item.type == "date":
        if previous is None:
            v.type_date(rf, value)
        else:
            v.pause("read")
            v.type_date(rf, value)  # the segments are overwritten in place
    elif previous is None:
        v.go(rf)
        v.type_text(value, typos=False)
    else:
        retype(v, rf, previous, value)
    move_on(v, rf)


def pick_failing(v: Visitor, *, check: str | None = None) -> RenderedField:
    template = v.form.template
    candidates = [item for item in failing_fields(template) if check is None or check in item.check.split()]
    preferred = [item for item in candidates if item.required] or candidates
    item = v.rng.choice(preferred)
    return v.form.by_concept(item.concept, item.index)


def before(v: Visitor, rf: RenderedField, *, most: int = 4) -> list[RenderedField]:
    """Fields up to the failing one (valid values): the visitor got this far without trouble."""
    earlier = [x for x in fillable(v.form)[: v.form.fields.index(rf)] if x.field.type != "file" and not x.field.check]
    if len(earlier) > most:
        earlier = earlier[-most:] if v.rng.random() < 0.5 else earlier[:most]
    return earlier


def short_scroll(v: Visitor) -> None:
    v.scroll(v.rng.choice((-1, 1)) * v.rng.uniform(120, 380))


# -- 1 validation_error ---------------------------------------------------------------------------------------


def retry_field(v: Visitor, departure: str) -> None:
    rf = pick_failing(v)
    arrive(v)
    progress(v, before(v, rf), skip_optional=0.6)
    bad = v.person.bad_values(rf.field, v.form.template)
    tries = v.rng.randint(2, 4) if len(bad) > 1 or rf.field.type in ("file", "date") else 2
    previous = None
    for attempt in range(tries):
        value = bad[attempt % len(bad)]
        fail_once(v, rf, value, previous)
        previous = value
        if v.rng.random() < 0.4:
            short_scroll(v)
    if v.rng.random() < 0.4:  # one last look at the field, nothing more typed
        v.pause("read")
        v.go(rf, mouse=True)
    v.pause("think")
    depart(v, departure, link="help")


def password_cascade(v: Visitor, departure: str) -> None:
    rf = v.form.by_concept("password")
    arrive(v)
    progress(v, before(v, rf, most=3), skip_optional=0.5)
    steps = v.person.bad_values(rf.field, v.form.template)[: v.rng.randint(2, 3)]
    previous = None
    for value in steps:
        fail_once(v, rf, value, previous)
        previous = value
    if v.rng.random() < 0.5 and v.form.has("password_confirm"):  # a last try that meets the rules, repeated wrongly
        final = steps[-1] + v.rng.choice("!#$")
        retype(v, rf, steps[-1], final)
        confirm = v.form.by_concept("password_confirm")
        v.pause("short")
        v.go(confirm)
        v.type_text(final[:-1] + "?", typos=False)
        move_on(v, confirm)
    v.pause("think")
    depart(v, departure)


def already_registered(v: Visitor, departure: str, *, again: bool = True) -> None:
    rf = pick_failing(v, check="taken")
    arrive(v)
    progress(v, before(v, rf, most=2), skip_optional=0.7)
    taken = v.person.bad_values(rf.field, v.form.template)[0]
    fail_once(v, rf, taken, None)
    if again:  # sure it is a mistake: the same address once more
        fail_once(v, rf, taken, taken)
    v.pause("think")
    depart(v, departure, link="help")


def single_hard_failure(v: Visitor, departure: str) -> None:
    already_registered(v, departure, again=False)


def blocked_submit(v: Visitor, departure: str) -> None:
    """Fills what they have, submits, is sent back to required fields, fills one, is refused again, gives up."""
    fields = fillable(v.form)
    required = [rf for rf in fields if rf.field.required]
    missing = v.rng.sample(required[1:], k=min(len(required) - 1, v.rng.randint(2, 3)))
    arrive(v)
    for rf in fields:
        if rf in missing or (not rf.field.required and v.rng.random() < 0.5):
            continue
        v.pause("field")
        v.fill(rf)
    v.pause("short")
    v.submit()
    v.pause("read")
    first = sorted(missing, key=v.form.fields.index)[0]
    v.fill(first)
    v.pause("short")
    v.submit()
    v.pause("think")
    if v.rng.random() < 0.5:
        short_scroll(v)
    depart(v, departure)


def late_failure(v: Visitor, departure: str) -> None:
    """Borderline (looks like fluent progress): most of the form done, then one field refused twice."""
    rf = pick_failing(v)
    arrive(v)
    progress(v, [x for x in fillable(v.form)[: v.form.fields.index(rf)] if not x.field.check], skip_optional=0.7)
    bad = v.person.bad_values(rf.field, v.form.template)
    fail_once(v, rf, bad[0], None)
    fail_once(v, rf, bad[min(1, len(bad) - 1)], bad[0])
    depart(v, departure)


def failure_with_pause(v: Visitor, departure: str) -> None:
    """Borderline (has a pause): refused, looks the right value up for a few seconds, refused again, leaves."""
    rf = pick_failing(v)
    arrive(v)
    progress(v, before(v, rf, most=3), skip_optional=0.6)
    bad = v.person.bad_values(rf.field, v.form.template)
    fail_once(v, rf, bad[0], None)
    v.wait(v.rng.uniform(7000, 16000))  # finding the card, the letter with the IBAN
    fail_once(v, rf, bad[min(1, len(bad) - 1)], bad[0])
    if len(bad) > 2:
        fail_once(v, rf, bad[2], bad[1])
    v.pause("think")
    depart(v, departure)


# -- 2 distraction --------------------------------------------------------------------------------------------


def idle_then_leave(v: Visitor, departure: str) -> None:
    arrive(v)
    progress(v, part(v, 0.33, 0.66))
    v.away(v.lognormal(180_000, 0.8, low=45_000, high=900_000))  # the phone rang; the tab stays in front
    depart(v, departure)


def tab_away_close(v: Visitor, departure: str) -> None:
    arrive(v)
    progress(v, part(v, 0.33, 0.66))
    v.pause("short")
    v.hide_tab()
    v.away(v.lognormal(400_000, 0.7, low=60_000, high=3_600_000))
    depart(v, departure, react=(0, 50))  # closing a background tab from the tab strip


def tab_away_return(v: Visitor, departure: str) -> None:
    arrive(v)
    fields = part(v, 0.33, 0.6)
    progress(v, fields)
    v.hide_tab()
    v.away(v.lognormal(300_000, 0.8, low=40_000, high=2_400_000))
    v.show_tab()
    v.pause("read")  # where was I?
    if v.rng.random() < 0.5:
        short_scroll(v)
    rest = [rf for rf in fillable(v.form)[len(fields) :] if rf.field.typed]
    if rest and v.rng.random() < 0.5:  # back to where they were, without typing
        v.go(rest[0])
        v.pause("read")
    depart(v, departure)


def mid_field_interrupt(v: Visitor, departure: str) -> None:
    """Borderline (typing stops mid-field): an interruption in the middle of a word, then two keys and gone."""
    arrive(v)
    fields = part(v, 0.25, 0.5)
    progress(v, fields)
    rf = next((x for x in fillable(v.form)[len(fields) :] if x.field.typed), typed_fields(v.form)[-1])
    value = v.person.value(rf.field, v.form.template)
    v.pause("field")
    v.go(rf)
    cut = max(1, len(value) // 2)
    v.type_text(value[:cut])
    v.away(v.lognormal(120_000, 0.6, low=40_000, high=600_000))
    v.type_text(value[cut : cut + 2], typos=False)
    v.pause("short")
    depart(v, departure)


def tab_away_never_back(v: Visitor, departure: str) -> None:
    """Borderline (no exit at all): steady progress, the tab hidden, and the visitor never returns."""
    arrive(v)
    progress(v, part(v, 0.33, 0.66))
    v.hide_tab()
    v.away(v.rng.uniform(60_000, 600_000))
    depart(v, "stay")


def two_interruptions(v: Visitor, departure: str) -> None:
    """Borderline (two medium idles rather than one long one)."""
    arrive(v)
    fields = part(v, 0.4, 0.66, at_least=3)
    cut = max(1, len(fields) // 2)
    progress(v, fields[:cut])
    v.away(v.rng.uniform(25_000, 45_000))
    progress(v, fields[cut:])
    v.away(v.rng.uniform(60_000, 240_000))
    depart(v, departure)


def short_idle(v: Visitor, departure: str) -> None:
    """Borderline (the idle is just over half a minute)."""
    arrive(v)
    progress(v, part(v, 0.3, 0.5))
    v.away(v.rng.uniform(31_000, 48_000))
    depart(v, departure)


# -- 3 comparison_shopping ------------------------------------------------------------------------------------


def browse_costs(v: Visitor, *, rounds: tuple[int, int] = (3, 6), trust: float = 0.4) -> None:
    """Reading price, plan and shipping regions, coming back to a price; trust regions now and then."""
    prices = [rr for rr in v.form.regions if rr.region.role == "price"]
    others = [rr for rr in v.form.regions if rr.region.role == "trust"]
    anchor = v.rng.choice(prices)
    v.look(anchor, open_it=v.rng.random() < 0.3)
    for _ in range(v.rng.randint(*rounds)):
        if others and v.rng.random() < trust:
            v.look(v.rng.choice(others))
        else:
            v.look(v.rng.choice(prices), open_it=v.rng.random() < 0.25)
        if v.rng.random() < 0.35:
            short_scroll(v)
    v.look(anchor)  # back to the price that matters


def price_browse(v: Visitor, departure: str) -> None:
    arrive(v, long=True)
    browse_costs(v)
    depart(v, departure, link="nav")


def email_then_costs(v: Visitor, departure: str) -> None:
    arrive(v)
    emails = [rf for rf in v.form.fields if rf.field.type == "email"]
    names = [rf for rf in v.form.fields if rf.field.concept in ("first_name", "full_name")]
    if names and v.rng.random() < 0.4:
        v.pause("field")
        v.fill(names[0])
    if emails:
        v.pause("field")
        v.fill(emails[0])
    browse_costs(v, rounds=(2, 5))
    depart(v, departure, link="nav")


def coupon_hunt(v: Visitor, departure: str) -> None:
    rf = next(x for x in v.form.fields if x.field.concept in ("coupon", "promo_code"))
    arrive(v)
    browse_costs(v, rounds=(1, 2))
    codes = [v.rng.choice(("SAVE20", "BLACKFRIDAY", "XMAS25", "FREESHIP")), v.rng.choice(("SAVE10", "WELCOME", "STUDENT15"))]
    previous = None
    for code in codes[: v.rng.randint(1, 2)]:
        if previous is None:
            v.go(rf)
            v.type_text(code, typos=False)
        else:
            v.go(rf, mouse=True)
            v.erase(len(previous))
            v.type_text(code, typos=False)
        if v.form.template.coupon:
            v.pause("short")
            v.click("apply-coupon")
        previous = code
        v.pause("read")
        v.look(v.rng.choice([rr for rr in v.form.regions if rr.region.role == "price"]))
    depart(v, v.rng.choice(("navigate", departure)), link="nav")  # off to look for a code elsewhere


def plan_toggle(v: Visitor, departure: str) -> None:
    rf = v.rng.choice([x for x in v.form.fields if x.field.compare])
    prices = [rr for rr in v.form.regions if rr.region.role == "price"]
    arrive(v)
    v.look(v.rng.choice(prices))
    options = list(range(len(rf.option_ids) or len(rf.field.options)))
    for option in v.rng.sample(options, k=min(len(options), v.rng.randint(2, 3))) + [v.rng.choice(options)]:
        if rf.option_ids:
            v.pick(rf, option)
        else:
            v.choose(rf, rf.field.options[option])
        v.look(v.rng.choice(prices))
    depart(v, departure, link="nav")


def reviews_and_price(v: Visitor, departure: str) -> None:
    """Borderline (reads reviews and guarantees more than prices)."""
    arrive(v)
    trust = [rr for rr in v.form.regions if rr.region.role in ("trust", "info")] or v.form.regions
    prices = [rr for rr in v.form.regions if rr.region.role == "price"]
    price = v.rng.choice(prices)
    v.look(price)
    for _ in range(v.rng.randint(2, 4)):
        v.look(v.rng.choice(trust), dwell=v.profile.read_ms * 1.5)
    v.look(price)
    depart(v, departure)


def partial_fill_then_compare(v: Visitor, departure: str) -> None:
    """Borderline (some filling first): two or three fields, then browsing costs with returns to the price."""
    arrive(v)
    progress(v, fillable(v.form)[: v.rng.randint(2, 3)], skip_optional=0.2)
    browse_costs(v, rounds=(3, 5), trust=0.2)
    depart(v, departure, link="nav")


# -- 4 accidental_exit ----------------------------------------------------------------------------------------


def fluent_then_cut(v: Visitor, low: int, high: int) -> None:
    """Fluent typing across several fields, then a few keys into the next one (where the accident happens)."""
    fields = [rf for rf in fillable(v.form) if rf.field.type not in ("file",)]
    typed = [rf for rf in fields if rf.field.typed]
    count = v.rng.randint(low, high)
    progress(v, fields[:count], skip_optional=0.3)
    current = next((rf for rf in typed if fields.index(rf) >= count), typed[-1])
    value = v.person.value(current.field, v.form.template)
    v.pause("short")
    v.go(current)
    v.type_text(value[: v.rng.randint(2, min(6, max(2, len(value) - 1)))])


def back_mid_field(v: Visitor, departure: str) -> None:
    v.pause("short")
    fluent_then_cut(v, 3, 6)
    depart(v, "back", react=(40, 400))  # the mouse's back button, or a trackpad swipe


def misclick_link(v: Visitor, departure: str) -> None:
    v.pause("short")
    fluent_then_cut(v, 3, 6)
    depart(v, "link", link="terms" if v.rng.random() < 0.7 else "logo", react=(100, 600))  # the link in a label


def closed_tab(v: Visitor, departure: str) -> None:
    v.pause("short")
    fluent_then_cut(v, 3, 6)
    depart(v, "close", react=(40, 300))  # Ctrl+W meant for another tab


def autofill_fields(form: RenderedForm) -> list[RenderedField]:
    """What Chrome fills from a saved address: contact and address fields with autocomplete tokens (not cards)."""
    return [
        rf
        for rf in form.fields
        if rf.field.autocomplete and not rf.field.autocomplete.startswith("cc-") and rf.field.type not in ("date", "file")
        and rf.field.autocomplete not in ("off", "new-password", "bday")
    ]  # fmt: skip


def autofill_then_type(v: Visitor, departure: str) -> None:
    v.pause("short")
    auto = autofill_fields(v.form)
    first = auto[0]
    v.pause("field")
    v.go(first)
    if v.rng.random() < 0.5:  # typed a letter or two before picking the suggestion
        v.type_text(v.person.value(first.field, v.form.template)[:2], typos=False)
    v.wait(v.rng.uniform(500, 1400))
    v.autofill(auto)
    rest = [rf for rf in fillable(v.form) if rf not in auto and rf.field.type != "file"]
    for rf in rest[: v.rng.randint(1, 2)]:
        v.pause("field")
        v.fill(rf)
    current = next((rf for rf in rest[2:] if rf.field.typed), None)
    if current is not None:
        v.pause("short")
        v.go(current)
        v.type_text(v.person.value(current.field, v.form.template)[:3])
    depart(v, departure, react=(40, 400))


def early_accident(v: Visitor, departure: str) -> None:
    """Borderline (little typed): two fields, a few keys into the third, gone."""
    v.pause("short")
    fluent_then_cut(v, 2, 2)
    depart(v, departure, link="logo", react=(40, 400))


def after_normal_pause(v: Visitor, departure: str) -> None:
    """Borderline (a pause before the end): fluent, a few seconds reading the next label, a few keys, gone."""
    v.pause("short")
    fields = [rf for rf in fillable(v.form) if rf.field.type != "file"]
    count = v.rng.randint(3, 5)
    progress(v, fields[:count], skip_optional=0.3)
    v.wait(v.rng.uniform(3000, 6500))
    current = next((rf for rf in fields[count:] if rf.field.typed), None)
    if current is not None:
        v.go(current)
        v.type_text(v.person.value(current.field, v.form.template)[:3])
    depart(v, departure, react=(40, 400))


# -- 5 bot ----------------------------------------------------------------------------------------------------


def bot_fields(v: Visitor) -> list[RenderedField]:
    return [rf for rf in v.form.fields if rf.field.type != "file" and rf.field.concept not in ("coupon", "promo_code")]


def bot_value(v: Visitor, rf: RenderedField, *, spam: bool) -> str:
    if spam and rf.field.type == "textarea":
        return (v.rng.choice(SPAM) * 6)[: v.rng.randint(180, 520)]
    return v.person.value(rf.field, v.form.template)


def bot_submit(v: Visitor, how: str) -> None:
    if how == "stay":
        return v.leave("stay")
    if how == "close":
        return v.leave("close")
    v.departure = "submit"
    v.log.append("bot submit")
    style = v.rng.random()
    if style < 0.4:
        v.page.evaluate("(id) => document.getElementById(id).requestSubmit()", v.form.form_id)
    elif style < 0.8 or v.page.evaluate("document.activeElement.tagName") != "INPUT":
        v.page.locator("#submit").click(no_wait_after=True)
    else:
        v.page.keyboard.press("Enter")  # from the last field it typed into: implicit submission
    v.wait(v.rng.uniform(150, 400))


def inject_submit(v: Visitor, departure: str) -> None:
    fields = bot_fields(v)
    if v.rng.random() < 0.5:
        # a "change" alone would be invisible to the snippet (it counts input events): such bots exist, but
        # a session with nothing in it teaches nothing
        v.inject(fields, events=v.rng.choice((("input",), ("input", "change"))))
    else:
        for rf in fields:  # one evaluate per field, as a crawler's loop does
            v.inject([rf])
            v.machine_gap(8)
    bot_submit(v, departure)


def playwright_fill(v: Visitor, departure: str) -> None:
    for rf in v.form.fields:
        item = rf.field
        locator = v.page.locator(f"#{rf.id}")
        value = bot_value(v, rf, spam=v.rng.random() < 0.3)
        if item.type == "select":
            locator.select_option(value)
        elif item.type in ("radio", "checkbox"):
            if item.required or v.rng.random() < 0.5:
                option = item.options.index(value) if item.options else 0
                v.page.locator(f"#{rf.option_ids[option] if rf.option_ids else rf.id}").check()
        elif item.type == "file":
            if item.required:
                locator.set_input_files({"name": "cv.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n%%EOF"})
        elif item.concept not in ("coupon", "promo_code"):
            locator.fill(value)
        v.machine_gap(12)
    bot_submit(v, departure)


def driver_click(v: Visitor, element_id: str) -> None:
    """What WebDriver's click does: scroll the element into view, press at its centre (no wheel, no travel)."""
    v.page.evaluate("(id) => document.getElementById(id).scrollIntoView({block: 'center'})", element_id)
    x, y, w, h = v.box(element_id, scroll=False)
    v.page.mouse.click(x + w / 2, y + h / 2)


def typed_bot(v: Visitor, departure: str, *, gap: tuple[float, float], click: bool, spam: bool = True) -> None:
    """Keystroke bots (press_sequentially, Selenium's send_keys): every text field in DOM order, keys ms apart."""
    for rf in bot_fields(v):
        item = rf.field
        value = bot_value(v, rf, spam=spam)
        if item.type in ("select", "radio", "checkbox"):
            if item.type == "select":
                v.page.locator(f"#{rf.id}").select_option(value)
            elif item.required:
                option = item.options.index(value) if item.options else 0
                driver_click(v, rf.option_ids[option] if rf.option_ids else rf.id)
            v.machine_gap(20)
            continue
        if item.type in ("date", "month"):  # drivers set these through the value, not keystroke by keystroke
            v.page.locator(f"#{rf.id}").fill(value)
            v.machine_gap(20)
            continue
        if click:
            driver_click(v, rf.id)
        else:
            v.page.locator(f"#{rf.id}").focus()
        v.keys([(ch, v.rng.uniform(*gap)) for ch in value])
        v.machine_gap(30)
    bot_submit(v, departure)


def playwright_type(v: Visitor, departure: str) -> None:
    typed_bot(v, departure, gap=(0, 3), click=False)


def selenium_send_keys(v: Visitor, departure: str) -> None:
    typed_bot(v, departure, gap=(0, 20), click=True)


def spam_burst(v: Visitor, departure: str) -> None:
    """A contact-form spammer: the email and hundreds of characters into the message, then submit."""
    for rf in v.form.fields:
        if rf.field.type == "email" or rf.field.type == "textarea" or (rf.field.required and rf.field.type not in ("file",)):
            v.page.locator(f"#{rf.option_ids[0] if rf.option_ids else rf.id}").focus()
            if rf.field.type in ("radio", "checkbox"):
                v.page.keyboard.press("Space")
            elif rf.field.type == "select":
                v.page.locator(f"#{rf.id}").select_option(index=1)
            elif rf.field.type in ("date", "month"):
                v.page.locator(f"#{rf.id}").fill(bot_value(v, rf, spam=False))
            else:
                v.keys([(ch, v.rng.uniform(0, 4)) for ch in bot_value(v, rf, spam=True)])
    bot_submit(v, departure)


def paced_bot(v: Visitor, departure: str) -> None:
    """Borderline (not instant): a bot with a fixed delay per key and per field, in strict order, no mouse."""
    per_key = v.rng.choice((40, 50, 60, 75))
    per_field = v.rng.choice((250, 400, 500))
    for rf in bot_fields(v):
        if not rf.field.typed:
            continue
        v.page.locator(f"#{rf.id}").focus()
        v.keys([(ch, per_field if i == 0 else per_key) for i, ch in enumerate(bot_value(v, rf, spam=False)[:40])])
    bot_submit(v, departure)


def fill_then_close(v: Visitor, departure: str) -> None:
    """Borderline (no submit): a fill() bot that never submits and closes its page."""
    for rf in bot_fields(v):
        if rf.field.typed:
            v.page.locator(f"#{rf.id}").fill(bot_value(v, rf, spam=False))
            v.machine_gap(6)
    v.machine_gap(200)
    v.leave(departure)


# -- 6 committed_leave ----------------------------------------------------------------------------------------


def inspect(v: Visitor, rf: RenderedField) -> None:
    """Looking at a demanding field without answering it: focus only (a file dialog opened and closed, a list opened)."""
    item = rf.field
    if item.type == "file":
        v.upload(rf, "", cancel=True)
    elif item.type == "select":
        v.go(rf)
        v.wait(v.lognormal(1200, 0.4))
        v.page.keyboard.press("Escape")
    elif item.type in ("radio", "checkbox"):
        x, y, w, h = v.box(rf.option_ids[0] if rf.option_ids else rf.id)
        v.move(x + w + 40, y + h / 2)  # reads the label
    else:
        v.go(rf)
    v.pause("read")


def heavy(v: Visitor) -> list[RenderedField]:
    """Demanding fields a visitor can look at without answering (a checkbox or radio would be answered by a click)."""
    return [rf for rf in v.form.fields if rf.field.heavy and rf.field.type not in ("radio", "checkbox")]


def glance_heavy(v: Visitor, departure: str) -> None:
    arrive(v, long=True)
    fields = heavy(v)
    for rf in sorted(v.rng.sample(fields, k=min(len(fields), v.rng.randint(1, 3))), key=v.form.fields.index):
        inspect(v, rf)
    depart(v, departure)


def one_field_then_requirements(v: Visitor, departure: str) -> None:
    arrive(v)
    first = next(rf for rf in fillable(v.form) if rf.field.typed and rf.field.type != "number")
    v.pause("field")
    v.fill(first)
    for rf in sorted(v.rng.sample(heavy(v), k=min(len(heavy(v)), v.rng.randint(1, 2))), key=v.form.fields.index):
        inspect(v, rf)
    depart(v, departure)


def scan_and_go(v: Visitor, departure: str) -> None:
    """Borderline (touches several fields): clicks or tabs through a few without typing, then leaves."""
    arrive(v)
    fields = [rf for rf in v.form.fields if rf.field.typed][: v.rng.randint(3, 5)]
    for rf in fields:
        v.go(rf)
        v.wait(v.lognormal(700, 0.5))
    v.pause("read")
    depart(v, departure)


def reads_terms(v: Visitor, departure: str) -> None:
    """Borderline (reads a region, as shoppers do, but the terms, not prices)."""
    arrive(v)
    legal = [rr for rr in v.form.regions if rr.region.role == "legal"]
    v.look(v.rng.choice(legal), dwell=v.profile.read_ms * 1.3, open_it=True)
    demanding = heavy(v)
    if demanding and v.rng.random() < 0.5:
        inspect(v, v.rng.choice(demanding))
    depart(v, departure)


def select_requirement(v: Visitor, departure: str) -> None:
    """Borderline (one answer given): picks their situation in a demanding select and sees it is not for them."""
    arrive(v)
    selects = [rf for rf in heavy(v) if rf.field.type == "select"]
    rf = v.rng.choice(selects)
    v.pause("field")
    v.fill(rf, v.rng.choice(rf.field.options[-3:]))
    v.pause("read")
    if v.rng.random() < 0.5:
        others = [x for x in heavy(v) if x is not rf]
        if others:
            inspect(v, v.rng.choice(others))
    depart(v, departure)


def quick_bounce(v: Visitor, departure: str) -> None:
    """Borderline (almost nothing): one field focused, a short look, gone."""
    v.pause("short")
    v.go(typed_fields(v.form)[0])
    v.pause("read")
    depart(v, departure, react=(200, 900))


# -- the catalogue --------------------------------------------------------------------------------------------

V = Variant
VARIANTS: tuple[Variant, ...] = (
    V("retry_field", "validation_error", "clear", retry_field, LEAVING, has_failing),
    V("password_cascade", "validation_error", "clear", password_cascade, LEAVING, has_check("password")),
    V("already_registered", "validation_error", "clear", already_registered, LEAVING, has_check("taken")),
    V("blocked_submit", "validation_error", "clear", blocked_submit, LEAVING, has_required_later),
    V("single_hard_failure", "validation_error", "borderline", single_hard_failure, LEAVING, has_check("taken")),
    V("late_failure", "validation_error", "borderline", late_failure, LEAVING, has_failing),
    V("failure_with_pause", "validation_error", "borderline", failure_with_pause, LEAVING, has_failing),
    V("idle_then_leave", "distraction", "clear", idle_then_leave, ("close", "back", "navigate")),
    V("tab_away_close", "distraction", "clear", tab_away_close, ("close",)),
    V("tab_away_return", "distraction", "clear", tab_away_return, ("close", "back", "link")),
    V("mid_field_interrupt", "distraction", "borderline", mid_field_interrupt, ("close", "back")),
    V("tab_away_never_back", "distraction", "borderline", tab_away_never_back, ("stay",)),
    V("two_interruptions", "distraction", "borderline", two_interruptions, ("close", "back", "navigate")),
    V("short_idle", "distraction", "borderline", short_idle, ("close", "back")),
    V("price_browse", "comparison_shopping", "clear", price_browse, ("link", "back", "close", "navigate"), has_price),
    V("email_then_costs", "comparison_shopping", "clear", email_then_costs, ("link", "back", "close"), has_price),
    V("coupon_hunt", "comparison_shopping", "clear", coupon_hunt, ("close", "back"), has_coupon),
    V("plan_toggle", "comparison_shopping", "clear", plan_toggle, ("link", "back", "close"), has_compare),
    V("reviews_and_price", "comparison_shopping", "borderline", reviews_and_price, ("back", "close"), has_price),
    V("partial_fill_then_compare", "comparison_shopping", "borderline", partial_fill_then_compare, ("link", "back"), has_price),
    V("back_mid_field", "accidental_exit", "clear", back_mid_field, ("back",), fluent=True),
    V("misclick_link", "accidental_exit", "clear", misclick_link, ("link",), fluent=True),
    V("closed_tab", "accidental_exit", "clear", closed_tab, ("close",), fluent=True),
    V("autofill_then_type", "accidental_exit", "clear", autofill_then_type, ("back", "close"), has_autofill, fluent=True),
    V("early_accident", "accidental_exit", "borderline", early_accident, ("back", "close", "link"), fluent=True),
    V("after_normal_pause", "accidental_exit", "borderline", after_normal_pause, ("back", "close"), fluent=True),
    V("inject_submit", "bot", "clear", inject_submit, ("submit",), human=False),
    V("inject_leave", "bot", "clear", inject_submit, ("stay", "close"), human=False),
    V("playwright_fill", "bot", "clear", playwright_fill, ("submit",), human=False),
    V("playwright_type", "bot", "clear", playwright_type, ("submit", "stay"), human=False),
    V("selenium_send_keys", "bot", "clear", selenium_send_keys, ("submit", "stay"), human=False),
    V("spam_burst", "bot", "clear", spam_burst, ("submit",), has_textarea, human=False),
    V("paced_bot", "bot", "borderline", paced_bot, ("submit",), human=False),
    V("fill_then_close", "bot", "borderline", fill_then_close, ("close", "stay"), human=False),
    V("glance_heavy", "committed_leave", "clear", glance_heavy, LEAVING, has_heavy),
    V("one_field_then_requirements", "committed_leave", "clear", one_field_then_requirements, LEAVING, has_heavy),
    V("scan_and_go", "committed_leave", "borderline", scan_and_go, LEAVING),
    V("reads_terms", "committed_leave", "borderline", reads_terms, ("back", "close", "link"),
      lambda t: bool(t.regions_by("legal"))),
    V("select_requirement", "committed_leave", "borderline", select_requirement, LEAVING,
      lambda t: any(item.heavy and item.type == "select" for item in t.fields)),
    V("quick_bounce", "committed_leave", "borderline", quick_bounce, ("back", "close", "link")),
)  # fmt: skip
VARIANTS_BY_NAME = {variant.name: variant for variant in VARIANTS}
