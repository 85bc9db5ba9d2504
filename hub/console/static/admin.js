// Admin page: forms and buttons that call the JSON API. A form with
// data-api sends its fields as JSON with data-method (default POST):
// inputs with data-number as numbers, checkboxes as true/false. With
// data-secret it shows that field of the answer once, with a copy button,
// instead of reloading, and refreshes the table body named by data-rows;
// an API error shows in the form's .error. A button
// with data-api posts data-body (or nothing) after data-confirm. Settings
// load from the API and say so when this hub does not have them.
(function () {
  "use strict";
  var T = window.tierline;

  function field(obj, path) {
    return path.split(".").reduce(function (o, k) { return o == null ? o : o[k]; }, obj);
  }

  function showError(root, msg) {
    var e = root.querySelector(".error");
    if (e) { e.textContent = msg; e.hidden = false; } else { T.toast(msg, true); }
  }

  // refreshRows replaces the table body with id with the one the page
  // has now, so a token just created is listed while its secret stays on
  // screen. The page is the console's own, escaped by its templates.
  function refreshRows(id) {
    var tbody = id && document.getElementById(id);
    if (!tbody) { return; }
    fetch(window.location.pathname, { credentials: "same-origin" }).then(function (res) {
      if (!res.ok) { throw new Error("HTTP " + res.status); }
      return res.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(id);
      if (fresh) { tbody.replaceChildren.apply(tbody, Array.prototype.slice.call(fresh.childNodes).map(function (n) { return document.importNode(n, true); })); }
    }).catch(function () { T.toast("Created; reload the page to see it in the list.", true); });
  }

  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (!f.matches || !f.matches("form[data-api]")) { return; }
    ev.preventDefault();
    var body = {};
    Array.prototype.forEach.call(f.elements, function (el) {
      if (!el.name || el.disabled) { return; }
      if (el.type === "checkbox") { body[el.name] = el.checked; return; }
      body[el.name] = el.hasAttribute("data-number") ? Number(el.value) : el.value;
    });
    var err = f.querySelector(".error");
    if (err) { err.hidden = true; }
    var btn = f.querySelector("button[type=submit]");
    if (btn) { btn.disabled = true; }
    T.api(f.getAttribute("data-method") || "POST", f.getAttribute("data-api"), body).then(function (res) {
      if (btn) { btn.disabled = false; }
      var secretField = f.getAttribute("data-secret");
      if (secretField) {
        var box = f.querySelector(".secret");
        box.querySelector(".secret-value").textContent = field(res, secretField) || "";
        box.hidden = false;
        refreshRows(f.getAttribute("data-rows"));
        return;
      }
      if (f.getAttribute("data-done")) {
        T.toast(f.getAttribute("data-done"));
        f.reset();
        return;
      }
      window.location.reload();
    }).catch(function (e) {
      if (btn) { btn.disabled = false; }
      showError(f, e.message);
    });
  });

  document.addEventListener("click", function (ev) {
    var b = ev.target.closest ? ev.target.closest("button[data-api], button[data-copy]") : null;
    if (!b) { return; }
    if (b.hasAttribute("data-copy")) {
      var text = document.getElementById(b.getAttribute("data-copy")).textContent;
      var done = function () { T.toast("Copied"); };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, function () { T.toast("Select the text and copy it by hand", true); });
      } else {
        T.toast("Select the text and copy it by hand", true);
      }
      return;
    }
    if (b.getAttribute("data-confirm") && !window.confirm(b.getAttribute("data-confirm"))) { return; }
    var body;
    try { body = b.getAttribute("data-body") ? JSON.parse(b.getAttribute("data-body")) : {}; } catch (e) { body = {}; }
    b.disabled = true;
    T.api("POST", b.getAttribute("data-api"), body).then(function () { window.location.reload(); })
      .catch(function (e) { b.disabled = false; T.toast(e.message, true); });
  });

  function loadSettings(sec) {
    var path = sec.getAttribute("data-settings");
    var status = sec.querySelector(".settings-status"), ta = sec.querySelector("textarea"), save = sec.querySelector("button");
    // data-fields names what the PUT takes; the rest of the answer (where
    // each value comes from, say) is shown as the status line.
    var fields = (sec.getAttribute("data-fields") || "").split(",").filter(Boolean);
    function show(res) {
      var edit = {}, about = [];
      Object.keys(res || {}).forEach(function (k) {
        if (!fields.length || fields.indexOf(k) >= 0) { edit[k] = res[k]; } else { about.push(k.replace(/_/g, " ") + ": " + res[k]); }
      });
      ta.value = JSON.stringify(edit, null, 2);
      status.textContent = (about.length ? about.join(", ") + ". " : "") + "Edit as JSON and save; the hub checks it.";
    }
    T.api("GET", path).then(function (res) {
      show(res);
      ta.hidden = false; save.hidden = false;
    }).catch(function (e) {
      status.textContent = e.status === 404 ? "Not available on this hub." : "Could not load: " + e.message;
    });
    save.addEventListener("click", function () {
      var v;
      try { v = JSON.parse(ta.value); } catch (e) { T.toast("Not valid JSON: " + e.message, true); return; }
      T.api("PUT", path, v).then(function (res) {
        show(res);
        T.toast("Saved");
      }).catch(function (e) { T.toast(e.message, true); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-settings]").forEach(loadSettings);
  });
})();
