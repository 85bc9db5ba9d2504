// Queue page: live updates, SLA countdowns (console.js), keyboard
// navigation (j/k or arrows, Enter opens).
(function () {
  "use strict";
  var T = window.tierline;
  var table = document.getElementById("queue");
  if (!table) { return; }
  var tbody = document.getElementById("queue-rows");
  var empty = document.getElementById("queue-empty");
  var tab = table.getAttribute("data-tier");
  var selected = -1;

  function rows() { return Array.prototype.slice.call(tbody.querySelectorAll("tr")); }

  function select(i) {
    var rs = rows();
    if (rs.length === 0) { selected = -1; return; }
    selected = Math.max(0, Math.min(rs.length - 1, i));
    rs.forEach(function (r, j) { r.classList.toggle("selected", j === selected); r.setAttribute("aria-selected", j === selected ? "true" : "false"); });
    rs[selected].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) { return; }
    if (ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
    if (ev.key === "j" || ev.key === "ArrowDown") { select(selected + 1); ev.preventDefault(); }
    else if (ev.key === "k" || ev.key === "ArrowUp") { select(selected < 0 ? 0 : selected - 1); ev.preventDefault(); }
    else if (ev.key === "Enter" && selected >= 0) {
      var r = rows()[selected];
      if (r) { window.location.href = r.getAttribute("data-href"); ev.preventDefault(); }
    }
  });

  tbody.addEventListener("click", function (ev) {
    if (ev.target.closest("a")) { return; }
    var r = ev.target.closest("tr");
    if (r) { window.location.href = r.getAttribute("data-href"); }
  });

  function cell(cls) { var td = document.createElement("td"); if (cls) { td.className = cls; } return td; }

  function rowFor(d) {
    var tr = T.el("tr", { "data-id": d.id, "data-href": "/tickets/" + encodeURIComponent(d.id) });
    var num = cell("num"); num.textContent = "#" + d.number; tr.appendChild(num);
    var title = cell("title-cell");
    title.appendChild(T.el("a", { href: "/tickets/" + encodeURIComponent(d.id), text: d.title }));
    if (d.category) { title.appendChild(document.createTextNode(" ")); title.appendChild(T.el("span", { "class": "badge", text: d.category })); }
    if (d.queue) { title.appendChild(document.createTextNode(" ")); title.appendChild(T.el("span", { "class": "badge queue-name", title: "queue", text: d.queue })); }
    tr.appendChild(title);
    var dev = cell("hide-sm"); dev.textContent = d.device; tr.appendChild(dev);
    var st = cell(); st.appendChild(T.el("span", { "class": "badge state-" + d.state, text: d.state })); tr.appendChild(st);
    var pr = cell(); pr.appendChild(T.el("span", { "class": "badge p" + d.priority, text: "P" + d.priority })); tr.appendChild(pr);
    var as = cell("hide-sm");
    if (d.assignee) { as.textContent = d.assignee; } else { as.appendChild(T.el("span", { "class": "muted", text: "unassigned" })); }
    tr.appendChild(as);
    var age = cell("hide-sm"); age.textContent = d.age; tr.appendChild(age);
    var sla = cell();
    if (d.limit_ms) {
      sla.appendChild(T.el("span", { "class": "sla", "data-sla": true, "data-due": d.due || null, "data-limit-ms": d.limit_ms, "data-left-ms": d.left_ms }));
    }
    tr.appendChild(sla);
    return tr;
  }

  var pending = null, refreshSeq = 0;
  function refresh() {
    pending = null;
    var seq = ++refreshSeq;
    var u = new URL(window.location.href);
    u.searchParams.set("format", "json");
    T.api("GET", u.pathname + u.search).then(function (data) {
      // An older answer arriving after a newer one must not bring back a
      // ticket that has left the queue.
      if (seq !== refreshSeq) { return; }
      var before = {};
      rows().forEach(function (r) { before[r.getAttribute("data-id")] = true; });
      var selId = selected >= 0 && rows()[selected] ? rows()[selected].getAttribute("data-id") : null;
      var fresh = [];
      var next = (data.rows || []).map(function (d) {
        var tr = rowFor(d);
        if (!before[d.id]) { tr.classList.add("fresh"); fresh.push(d); }
        return tr;
      });
      tbody.replaceChildren.apply(tbody, next);
      document.querySelectorAll("[data-tier-count]").forEach(function (c) {
        c.textContent = String((data.counts || {})[c.getAttribute("data-tier-count")] || 0);
      });
      empty.hidden = next.length > 0;
      selected = -1;
      if (selId) {
        rows().forEach(function (r, i) { if (r.getAttribute("data-id") === selId) { select(i); } });
      }
      T.tickSLA();
      if (fresh.length === 1) { T.toast("New ticket #" + fresh[0].number + ": " + fresh[0].title); }
      else if (fresh.length > 1) { T.toast(fresh.length + " new tickets"); }
    }).catch(function (e) { T.toast("Could not refresh the queue: " + e.message, true); });
  }

  var live = T.events(function (n) {
    if (n.kind === "resync") { schedule(); return; }
    if (n.kind !== "ticket") { return; }
    var here = tbody.querySelector('tr[data-id="' + CSS.escape(n.id) + '"]');
    if (here || tab === "mine" || String(n.tier) === tab) { schedule(); }
  });
  // Tickets filed between drawing this page and the stream opening, or
  // while it was down, had no notice here: catch up on each (re)open.
  live.addEventListener("open", function () { schedule(); });
  function schedule() { if (!pending) { pending = setTimeout(refresh, 250); } }
})();
