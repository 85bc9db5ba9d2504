// Tierline console: shared helpers. No inline scripts are allowed by the
// Content-Security-Policy; pages read their data from data-* attributes and
// write with textContent and DOM APIs only (never innerHTML with data).
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";

  // api calls the JSON API with the session cookie and the CSRF token. It
  // resolves with the decoded body, or rejects with an Error carrying the
  // API's message and the HTTP status.
  function api(method, path, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (method !== "GET" && method !== "HEAD") {
      opts.headers["X-CSRF-Token"] = csrf;
    }
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = { error: text }; }
        if (!res.ok) {
          var err = new Error((data && data.error) || ("HTTP " + res.status));
          err.status = res.status;
          err.data = data;
          if (res.status === 401) { toast("Your session has ended: log in again.", true); }
          throw err;
        }
        return data;
      });
    });
  }

  // events subscribes fn to live notices from /events (?device=ID for a
  // device's telemetry). The browser reconnects by itself.
  var sources = {};
  function events(fn, device) {
    var url = "/events" + (device ? "?device=" + encodeURIComponent(device) : "");
    var es = sources[url];
    if (!es) {
      es = new EventSource(url);
      sources[url] = es;
      es.addEventListener("open", function () { document.body.classList.remove("offline"); });
      es.addEventListener("error", function () { document.body.classList.add("offline"); });
      // The hub ends the stream when the session ends (logout elsewhere,
      // a password reset, the idle limit): go to the login, then back.
      es.addEventListener("session", function () {
        es.close();
        location.href = "/login?expired=1&next=" + encodeURIComponent(location.pathname + location.search);
      });
      es.addEventListener("message", function (ev) {
        var n;
        try { n = JSON.parse(ev.data); } catch (e) { return; }
        bellNotice(n);
      });
    }
    es.addEventListener("message", function (ev) {
      var n;
      try { n = JSON.parse(ev.data); } catch (e) { return; }
      fn(n);
    });
    return es;
  }

  var toastTimer = null;
  function toast(msg, bad) {
    var t = document.getElementById("toast");
    if (!t) { return; }
    t.textContent = msg;
    t.classList.toggle("bad", !!bad);
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { t.hidden = true; }, bad ? 8000 : 4000);
  }

  // el builds an element: el("td", {class: "x", "data-id": id}, "text", child).
  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) { return; }
        if (k === "text") { e.textContent = v; } else { e.setAttribute(k, v === true ? "" : String(v)); }
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) { continue; }
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return e;
  }

  // fmtDuration gives "12m 05s", "3h 20m", "2d 4h".
  function fmtDuration(ms) {
    var neg = ms < 0;
    var s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60), sec = s % 60;
    var out;
    if (d > 0) { out = d + "d " + h + "h"; }
    else if (h > 0) { out = h + "h " + (m < 10 ? "0" : "") + m + "m"; }
    else { out = m + "m " + (sec < 10 ? "0" : "") + sec + "s"; }
    return neg ? "-" + out : out;
  }

  // SLA countdowns: any element with data-sla ticks. data-due (RFC 3339)
  // is when a running clock's limit passes, data-limit-ms the limit; a
  // paused clock has no data-due and shows data-left-ms, frozen. The class
  // says how much of the limit is used: sla-ok, sla-50, sla-75, sla-breach.
  function tickSLA() {
    var now = Date.now();
    document.querySelectorAll("[data-sla]").forEach(function (e) {
      var due = Date.parse(e.getAttribute("data-due") || "");
      var limit = Number(e.getAttribute("data-limit-ms")) || 0;
      var paused = !e.hasAttribute("data-due");
      if (limit <= 0) { return; }
      var left = paused ? Number(e.getAttribute("data-left-ms")) : due - now;
      if (isNaN(left)) { return; }
      var used = limit > 0 ? 1 - left / limit : 0;
      var cls = left <= 0 ? "sla-breach" : used >= 0.75 ? "sla-75" : used >= 0.5 ? "sla-50" : "sla-ok";
      ["sla-ok", "sla-50", "sla-75", "sla-breach"].forEach(function (c) { e.classList.toggle(c, c === cls); });
      var txt = left <= 0 ? "breached " + fmtDuration(-left) + " ago" : fmtDuration(left) + " left";
      if (paused) { txt += " (paused)"; }
      if (e.textContent !== txt) { e.textContent = txt; }
    });
  }
  setInterval(tickSLA, 1000);
  document.addEventListener("DOMContentLoaded", tickSLA);

  // The availability switch in the header: when on, new tickets of the
  // technician's tier may be assigned to them automatically.
  document.addEventListener("DOMContentLoaded", function () {
    var b = document.getElementById("availability");
    if (!b) { return; }
    b.addEventListener("click", function () {
      var want = b.getAttribute("data-available") !== "true";
      b.disabled = true;
      api("PUT", "/api/v1/me/availability", { available: want }).then(function (res) {
        b.setAttribute("data-available", String(res.available));
        b.setAttribute("aria-pressed", String(res.available));
        b.textContent = res.available ? "Available" : "Away";
        toast(res.available ? "Available: new tickets of your tier may be assigned to you." : "Away: no tickets are assigned to you automatically.");
      }).catch(function (e) { toast(e.message, true); }).then(function () { b.disabled = false; });
    });
  });

  // The bell in the header: the unread count, updated live. A page's own
  // live stream carries the user's notifications too; a page without one
  // opens one for the bell.
  var bellSeen = {};
  function setBell(unread) {
    var b = document.getElementById("bell"), c = document.getElementById("bell-count");
    if (!b || !c) { return; }
    unread = Math.max(0, Number(unread) || 0);
    c.textContent = String(unread);
    c.hidden = unread === 0;
    b.classList.toggle("ringing", unread > 0);
    b.setAttribute("aria-label", "Notifications: " + unread + " unread");
  }
  function bellNotice(n) {
    if (n.kind !== "notification") { return; }
    setBell(n.unread);
    if (n.id && !bellSeen[n.id]) {
      bellSeen[n.id] = true;
      toast(n.title || "New notification");
      document.dispatchEvent(new CustomEvent("tierline:notification", { detail: n }));
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (!document.getElementById("bell")) { return; }
    // After the page's own handlers, which may open a stream already.
    setTimeout(function () {
      if (Object.keys(sources).length === 0) { events(function () {}); }
    }, 0);
  });

  // Forms with data-confirm ask before submitting.
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (f && f.getAttribute && f.getAttribute("data-confirm") && !window.confirm(f.getAttribute("data-confirm"))) {
      ev.preventDefault();
    }
  });

  // utcTime writes a time as the server-rendered pages do (UTC), so one
  // page never mixes the browser's zone with UTC.
  function utcTime(d) { return d.toISOString().slice(11, 19) + " UTC"; }

  window.tierline = { api: api, events: events, toast: toast, el: el, fmtDuration: fmtDuration, tickSLA: tickSLA, csrf: csrf, utcTime: utcTime, setBell: setBell };
})();
