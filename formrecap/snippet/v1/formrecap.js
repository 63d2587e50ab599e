/* FormRecap snippet v1: how visitors move through forms, never what they type. */
(() => {
  "use strict";
  const W = window, D = document, N = navigator;
  // currentScript is only set while this file first runs
  const S = D.currentScript || D.querySelector("script[data-site-key]");
  if (!S || (W.formrecap && W.formrecap.optOut)) return; // loaded twice (not an element id="formrecap")
  const attr = (el, a) => el.getAttribute(a);
  const KEY = attr(S, "data-site-key");
  let END;
  try { END = attr(S, "data-endpoint") || new URL(S.src).origin + "/api/v1/ingest/"; } catch (e) { return; }
  if (!KEY) return;
  const FLUSH_MS = +attr(S, "data-flush-ms") || 5000, IDLE = 2000, OPT = "formrecap_optout_" + KEY, VID = "formrecap_vid_" + KEY;
  // Chromium fires pagehide about 30 ms (at most ~110) after the blur of a link click, plus the next page's
  // response time (bench/leave_blur.py): 1.5 s covers servers that answer within about 1.4 s
  const LEAVE_MS = 1500, SETTLE_MS = 10000;
  const IGNORE = "[data-formrecap-ignore]", REGION = "data-formrecap-field";
  const now = () => performance.now();
  const ls = (f) => { try { return f(localStorage); } catch (e) {} };
  const blocked = S.hasAttribute("data-respect-privacy") && (N.globalPrivacyControl || N.doNotTrack === "1");
  let optedOut = !!ls((l) => l.getItem(OPT)), visitor, anon;
  const off = () => blocked || optedOut;
  const guard = (f) => (e) => { try { return f(e); } catch (x) {} }; // never throw into the page

  const sessions = new Map(); // form -> session
  const live = () => [...sessions.values()].filter((s) => !s.done);

  // deferred to the end of this task, or to a flush
  let pend = [];
  const runPend = () => { const p = pend; pend = []; p.forEach(guard((f) => f())); };
  const later = (f) => pend.push(f) === 1 && setTimeout(runPend, 0);

  const uuid = () => crypto.randomUUID ? crypto.randomUUID() // secure contexts only
    : "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) => (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16));
  // a random first-party id per site key, only while recording is allowed
  const anonId = () => off() ? undefined : anon || (anon = ls((l) => l.getItem(VID) || (l.setItem(VID, uuid()), l.getItem(VID))));

  // values hidden in names and paths (an e-mail shape, a number of 9+ digits in groups: phone, card) become
  // "redacted", as the server does (formrecap/ingest/scrub.py)
  const MAIL = /[\w.%+-]+(@|%40)[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}/gi;
  const long = (re) => (s) => s.replace(MAIL, "redacted").replace(re, (m) => m.replace(/\D/g, "").length > 8 ? "redacted" : m);
  const scrubName = long(/\d+(_\d+)*/g), scrubPath = long(/\d+(([-._ ]|%20)\d+)*/g);
  const card = (s) => (s.match(/\d([ -]?\d)*/g) || []).some((m) => (m = m.replace(/\D/g, "")).length > 12 && m.length < 20 &&
    [...m].reverse().reduce((t, c, i) => t + (i % 2 ? (c > 4 ? c * 2 - 9 : c * 2) : +c), 0) % 10 === 0);
  const norm = (s) => scrubName((s || "").replace(MAIL, "redacted").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").replace(/ß/g, "ss")
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_/, "")).slice(0, 64).replace(/_$/, "");

  // what a field is, from HTML semantics only (type, autocomplete token, tag), so names in any language or
  // none (input_1) still tell an upload from an e-mail
  const KIND = { range: "number", "datetime-local": "date", month: "date", week: "date", time: "date",
    "select-one": "select", "select-multiple": "select", textarea: "textarea" };
  const AUTO = [[/^email$/, "email"], [/^tel/, "tel"], [/password$/, "password"], [/^(bday|cc-exp)/, "date"], [/^cc-(number|csc)$/, "number"]];
  const kindOf = (el) => {
    const t = el.type, a = (attr(el, "autocomplete") || "").split(/\s+/).pop();
    if (/^(email|tel|password|number|date|file|checkbox|radio)$/.test(t)) return t;
    if (KIND[t]) return KIND[t];
    for (const [re, k] of AUTO) if (re.test(a)) return k;
    return "text";
  };

  let lastS;
  const session = (form) => {
    let s = sessions.get(form);
    if (!s) sessions.set(form, (s = { id: uuid(), t0: now(), seq: 0, q: [], on: new Set(), rep: new Map(), form,
      // ids the server accepts; pathname only: query and hash may hold personal data
      meta: { id: scrubPath((attr(form, "id") || attr(form, "name") || "form_" + [].indexOf.call(D.forms, form)).replace(/[^\w\-:.]/g, "_")).slice(0, 128),
        path: scrubPath(location.pathname) } }));
    return (lastS = s);
  };

  const push = (s, type, field, more) => {
    if (off()) return {};
    const e = Object.assign({ type, field, ts: Math.round(now() - s.t0) }, more); // JSON drops an undefined field
    if (s.q.push(e) === 50) later(() => flush(s)); // after pending blur reasons
    return e;
  };

  const track = (el) => {
    if (off() || !/^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName) || /^(hidden|button|submit|reset|image)$/i.test(el.type)) return;
    const form = el.form || el.closest("form");
    if (!form || el.closest(IGNORE) || form.closest(IGNORE)) return;
    const s = session(form);
    if (!s.done) return { s, f: norm(attr(el, "name") || el.id || attr(el, "aria-label")) || "field_" + [].indexOf.call(form.elements, el) };
  };

  // informational regions (pricing tables) act as fields
  const region = (r, focus) => {
    const f = norm(attr(r, REGION));
    const form = r.closest("form") || [...D.forms].find((x) => sessions.has(x) && !sessions.get(x).done) || D.forms[0];
    if (!f || !form || r.closest(IGNORE)) return;
    const s = session(form);
    if (s.done || s.on.has(f) === focus) return; // pointer and focus overlap
    s.on[focus ? "add" : "delete"](f);
    push(s, focus ? "focus" : "blur", f, focus ? { kind: "region" } : 0);
  };

  // idle >= 2 s is sent as a scroll; hidden time travels as hide/show instead
  const scroll = (ss, ms) => ss.forEach((s) => push(s, "scroll", undefined, { duration_ms: Math.round(ms) }));
  let lastAct = now();
  const idle = (ss) => { if (now() - lastAct >= IDLE) scroll(ss, now() - lastAct); lastAct = now(); };
  const act = () => { idle(live()); sessions.forEach((s) => (s.exited = 0)); };

  // most specific first: a pattern often restates a length rule
  const REASONS = { valueMissing: "required", typeMismatch: "invalid_format", badInput: "invalid_format",
    tooShort: "too_short", tooLong: "too_long", rangeUnderflow: "too_low", rangeOverflow: "too_high",
    stepMismatch: "invalid_step", patternMismatch: "invalid_format", customError: 0 };
  // setCustomValidity() or aria-invalid without a named reason is still a failure
  const custom = (el) => { const r = attr(el, "data-formrecap-reason"); return r && /^[a-z][a-z0-9_]{0,63}$/.test(r) ? r : "invalid"; };
  // tabbing past an empty required field is no error
  const reason = (el, tried) => {
    const v = el.validity;
    if (tried && !v.valid) for (const k in REASONS) if (v[k]) return REASONS[k] || custom(el);
    if (attr(el, "aria-invalid") === "true") return custom(el);
  };

  let cur = {}, last = {}, attemptAt = -1e9; // the focused field { el, typed, inv }; the last blur { el, ev, out }
  const kept = new WeakSet(); // failures reported by a submit attempt: never a blur caused by leaving
  // sites call checkValidity() while typing too: count only submit attempts
  const attempting = (e) => { if (e.key === "Enter" || e.target.closest("button,[type=submit],[type=image]")) attemptAt = now(); };
  const isRegion = (e) => e.target.hasAttribute && e.target.hasAttribute(REGION);

  // a failure found by a submit attempt, once per field and attempt
  const fail = (t, el, why) => {
    const s = t.s;
    s.armed = 0; // a failure: whatever the form does next is no success
    if (!why || s.rep.get(el) === attemptAt) return;
    s.rep.set(el, attemptAt);
    if (cur.el === el) return (cur.inv = 1);
    // just left (the submit click took focus): give that blur the reason, not a second one; already sent by a
    // flush, it counts when it carried one
    let ev = last.el === el && (s.q.includes(last.ev) || last.ev.validation) ? last.ev : push(s, "blur", t.f);
    ev.validation = why;
    kept.add(ev);
  };
  // after a cancelled submit: the site's own validation marks fields invalid
  const check = (s) => [...s.form.elements].forEach((el) => {
    const t = track(el);
    if (t && (!el.validity.valid || attr(el, "aria-invalid") === "true")) fail(t, el, reason(el, 1));
  });

  const submitted = (s) => {
    if (!s || s.done) return;
    act();
    push(s, "submit");
    s.done = 1;
    flush(s, 1);
  };
  // a cancelled submit was an attempt; success comes by formrecap.submitted() or the form leaving the page
  const settle = (s, e) => {
    if (s.sub !== e) return;
    s.sub = 0;
    if (!e.defaultPrevented) return submitted(s);
    s.armed = now();
    check(s);
    setTimeout(guard(() => check(s)), 300);
  };
  const gone = () => sessions.forEach((s) => s.armed && now() - s.armed < SETTLE_MS && (!s.form.isConnected || !s.form.getClientRects().length) && submitted(s));

  const handlers = {
    focusin(e) {
      const t = track(e.target), r = !t && e.target.closest(`[${REGION}]`);
      if (!t && !r) return;
      act();
      if (r) return region(r, true);
      cur = { el: e.target };
      last = {};
      push(t.s, "focus", t.f, { kind: kindOf(e.target) });
    },
    focusout(e) {
      const el = e.target, t = track(el), r = !t && el.closest(`[${REGION}]`), to = e.relatedTarget;
      if (r) region(r, false);
      if (!t) return;
      const c = cur.el === el ? cur : {};
      if (c === cur) cur = {};
      const ev = push(t.s, "blur", t.f);
      // focus going nowhere (the window, the browser) or to a link: the visitor may be leaving
      last = { el, ev, at: now(), out: !to || !!to.closest("a[href]") };
      later(() => (ev.validation = ev.validation || reason(el, c.typed || c.inv || t.s.tried))); // after the site's blur handlers set aria-invalid
    },
    input(e) {
      const t = track(e.target);
      if (!t) return;
      act();
      if (cur.el === e.target) cur.typed = 1;
      push(t.s, "input", t.f); // a count: the value is never read
    },
    invalid(e) {
      const t = track(e.target);
      if (t && now() - attemptAt <= 100) fail(t, e.target, reason(e.target, 1));
    },
    submit(e) {
      if (off() || e.target.closest(IGNORE)) return;
      const s = session(e.target);
      if (s.done) return;
      act();
      attemptAt = now();
      s.tried = 1;
      s.sub = e;
      // the page's own handlers (preventDefault) run after this capture listener
      setTimeout(guard(() => settle(s, e)), 0);
    },
    pointerenter(e) { if (isRegion(e)) { act(); region(e.target, true); } },
    pointerleave(e) { if (isRegion(e)) region(e.target, false); },
    pointermove: act,
    pointerdown: act,
    keydown: attempting,
    click: attempting,
  };

  // one scroll event once 200 ms pass quietly
  let scrollStart = 0, scrollLast, scrollTimer;
  const endScroll = () => {
    clearTimeout(scrollTimer);
    if (scrollStart) scroll(live(), Math.max(1, scrollLast - scrollStart));
    scrollStart = 0;
  };
  const onScroll = () => {
    act();
    scrollLast = now();
    scrollStart = scrollStart || scrollLast;
    clearTimeout(scrollTimer);
    scrollTimer = setTimeout(guard(endScroll), 200);
  };

  // text/plain: no CORS preflight. A retry resends the same seq: the server dedups.
  const send = (body, beacon, tries) => {
    if (off()) return;
    try { if (beacon && N.sendBeacon(END, new Blob([body], { type: "text/plain" }))) return; } catch (e) {}
    const retry = () => tries < 5 && setTimeout(() => send(body, 0, tries + 1), 1000 << tries);
    fetch(END, { method: "POST", body, keepalive: true, headers: { "Content-Type": "text/plain" } })
      .then((r) => (r.status > 499 || r.status === 429) && retry(), retry);
  };

  const flush = (s, beacon) => {
    runPend();
    while (s.q.length && !off()) {
      let n = Math.min(s.q.length, 500), body;
      while ((body = JSON.stringify({ site_key: KEY, session_id: s.id, seq: s.seq, form: s.meta,
        events: s.q.slice(0, n), sent_at: Math.round(now() - s.t0), visitor, anonymous_id: anonId() })) && n > 1 && new Blob([body]).size >= 6e4) n >>= 1;
      s.q.splice(0, n);
      s.seq++;
      send(body, beacon, 0);
    }
  };

  // a blur toward nowhere or a link, still unsent: the visitor may be leaving (periodic flushes hold it back)
  const unsure = (s) => last.out && now() - last.at < LEAVE_MS && s.q.includes(last.ev);

  // the page goes away (pagehide) or out of sight (hidden tab): one exit per absence, one hide per hiding
  const away = (type) => {
    runPend();
    endScroll();
    [...sessions.values()].forEach((s) => s.sub && settle(s, s.sub)); // a submit whose page is already leaving
    // the blur that leaving caused is no validation failure
    if (!kept.has(last.ev) && [...sessions.values()].some(unsure)) delete last.ev.validation;
    const ss = live().filter((s) => !s[type] && !s.exited); // the page going away hides it too: no hide after an exit
    if (ss.length) idle(ss);
    ss.forEach((s) => { push(s, type === "exited" ? "exit" : "hide"); s[type] = 1; });
    sessions.forEach((s) => flush(s, 1));
  };
  const back = () => {
    live().forEach((s) => s.hidden && (push(s, "show"), (s.hidden = 0)));
    lastAct = now(); // the time away is the gap from hide to show
  };

  for (const k in handlers) D.addEventListener(k, guard(handlers[k]), { capture: true, passive: true });
  addEventListener("scroll", guard(onScroll), { passive: true });
  addEventListener("pagehide", guard(() => away("exited")));
  D.addEventListener("visibilitychange", guard(() => D.visibilityState === "hidden" ? away("hidden") : back()));
  new MutationObserver(guard(gone)).observe(D.documentElement, { childList: true, subtree: true, attributes: true, attributeFilter: ["style", "class", "hidden"] });
  setInterval(guard(() => sessions.forEach((s) => unsure(s) || flush(s))), FLUSH_MS);

  W.formrecap = {
    // sent as the visitor reference; never a card number (dropped, as the server does)
    identify: guard((id) => { visitor = id && !card(String(id)) ? String(id).slice(0, 256) : undefined; }),
    // for forms that send themselves (fetch): the session ends as submitted
    submitted: guard((form) => submitted(form ? sessions.get(form) : lastS)),
    // read-only: the session id of a form (or of the last one touched), for the page's own use (the live demo)
    sessionId: guard((form) => { const s = form ? sessions.get(form) : lastS; return s && s.id; }),
    optOut: guard(() => {
      optedOut = true;
      anon = undefined;
      ls((l) => { l.setItem(OPT, "1"); l.removeItem(VID); });
      sessions.forEach((s) => (s.q = []));
    }),
    optIn: guard(() => { optedOut = false; ls((l) => l.removeItem(OPT)); }),
  };
})();
