// Request templates (admin): create, edit and delete through the API
// (POST/PUT/DELETE /api/v1/request-templates). The fields editor builds one
// row per field; the API checks everything again and says what is wrong.
(function () {
  "use strict";
  var T = window.tierline;
  var kindWords = { text: "text", choice: "choice", yesno: "yes/no" };

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("tpl-form");
    if (!form) { return; }
    var list = document.getElementById("tpl-fields");
    var errBox = document.getElementById("tpl-error");
    var kinds = (form.getAttribute("data-kinds") || "text,choice,yesno").split(",");
    var maxFields = Number(form.getAttribute("data-max-fields")) || 20;
    var maxAnswer = Number(form.getAttribute("data-max-answer")) || 2000;
    var editing = "";

    function fieldRow(f) {
      f = f || { kind: "text" };
      var n = list.children.length + 1;
      var kind = T.el("select", { name: "kind", "aria-label": "Field " + n + " kind" });
      kinds.forEach(function (k) { kind.appendChild(T.el("option", { value: k, text: kindWords[k] || k })); });
      kind.value = f.kind || "text";
      var choices = T.el("textarea", { name: "choices", rows: 3, "aria-label": "Field " + n + " choices, one a line" });
      choices.value = (f.choices || []).join("\n");
      var minLen = T.el("input", { name: "min_len", type: "number", min: 0, max: maxAnswer, value: f.min_len || "" });
      var maxLen = T.el("input", { name: "max_len", type: "number", min: 1, max: maxAnswer, value: f.max_len || "", placeholder: String(maxAnswer) });
      var row = T.el("li", { class: "tpl-field card", "data-index": n },
        T.el("div", { class: "row" },
          T.el("label", null, "Label ", T.el("input", { name: "label", required: true, maxlength: 200, value: f.label || "" })),
          T.el("label", null, "Key ", T.el("input", { name: "key", required: true, maxlength: 64, pattern: "[a-z0-9-]+", value: f.key || "", title: "lower-case letters, digits and -" })),
          T.el("label", null, "Kind ", kind),
          T.el("label", { class: "check" }, T.el("input", { name: "required", type: "checkbox", checked: !!f.required }), " required")),
        T.el("div", { class: "row tpl-lengths" },
          T.el("label", null, "At least (characters) ", minLen),
          T.el("label", null, "At most ", maxLen)),
        T.el("label", { class: "tpl-choices" }, "Choices, one a line ", choices),
        T.el("label", null, "Help for the user ", T.el("input", { name: "help", maxlength: 2000, value: f.help || "" })),
        T.el("button", { type: "button", class: "danger tpl-remove", text: "Remove this field" }));
      function showKind() {
        row.querySelector(".tpl-lengths").hidden = kind.value !== "text";
        row.querySelector(".tpl-choices").hidden = kind.value !== "choice";
      }
      kind.addEventListener("change", showKind);
      showKind();
      // A key follows the label until it is edited.
      var label = row.querySelector("input[name=label]"), key = row.querySelector("input[name=key]");
      var keyEdited = !!f.key;
      key.addEventListener("input", function () { keyEdited = true; });
      label.addEventListener("input", function () {
        if (!keyEdited) { key.value = label.value.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64); }
      });
      row.querySelector(".tpl-remove").addEventListener("click", function () { row.remove(); });
      list.appendChild(row);
      return row;
    }

    function collect() {
      var fields = Array.prototype.map.call(list.children, function (row) {
        var v = function (n) { return row.querySelector("[name=" + n + "]"); };
        var f = { key: v("key").value.trim(), label: v("label").value.trim(), kind: v("kind").value, required: v("required").checked };
        if (v("help").value.trim()) { f.help = v("help").value.trim(); }
        if (f.kind === "text") {
          if (v("min_len").value) { f.min_len = Number(v("min_len").value); }
          if (v("max_len").value) { f.max_len = Number(v("max_len").value); }
        }
        if (f.kind === "choice") {
          f.choices = v("choices").value.split("\n").map(function (s) { return s.trim(); }).filter(Boolean);
        }
        return f;
      });
      return {
        name: form.elements.name.value.trim(), description: form.elements.description.value.trim(),
        tier: Number(form.elements.tier.value), priority: Number(form.elements.priority.value),
        category: form.elements.category.value, fields: fields,
        software: form.elements.software.value.trim()
      };
    }

    function reset() {
      editing = "";
      form.reset();
      list.replaceChildren();
      document.getElementById("tpl-heading").textContent = "New request template";
      document.getElementById("tpl-save").textContent = "Create template";
      document.getElementById("tpl-cancel").hidden = true;
    }

    document.getElementById("tpl-add-field").addEventListener("click", function () {
      if (list.children.length >= maxFields) { T.toast("A template has at most " + maxFields + " fields.", true); return; }
      fieldRow().querySelector("input[name=label]").focus();
    });
    document.getElementById("tpl-cancel").addEventListener("click", reset);

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      errBox.hidden = true;
      var btn = document.getElementById("tpl-save");
      btn.disabled = true;
      var path = "/api/v1/request-templates" + (editing ? "/" + encodeURIComponent(editing) : "");
      T.api(editing ? "PUT" : "POST", path, collect()).then(function () {
        window.location.reload();
      }).catch(function (e) {
        errBox.textContent = e.message;
        errBox.hidden = false;
        btn.disabled = false;
      });
    });

    document.querySelectorAll(".tpl-edit").forEach(function (b) {
      b.addEventListener("click", function () {
        T.api("GET", "/api/v1/request-templates/" + encodeURIComponent(b.getAttribute("data-id"))).then(function (t) {
          reset();
          editing = t.id;
          form.elements.name.value = t.name;
          form.elements.description.value = t.description || "";
          form.elements.tier.value = String(t.tier);
          form.elements.priority.value = String(t.priority);
          form.elements.category.value = t.category || "";
          form.elements.software.value = t.software || "";
          (t.fields || []).forEach(fieldRow);
          document.getElementById("tpl-heading").textContent = "Edit “" + t.name + "”";
          document.getElementById("tpl-save").textContent = "Save template";
          document.getElementById("tpl-cancel").hidden = false;
          form.scrollIntoView();
        }).catch(function (e) { T.toast(e.message, true); });
      });
    });
    document.querySelectorAll(".tpl-delete").forEach(function (b) {
      b.addEventListener("click", function () {
        if (!window.confirm("Delete the request template “" + b.getAttribute("data-name") + "”? Requests filed from it keep their answers.")) { return; }
        T.api("DELETE", "/api/v1/request-templates/" + encodeURIComponent(b.getAttribute("data-id"))).then(function () {
          window.location.reload();
        }).catch(function (e) { T.toast(e.message, true); });
      });
    });
  });
})();
