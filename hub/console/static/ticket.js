// Ticket page: actions through the JSON API, the fix form built from the
// catalog, fix results and telemetry arriving live.
(function () {
  "use strict";
  var T = window.tierline;
  var root = document.getElementById("ticket");
  if (!root) { return; }
  var id = root.getAttribute("data-id");
  var device = root.getAttribute("data-device");
  var base = "/api/v1/tickets/" + encodeURIComponent(id);
  var resultBox = document.getElementById("action-result");

  function show(msg, bad) {
    resultBox.textContent = msg;
    resultBox.classList.toggle("bad", !!bad);
    resultBox.classList.toggle("ok", !bad);
    resultBox.hidden = false;
    T.toast(msg, bad);
  }

  // dirty: the user is typing into a form; do not reload under them.
  function dirty() {
    var fields = document.querySelectorAll("textarea, input[type=text], input:not([type])");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value && fields[i].closest("form") && !fields[i].closest("#fix-params")) { return true; }
    }
    return false;
  }

  var reloadSoon = null;
  function changed() {
    if (dirty()) {
      document.getElementById("changed-note").hidden = false;
      return;
    }
    if (!reloadSoon) { reloadSoon = setTimeout(function () { window.location.reload(); }, 300); }
  }
  document.getElementById("reload").addEventListener("click", function () { window.location.reload(); });

  // done says what an action did.
  var done = {
    priority: "Priority set", waiting: "The ticket waits on the user", resume: "Resumed",
    link: "Linked", vendor: "Sent to the vendor", "vendor/reference": "Vendor reference recorded",
    software: "Decided"
  };

  // Ticket actions: forms with data-action post to the API.
  document.querySelectorAll("form[data-action]").forEach(function (f) {
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var action = f.getAttribute("data-action");
      var fd = new FormData(f, ev.submitter || undefined);
      var body = {}, path = base + "/" + action;
      switch (action) {
        case "assign": body.to = fd.get("to") || ""; break;
        case "collaborators": body.user = fd.get("user"); break;
        case "escalate": body.tier = Number(fd.get("tier")); body.note = fd.get("note"); break;
        case "messages": body.text = fd.get("text"); break;
        case "resolve": body.resolution = fd.get("resolution"); body.kb = fd.get("kb") === "1"; break;
        case "reopen": body.reason = fd.get("reason"); break;
        case "priority": body.impact = Number(fd.get("impact")); body.urgency = Number(fd.get("urgency")); break;
        case "waiting": body.state = "waiting_user"; body.reason = fd.get("reason"); break;
        case "resume": break;
        case "link": body.number = Number(fd.get("number")); body.kind = fd.get("kind"); break;
        case "vendor": body.vendor = fd.get("vendor"); body.note = fd.get("note") || ""; break;
        case "vendor/reference": body.reference = fd.get("reference"); break;
        case "software": body.approve = fd.get("decision") === "approve"; body.note = fd.get("note") || ""; break;
        case "problem":
          path = "/api/v1/problems/" + encodeURIComponent(fd.get("problem")) + "/tickets";
          body.ticket = id;
          break;
      }
      var buttons = f.querySelectorAll("button");
      buttons.forEach(function (b) { b.disabled = true; });
      T.api("POST", path, body).then(function (res) {
        f.reset();
        var msg = (done[action] || "Done: " + action) + ".";
        if (action === "resolve") {
          msg = "Resolved.";
          if (res && res.article) { msg += " Knowledge base draft " + (res.article.title || "") + " (" + res.article.id + ") created."; }
          if (res && res.kb_error) { msg += " The knowledge base draft failed: " + res.kb_error; }
          show(msg, !!(res && res.kb_error));
          setTimeout(function () { window.location.reload(); }, 1500);
          return;
        }
        show(msg, false);
        window.location.reload();
      }).catch(function (e) {
        show("Refused: " + e.message, true);
      }).finally(function () {
        buttons.forEach(function (b) { b.disabled = false; });
      });
    });
  });

  // ---- run a fix ----
  var fixForm = document.getElementById("fix-form");
  var fixes = {};
  function paramField(p) {
    var input;
    if (p.kind === "enum") {
      input = T.el("select", { name: p.name });
      (p.enum || []).forEach(function (v) { input.appendChild(T.el("option", { value: v, text: v })); });
      if (p.default) { input.value = p.default; }
    } else {
      input = T.el("input", { name: p.name, type: p.kind === "int" ? "number" : "text" });
      if (p.kind === "int") {
        if (p.min || p.min === 0) { input.setAttribute("min", p.min); }
        if (p.max) { input.setAttribute("max", p.max); }
      } else {
        input.setAttribute("maxlength", p.max_len || 256);
      }
      if (p.default) { input.value = p.default; }
    }
    if (p.required) { input.required = true; }
    var label = T.el("label", null, (p.title || p.name) + (p.required ? " *" : ""), input);
    if (p.help) { label.appendChild(T.el("span", { "class": "muted", text: p.help })); }
    return label;
  }

  function pickFix() {
    var f = fixes[document.getElementById("fix-select").value];
    var params = document.getElementById("fix-params");
    params.replaceChildren();
    document.getElementById("fix-desc").textContent = f ? f.description : "";
    document.getElementById("consent-row").hidden = !(f && f.consent);
    if (!f) { return; }
    (f.params || []).forEach(function (p) { params.appendChild(paramField(p)); });
  }

  if (fixForm && device) {
    T.api("GET", "/api/v1/catalog?device=" + encodeURIComponent(device)).then(function (res) {
      var sel = document.getElementById("fix-select");
      sel.replaceChildren(T.el("option", { value: "", text: "choose a fix" }));
      var refused = 0;
      var na = document.getElementById("fix-not-applicable");
      na.replaceChildren();
      (res.fixes || []).forEach(function (f) {
        if (!f.allowed) { refused++; return; }
        // A fix the device's inventory says does not apply is shown, not
        // offered: a run would only come back not_applicable.
        if (f.not_applicable) {
          sel.appendChild(T.el("option", { value: f.id, disabled: true, text: f.title + " (" + f.id + ") — does not apply here" }));
          var li = T.el("li", { "data-fix": f.id }, T.el("strong", { text: f.title }), ": " + f.not_applicable);
          na.appendChild(li);
          return;
        }
        fixes[f.id] = f;
        sel.appendChild(T.el("option", { value: f.id, text: f.title + " (" + f.id + ", tier " + f.tier + ")" }));
      });
      document.getElementById("fix-na-box").hidden = !na.firstChild;
      document.getElementById("fix-refused").textContent = refused ?
        refused + " more fix(es) for this device need a higher tier or are disabled on the device." : "";
      pickFix();
    }).catch(function (e) { show("Could not load the fix catalog: " + e.message, true); });
    document.getElementById("fix-select").addEventListener("change", pickFix);
    fixForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var f = fixes[document.getElementById("fix-select").value];
      if (!f) { show("Choose a fix first.", true); return; }
      var params = {};
      (f.params || []).forEach(function (p) {
        var el = fixForm.querySelector('[name="' + CSS.escape(p.name) + '"]');
        if (!el || el.value === "") { return; }
        params[p.name] = p.kind === "int" ? Number(el.value) : el.value;
      });
      var body = { fix: f.id, params: params, ticket: id, consent_obtained: document.getElementById("fix-consent").checked };
      var btn = document.getElementById("fix-run");
      btn.disabled = true;
      T.api("POST", "/api/v1/devices/" + encodeURIComponent(device) + "/runs", body).then(function (run) {
        var rid = run.id || (run.run && run.run.id);
        addRun(run.run || run);
        show("Fix " + f.id + " requested; the result appears here when the agent reports.", false);
        if (rid) { watchRun(rid); }
      }).catch(function (e) {
        show("Refused: " + e.message, true);
      }).finally(function () { btn.disabled = false; });
    });
  }

  var runs = document.getElementById("runs");
  function runItem(r) {
    var li = runs && runs.querySelector('li[data-run="' + CSS.escape(r.id) + '"]');
    if (!li) {
      li = T.el("li", { "class": "result", "data-run": r.id });
      var none = document.getElementById("no-runs");
      if (none) { none.remove(); }
      runs.insertBefore(li, runs.firstChild);
    }
    return li;
  }
  function addRun(r) {
    if (!runs || !r || !r.id) { return; }
    var li = runItem(r);
    var outcome = r.outcome || r.state || "requested";
    li.className = "result" + (outcome === "fixed" || outcome === "succeeded" ? " ok" : r.outcome ? " bad" : "");
    var parts = [T.el("strong", { text: r.fix }), " by " + (r.requested_by || "you") + ": ", T.el("span", { "class": "run-outcome", text: outcome })];
    if (r.reason) { parts.push(" — " + r.reason); }
    // The agent's progress step, as text (never markup), while it runs.
    if (!r.outcome && r.progress && r.progress.text) {
      var p = r.progress;
      var line = (r.fix === "install-software" ? "Installing…" : "Running…") +
        (typeof p.percent === "number" ? " " + p.percent + "%" : "") + " " + p.text;
      parts.push(" — ", T.el("span", { "class": "run-progress", text: line }));
    }
    li.replaceChildren.apply(li, parts);
    var res = r.result;
    if (res && ((res.before && res.before.length) || (res.after && res.after.length))) {
      var after = {};
      (res.after || []).forEach(function (c) { after[c.name] = c.status; });
      var tb = T.el("tbody");
      (res.before || []).forEach(function (c) {
        tb.appendChild(T.el("tr", null, T.el("td", { text: c.name }), T.el("td", { text: c.status }), T.el("td", { text: after[c.name] || "" })));
      });
      li.appendChild(T.el("table", { "class": "verify" },
        T.el("thead", null, T.el("tr", null, T.el("th", { text: "Check" }), T.el("th", { text: "Before" }), T.el("th", { text: "After" }))), tb));
    }
    if (res && res.output) { li.appendChild(T.el("pre", { text: res.output })); }
  }

  var watching = {};
  function fetchRun(rid) {
    return T.api("GET", "/api/v1/runs/" + encodeURIComponent(rid)).then(function (r) {
      var run = r.run || r;
      addRun(run);
      if (run.state === "done" || run.state === "expired" || run.state === "cancelled") {
        delete watching[rid];
        show("Fix " + run.fix + ": " + (run.outcome || run.state) + (run.reason ? " — " + run.reason : ""), !(run.outcome === "fixed" || run.outcome === "succeeded"));
      }
    });
  }
  function watchRun(rid) {
    watching[rid] = true;
    // A notice over /events ends the wait; the poll only covers a missed one.
    var tries = 0;
    (function poll() {
      if (!watching[rid] || tries++ > 120) { return; }
      fetchRun(rid).catch(function () {});
      setTimeout(poll, Math.min(1000 * tries, 5000));
    })();
  }
  document.querySelectorAll("#runs li[data-run]").forEach(function (li) {
    var o = li.querySelector(".run-outcome");
    if (o && (o.textContent === "sent" || o.textContent === "queued")) { watchRun(li.getAttribute("data-run")); }
  });

  // ---- live updates ----
  function pct(v) { return (typeof v === "number" ? Math.round(v) : "—") + "%"; }
  T.events(function (n) {
    if (n.kind === "run" && (n.ticket === id || watching[n.id])) {
      fetchRun(n.id).catch(function () {});
      return;
    }
    if (n.kind === "ticket" && n.id === id) {
      changed();
      return;
    }
    if (n.kind === "telemetry" && n.device === device) {
      var s = n.telemetry || {};
      document.getElementById("live-cpu").textContent = pct(s.cpu_pct);
      document.getElementById("live-mem").textContent = pct(s.mem_pct);
      document.getElementById("live-disk").textContent = pct(s.disk_pct);
      document.getElementById("live-load").textContent = typeof s.load1 === "number" ? s.load1.toFixed(2) : "—";
      document.getElementById("live-when").textContent = "at " + T.utcTime(new Date(n.time));
      var on = document.getElementById("device-online");
      if (on && n.state) { on.textContent = n.state; on.className = "badge " + (n.state === "online" ? "pass" : "warn"); }
    }
  }, device);
})();
