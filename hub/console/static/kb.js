// Knowledge base: Markdown preview, saving and state changes. The preview
// asks the hub to parse the Markdown (POST /kb/preview) and builds the
// answer's node tree with DOM APIs: only the renderer's tags, text as
// text, links only to http(s). No HTML string from anywhere is inserted.
(function () {
  "use strict";
  var T = window.tierline;
  var TAGS = { h2: 1, h3: 1, h4: 1, h5: 1, p: 1, ul: 1, ol: 1, li: 1, pre: 1, code: 1, em: 1, strong: 1, a: 1 };

  function build(nodes, parent) {
    (nodes || []).forEach(function (n) {
      if (!n.t) { parent.appendChild(document.createTextNode(n.x || "")); return; }
      if (!TAGS[n.t]) { build(n.c, parent); return; }
      var e = document.createElement(n.t);
      if (n.t === "a") {
        if (!/^https?:\/\//i.test(n.h || "")) { build(n.c, parent); return; }
        e.setAttribute("href", n.h);
        e.setAttribute("rel", "nofollow noopener noreferrer");
      }
      build(n.c, e);
      parent.appendChild(e);
    });
  }

  function splitList(s) {
    return s.split(",").map(function (x) { return x.trim(); }).filter(function (x) { return x !== ""; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("kb-form");
    if (form) {
      var body = document.getElementById("kb-body-input");
      var preview = document.getElementById("kb-preview");
      var errBox = document.getElementById("kb-error");
      var timer = null, seq = 0;
      body.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () {
          var mine = ++seq;
          T.api("POST", "/kb/preview", { body: body.value }).then(function (res) {
            if (mine !== seq) { return; }
            var frag = document.createDocumentFragment();
            build(res.nodes, frag);
            preview.replaceChildren(frag);
          }).catch(function (e) { T.toast("Preview: " + e.message, true); });
        }, 250);
      });
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        errBox.hidden = true;
        var id = form.getAttribute("data-id");
        var data = { title: form.elements.title.value, body: body.value,
          checks: splitList(form.elements.checks.value), fixes: splitList(form.elements.fixes.value) };
        var p = id ? T.api("PUT", "/api/v1/articles/" + encodeURIComponent(id), data) : T.api("POST", "/api/v1/articles", data);
        p.then(function (a) { window.location.href = "/kb/" + encodeURIComponent(a.id); })
          .catch(function (e) { errBox.textContent = e.message; errBox.hidden = false; });
      });
    }
    var actions = document.getElementById("kb-actions");
    if (actions) {
      actions.addEventListener("click", function (ev) {
        var b = ev.target.closest("button[data-state]");
        if (!b) { return; }
        var state = b.getAttribute("data-state");
        if (b.classList.contains("danger") && !window.confirm(b.textContent + "?")) { return; }
        b.disabled = true;
        T.api("POST", "/api/v1/articles/" + encodeURIComponent(actions.getAttribute("data-id")) + "/state", { state: state })
          .then(function () { window.location.reload(); })
          .catch(function (e) { b.disabled = false; T.toast(e.message, true); });
      });
    }
  });
})();
