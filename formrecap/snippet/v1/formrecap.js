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
  const FLUSH_MS = +attr(S, "data-flush-ms") || 5000, IDLE = 2000, OPT = "formrecap_optout_" + KEY;
  const IGNORE = "[data-formrecap-ignore]", REGION = "data-formrecap-field";
  const now = () => performance.now();
  const ls = (f) => { try { return f(localStorage); } catch (e) {} };
  const blocked = S.hasAttribute("data-respect-privacy") && (N.globalPrivacyControl || N.doNotTrack === "1");
  let optedOut = !!ls((l) => l.getItem(OPT)), visitor;
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

  const norm = (s) => (s || "").replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase()
    .replace(/[^a-z0-9]+/g, "_").replace(/^_/, "").slice(0, 64).replace(/_$/, "");

  const session = (form) => {
    let s = sessions.get(form);
    if (!s) sessions.set(form, (s = { id: uuid(), t0: now(), seq: 0, q: [], on: new Set(),
      // ids the server accepts; pathname only: query and hash may hold personal data
      form: { id: (attr(form, "id") || attr(form, "name") || "form_" + [].indexOf.call(D.forms, form)).replace(/[^\w\-:.]/g, "_").slice(0, 128),
        path: location.pathname } }));
    return s;
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
    push(s, focus ? "focus" : "blur", f);
  };

  // idle >= 2 s (hidden time too) is sent as a scroll
  const scroll = (ss, ms) => ss.forEach((s) => push(s, "scroll", undefined, { duration_ms: Math.round(ms) }));
  let lastAct = now();
  const act = () => {
    if (now() - lastAct >= IDLE) scroll(live(), now() - lastAct);
    lastAct = now();
    sessions.forEach((s) => (s.exited = 0));
  };

  // most specific first: a pattern often restates a length rule
  const REASONS = { valueMissing: "required", typeMismatch: "invalid_format", badInput: "invalid_format",
    tooShort: "too_short", tooLong: "too_long", rangeUnderflow: "too_low", rangeOverflow: "too_high",
    stepMismatch: "invalid_step", patternMismatch: "invalid_format", customError: 0 };
  const custom = (el) => { const r = attr(el, "data-formrecap-reason"); return /^[a-z][a-z0-9_]{0,63}$/.test(r) ? r : "invalid"; };
  // tabbing past an empty required field is no error
  const reason = (el, tried) => {
    const v = el.validity;
    if (tried && !v.valid) for (const k in REASONS) if (v[k]) return REASONS[k] || custom(el);
    if (attr(el, "aria-invalid") === "true") return custom(el);
  };

  let cur = {}, last = {}, attemptAt = -1e9; // the focused field { el, typed, inv }; the last blur { el, ev }
  // sites call checkValidity() while typing too: count only submit attempts
  const attempting = (e) => { if (e.key === "Enter" || e.target.closest("button,[type=submit],[type=image]")) attemptAt = now(); };
  const isRegion = (e) => e.target.hasAttribute && e.target.hasAttribute(REGION);

  const handlers = {
    focusin(e) {
      const t = track(e.target), r = !t && e.target.closest(`[${REGION}]`);
      if (!t && !r) return;
      act();
      if (r) return region(r, true);
      cur = { el: e.target };
      last = {};
      push(t.s, "focus", t.f);
    },
    focusout(e) {
      const el = e.target, t = track(el), r = !t && el.closest(`[${REGION}]`);
      if (r) region(r, false);
      if (!t) return;
      const c = cur.el === el ? cur : {};
      if (c === cur) cur = {};
      const ev = push(t.s, "blur", t.f);
      last = { el, ev };
      later(() => (ev.validation = ev.validation || reason(el, c.typed || c.inv))); // after the site's blur handlers set aria-invalid
    },
    input(e) {
      const t = track(e.target);
      if (!t) return;
      act();
      if (cur.el === e.target) cur.typed = 1;
      push(t.s, "input", t.f); // a count: the value is never read
    },
    invalid(e) {
      const el = e.target, t = track(el);
      if (!t || now() - attemptAt > 100) return;
      if (cur.el === el) cur.inv = 1;
      // just left (the submit click took focus): give that blur the reason, not a second one
      else if (last.el === el && t.s.q.includes(last.ev)) last.ev.validation = reason(el, 1);
      else push(t.s, "blur", t.f, { validation: reason(el, 1) });
    },
    submit(e) {
      if (off() || e.target.closest(IGNORE)) return;
      const s = session(e.target);
      if (s.done) return;
      act();
      push(s, "submit");
      s.done = 1;
      flush(s, 1);
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
      while ((body = JSON.stringify({ site_key: KEY, session_id: s.id, seq: s.seq, form: s.form,
        events: s.q.slice(0, n), sent_at: Math.round(now() - s.t0), visitor })) && n > 1 && new Blob([body]).size >= 6e4) n >>= 1;
      s.q.splice(0, n);
      s.seq++;
      send(body, beacon, 0);
    }
  };

  // one exit per absence
  const exit = () => {
    runPend();
    endScroll();
    const gap = now() - lastAct, away = live().filter((s) => !s.exited);
    if (gap >= IDLE && away.length) { scroll(away, gap); lastAct = now(); } // hidden time counts from here
    away.forEach((s) => { push(s, "exit"); s.exited = 1; });
    sessions.forEach((s) => flush(s, 1));
  };

  for (const k in handlers) D.addEventListener(k, guard(handlers[k]), { capture: true, passive: true });
  addEventListener("scroll", guard(onScroll), { passive: true });
  addEventListener("pagehide", guard(exit));
  D.addEventListener("visibilitychange", guard(() => D.visibilityState === "hidden" && exit()));
  setInterval(guard(() => sessions.forEach((s) => flush(s))), FLUSH_MS);

  W.formrecap = {
    identify: guard((id) => { visitor = id ? String(id).slice(0, 256) : undefined; }), // the only visitor reference sent
    optOut: guard(() => {
      optedOut = true;
      ls((l) => l.setItem(OPT, "1"));
      sessions.forEach((s) => (s.q = []));
    }),
    optIn: guard(() => { optedOut = false; ls((l) => l.removeItem(OPT)); }),
  };
})();
