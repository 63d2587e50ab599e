/* FormRecap snippet v1: how visitors move through forms, never what they type. */
(() => {
  "use strict";
  const W = window, D = document, N = navigator;
  // currentScript is only set while this file first runs
  const S = D.currentScript || D.querySelector("script[data-site-key]");
  if (!S || (W.formrecap && W.formrecap.optOut)) return; // loaded twice
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

  const sessions = new Map(); // form -> session
  const retrying = new Set(); // bodies waiting for a retry
  const live = () => [...sessions.values()].filter((s) => !s.done);

  // Runs at the end of the task, or at a flush.
  let pend = [];
  const runPend = () => { const p = pend; pend = []; p.forEach((f) => { try { f(); } catch (e) {} }); };
  const later = (f) => { if (pend.push(f) === 1) setTimeout(runPend, 0); };

  const uuid = () => crypto.randomUUID ? crypto.randomUUID() // secure contexts only
    : "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) => (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16));

  // camelCase -> snake_case; other runs -> "_"; at most 64 chars
  const norm = (s) => (s || "").replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase()
    .replace(/[^a-z0-9]+/g, "_").replace(/^_/, "").slice(0, 64).replace(/_$/, "");

  const session = (form) => {
    let s = sessions.get(form);
    if (!s) sessions.set(form, (s = { id: uuid(), t0: now(), seq: 0, q: [], on: new Set(),
      // pathname only: query and hash may hold personal data
      form: { id: attr(form, "id") || attr(form, "name") || "form_" + [].indexOf.call(D.forms, form), path: location.pathname } }));
    return s;
  };

  const push = (s, type, field, more) => {
    if (off()) return {};
    const e = Object.assign({ type, field, ts: Math.round(now() - s.t0) }, more); // JSON drops an undefined field
    if (s.q.push(e) === 50) later(() => flush(s)); // after pending blur reasons
    return e;
  };

  // A form control we track -> { s: session, f: field name }
  const track = (el) => {
    if (off() || !/^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName) || /^(hidden|button|submit|reset|image)$/i.test(el.type)) return;
    const form = el.form || el.closest("form");
    if (!form || el.closest(IGNORE) || form.closest(IGNORE)) return;
    const s = session(form);
    if (!s.done) return { s, f: norm(attr(el, "name") || el.id || attr(el, "aria-label")) || "field_" + [].indexOf.call(form.elements, el) };
  };

  // Regions (data-formrecap-field) act as fields of their form, else the first live/first form.
  const region = (r, focus) => {
    const f = norm(attr(r, REGION));
    const form = r.closest("form") || [...D.forms].find((x) => sessions.has(x) && !sessions.get(x).done) || D.forms[0];
    if (!f || !form || r.closest(IGNORE)) return;
    const s = session(form);
    if (s.done || s.on.has(f) === focus) return; // pointer and focus overlap
    s.on[focus ? "add" : "delete"](f);
    push(s, focus ? "focus" : "blur", f);
  };

  // An idle gap >= 2 s (hidden time too) is sent as a scroll; acting resumes exited sessions.
  const scroll = (ss, ms) => ss.forEach((s) => push(s, "scroll", undefined, { duration_ms: Math.round(ms) }));
  let lastAct = now();
  const act = () => {
    const gap = now() - lastAct;
    if (gap >= IDLE) scroll(live(), gap);
    lastAct = now();
    sessions.forEach((s) => (s.exited = 0));
  };

  const REASONS = { valueMissing: "required", typeMismatch: "invalid_format", patternMismatch: "invalid_format",
    badInput: "invalid_format", tooShort: "too_short", tooLong: "too_long", rangeUnderflow: "too_low",
    rangeOverflow: "too_high", stepMismatch: "invalid_step", customError: 0 };
  const custom = (el) => { const r = attr(el, "data-formrecap-reason"); return /^[a-z][a-z0-9_]{0,63}$/.test(r) ? r : "invalid"; };
  // Validity counts only if the visitor tried: tabbing past an empty required field is no error.
  const reason = (el, tried) => {
    const v = el.validity;
    if (tried && !v.valid) for (const k in REASONS) if (v[k]) return REASONS[k] || custom(el);
    if (attr(el, "aria-invalid") === "true") return custom(el);
  };

  let cur = {}, attemptAt = -1e9; // cur: the focused field { el, typed, inv }
  // Sites call checkValidity() while typing too: only invalid events right after a
  // button click or Enter (a submit attempt) count.
  const attempting = (e) => { if (e.key === "Enter" || e.target.closest("button,[type=submit],[type=image]")) attemptAt = now(); };
  const inRegion = (e) => { const r = e.target.closest(`[${REGION}]`); return r && !r.contains(e.relatedTarget) && r; };
  const isRegion = (e) => e.target.hasAttribute && e.target.hasAttribute(REGION);

  const handlers = {
    focusin(e) {
      const t = track(e.target), r = !t && inRegion(e);
      if (!t && !r) return;
      act();
      if (r) return region(r, true);
      cur = { el: e.target };
      push(t.s, "focus", t.f);
    },
    focusout(e) {
      const el = e.target, t = track(el), r = !t && inRegion(e);
      if (r) region(r, false);
      if (!t) return;
      const c = cur.el === el ? cur : {};
      if (c === cur) cur = {};
      const ev = push(t.s, "blur", t.f);
      later(() => (ev.validation = reason(el, c.typed || c.inv))); // after the site's blur handlers set aria-invalid
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
      if (cur.el === el) cur.inv = 1; // for its coming blur
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

  // Page scroll: one event with its duration once 200 ms pass quietly.
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

  // text/plain: no CORS preflight. Errors, 5xx, 429 resend the same body (the server dedups seq).
  const send = (body, beacon, tries) => {
    if (off()) return;
    try { if (beacon && N.sendBeacon(END, new Blob([body], { type: "text/plain" }))) return; } catch (e) {}
    // 1, 2, 4, 8, 16 s; exit() sends what is still waiting
    const retry = () => tries < 5 && retrying.add(body) && setTimeout(() => retrying.delete(body) && send(body, 0, tries + 1), 1000 << tries);
    fetch(END, { method: "POST", body, keepalive: true, headers: { "Content-Type": "text/plain" } })
      .then((r) => (r.status > 499 || r.status === 429) && retry(), retry); // other 4xx: dropped
  };

  // Batches of <= 500 events and < 60,000 bytes.
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

  // Tab hidden or page left: one exit per absence, then beacon everything.
  const exit = () => {
    runPend();
    endScroll();
    const gap = now() - lastAct, away = live().filter((s) => !s.exited);
    if (gap >= IDLE && away.length) { scroll(away, gap); lastAct = now(); } // hidden time counts from here
    away.forEach((s) => { push(s, "exit"); s.exited = 1; });
    sessions.forEach((s) => flush(s, 1));
    retrying.forEach((b) => send(b, 1, 5));
    retrying.clear();
  };

  const guard = (f) => (e) => { try { off() || f(e); } catch (x) {} }; // never throw into the page
  for (const k in handlers) D.addEventListener(k, guard(handlers[k]), { capture: true, passive: true });
  addEventListener("scroll", guard(onScroll), { passive: true });
  addEventListener("pagehide", guard(exit));
  D.addEventListener("visibilitychange", guard(() => D.visibilityState === "hidden" && exit()));
  setInterval(guard(() => sessions.forEach((s) => flush(s))), FLUSH_MS);

  const api = (f) => (x) => { try { f(x); } catch (e) {} };
  W.formrecap = {
    identify: api((id) => (visitor = id ? String(id).slice(0, 256) : undefined)),
    optOut: api(() => {
      optedOut = true;
      ls((l) => l.setItem(OPT, "1"));
      sessions.forEach((s) => (s.q = []));
      retrying.clear();
    }),
    optIn: api(() => { optedOut = false; ls((l) => l.removeItem(OPT)); }),
  };
})();
