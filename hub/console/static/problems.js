// Problems: create one from a ticket or a proposal, and edit one, through
// the API (POST /api/v1/problems, PUT /api/v1/problems/{id},
// POST /api/v1/problems/{id}/tickets). The API checks the role (tier3).
(function () {
  "use strict";
  var T = window.tierline;

  function fail(box, e) {
    if (box) { box.textContent = e.message; box.hidden = false; } else { T.toast(e.message, true); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    // A proposal: the problem from its first ticket, the others linked.
    document.querySelectorAll("form.propose-form").forEach(function (f) {
      f.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var ids = (f.getAttribute("data-tickets") || "").split(",").filter(Boolean);
        var btn = f.querySelector("button");
        btn.disabled = true;
        T.api("POST", "/api/v1/problems", { title: f.elements.title.value, from_ticket: ids[0] }).then(function (p) {
          return ids.slice(1).reduce(function (prev, id) {
            return prev.then(function () { return T.api("POST", "/api/v1/problems/" + encodeURIComponent(p.id) + "/tickets", { ticket: id }); });
          }, Promise.resolve()).then(function () { window.location.href = "/problems/" + encodeURIComponent(p.id); });
        }).catch(function (e) { btn.disabled = false; fail(document.getElementById("problems-error"), e); });
      });
    });

    // From a ticket's page.
    var create = document.getElementById("problem-create-form");
    if (create) {
      create.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var btn = create.querySelector("button");
        btn.disabled = true;
        T.api("POST", "/api/v1/problems", { title: create.elements.title.value, from_ticket: create.getAttribute("data-ticket") }).then(function (p) {
          window.location.href = "/problems/" + encodeURIComponent(p.id);
        }).catch(function (e) { btn.disabled = false; fail(null, e); });
      });
    }

    var edit = document.getElementById("problem-form");
    if (edit) {
      var id = document.getElementById("problem").getAttribute("data-id");
      edit.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var btn = edit.querySelector("button");
        btn.disabled = true;
        T.api("PUT", "/api/v1/problems/" + encodeURIComponent(id), {
          title: edit.elements.title.value, state: edit.elements.state.value,
          root_cause: edit.elements.root_cause.value, workaround: edit.elements.workaround.value
        }).then(function () { window.location.reload(); }).catch(function (e) { btn.disabled = false; fail(document.getElementById("problem-error"), e); });
      });
    }
  });
})();
