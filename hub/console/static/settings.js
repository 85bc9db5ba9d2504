// Admin page: the SLA and routing settings as forms. They load from the
// API (GET /api/v1/settings/sla and /ticket-routing), are edited as rows
// of fields with times in words ("15 min"), and save with PUT; the hub
// checks what is sent and its error shows in the form.
(function () {
  "use strict";
  var T = window.tierline;

  function input(name, value, attrs) {
    var a = { type: "text", name: name, value: value || "" };
    Object.keys(attrs || {}).forEach(function (k) { a[k] = attrs[k]; });
    var e = T.el("input", a);
    e.value = value || "";
    return e;
  }

  function select(name, options, value) {
    var s = T.el("select", { name: name });
    options.forEach(function (o) {
      var opt = T.el("option", { value: String(o[0]), text: o[1] });
      if (String(o[0]) === String(value)) { opt.selected = true; }
      s.appendChild(opt);
    });
    return s;
  }

  function removeButton(tr) {
    var b = T.el("button", { type: "button", "class": "remove", text: "Remove" });
    b.addEventListener("click", function () { tr.remove(); });
    return b;
  }

  function cell(child) { var td = document.createElement("td"); if (child) { td.appendChild(child); } return td; }

  function setup(form, load, fill, collect, path) {
    var status = form.querySelector(".settings-status"), err = form.querySelector(".error");
    var hidden = form.querySelectorAll("[hidden]:not(.error)");
    function show(res) {
      fill(res);
      Array.prototype.forEach.call(hidden, function (e) { e.hidden = false; });
    }
    T.api("GET", path).then(function (res) {
      show(res);
      status.textContent = load(res);
    }).catch(function (e) {
      status.textContent = e.status === 404 ? "Not available on this hub." : "Could not load: " + e.message;
    });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      err.hidden = true;
      var body;
      try { body = collect(); } catch (e) { err.textContent = e.message; err.hidden = false; return; }
      T.api("PUT", path, body).then(function (res) {
        show(res);
        status.textContent = load(res);
        T.toast("Saved");
      }).catch(function (e) { err.textContent = e.message; err.hidden = false; });
    });
    return { show: show, status: status, err: err };
  }

  // --- SLA -----------------------------------------------------------
  function slaForm(form) {
    var tbody = form.querySelector("#sla-limits tbody");
    var hours = form.querySelector("#sla-hours");
    var prios = [[1, "P1"], [2, "P2"], [3, "P3"], [4, "P4"], [5, "P5"]];
    var tiers = [[1, "Tier 1"], [2, "Tier 2"], [3, "Tier 3"], [4, "Tier 4"]];

    function row(l) {
      var tr = document.createElement("tr");
      if (l.priority) {
        tr.setAttribute("data-priority", "1");
        tr.appendChild(cell(select("tier", tiers, l.tier)));
        tr.appendChild(cell(select("priority", prios, l.priority)));
      } else {
        tr.setAttribute("data-tier", String(l.tier));
        tr.appendChild(T.el("td", { text: "Tier " + l.tier }));
        tr.appendChild(T.el("td", { "class": "muted", text: "any" }));
      }
      tr.appendChild(cell(input("resolve", l.resolve, { size: 9, "aria-label": "Resolve within", placeholder: "none" })));
      tr.appendChild(cell(input("respond", l.respond, { size: 9, "aria-label": "First response within", placeholder: "none" })));
      tr.appendChild(l.priority ? cell(removeButton(tr)) : cell());
      return tr;
    }

    function fillHours(text) {
      // "mon-fri 09:00-17:00 Europe/Berlin", days as a range or list.
      var all = text === "";
      hours.querySelector("[name=all_hours]").checked = all;
      var f = text.split(/\s+/);
      var names = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"], on = {};
      if (!all && f.length >= 2) {
        f[0].split(",").forEach(function (part) {
          var ab = part.split("-"), a = names.indexOf(ab[0]), b = ab.length > 1 ? names.indexOf(ab[1]) : a;
          for (var d = a; a >= 0 && b >= 0; d = (d + 1) % 7) { on[names[d]] = true; if (d === b) { break; } }
        });
        var ft = f[1].split("-");
        hours.querySelector("[name=from]").value = ft[0];
        hours.querySelector("[name=to]").value = ft[1] === "24:00" ? "23:59" : ft[1];
        hours.querySelector("[name=zone]").value = f[2] || "UTC";
      }
      hours.querySelectorAll("[name=day]").forEach(function (c) { c.checked = !!on[c.value]; });
      toggleHours();
    }
    function toggleHours() {
      var all = hours.querySelector("[name=all_hours]").checked;
      hours.querySelectorAll("input:not([name=all_hours])").forEach(function (e) { e.disabled = all; });
    }
    hours.querySelector("[name=all_hours]").addEventListener("change", toggleHours);
    var zones = form.querySelector("#time-zones");
    if (zones && Intl.supportedValuesOf) {
      Intl.supportedValuesOf("timeZone").forEach(function (z) { zones.appendChild(T.el("option", { value: z })); });
    }

    function limitsText(field) {
      var parts = [];
      tbody.querySelectorAll("tr").forEach(function (tr) {
        var v = tr.querySelector("[name=" + field + "]").value.trim();
        if (v === "") { return; }
        if (v.indexOf(",") >= 0 || v.indexOf("=") >= 0) { throw new Error("“" + v + "”: write one time, such as 15 min"); }
        var key = tr.getAttribute("data-priority")
          ? tr.querySelector("[name=tier]").value + "/P" + tr.querySelector("[name=priority]").value
          : tr.getAttribute("data-tier");
        parts.push(key + "=" + v);
      });
      return parts.join(",");
    }
    function hoursText() {
      if (hours.querySelector("[name=all_hours]").checked) { return ""; }
      var days = [];
      hours.querySelectorAll("[name=day]").forEach(function (c) { if (c.checked) { days.push(c.value); } });
      if (!days.length) { throw new Error("Pick the days business hours count on, or tick 24/7."); }
      var zone = hours.querySelector("[name=zone]").value.trim();
      return days.join(",") + " " + hours.querySelector("[name=from]").value + "-" + hours.querySelector("[name=to]").value + (zone ? " " + zone : "");
    }

    var f = setup(form, function (res) {
      var src = ["tier limits: " + res.tier_limits_source, "response limits: " + res.response_limits_source, "business hours: " + res.business_hours_source];
      return "In force now (" + src.join(", ") + "; “default” is the hub's serve flags).";
    }, function (res) {
      tbody.replaceChildren.apply(tbody, (res.limits || []).map(row));
      fillHours(res.business_hours || "");
    }, function () {
      return { tier_limits: limitsText("resolve"), response_limits: limitsText("respond"), business_hours: hoursText() };
    }, "/api/v1/settings/sla");

    form.querySelector("#sla-add-priority").addEventListener("click", function () {
      var tr = row({ tier: 1, priority: 1, resolve: "", respond: "" });
      tbody.appendChild(tr);
      tr.querySelector("[name=resolve]").focus();
    });
    form.querySelector("#sla-defaults").addEventListener("click", function () {
      if (!window.confirm("Go back to the hub's default limits and hours (its serve flags)?")) { return; }
      T.api("PUT", "/api/v1/settings/sla", { tier_limits: null, response_limits: null, business_hours: null }).then(function (res) {
        f.show(res);
        T.toast("Back to the hub's defaults");
      }).catch(function (e) { f.err.textContent = e.message; f.err.hidden = false; });
    });
  }

  // --- routing ---------------------------------------------------------
  function routingForm(form) {
    var tbody = form.querySelector("#routing-rules tbody");
    var tiers = [[1, "Tier 1"], [2, "Tier 2"], [3, "Tier 3"], [4, "Tier 4"]];
    function row(r) {
      var tr = document.createElement("tr");
      tr.appendChild(cell(input("name", r.name, { size: 12, "aria-label": "Rule name", required: true, maxlength: 64 })));
      tr.appendChild(cell(input("category", r.category, { size: 12, list: "categories", "aria-label": "About (category)", placeholder: "any" })));
      tr.appendChild(cell(input("check", r.check, { size: 14, list: "check-names", "aria-label": "Failing check", placeholder: "any" })));
      tr.appendChild(cell(input("group", r.group, { size: 10, "aria-label": "Device group", placeholder: "any" })));
      tr.appendChild(cell(select("tier", tiers, r.tier || 1)));
      tr.appendChild(cell(input("queue", r.queue, { size: 10, "aria-label": "Queue", placeholder: "none" })));
      tr.appendChild(cell(removeButton(tr)));
      if (r.signature) { tr.setAttribute("data-signature", r.signature); }
      return tr;
    }
    setup(form, function (res) {
      var n = (res.rules || []).length;
      return n ? n + " rule" + (n === 1 ? "" : "s") + " in force." : "No rules: every ticket starts in Tier 1.";
    }, function (res) {
      tbody.replaceChildren.apply(tbody, (res.rules || []).map(row));
    }, function () {
      var rules = [];
      tbody.querySelectorAll("tr").forEach(function (tr) {
        var r = { tier: Number(tr.querySelector("[name=tier]").value) };
        ["name", "category", "check", "group", "queue"].forEach(function (k) {
          var v = tr.querySelector("[name=" + k + "]").value.trim();
          if (v !== "") { r[k] = v; }
        });
        if (tr.getAttribute("data-signature")) { r.signature = tr.getAttribute("data-signature"); }
        rules.push(r);
      });
      return { rules: rules };
    }, "/api/v1/settings/ticket-routing");
    form.querySelector("#routing-add").addEventListener("click", function () {
      var tr = row({ tier: 1 });
      tbody.appendChild(tr);
      tr.querySelector("[name=name]").focus();
    });
  }

  // --- automatic assignment ------------------------------------------
  function assignmentForm(form) {
    var selects = form.querySelectorAll("select");
    setup(form, function (res) {
      var on = Object.keys(res.tiers || {}).sort().map(function (k) { return "tier " + k + ": " + res.tiers[k].replace("_", " "); });
      return on.length ? "In force: " + on.join(", ") + "." : "Off in every tier.";
    }, function (res) {
      selects.forEach(function (s) { s.value = (res.tiers || {})[s.name.replace("tier", "")] || ""; });
    }, function () {
      var tiers = {};
      selects.forEach(function (s) { if (s.value) { tiers[s.name.replace("tier", "")] = s.value; } });
      return { tiers: tiers };
    }, "/api/v1/settings/assignment");
  }

  document.addEventListener("DOMContentLoaded", function () {
    var assignment = document.getElementById("assignment-settings");
    if (assignment) { assignmentForm(assignment); }
    var sla = document.getElementById("sla-settings");
    if (sla) { slaForm(sla); }
    var routing = document.getElementById("routing-settings");
    if (routing) { routingForm(routing); }
  });
})();
