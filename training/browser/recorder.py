"""Records labelled raw snippet sessions: scripted visitors on the realistic forms, in real Debian Chromium.

    from training.browser.recorder import record_sessions
    summary = record_sessions(count=720, seed=20261201, out=Path("training/data/browser/recorded.jsonl"))

Pages are served by ``context.route`` on the collector's origin; the repo's snippet (minified as
``formrecap/snippet.py`` serves it) posts to the collector (``collector.py``). Every session gets a fresh browser
context with Playwright's fake clock paused, so human pauses and absences of minutes cost no real time and the
same seed gives the same forms, names, personas and events. One JSON line per session:
``{"id", "label", "class", "source": "browser", "form", "naming", "variant", "difficulty", "departure", "events",
"batches"}``. A session whose batches did not all arrive is recorded once more and, if still incomplete, reported
as lost (never silently dropped). Each browser runs in a worker process under a watchdog: a session that stops
making progress has its worker killed and is recorded again in a fresh one (``record_plans``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import multiprocessing.connection
import os
import random
import signal
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

import rjsmin
from playwright.sync_api import Error as PlaywrightError

from classifier.labels import CLASSES, CODES

from .collector import Collector
from .forms import CLOCK_START, TEMPLATES, landing_page, other_page, render_page, thanks_page
from .naming import LANGUAGES, SCHEMES
from .personas import LEAVING, VARIANTS, VARIANTS_BY_NAME, Variant
from .values import Person
from .visitor import KEY_CLOCK_JS, SEND_COUNT_JS, Profile, Visitor

REPO = Path(__file__).resolve().parents[2]
SNIPPET = REPO / "formrecap" / "snippet" / "v1" / "formrecap.js"
SNIPPET_PATH = "/snippet/v1/formrecap.js"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's build (`make chromium`), never a downloaded one
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # a wheel notch scrolls at once: with animation the scroll would run on real time, outside the fake clock
    "--disable-smooth-scrolling",
]
VIEWPORTS = ((1280, 720), (1366, 768), (1440, 900), (1536, 864), (1920, 1080), (1280, 800))
# where sites put the tag: in the head (as documented), async in the head, or at the end of the body
SNIPPET_PLACES = ("head", "head", "async", "body")
FLUSH_MS = 5000  # the snippet's periodic flush (data-flush-ms default)
ARRIVAL_TIMEOUT_S = 5.0
# a session takes 1-10 s of real time (the fake clock skips pauses); far past that, its browser is stuck
SESSION_DEADLINE_S = 90.0
SOURCE = "browser"


@dataclass(frozen=True)
class SessionPlan:
    index: int
    id: str
    variant: str
    label: int
    cls: str
    difficulty: str
    form: str
    naming: str
    departure: str
    seed: int
    viewport: tuple[int, int]
    snippet_at: str


@dataclass
class Summary:
    seconds: float = 0.0
    recorded: int = 0
    lost: list[dict] = field(default_factory=list)  # {"id", "variant", "reason"}
    retried: int = 0
    stalled: list[str] = field(default_factory=list)  # sessions whose worker the watchdog killed (or that died)
    stray_sessions: int = 0  # snippet sessions on a form the persona did not use
    page_errors: list[str] = field(default_factory=list)
    classes: Counter = field(default_factory=Counter)
    variants: Counter = field(default_factory=Counter)
    naming: Counter = field(default_factory=Counter)
    forms: Counter = field(default_factory=Counter)
    departures: Counter = field(default_factory=Counter)
    difficulty: Counter = field(default_factory=Counter)
    events: int = 0
    phases: Counter = field(default_factory=Counter)  # seconds per phase, summed over the browsers

    @property
    def per_second(self) -> float:
        return self.recorded / self.seconds if self.seconds else 0.0

    def add(self, record: dict) -> None:
        self.recorded += 1
        self.classes[record["class"]] += 1
        self.variants[f"{record['class']}/{record['variant']}"] += 1
        self.naming[record["naming"]] += 1
        self.forms[record["form"]] += 1
        self.departures[record["departure"]] += 1
        self.difficulty[record["difficulty"]] += 1
        self.events += len(record["events"])

    def as_dict(self) -> dict:
        data = asdict(self)
        for name, value in vars(self).items():
            if isinstance(value, Counter):  # asdict rebuilds a Counter from (key, count) pairs: it would count them
                data[name] = dict(value)
        data["per_second"] = round(self.per_second, 3)
        data["seconds"] = round(self.seconds, 1)
        data["phases"] = {name: round(value, 1) for name, value in self.phases.items()}
        return data


# -- planning -------------------------------------------------------------------------------------------------


def _stable_seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:8], "big")


def plan_sessions(
    count: int, seed: int, *, classes: Iterable[str] | None = None, forms: Iterable[str] | None = None
) -> list[SessionPlan]:
    """Balanced classes, variants drawn per class, a form that supports the variant, a naming scheme, a departure."""
    wanted = [CLASSES[code] for code in sorted(CLASSES)] if classes is None else [_class_name(c) for c in classes]
    form_names = list(TEMPLATES) if forms is None else list(forms)
    unknown = [name for name in form_names if name not in TEMPLATES]
    if unknown:
        raise ValueError(f"unknown form {unknown[0]!r}; known: {', '.join(TEMPLATES)}")
    rng = random.Random(seed)
    plans: list[SessionPlan] = []
    usable: dict[str, list[Variant]] = {}
    for name in wanted:
        usable[name] = [v for v in VARIANTS if v.label == name and any(v.needs(TEMPLATES[f]) for f in form_names)]
        if not usable[name]:
            raise ValueError(f"no variant of {name} fits the forms {', '.join(form_names)}")
    # every class the same share; within a class, variants in turn from a shuffled deck (even coverage)
    labels = [wanted[i % len(wanted)] for i in range(count)]
    rng.shuffle(labels)
    decks: dict[str, list[Variant]] = {name: [] for name in wanted}
    form_decks: dict[str, list[str]] = {}
    for index, name in enumerate(labels):
        if not decks[name]:
            decks[name] = rng.sample(usable[name], len(usable[name]))
        variant = decks[name].pop()
        fitting = [f for f in form_names if variant.needs(TEMPLATES[f])]
        deck = form_decks.setdefault(variant.name, [])
        if not deck:
            deck.extend(rng.sample(fitting, len(fitting)))
        form = deck.pop()
        plans.append(
            SessionPlan(
                index=index,
                id=f"br-{seed}-{index:04d}",
                variant=variant.name,
                label=CODES[name],
                cls=name,
                difficulty=variant.difficulty,
                form=form,
                naming=rng.choice(SCHEMES),
                departure=rng.choice(variant.departures),
                seed=_stable_seed(seed, index),
                viewport=rng.choice(VIEWPORTS),
                snippet_at=rng.choice(SNIPPET_PLACES),
            )
        )
    return plans


def _class_name(value: str) -> str:
    value = str(value).strip()
    if value.isdigit() and int(value) in CLASSES:
        return CLASSES[int(value)]
    if value in CODES:
        return value
    raise ValueError(f"unknown class {value!r}; known: {', '.join(f'{c}={n}' for c, n in CLASSES.items())}")


# -- recording one session ------------------------------------------------------------------------------------


def snippet_source() -> str:
    # what visitors download: formrecap/snippet.py minifies the source the same way
    return rjsmin.jsmin(SNIPPET.read_text(encoding="utf-8"), keep_bang_comments=True)


class Lost(Exception):
    """A session whose batches did not all arrive (or that sent nothing)."""


class Recorder:
    """Records plans one after another in one browser: a fresh page per session, in a context reused for a while.

    The context holds the routes (this session's pages), the fake clock (installed and paused once; every new
    page starts from the same instant) and the keystroke clock script. Where Playwright's in-page clock
    controller is missing, each session gets a fresh context instead and time goes through ``page.clock``.
    """

    def __init__(self, browser, collector: Collector, *, snippet: str | None = None, pages_per_context: int = 40):
        self.browser = browser
        self.collector = collector
        self.snippet = snippet if snippet is not None else snippet_source()
        self.pages_per_context = pages_per_context
        self.page_errors: list[str] = []
        self.seconds: Counter = Counter()  # where the time goes: open (page and load), visit, arrive, close
        self._context = None
        self._used = 0
        self._pages: dict[str, tuple[str, str]] = {}  # path -> (body, content type) of the session being recorded
        self._seen: list[str] = []  # ingest requests the page made while Playwright could see them
        self._failed: list[str] = []
        self._shared = True

    def _lap(self, phase: str, since: float) -> None:
        self.seconds[phase] += time.perf_counter() - since

    def _serve(self, route) -> None:
        path = route.request.url[len(self.collector.origin) :].split("?", 1)[0].split("#", 1)[0] or "/"
        body, content_type = self._pages.get(path) or (other_page(path), "text/html")
        route.fulfill(body=body, content_type=content_type + "; charset=utf-8")

    def _new_context(self):
        endpoint = self.collector.endpoint
        context = self.browser.new_context(locale="en-US", timezone_id="Europe/London")
        context.on("request", lambda request: request.url.startswith(endpoint) and self._seen.append(request.method))
        context.on(
            "requestfailed", lambda request: request.url.startswith(endpoint) and self._failed.append(str(request.failure))
        )
        context.route(lambda url: url.startswith(self.collector.origin) and not url.startswith(endpoint), self._serve)
        # a datetime: Playwright for Python reads a plain number as seconds
        context.clock.install(time=CLOCK_START - timedelta(seconds=1))
        context.clock.pause_at(CLOCK_START)  # from here on, time moves only when a persona lets it
        context.add_init_script(KEY_CLOCK_JS)
        context.add_init_script(SEND_COUNT_JS)
        context.set_default_timeout(15_000)
        return context

    def _page(self):
        if self._context is None or not self._shared or self._used >= self.pages_per_context:
            self.close()
            self._context = self._new_context()
            self._used = 0
        self._used += 1
        return self._context.new_page()

    def close(self) -> None:
        if self._context is not None:
            self._context.close()
            self._context = None

    def record(self, plan: SessionPlan, *, attempt: int = 0) -> dict:
        variant = VARIANTS_BY_NAME[plan.variant]
        template = TEMPLATES[plan.form]
        rng = random.Random(plan.seed)
        origin = self.collector.origin
        site_key = f"pk_rec_{plan.index}_{attempt}"
        rendered = render_page(
            template,
            plan.naming,
            site_key=site_key,
            snippet_url=origin + SNIPPET_PATH,
            endpoint=self.collector.endpoint,
            salt=str(plan.seed),
            snippet_at=plan.snippet_at,
        )
        form_url = origin + template.path
        self._pages = {
            SNIPPET_PATH: (self.snippet, "application/javascript"),
            template.path: (rendered.html, "text/html"),
            "/": (landing_page(template, form_url), "text/html"),
            "/thanks": (thanks_page(), "text/html"),
        }
        self._seen, self._failed = [], []
        seen, failed = self._seen, self._failed
        clock = time.perf_counter()
        page = self._page()
        try:
            width, height = plan.viewport
            page.set_viewport_size({"width": width, "height": height})
            page.on("pageerror", lambda exc: self.page_errors.append(f"{plan.id}: {exc}"))
            if plan.departure == "back":  # arriving from a landing page, so the back button has somewhere to go
                page.goto(origin + "/")
                page.click("#start")
                page.wait_for_url(form_url)
            else:
                page.goto(form_url)
            self._lap("open", clock)
            clock = time.perf_counter()
            locale = plan.naming if plan.naming in LANGUAGES else "en"
            person = Person.make(rng, locale, template)
            profile = Profile.draw(rng, fluent=variant.fluent)
            visitor = Visitor(page, rendered, rng, person, profile, origin=origin)
            if not visitor.in_page_clock and self._shared:
                # page.clock logs every advance for later pages: sharing a context would replay them all
                self._shared = False
            variant.run(visitor, plan.departure)
            navigated = thanked = False
            if not page.is_closed():
                navigated = not page.url.startswith(form_url)
                thanked = page.url.startswith(origin + "/thanks")
                if not navigated:
                    visitor.wait(FLUSH_MS + 1600)  # the periodic flush sends what is left (a held-back blur too)
            terminal = visitor.departure in LEAVING or navigated
            departure = visitor.departure or plan.departure
            self._lap("visit", clock)
            clock = time.perf_counter()

            alive = not page.is_closed() and not navigated
            expected = [0]  # bodies the open page handed to the network and that did not fail

            def ready() -> bool:
                received = self.collector.received(site_key)
                return _complete(self.collector.batches(site_key), terminal=terminal) and received >= max(expected[0], len(seen))

            def count() -> None:
                sent = page.evaluate("() => window.__formrecapSent")
                expected[0] = sent["n"] - sent["failed"]

            if alive:
                count()
            arrived = self.collector.wait(ready, 1.0 if alive else ARRIVAL_TIMEOUT_S)
            for tries in range(5 if alive else 0):
                if arrived:
                    break
                # a send that failed is retried by the snippet 1 s, 2 s, 4 s… later on its own (fake) clock
                visitor.wait(1000 << tries)
                count()
                arrived = self.collector.wait(ready, 1.0)
            # taken before the page is closed here: a tab left open sends no exit of its own
            batches = self.collector.batches(site_key)
            self._lap("arrive", clock)
            clock = time.perf_counter()
        finally:
            self.collector.forget(site_key)
            if not page.is_closed():
                # closing a page whose next document is still on its way can hang: let it arrive first
                with contextlib.suppress(PlaywrightError):
                    page.wait_for_load_state("load", timeout=5_000)
                page.close()
            self._lap("close", clock)
        if not arrived:
            raise Lost(
                f"batches missing: got seqs {_seqs(batches)}, terminal expected={terminal}, requests seen={len(seen)}, "
                f"failed={failed[:3]}, collector refused={len(self.collector.refused)}"
            )
        main = [b for b in batches if b["form"]["id"] == rendered.form_id]
        stray = len({b["session_id"] for b in batches if b["form"]["id"] != rendered.form_id})
        if len({b["session_id"] for b in main}) != 1:
            raise Lost(f"expected one snippet session on the form, got {len({b['session_id'] for b in main})}")
        events = [event for batch in sorted(main, key=lambda b: b["seq"]) for event in batch["events"]]
        if not events:
            raise Lost("the session sent no events")
        kinds = {event["type"] for event in events}
        if "submit" in kinds:
            departure = "submit"
        elif thanked:
            departure = "submit_exit"  # the site took the submit and navigated itself: the snippet saw a page leaving
        elif departure == "submit":
            departure = "submit_blocked"  # the site refused the bot's submit: the session just stops
        elif departure == "stay":
            departure = "timeout"  # the tab stays open; the site's inactivity timeout ends it
        return {
            "id": plan.id,
            "label": plan.label,
            "class": plan.cls,
            "source": SOURCE,
            "form": plan.form,
            "naming": plan.naming,
            "variant": plan.variant,
            "difficulty": plan.difficulty,
            "departure": departure,
            "events": events,
            "batches": len(main),
            "_stray": stray,
        }


def _seqs(batches: list[dict]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for batch in batches:
        out.setdefault(batch["session_id"][:8], []).append(batch["seq"])
    return {k: sorted(v) for k, v in out.items()}


def _complete(batches: list[dict], *, terminal: bool) -> bool:
    """Every snippet session's seqs run from 0 without a gap; a page that went away has sent its exit (or submit)."""
    if not batches:
        return False
    by_session: dict[str, dict[int, dict]] = {}
    for batch in batches:
        by_session.setdefault(batch["session_id"], {})[batch["seq"]] = batch
    for seqs in by_session.values():
        if sorted(seqs) != list(range(len(seqs))):
            return False
    if terminal:
        ended = any(e["type"] in ("exit", "submit") for seqs in by_session.values() for e in seqs[max(seqs)]["events"])
        return ended
    return True


def record_one(recorder: Recorder, plan: SessionPlan) -> tuple[dict | None, dict | None, int]:
    """(record, lost, retries): a lost session is recorded once more (the same seed replays the same visit)."""
    reason = ""
    for attempt in range(2):
        try:
            return recorder.record(plan, attempt=attempt), None, attempt
        except Lost as exc:
            reason = str(exc)
        except Exception as exc:  # a persona that could not act on the page is reported, not hidden
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
            recorder.close()  # whatever state the context was left in, the next session starts a new one
    return None, {"id": plan.id, "variant": plan.variant, "form": plan.form, "naming": plan.naming, "reason": reason}, 1


# -- many sessions --------------------------------------------------------------------------------------------


def _launch(playwright):
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run `make chromium`")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def _worker(conn) -> None:
    """One browser in its own process: takes plans from ``conn`` until None, answers each with its result."""
    # its own process group, so the watchdog's kill takes the Playwright driver and Chromium with it
    os.setsid()
    from playwright.sync_api import sync_playwright

    collector = Collector()
    try:
        with sync_playwright() as playwright:
            browser = _launch(playwright)
            recorder = Recorder(browser, collector)
            while (plan := conn.recv()) is not None:
                record, lost, retried = record_one(recorder, plan)
                conn.send((plan.index, record, lost, retried, recorder.page_errors[:], dict(recorder.seconds)))
                recorder.page_errors.clear()
                recorder.seconds.clear()
            recorder.close()
            browser.close()
    finally:
        collector.close()
        conn.close()


class _Browser:
    """A worker process seen from the parent: the plan it is recording and since when (for the watchdog)."""

    def __init__(self, spawn) -> None:
        self.conn, child = spawn.Pipe()
        self.proc = spawn.Process(target=_worker, args=(child,), daemon=True)
        self.proc.start()
        child.close()
        self.plan: SessionPlan | None = None
        self.since = 0.0

    def give(self, plan: SessionPlan) -> None:
        self.plan, self.since = plan, time.monotonic()
        self.conn.send(plan)

    def stop(self) -> None:
        """No more plans: the worker closes its browser and exits; one that does not within 10 s is killed."""
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.proc.join(10)
        self.kill()

    def kill(self) -> None:
        """The worker's whole process group (Playwright's driver, Chromium); the worker itself even before setsid."""
        for kill in (lambda: os.killpg(self.proc.pid, signal.SIGKILL), self.proc.kill):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill()
        self.proc.join()
        self.conn.close()


def record_plans(
    plans: list[SessionPlan],
    *,
    workers: int = 1,
    deadline_s: float = SESSION_DEADLINE_S,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[dict], Summary]:
    """Records ``plans`` with ``workers`` browsers, each in its own process, and returns them in order of index.

    A watchdog watches every session: one that has not finished ``deadline_s`` seconds after it started (a page
    or Playwright that stopped making progress) has its worker killed, Chromium with it, and is recorded once more
    by a fresh worker; a session that stalls twice, or whose worker dies twice, is reported as lost with the
    reason. Nothing can hold a run past about ``2 * deadline_s`` per session.
    """
    started = time.perf_counter()
    summary = Summary()
    results: dict[int, dict] = {}
    pending = deque(plans)
    stalls: Counter = Counter()  # plan index -> times its worker was killed or died

    def take(index: int, record: dict | None, lost: dict | None, retried: int, errors: list[str], phases: dict) -> None:
        summary.retried += retried
        summary.page_errors += errors
        summary.phases.update(phases)
        if record is not None:
            summary.stray_sessions += record.pop("_stray")
            results[index] = record
        else:
            summary.lost.append(lost)
        if progress:
            progress(len(results) + len(summary.lost), len(plans))

    def stalled(plan: SessionPlan, reason: str) -> None:
        stalls[plan.index] += 1
        summary.stalled.append(f"{plan.id}: {reason}")
        if stalls[plan.index] < 2:
            summary.retried += 1
            pending.appendleft(plan)  # the same seed replays the same visit in a fresh browser
        else:
            lost = {"id": plan.id, "variant": plan.variant, "form": plan.form, "naming": plan.naming, "reason": reason}
            take(plan.index, None, lost, 0, [], {})

    spawn = multiprocessing.get_context("spawn")  # never fork a process that may hold Playwright's threads
    browsers = [_Browser(spawn) for _ in range(max(1, min(workers, len(plans))))]
    try:
        for browser in browsers:
            if pending:
                browser.give(pending.popleft())
        while busy := [b for b in browsers if b.plan is not None]:
            ready = multiprocessing.connection.wait([b.conn for b in busy], timeout=0.5)
            for browser in busy:
                plan = browser.plan
                if browser.conn in ready:
                    try:
                        item = browser.conn.recv()
                    except (EOFError, OSError):
                        item = None
                    if item is None:
                        browser.kill()
                        stalled(plan, f"worker died (exit code {browser.proc.exitcode})")
                    else:
                        take(*item)
                        browser.plan = None
                elif time.monotonic() - browser.since > deadline_s:
                    browser.kill()
                    stalled(plan, f"watchdog: no result {deadline_s:g} s after the session started")
                else:
                    continue
                if browser.proc.exitcode is not None:  # killed or dead: a fresh worker takes its place, if needed
                    browser.plan = None
                    if not pending:
                        continue
                    browsers[browsers.index(browser)] = browser = _Browser(spawn)
                if pending:
                    browser.give(pending.popleft())
    finally:
        for browser in browsers:
            browser.stop()
    records = [results[i] for i in sorted(results)]
    for record in records:
        summary.add(record)
    summary.seconds = time.perf_counter() - started
    return records, summary


def record_sessions(
    count: int,
    seed: int,
    *,
    out: Path | None = None,
    classes: Iterable[str] | None = None,
    forms: Iterable[str] | None = None,
    workers: int = 1,
    deadline_s: float = SESSION_DEADLINE_S,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[dict], Summary]:
    """Plan and record ``count`` sessions; with ``out``, write them as compact JSON lines."""
    plans = plan_sessions(count, seed, classes=classes, forms=forms)
    records, summary = record_plans(plans, workers=workers, deadline_s=deadline_s, progress=progress)
    if out is not None:
        write_jsonl(records, out)
    return records, summary


def write_jsonl(records: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
