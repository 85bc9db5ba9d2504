// Notifications: the bell's list (mark read, live additions) and the
// notification settings form, which saves through the API.
(function () {
  "use strict";
  var t = window.tierline;

  function markRead(body, done) {
    return t.api("POST", "/api/v1/me/notifications/read", body).then(function (res) {
      t.setBell(res.unread);
      done(res);
    }).catch(function (e) { t.toast(e.message, true); });
  }

  function setupList() {
    var list = document.getElementById("notify-list");
    if (!list) { return; }
    var all = document.getElementById("notify-read-all");
    function readItem(li) {
      li.classList.remove("unread");
      var b = li.querySelector(".notify-read");
      if (b) { b.parentNode.replaceChild(document.createTextNode("read"), b); }
    }
    list.addEventListener("click", function (ev) {
      var b = ev.target.closest ? ev.target.closest(".notify-read") : null;
      if (!b) { return; }
      var li = b.closest("li");
      b.disabled = true;
      markRead({ ids: [li.getAttribute("data-id")] }, function (res) {
        readItem(li);
        all.disabled = res.unread === 0;
      });
    });
    all.addEventListener("click", function () {
      all.disabled = true;
      markRead({ all: true }, function () {
        list.querySelectorAll("li.unread").forEach(readItem);
      });
    });
    // A new notification joins the top of the list as it arrives.
    document.addEventListener("tierline:notification", function (ev) {
      var n = ev.detail;
      var title = n.link ? t.el("a", { "class": "notify-title", href: n.link, text: n.title }) : t.el("span", { "class": "notify-title", text: n.title });
      var li = t.el("li", { "class": "card notify-item unread", "data-id": n.id, "data-event": n.event }, title,
        t.el("div", { "class": "muted" }, t.el("time", { datetime: n.time, text: "just now" }), " · ",
          t.el("button", { type: "button", "class": "link notify-read", text: "Mark read" })));
      list.insertBefore(li, list.firstChild);
      document.getElementById("notify-empty").hidden = true;
      all.disabled = false;
    });
  }

  function list(s) {
    return s.split(",").map(function (x) { return x.trim(); }).filter(function (x) { return x !== ""; });
  }

  function setupForm() {
    var f = document.getElementById("notify-form");
    if (!f) { return; }
    var errBox = document.getElementById("notify-error");
    if (!f.elements.quiet_tz.value) {
      try { f.elements.quiet_tz.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* keep empty */ }
    }
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var p = {
        email: f.elements.email.value.trim(),
        webhook_url: f.elements.webhook_url.value.trim(),
        webhook_format: f.elements.webhook_format.value,
        events: {},
        watch_tiers: [],
        watch_queues: list(f.elements.watch_queues.value),
        watch_groups: list(f.elements.watch_groups.value)
      };
      if (f.elements.webhook_secret.value) { p.webhook_secret = f.elements.webhook_secret.value; }
      if (f.elements.clear_webhook_secret && f.elements.clear_webhook_secret.checked) { p.clear_webhook_secret = true; }
      f.querySelectorAll("#notify-events tr[data-event]").forEach(function (tr) {
        var r = {};
        ["bell", "email", "webhook", "always"].forEach(function (k) { r[k] = tr.querySelector("input[name=rule-" + k + "]").checked; });
        if (r.email || r.webhook || r.always) { r.bell = true; }
        if (r.bell) { p.events[tr.getAttribute("data-event")] = r; }
      });
      f.querySelectorAll("input[name=watch_tier]:checked").forEach(function (c) { p.watch_tiers.push(Number(c.value)); });
      if (f.elements.quiet_on.checked) {
        p.quiet_hours = { from: f.elements.quiet_from.value, to: f.elements.quiet_to.value, time_zone: f.elements.quiet_tz.value.trim() };
      }
      var save = document.getElementById("notify-save");
      save.disabled = true;
      errBox.hidden = true;
      t.api("PUT", "/api/v1/me/notifications", p).then(function () {
        t.toast("Saved. Notifications follow your new settings.");
        location.reload();
      }).catch(function (e) {
        errBox.textContent = e.message;
        errBox.hidden = false;
      }).then(function () { save.disabled = false; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { setupList(); setupForm(); });
})();
