// New ticket: files the form through POST /api/v1/tickets and opens the
// ticket. For an online device the hub runs its checks first, which can
// take a few seconds: the page says so while it waits.
(function () {
  "use strict";
  var T = window.tierline;

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("new-ticket");
    if (!form) { return; }
    var errBox = document.getElementById("new-ticket-error");
    var progress = document.getElementById("new-ticket-progress");
    var button = document.getElementById("new-ticket-file");
    // One id per form: a second click or a retry after a lost answer files
    // the same ticket, not two.
    var requestID = Array.prototype.map.call(window.crypto.getRandomValues(new Uint8Array(16)), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
    // A request template: its fields, typed; the API checks the answers
    // and says which one is wrong.
    var tplSelect = document.getElementById("new-ticket-template");
    var tplBox = document.getElementById("template-fields");
    var templates = {};
    var chosen = null;
    function fieldInput(f) {
      var id = "tf-" + f.key, input;
      if (f.kind === "choice") {
        input = T.el("select", { id: id, "data-key": f.key, required: !!f.required }, T.el("option", { value: "", text: "—" }));
        (f.choices || []).forEach(function (c) { input.appendChild(T.el("option", { value: c, text: c })); });
      } else if (f.kind === "yesno") {
        input = T.el("select", { id: id, "data-key": f.key, required: !!f.required },
          T.el("option", { value: "", text: "—" }), T.el("option", { value: "yes", text: "yes" }), T.el("option", { value: "no", text: "no" }));
      } else {
        input = T.el("textarea", { id: id, "data-key": f.key, rows: 2, required: !!f.required, maxlength: f.max_len || 2000, minlength: f.min_len || null });
      }
      var label = T.el("label", { for: id }, f.label + (f.required ? " (required)" : "") + " ", input);
      if (f.help) { label.appendChild(T.el("span", { class: "muted", text: f.help })); }
      return label;
    }
    function showTemplate() {
      chosen = templates[tplSelect.value] || null;
      tplBox.replaceChildren();
      tplBox.hidden = !chosen;
      form.elements.text.required = !chosen;
      document.getElementById("text-optional").hidden = !chosen;
      form.elements.type.disabled = !!chosen;
      if (!chosen) { return; }
      form.elements.type.value = "request";
      if (chosen.category) { form.elements.category.value = chosen.category; }
      if (chosen.description) { tplBox.appendChild(T.el("p", { class: "muted", text: chosen.description })); }
      (chosen.fields || []).forEach(function (f) { tplBox.appendChild(fieldInput(f)); });
    }
    ["impact", "urgency"].forEach(function (n) {
      form.elements[n].addEventListener("change", function () { form.elements[n].dataset.touched = "1"; });
    });
    if (tplSelect) {
      T.api("GET", "/api/v1/request-templates").then(function (res) {
        (res.templates || []).forEach(function (t) { templates[t.id] = t; });
        showTemplate();
      }).catch(function (e) { T.toast(e.message, true); });
      tplSelect.addEventListener("change", showTemplate);
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      errBox.hidden = true;
      var device = form.getAttribute("data-device") || "";
      var data = {
        requester: form.elements.requester.value.trim(),
        text: form.elements.text.value,
        channel: form.elements.channel.value,
        type: form.elements.type.value,
        category: form.elements.category.value,
        impact: parseInt(form.elements.impact.value, 10),
        urgency: parseInt(form.elements.urgency.value, 10),
        request_id: requestID
      };
      if (device) { data.device = device; }
      if (form.elements.site && !device) { data.site = form.elements.site.value; }
      if (chosen) {
        data.template = chosen.id;
        data.type = "request";
        data.answers = {};
        tplBox.querySelectorAll("[data-key]").forEach(function (input) {
          var v = input.value.trim();
          if (v !== "") { data.answers[input.getAttribute("data-key")] = v; }
        });
        // The template's priority, unless the technician changed it.
        if (!form.elements.impact.dataset.touched && !form.elements.urgency.dataset.touched) { delete data.impact; delete data.urgency; }
      }
      button.disabled = true;
      progress.textContent = device ? "Filing the ticket and running the computer's health checks… this can take up to 20 seconds." : "Filing the ticket…";
      progress.hidden = false;
      T.api("POST", "/api/v1/tickets", data).then(function (res) {
        window.location.href = "/tickets/" + encodeURIComponent(res.ticket.id);
      }).catch(function (e) {
        progress.hidden = true;
        errBox.textContent = e.message;
        errBox.hidden = false;
        button.disabled = false;
      });
    });
  });
})();
