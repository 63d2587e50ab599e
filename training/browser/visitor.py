"""The hands of a scripted visitor: real input through Playwright, time through Playwright's fake clock.

Humans move the mouse, scroll with the wheel, Tab when the next field is next, type one key at a time with
lognormal gaps (typos fixed with Backspace), pick options with the keyboard, type dates segment by segment,
choose files in the file chooser, let the browser autofill, switch tabs. Every pause advances the page's fake
clock (``page.clock.run_for``), so the snippet's timestamps carry human timing while the recording costs only
the browser's own work. Bots use Playwright and Selenium-style calls with (almost) no clock advance.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .forms import RenderedField, RenderedForm, RenderedRegion
from .values import Person

# The order Tab visits: what Chromium focuses in DOM order (radio groups collapse to one stop in Python).
TAB_ORDER_JS = """() => [...document.querySelectorAll("a[href], input, select, textarea, button, summary")]
  .filter((el) => !el.disabled && el.tabIndex >= 0 && el.getClientRects().length).map((el) => el.id)"""
BOX_JS = """(id) => { const r = document.getElementById(id).getBoundingClientRect();
  return [r.left, r.top, r.width, r.height, innerWidth, innerHeight]; }"""
SCROLL_JS = "() => [scrollY, document.documentElement.scrollHeight - innerHeight]"
# What Chrome's autofill does: values set by the browser, an input and a change event per field, no focus moves.
AUTOFILL_JS = """(pairs) => { for (const [id, value] of pairs) { const el = document.getElementById(id);
  if (el.type === "checkbox" || el.type === "radio") el.checked = true; else el.value = value;
  el.dispatchEvent(new Event("input", { bubbles: true })); el.dispatchEvent(new Event("change", { bubbles: true })); } }"""
# A form bot writing values straight into the DOM: no focus, no keys; some fire events so frameworks notice.
INJECT_JS = """([pairs, events]) => { for (const [id, value] of pairs) { const el = document.getElementById(id);
  if (el.type === "checkbox" || el.type === "radio") el.checked = true; else el.value = value;
  for (const type of events) el.dispatchEvent(new Event(type, { bubbles: true })); } }"""
# Headless Chromium never hides a page. A tab switch as Chrome does it: the focused field blurs (focus goes to
# another tab, activeElement stays), then the page hides; on return it shows and the field gets focus back.
HIDE_JS = """() => { const el = document.activeElement;
  if (el && el !== document.body) { el.dispatchEvent(new FocusEvent("blur")); el.dispatchEvent(new FocusEvent("focusout", { bubbles: true })); }
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
  document.dispatchEvent(new Event("visibilitychange")); }"""
SHOW_JS = """() => { Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
  document.dispatchEvent(new Event("visibilitychange"));
  const el = document.activeElement;
  if (el && el !== document.body) { el.dispatchEvent(new FocusEvent("focus")); el.dispatchEvent(new FocusEvent("focusin", { bubbles: true })); } }"""

# Playwright's fake clock lives in the page (its controller, ``__pwClock``); ``page.clock.run_for`` reaches it
# through the driver and also logs every advance as an init script for pages opened later. Advancing it in the
# page directly costs half the round trip and keeps a browser context reusable (new pages replay only install
# and pause). Keystrokes go further: each trusted keydown first moves the clock on by the next queued gap (what
# run_for between two calls would do), so a whole value is typed in one call. Without the controller a visitor
# falls back to page.clock and one key per call.
KEY_CLOCK_JS = """addEventListener("keydown", (e) => {
  const gaps = window.__formrecapGaps, clock = globalThis.__pwClock && globalThis.__pwClock.controller;
  if (e.isTrusted && gaps && gaps.length && clock) clock._advanceNow(clock._now.ticks + gaps.shift());
}, true);
window.__formrecapLeaving = new Promise((done) => window.navigation && navigation.addEventListener("navigate",
  (e) => { if (!e.destination.sameDocument) done(); }));"""
# Counts what the page hands to the network for the ingest endpoint (the snippet's beacons and fetches, retries
# included), so the recorder knows how many batches to wait for from a page that is still open. It wraps the
# browser's functions and calls them unchanged; the snippet itself is the repo's.
SEND_COUNT_JS = """(() => { const sent = { n: 0, failed: 0 }; window.__formrecapSent = sent;
  const beacon = Navigator.prototype.sendBeacon;
  Navigator.prototype.sendBeacon = function (url, body) { const ok = beacon.call(this, url, body); if (ok && /\\/ingest\\//.test(url)) sent.n++; return ok; };
  const fetch = window.fetch;
  window.fetch = function (url, init) { const p = fetch.call(this, url, init);
    if (/\\/ingest\\//.test(String(url))) { sent.n++; p.catch(() => sent.failed++); } return p; };
})();"""
KEY_CLOCK_READY_JS = """() => [!!(globalThis.__pwClock && typeof globalThis.__pwClock.controller._advanceNow === "function"
  && typeof globalThis.__pwClock.controller._now.ticks === "number"), scrollY]"""
# The browser reports a scroll (the wheel's, or a focus scrolling a field into view) at its next rendering frame,
# in real time. Before the fake clock moves on, a page that has scrolled gets that frame, so the snippet stamps
# the scroll (and the hover changes it causes) at the instant it happened, the same in every run. A page that
# renders no frame (seen on a survey page after a bot's burst) must not hold the visit: each wait ends after
# 100 ms of real time whatever happens; the fake clock has not moved, so the stamps are the same.
FRAMES_JS = """const clock = globalThis.__pwClock, frame = () => new Promise((done) => {
    clock.builtins.requestAnimationFrame(() => done()); clock.builtins.setTimeout(done, 100); });
  if (scrollY !== y) { await frame(); await frame(); }"""
# A page that starts leaving (the site's own timer sends it to a thank-you page) ends the advance at once: an
# evaluate still waiting on the clock when the next document commits is never answered (seen with bots' submits).
ADVANCE_JS = f"""async ([how, ms, y]) => {{ {FRAMES_JS}
  const left = await Promise.race([clock.controller[how](ms).then(() => false), window.__formrecapLeaving.then(() => true)]);
  return left ? null : scrollY; }}"""
GAPS_JS = f"""async ([gaps, y]) => {{ {FRAMES_JS}
  window.__formrecapGaps = gaps; return scrollY; }}"""

KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890")
MIME = {"pdf": "application/pdf", "doc": "application/msword", "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png",
        "heic": "image/heic", "pages": "application/x-iwork-pages-sffpages",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}  # fmt: skip


@dataclass(frozen=True)
class Profile:
    """How one human types, pauses and moves; drawn per visitor so sessions differ in rhythm, not only in content."""

    key_ms: float  # median gap between keystrokes
    key_sigma: float  # lognormal spread of those gaps
    typo_rate: float  # chance per character of hitting a neighbouring key first
    field_ms: float  # median pause between fields
    read_ms: float  # median pause to read a label, a price, a paragraph
    tabber: float  # chance of pressing Tab when the next field is the next one
    jiggle: float  # chance of moving the mouse during a pause (which breaks an idle into shorter ones)

    @classmethod
    def draw(cls, rng: random.Random, *, fluent: bool = False) -> Profile:
        key_ms = math.exp(rng.uniform(math.log(80), math.log(300)))
        if fluent:
            key_ms = min(key_ms, rng.uniform(110, 190))
        return cls(
            key_ms=key_ms,
            key_sigma=rng.uniform(0.25, 0.55),
            typo_rate=rng.uniform(0.0, 0.02 if fluent else 0.06),
            field_ms=rng.uniform(500, 1300 if fluent else 2400),
            read_ms=rng.uniform(1200, 4000),
            tabber=rng.choice((0.1, 0.5, 0.9)),
            jiggle=rng.uniform(0.0, 0.6),
        )


class Visitor:
    """One visitor on one page. ``log`` keeps what they did, for debugging a recording."""

    def __init__(self, page: Page, form: RenderedForm, rng: random.Random, person: Person, profile: Profile, *, origin: str):
        self.page = page
        self.form = form
        self.rng = rng
        self.person = person
        self.profile = profile
        self.origin = origin
        self.focused: str | None = None  # element id with focus, as far as the visitor knows
        size = page.viewport_size or {"width": 1280, "height": 720}
        self.mouse = (size["width"] * rng.uniform(0.3, 0.7), size["height"] * rng.uniform(0.15, 0.4))
        self.selected: dict[str, int] = {}  # select id -> option index (0 = the "Choose…" placeholder)
        self.checked_radio: dict[str, int] = {}  # radio group id -> option index
        self.departure: str | None = None
        self.log: list[str] = []
        self.tab_order: list[str] = page.evaluate(TAB_ORDER_JS)
        self.in_page_clock, self._y = page.evaluate(KEY_CLOCK_READY_JS)
        self._radio_group = {oid: rf for rf in form.fields if rf.field.type == "radio" for oid in rf.option_ids}

    # -- time -------------------------------------------------------------------------------------------------
    def wait(self, ms: float) -> None:
        """Time passes on the page's clock: its timers (the snippet's, the site's) fire as they would."""
        if ms < 1:
            return
        if self.in_page_clock:
            self._advance("runFor", ms)
        else:
            self.page.clock.run_for(int(ms))

    def away(self, ms: float) -> None:
        """A long absence: jump the clock (due timers fire once) instead of ticking through every interval."""
        if self.in_page_clock:
            self._advance("fastForward", ms)
        else:
            self.page.clock.fast_forward(int(ms))

    def _advance(self, how: str, ms: float) -> None:
        url = self.page.url
        try:
            y = self.page.evaluate(ADVANCE_JS, [how, int(ms), self._y])
        except PlaywrightError as exc:
            # the next document committed before the evaluate could answer that the page was leaving
            if "context was destroyed" not in str(exc):
                raise
            y = None
        if y is not None:
            self._y = y
            return
        # the page is leaving: let the next document commit before anything else talks to the page
        try:
            self.page.wait_for_url(lambda now: now != url, wait_until="commit", timeout=10_000)
        except PlaywrightTimeoutError:
            self.log.append("navigation started but never committed")

    def lognormal(self, median: float, sigma: float = 0.45, *, low: float = 20, high: float = 60_000) -> float:
        return min(high, max(low, median * math.exp(self.rng.gauss(0, sigma))))

    def pause(self, kind: str = "field") -> None:
        """A human pause; the mouse may drift meanwhile (a pointermove, which the snippet counts as activity)."""
        median = {"field": self.profile.field_ms, "read": self.profile.read_ms, "short": 300.0, "think": 2500.0}[kind]
        ms = self.lognormal(median, 0.5)
        if ms > 1500 and self.rng.random() < self.profile.jiggle:
            first = ms * self.rng.uniform(0.3, 0.7)
            self.wait(first)
            self.drift()
            ms -= first
        self.wait(ms)

    # -- pointer and scrolling --------------------------------------------------------------------------------
    def box(self, element_id: str, *, scroll: bool = True) -> tuple[float, float, float, float]:
        x, y, w, h, _, vh = self.page.evaluate(BOX_JS, element_id)
        if scroll and (y < 70 or y + min(h, vh * 0.4) > vh - 30):
            self.scroll(y - vh * self.rng.uniform(0.2, 0.5))
            x, y, w, h, _, vh = self.page.evaluate(BOX_JS, element_id)
        return x, y, w, h

    def scroll(self, dy: float) -> None:
        """The wheel, a few notches over a few hundred ms (the snippet reports one scroll once 200 ms pass quietly)."""
        y, most = self.page.evaluate(SCROLL_JS)
        dy = max(-y, min(most - y, dy))
        if abs(dy) < 20:
            return
        # the hand is on the mouse first: that move, not the scroll, ends an idle (one order in every run)
        self.drift()
        notches = max(1, min(4, round(abs(dy) / 260)))
        for i in range(notches):
            self.page.mouse.wheel(0, dy / notches)
            self._settle(y + dy * (i + 1) / notches)
            self.wait(self.rng.uniform(40, 140) if i < notches - 1 else self.rng.uniform(120, 320))
        self.log.append(f"scroll {round(dy)}")

    def _settle(self, expected: float) -> None:
        # mouse.wheel returns before the page has scrolled: where things are is only known once it has
        for _ in range(40):
            if abs(self.page.evaluate("scrollY") - expected) < 2:
                return

    def move(self, x: float, y: float) -> None:
        """Most moves land in one step; some pass through the page on the way (crossing what lies between)."""
        if self.rng.random() < 0.2:
            mx, my = (self.mouse[0] + x) / 2 + self.rng.uniform(-60, 60), (self.mouse[1] + y) / 2
            self.page.mouse.move(mx, max(1, my))
            self.wait(self.rng.uniform(40, 160))
        self.page.mouse.move(x, y)
        self.mouse = (x, y)

    def drift(self) -> None:
        x, y = self.mouse
        self.page.mouse.move(x + self.rng.uniform(-25, 25), max(1, y + self.rng.uniform(-15, 15)))

    def click(self, element_id: str, *, left: bool = False) -> None:
        x, y, w, h = self.box(element_id)
        px = x + (min(12.0, w / 2) if left else w * self.rng.uniform(0.25, 0.75))
        py = y + h * self.rng.uniform(0.3, 0.7)
        self.move(px, py)
        self.wait(self.rng.uniform(60, 220))  # aiming
        self.page.mouse.click(px, py, delay=0)
        self.focused = element_id
        self.log.append(f"click {element_id}")

    def glance(self) -> None:
        """Looking over the page: a pause, maybe a scroll down and partly back."""
        self.pause("read")
        if self.rng.random() < 0.7:
            self.scroll(self.rng.uniform(250, 700))
            self.pause("read")
            if self.rng.random() < 0.5:
                self.scroll(-self.rng.uniform(150, 500))

    # -- moving between fields --------------------------------------------------------------------------------
    def _next_stop(self) -> str | None:
        if self.focused not in self.tab_order:
            return None
        order = self.tab_order
        i = order.index(self.focused)
        group = self._radio_group.get(self.focused)
        j = i + 1
        while j < len(order) and group is not None and self._radio_group.get(order[j]) is group:
            j += 1
        if j >= len(order):
            return None
        landing = self._radio_group.get(order[j])
        if landing is not None:  # a radio group is one stop: its checked radio, else the first
            return landing.option_ids[self.checked_radio.get(landing.id, 0)]
        return order[j]

    def go(self, rf: RenderedField, *, option: int = 0, mouse: bool = False, left: bool = False) -> str:
        """Focus a field the way this visitor does; returns "tab" or "click"."""
        target = rf.option_ids[option] if rf.option_ids else rf.id
        if rf.option_ids and rf.field.type == "radio" and self.focused not in rf.option_ids:
            tab_target = rf.option_ids[self.checked_radio.get(rf.id, 0)]
        else:
            tab_target = target
        if not mouse and self._next_stop() == tab_target and self.rng.random() < self.profile.tabber:
            self.page.keyboard.press("Tab")
            self.focused = tab_target
            self.log.append(f"tab {tab_target}")
            self.wait(self.rng.uniform(80, 300))
            return "tab"
        self.click(target, left=left)
        return "click"

    # -- typing -----------------------------------------------------------------------------------------------
    def key_gap(self, factor: float = 1.0) -> float:
        return self.lognormal(self.profile.key_ms * factor, self.profile.key_sigma, low=28, high=2500)

    def keys(self, strokes: list[tuple[str, float]]) -> None:
        """Press keys (a character or a key name), each ``gap`` ms after the one before (the first: after now)."""
        fast = self.in_page_clock and all(len(key) > 1 or (key.isascii() and key.isprintable()) for key, _ in strokes)
        if not fast:  # characters Playwright types by insertText have no keydown to carry a gap
            for key, gap in strokes:
                self.wait(gap)
                self.page.keyboard.type(key) if len(key) == 1 else self.page.keyboard.press(key)
            return
        self._y = self.page.evaluate(GAPS_JS, [[max(0, round(gap)) for _, gap in strokes], self._y])
        text = ""
        for key, _ in strokes:
            if len(key) == 1:
                text += key
                continue
            if text:
                self.page.keyboard.type(text)
                text = ""
            self.page.keyboard.press(key)
        if text:
            self.page.keyboard.type(text)

    def type_text(self, text: str, *, typos: bool = True) -> None:
        """Keystroke by keystroke with this visitor's rhythm; a typo is noticed and fixed with Backspace."""
        strokes: list[tuple[str, float]] = []
        gap = self.key_gap(1.6)  # from focus to the first key
        i = 0
        while i < len(text):
            ch = text[i]
            if typos and ch.isalnum() and self.rng.random() < self.profile.typo_rate:
                strokes.append((self._neighbour(ch), gap))
                extra = i + 1 < len(text) and self.rng.random() < 0.35
                if extra:
                    strokes.append((text[i + 1], self.key_gap()))
                strokes.append(("Backspace", self.rng.uniform(250, 750)))  # noticing the mistake
                if extra:
                    strokes.append(("Backspace", self.key_gap(0.7)))
                gap = self.key_gap(0.8)
            strokes.append((ch, gap))
            gap = self.key_gap(1.35 if ch in " @.-/" else 1.0)
            i += 1
        self.keys(strokes)
        self.wait(gap)

    def _neighbour(self, ch: str) -> str:
        low = ch.lower()
        for row in KEYBOARD_ROWS:
            if low in row:
                k = row.index(low)
                wrong = row[max(0, k - 1)] if k and self.rng.random() < 0.5 else row[min(len(row) - 1, k + 1)]
                return wrong.upper() if ch.isupper() else wrong
        return ch

    def erase(self, length: int) -> None:
        """Clearing a field to retype it: select all and delete (one input), or Backspace held (one per char)."""
        if length > 6 and self.rng.random() < 0.55:
            self.page.keyboard.press("Control+a")
            self.wait(self.rng.uniform(150, 400))
            self.page.keyboard.press("Backspace")
            self.wait(self.key_gap())
        else:
            for _ in range(length):
                self.page.keyboard.press("Backspace")
                self.wait(self.rng.uniform(35, 90))  # key repeat

    def fill(self, rf: RenderedField, value: str | None = None) -> None:
        """Give a field its value the way a person does for its type."""
        item = rf.field
        value = self.person.value(item, self.form.template) if value is None else value
        self.log.append(f"fill {item.concept}")
        if item.type == "select":
            return self.choose(rf, value)
        if item.type == "radio":
            return self.pick(rf, item.options.index(value))
        if item.type == "checkbox":
            return self.tick(rf, item.options.index(value) if item.options else 0)
        if item.type == "file":
            return self.upload(rf, value if "." in value else "document.pdf")
        if item.type == "date":
            return self.type_date(rf, value)
        if item.type == "month":
            return self.type_month(rf, value)
        self.go(rf)
        self.type_text(value, typos=item.type not in ("password",))

    def choose(self, rf: RenderedField, option: str) -> None:
        target = rf.field.options.index(option) + 1
        via = self.go(rf)
        current = self.selected.get(rf.id, 0)
        arrow = "ArrowDown" if target > current else "ArrowUp"
        if via == "click":  # the list opened: arrows move the highlight, Enter picks (one input)
            strokes = [(arrow, self.rng.uniform(70, 200)) for _ in range(abs(target - current))]
            strokes[:1] = [(arrow, self.lognormal(700, 0.4))] if strokes else []
            self.keys([*strokes, ("Enter", self.rng.uniform(150, 400))])
        else:  # arrows on a closed select change the value at once (one input each)
            self.keys([(arrow, self.rng.uniform(150, 450)) for _ in range(abs(target - current))])
        self.selected[rf.id] = target
        self.wait(self.rng.uniform(100, 300))

    def pick(self, rf: RenderedField, option: int) -> None:
        via = self.go(rf, option=option)
        if via == "tab":
            landed = self.checked_radio.get(rf.id, 0)
            if landed == option:
                self.keys([("Space", self.rng.uniform(150, 400))])
            arrow = "ArrowDown" if option > landed else "ArrowUp"
            self.keys([(arrow, self.rng.uniform(150, 400)) for _ in range(abs(option - landed))])
            self.focused = rf.option_ids[option]
        self.checked_radio[rf.id] = option
        self.wait(self.rng.uniform(100, 300))

    def tick(self, rf: RenderedField, option: int = 0) -> None:
        if self.go(rf, option=option) == "tab":
            self.page.keyboard.press("Space")
        self.wait(self.rng.uniform(100, 300))

    def type_date(self, rf: RenderedField, iso: str) -> None:
        """en-US date inputs: month, day, year segments, each advancing by itself once complete."""
        self.go(rf, left=True)
        year, month, day = iso.split("-")
        self.keys([(ch, self.key_gap(1.6 if i in (0, 2, 4) else 1.0)) for i, ch in enumerate(month + day + year)])
        self.wait(self.key_gap())

    def type_month(self, rf: RenderedField, value: str) -> None:
        self.go(rf, left=True)
        year, month = value.split("-")
        strokes = [(ch, self.key_gap(1.6)) for ch in str(int(month))] + [("ArrowRight", self.key_gap())]
        self.keys(strokes + [(ch, self.key_gap()) for ch in year])
        self.wait(self.key_gap())

    def upload(self, rf: RenderedField, name: str, *, size: int = 0, cancel: bool = False) -> None:
        """The file chooser: click, browse for a few seconds, pick a file (or close the dialog)."""
        with self.page.expect_file_chooser(timeout=5000) as chooser:
            self.click(rf.id)
        self.wait(self.lognormal(4000, 0.5, low=1200, high=20_000))
        if cancel:
            self.log.append(f"cancel upload {rf.field.concept}")
            return
        extension = name.rsplit(".", 1)[-1]
        body = b"%PDF-1.7\n" + bytes(max(0, (size or self.rng.randrange(60_000, 400_000)) - 9))
        chooser.value.set_files({"name": name, "mimeType": MIME.get(extension, "application/octet-stream"), "buffer": body})
        self.log.append(f"upload {name}")
        self.wait(self.rng.uniform(200, 600))

    def autofill(self, rfs: list[RenderedField]) -> None:
        """The browser's autofill after the visitor picks a saved address: several fields at once, no focus moves."""
        pairs = []
        for rf in rfs:
            value = self.person.value(rf.field, self.form.template)
            if rf.field.type == "select":
                self.selected[rf.id] = rf.field.options.index(value) + 1
            pairs.append([rf.id, value])
        self.page.evaluate(AUTOFILL_JS, pairs)
        self.log.append("autofill " + ",".join(rf.field.concept for rf in rfs))
        self.wait(self.rng.uniform(300, 900))

    # -- regions ----------------------------------------------------------------------------------------------
    def look(self, rr: RenderedRegion, dwell: float | None = None, *, open_it: bool = False) -> None:
        """Read a region: the pointer rests on it (pointerenter is its focus), maybe opening its disclosure."""
        if open_it and rr.control_id:
            self.click(rr.control_id)
        else:
            x, y, w, h = self.box(rr.id)
            self.move(x + w * self.rng.uniform(0.2, 0.8), y + min(h, 220) * self.rng.uniform(0.3, 0.8))
        self.log.append(f"look {rr.region.concept}")
        self.wait(self.lognormal(dwell or self.profile.read_ms, 0.4))

    # -- the tab and leaving ----------------------------------------------------------------------------------
    def hide_tab(self) -> None:
        self.page.evaluate(HIDE_JS)
        self.log.append("hide")

    def show_tab(self) -> None:
        self.page.evaluate(SHOW_JS)
        self.log.append("show")

    def submit(self) -> None:
        self.click("submit")
        self.wait(self.rng.uniform(300, 500))  # the browser's or the site's checks, the snippet's settle

    def leave(self, how: str, *, link: str = "logo") -> None:
        """End the visit: back button, closed tab, a link, a typed address, or nothing at all (the tab stays)."""
        self.departure = how
        self.log.append(f"leave {how}")
        # each way waits for the next page's load: closing a page mid-navigation can hang with the fake clock
        if how == "back":
            self.page.go_back(wait_until="load")
        elif how == "close":
            with self.page.expect_event("close"):  # with unload handlers run, close() returns before the page is gone
                self.page.close(run_before_unload=True)
        elif how == "link":
            with self.page.expect_navigation(wait_until="load"):
                self.click(self.form.links.get(link, "logo"))
        elif how == "navigate":
            self.page.goto(f"{self.origin}/elsewhere")
        elif how != "stay":
            raise ValueError(f"unknown departure {how!r}")

    # -- bots -------------------------------------------------------------------------------------------------
    def inject(self, rfs: list[RenderedField], *, events: tuple[str, ...] = ("input", "change")) -> None:
        pairs = []
        for rf in rfs:
            value = self.person.value(rf.field, self.form.template)
            target = rf.option_ids[rf.field.options.index(value)] if rf.option_ids else rf.id
            pairs.append([target, value])
        self.page.evaluate(INJECT_JS, [pairs, list(events)])
        self.log.append(f"inject {len(pairs)}")

    def machine_gap(self, high: float = 15) -> None:
        """A script's own pace: a few ms of work between calls, on the fake clock."""
        self.wait(self.rng.uniform(0, high))
