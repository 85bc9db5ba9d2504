// Policy form: fills the form from the saved document, builds the document
// from the form, shows it as JSON, and saves it with
// PUT /api/v1/policies/{group}. A refused policy's problems are listed
// with their field paths and the fields they name are marked. Text is
// written with textContent only.
(function () {
  "use strict";
  var T = window.tierline;
  var TH = ["disk_warn_pct", "disk_fail_pct", "memory_warn_pct", "memory_fail_pct", "cpu_busy_pct", "cpu_warn_for",
    "cpu_fail_for", "clock_warn", "clock_fail", "battery_warn_pct", "battery_fail_pct", "uptime_warn",
    "security_update_max_age", "print_job_stuck_after"];
  var NUMBERS = { "file.min_size": 1, "file.max_size": 1, "tcp.port": 1, "http.status": 1 };
  var PCT = /_pct$/;

  function lines(s) {
    return s.split(/[\n,]/).map(function (x) { return x.trim(); }).filter(function (x) { return x !== ""; });
  }

  function showKind(row) {
    var kind = row.querySelector("[name=kind]").value;
    row.querySelectorAll("[data-kind]").forEach(function (d) { d.hidden = d.getAttribute("data-kind") !== kind; });
  }

  function addCheck(list, tmpl, c) {
    var row = tmpl.content.firstElementChild.cloneNode(true);
    c = c || {};
    ["name", "title", "severity", "fix"].forEach(function (k) { if (c[k]) { row.querySelector("[name=" + k + "]").value = c[k]; } });
    if (c.os) { row.querySelector("[name=os]").value = c.os.join(", "); }
    var kind = "file";
    row.querySelectorAll("[data-kind]").forEach(function (d) {
      var k = d.getAttribute("data-kind");
      if (!c[k]) { return; }
      kind = k;
      d.querySelectorAll("[name]").forEach(function (el) {
        var v = c[k][el.name.slice(k.length + 1)];
        if (v === undefined) { return; }
        if (el.type === "checkbox") { el.checked = !!v; } else { el.value = String(v); }
      });
    });
    row.querySelector("[name=kind]").value = kind;
    showKind(row);
    list.appendChild(row);
    return row;
  }

  function fill(form, doc) {
    var set = function (name, v) { if (v !== undefined && v !== null) { form.elements[name].value = String(v); } };
    set("max_tier", doc.max_tier);
    set("technician_consent", doc.technician_consent);
    set("restart_watched_services", doc.restart_watched_services);
    set("check_every", doc.check_every);
    ["dns_names", "targets", "watched_services"].forEach(function (k) { form.elements[k].value = (doc[k] || []).join("\n"); });
    ["disabled_fixes", "consent_required"].forEach(function (k) {
      form.querySelectorAll("input[name=" + k + "]").forEach(function (el) { el.checked = (doc[k] || []).indexOf(el.value) >= 0; });
    });
    TH.forEach(function (k) { set("t." + k, (doc.thresholds || {})[k]); });
  }

  function build(form, list) {
    var doc = {};
    var v = function (name) { return form.elements[name].value.trim(); };
    if (v("max_tier") !== "") { doc.max_tier = Number(v("max_tier")); }
    ["technician_consent", "restart_watched_services"].forEach(function (k) { if (v(k) !== "") { doc[k] = v(k) === "true"; } });
    if (v("check_every") !== "") { doc.check_every = v("check_every"); }
    ["dns_names", "targets", "watched_services"].forEach(function (k) { var l = lines(form.elements[k].value); if (l.length) { doc[k] = l; } });
    ["disabled_fixes", "consent_required"].forEach(function (k) {
      var l = [];
      form.querySelectorAll("input[name=" + k + "]:checked").forEach(function (el) { l.push(el.value); });
      if (l.length) { doc[k] = l; }
    });
    var th = {};
    TH.forEach(function (k) {
      var x = v("t." + k);
      if (x !== "") { th[k] = PCT.test(k) ? Number(x) : x; }
    });
    if (Object.keys(th).length) { doc.thresholds = th; }
    var checks = [];
    list.querySelectorAll("fieldset.pcheck").forEach(function (row, i) {
      var c = {};
      var get = function (n) { return row.querySelector("[name='" + n + "']"); };
      ["name", "title", "severity", "fix"].forEach(function (k) { var x = get(k).value.trim(); if (x !== "") { c[k] = x; } });
      var os = lines(get("os").value);
      if (os.length) { c.os = os; }
      var kind = get("kind").value, spec = {};
      row.querySelectorAll("[data-kind=" + kind + "] [name]").forEach(function (el) {
        var f = el.name.slice(kind.length + 1);
        if (el.type === "checkbox") { if (el.checked) { spec[f] = true; } return; }
        var x = el.value.trim();
        if (x === "") { return; }
        spec[f] = NUMBERS[el.name] ? Number(x) : x;
      });
      c[kind] = spec;
      row.setAttribute("data-path", "checks[" + i + "]");
      checks.push(c);
    });
    if (checks.length) { doc.checks = checks; }
    return doc;
  }

  // fieldFor finds the input a problem's path names, for marking it.
  function fieldFor(form, list, path) {
    var m = /^checks\[(\d+)\](?:\.([a-z]+)(?:\.([a-z_]+))?)?/.exec(path);
    if (m) {
      var row = list.querySelectorAll("fieldset.pcheck")[Number(m[1])];
      if (!row) { return null; }
      if (m[3]) { return row.querySelector("[name='" + m[2] + "." + m[3] + "']"); }
      if (m[2]) { return row.querySelector("[name='" + m[2] + "']") || row.querySelector("[name=kind]"); }
      return row.querySelector("[name=kind]");
    }
    var name = path.replace(/\[\d+\]$/, "").replace(/^thresholds\./, "t.");
    return form.elements[name] && form.elements[name].nodeType ? form.elements[name] : form.querySelector("[name='" + name + "']");
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("policy-form");
    if (!form) { return; }
    var list = document.getElementById("policy-checks");
    var tmpl = document.getElementById("policy-check-template");
    var out = document.getElementById("policy-json");
    var errBox = document.getElementById("policy-error");
    var doc = {};
    try { doc = JSON.parse(form.getAttribute("data-doc") || "{}") || {}; } catch (e) { doc = {}; }
    fill(form, doc);
    (doc.checks || []).forEach(function (c) { addCheck(list, tmpl, c); });
    var show = function () { out.textContent = JSON.stringify(build(form, list), null, 2); };
    show();
    form.addEventListener("input", show);
    form.addEventListener("change", function (ev) {
      if (ev.target.name === "kind") { showKind(ev.target.closest("fieldset.pcheck")); }
      show();
    });
    form.addEventListener("click", function (ev) {
      if (ev.target.hasAttribute("data-remove")) { ev.target.closest("fieldset.pcheck").remove(); show(); }
    });
    var add = document.getElementById("policy-add-check");
    if (add) {
      add.addEventListener("click", function () { addCheck(list, tmpl).querySelector("[name=name]").focus(); show(); });
    }
    if (form.getAttribute("data-readonly")) {
      form.querySelectorAll("input, select, textarea, button[data-remove]").forEach(function (el) { el.disabled = true; });
      return;
    }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      errBox.hidden = true;
      form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
      var group = form.getAttribute("data-group");
      var site = form.getAttribute("data-site");
      var q = site ? "?site=" + encodeURIComponent(site) : "";
      T.api("PUT", "/api/v1/policies/" + encodeURIComponent(group) + q, build(form, list)).then(function (p) {
        window.location.href = "/policies/" + encodeURIComponent(group) + (q ? q + "&" : "?") + "saved=" + p.version;
      }).catch(function (e) {
        document.getElementById("policy-error-text").textContent = "Not saved: " + ((e.data && e.data.problems) ? "fix what is marked." : e.message);
        var ul = document.getElementById("policy-problems");
        ul.replaceChildren();
        ((e.data && e.data.problems) || []).forEach(function (p) {
          var li = document.createElement("li");
          var code = document.createElement("code");
          code.textContent = p.path;
          li.appendChild(code);
          li.appendChild(document.createTextNode(": " + p.message));
          ul.appendChild(li);
          var el = fieldFor(form, list, p.path);
          if (el) { el.setAttribute("aria-invalid", "true"); }
        });
        errBox.hidden = false;
        errBox.scrollIntoView({ block: "nearest" });
      });
    });
  });
})();
