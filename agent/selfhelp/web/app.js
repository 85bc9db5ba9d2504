// Tierline Get help page. Hand-written, no dependencies. Every piece of
// data from the agent or the hub is put on the page with textContent:
// never as markup.
"use strict";

(function () {
  var csrf = "";
  var maxShot = 640 * 1024;
  var failing = [];      // names of failing checks
  var diagnosed = {};    // names of the failing and warning checks the diagnosis shows
  var lastMissing = "";  // checks the fixes named that the diagnosis did not show, last time
  var crashes = [];      // applications that crashed lately, from the diagnosis
  var articlesShown = {}; // id -> title
  var articlesOpen = {}; // id -> true while the user has it open
  var lastArticles = ""; // the article list drawn, to skip drawing it again
  var runs = [];         // {fix, title, outcome}
  var fixTitles = {};
  var results = {};      // fix id -> its result element
  var lastTickets = "";  // the ticket list last shown, as JSON
  var shot = null;       // Uint8Array of the PNG to send
  var shotURL = "";
  var filed = false;
  var kbTimer = 0, kbSeq = 0, ticketsSeq = 0, fixesSeq = 0;

  var labels = {
    "cannot-connect": "Cannot connect", "sign-in": "Password or sign-in", "slow": "Slow",
    "printing": "Printing", "application": "An application", "other": "Other"
  };
  // What the fixes of a category are for, after "for".
  var categoryFor = { "cannot-connect": "connection problems", "printing": "printing problems", "slow": "a slow computer" };
  var outcomes = {
    fixed: "Fixed: the check that was failing now passes.",
    succeeded: "Done.",
    not_fixed: "The fix ran, but the problem is still there.",
    failed: "The fix could not finish.",
    not_applicable: "This fix does not apply to this computer.",
    refused: "This computer did not allow the fix."
  };

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function clear(e) { while (e.firstChild) { e.removeChild(e.firstChild); } }
  function showError(msg) {
    var e = $("error");
    if (!msg) { e.hidden = true; e.textContent = ""; return; }
    e.textContent = msg;
    e.hidden = false;
  }

  function api(method, path, body, opts) {
    var init = { method: method, headers: {}, credentials: "same-origin" };
    if (method !== "GET") {
      init.headers["X-Tierline-CSRF"] = csrf;
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body || {});
    }
    if (opts && opts.keepalive) { init.keepalive = true; }
    return fetch(path, init).then(function (r) {
      return r.text().then(function (t) {
        var data = null;
        try { data = t ? JSON.parse(t) : null; } catch (e) { data = null; }
        if (!r.ok) {
          var msg = data && data.error ? data.error : "The page could not reach the Tierline agent (" + r.status + ").";
          throw new Error(msg);
        }
        return data;
      });
    });
  }

  function category() {
    var c = document.querySelector("input[name=category]:checked");
    return c ? c.value : "";
  }

  // Knowledge-base Markdown is shown as text: headings, list items and
  // paragraphs, nothing else.
  // inline builds a line's text with its emphasis as elements: **bold**,
  // *italic*, `code`; a link is written as its text and address. Only text
  // nodes and these tags are made, never HTML from the article.
  function inline(s) {
    var frag = document.createDocumentFragment();
    var re = /(\*\*|__)(.+?)\1|(?<![\w*])(\*|_)([^*_\s](?:[^*_]*[^*_\s])?)\3(?![\w*])|`([^`]+)`|\[([^\]]*)\]\(([^)]*)\)/g;
    var last = 0, m;
    while ((m = re.exec(s)) !== null) {
      if (m.index > last) { frag.appendChild(document.createTextNode(s.slice(last, m.index))); }
      if (m[2] !== undefined) { frag.appendChild(el("strong", "", m[2])); }
      else if (m[4] !== undefined) { frag.appendChild(el("em", "", m[4])); }
      else if (m[5] !== undefined) { frag.appendChild(el("code", "", m[5])); }
      else { frag.appendChild(document.createTextNode(m[6] + " (" + m[7] + ")")); }
      last = re.lastIndex;
    }
    if (last < s.length) { frag.appendChild(document.createTextNode(s.slice(last))); }
    return frag;
  }
  function block(tag, s) {
    var e = el(tag);
    e.appendChild(inline(s));
    return e;
  }
  function renderMarkdown(parent, md) {
    var blocks = String(md || "").replace(/\r/g, "").split(/\n\s*\n/);
    blocks.forEach(function (b) {
      var lines = b.split("\n").filter(function (l) { return l.trim() !== ""; });
      if (!lines.length) { return; }
      if (lines.every(function (l) { return /^\s*([-*]|\d+\.)\s+/.test(l); })) {
        var ul = el(/^\s*\d/.test(lines[0]) ? "ol" : "ul");
        lines.forEach(function (l) { ul.appendChild(block("li", l.replace(/^\s*([-*]|\d+\.)\s+/, ""))); });
        parent.appendChild(ul);
        return;
      }
      var h = /^(#{1,6})\s+(.*)$/.exec(lines[0]);
      if (h && lines.length === 1) { parent.appendChild(block("h4", h[2])); return; }
      parent.appendChild(block("p", lines.join(" ")));
    });
  }

  // --- connection and status -------------------------------------------
  function loadStatus() {
    return api("GET", "/api/status").then(function (st) {
      var c = $("conn");
      var who = st.hostname ? " · " + st.hostname : "";
      if (st.connected) {
        c.textContent = "Connected to your help desk" + who;
        c.className = "conn";
      } else {
        c.textContent = "Your help desk cannot be reached right now: requests are saved and sent later" + who;
        c.className = "conn offline";
      }
      var b = $("tickets-badge");
      if (st.messages_waiting > 0) { b.textContent = String(st.messages_waiting); b.hidden = false; } else { b.hidden = true; }
      if (st.pending_consent > 0) { loadConsent(); }
      return st;
    }).catch(function (e) { $("conn").textContent = e.message; $("conn").className = "conn offline"; });
  }

  // --- step 2: diagnosis ------------------------------------------------
  function loadDiagnosis() {
    $("diag-busy").hidden = false;
    $("diag-busy").textContent = "Checking this computer…";
    return api("GET", "/api/diagnose").then(function (d) {
      var list = $("diagnosis");
      clear(list);
      failing = [];
      diagnosed = {};
      var checks = (d && d.checks) || [];
      var bad = checks.filter(function (c) { return c.status === "failing" || c.status === "warning"; });
      bad.forEach(function (c) {
        diagnosed[c.name] = true;
        if (c.status === "failing") { failing.push(c.name); }
        var li = el("li", "check");
        li.setAttribute("data-check", c.name);
        li.appendChild(el("span", "status-" + c.status, c.status === "failing" ? "Problem: " : "Warning: "));
        li.appendChild(el("span", "summary", c.summary || c.name));
        li.appendChild(el("span", "muted", " (" + c.name + ")"));
        list.appendChild(li);
      });
      $("diag-busy").textContent = bad.length ? "" : "No problems found on this computer (" + checks.length + " checks passed).";
      $("diag-busy").hidden = bad.length > 0;
      crashes = (d && d.crashes) || [];
      renderCrashes();
      renderTried();
      return loadFixes();
    }).catch(function (e) { $("diag-busy").textContent = e.message; });
  }

  // --- step 2: articles -------------------------------------------------
  function searchKB() {
    var text = $("problem").value.trim();
    var seq = ++kbSeq;
    if (!text && !failing.length) {
      clear($("articles"));
      lastArticles = "";
      $("kb-note").textContent = "Describe the problem above to see articles from your help desk.";
      return;
    }
    // Articles already listed stay put while a new search runs: a note
    // appearing above them would move the article under the user's pointer.
    if (!$("articles").firstChild) { $("kb-note").textContent = "Looking for articles…"; }
    api("POST", "/api/kb", { text: text, checks: failing, category: category() }).then(function (a) {
      if (seq !== kbSeq) { return; }
      var list = $("articles");
      var arts = (a && a.articles) || [];
      // The same answer again (the user typed on) leaves the list as it
      // is; a new one keeps open the articles the user has open.
      $("kb-note").textContent = arts.length ? (a.cached ? "From a saved copy: your help desk cannot be reached right now." : "")
        : "No articles match yet.";
      var key = JSON.stringify(arts);
      if (key === lastArticles) { return; }
      lastArticles = key;
      list.querySelectorAll("li[data-article] details").forEach(function (d) {
        articlesOpen[d.parentNode.getAttribute("data-article")] = d.open;
      });
      clear(list);
      arts.forEach(function (art) {
        articlesShown[art.id] = art.title;
        var li = el("li", "article");
        li.setAttribute("data-article", art.id);
        var d = el("details");
        // A new search (the user typed on or picked a category) must not
        // close the article the user is reading.
        d.open = !!articlesOpen[art.id];
        d.appendChild(el("summary", "article-title", art.title));
        var body = el("div", "article-body");
        renderMarkdown(body, art.body);
        d.appendChild(body);
        // The fixes the article recommends (catalog fixes or the
        // organisation's signed recipes): a button runs the one listed
        // under "Fixes you can run"; one the user cannot run here says so.
        if (art.fixes && art.fixes.length) {
          var fx = el("div", "article-fixes");
          fx.appendChild(el("span", "muted", "This article recommends: "));
          art.fixes.forEach(function (id) {
            var b = el("button", "article-fix", id);
            b.type = "button";
            b.setAttribute("data-article-fix", id);
            b.addEventListener("click", function () {
              var run = fixRunButton(id);
              if (run) { run.scrollIntoView({ block: "center" }); run.click(); }
            });
            fx.appendChild(b);
          });
          d.appendChild(fx);
        }
        li.appendChild(d);
        list.appendChild(li);
      });
      labelArticleFixes();
      renderTried();
    }).catch(function (e) { if (seq === kbSeq) { $("kb-note").textContent = e.message; } });
  }

  // fixRunButton is the run button of the fix id in the list of fixes the
  // user can run here, or null.
  function fixRunButton(id) {
    var items = $("fixes").querySelectorAll("li[data-fix]");
    for (var i = 0; i < items.length; i++) {
      if (items[i].getAttribute("data-fix") === id) { return items[i].querySelector("button.run"); }
    }
    return null;
  }

  // labelArticleFixes names each article's recommended fix by its title
  // and lets the user run it when it is theirs to run on this computer.
  function labelArticleFixes() {
    $("articles").querySelectorAll("button[data-article-fix]").forEach(function (b) {
      var id = b.getAttribute("data-article-fix");
      var run = fixRunButton(id);
      b.disabled = !run;
      b.textContent = run ? "Run " + (fixTitles[id] || id) : id + " (your help desk runs this one)";
    });
  }

  // --- step 2: fixes ----------------------------------------------------
  // The agent's page server orders the fixes (agent/selfhelp/rank.go):
  // those for a problem found first, then those for the chosen category.
  // Only fixes that apply to this computer come back.
  function loadFixes() {
    var seq = ++fixesSeq;
    var c = category();
    return api("GET", "/api/fixes" + (c ? "?category=" + encodeURIComponent(c) : "")).then(function (f) {
      if (seq !== fixesSeq) { return; }
      var list = $("fixes");
      clear(list);
      var usable = (f && f.fixes) || [];
      usable.forEach(function (x) { fixTitles[x.id] = x.title; });
      // The fixes come from the agent's latest checks; a problem they name
      // that the diagnosis above does not show yet means the machine
      // changed since: check again (once per change), so the list of
      // problems and the fixes for them agree.
      var missing = [];
      usable.forEach(function (x) {
        (x.addresses || []).forEach(function (n) { if (!diagnosed[n] && missing.indexOf(n) < 0) { missing.push(n); } });
      });
      var key = missing.sort().join(",");
      if (key && key !== lastMissing) { lastMissing = key; setTimeout(loadDiagnosis, 0); }
      $("fixes-note").textContent = usable.length ? "" : "There are no fixes you can run yourself on this computer.";
      usable.forEach(function (x) {
        var li = el("li", "fix");
        li.setAttribute("data-fix", x.id);
        li.setAttribute("data-rank", String(x.rank));
        if (x["for"]) { li.setAttribute("data-for", x["for"]); }
        li.appendChild(el("strong", "", x.title));
        if (x.addresses && x.addresses.length) {
          li.appendChild(el("span", x.worst === "warning" ? "status-warning" : "status-failing",
            " · for the problem found: " + x.addresses.join(", ")));
        } else if (x["for"] === "category" && categoryFor[c]) {
          li.appendChild(el("span", "muted", " · for " + categoryFor[c]));
        }
        li.appendChild(el("p", "muted", x.description));
        var btn = el("button", "run", "Run " + x.title);
        btn.type = "button";
        // A result shown before stays with its fix when the list is
        // refreshed after a run.
        var out = results[x.id];
        if (!out) {
          out = el("div", "result");
          out.hidden = true;
          out.setAttribute("role", "status");
          out.setAttribute("aria-live", "polite");
        }
        btn.addEventListener("click", function () { runFix(x, btn, out); });
        li.appendChild(btn);
        li.appendChild(out);
        list.appendChild(li);
      });
      labelArticleFixes();
    }).catch(function (e) { $("fixes-note").textContent = e.message; });
  }

  function checkLine(before, after) {
    var b = before ? before.status : "not checked", a = after ? after.status : "not checked";
    var li = el("li", "verify");
    li.appendChild(el("span", "", (after || before).name + ": "));
    li.appendChild(el("span", "status-" + b, b));
    li.appendChild(el("span", "", " → "));
    li.appendChild(el("span", "status-" + a, a));
    if (after && after.summary) { li.appendChild(el("span", "muted", " (" + after.summary + ")")); }
    return li;
  }

  function runFix(fix, btn, out) {
    // A fix that interrupts what the user is doing asks first.
    if (fix.disruptive && !window.confirm(fix.title + ": " + fix.description + "\n\nThis interrupts what you are doing. Run it now?")) {
      return;
    }
    results[fix.id] = out;
    btn.disabled = true;
    out.hidden = false;
    out.className = "result";
    clear(out);
    out.appendChild(el("p", "", "Running " + fix.title + "… this can take a minute."));
    var p = el("progress");
    p.setAttribute("aria-label", "Running " + fix.title);
    out.appendChild(p);
    api("POST", "/api/run", { fix: fix.id }).then(function (r) {
      clear(out);
      var good = r.outcome === "fixed" || r.outcome === "succeeded";
      out.className = "result " + (good ? "good" : "bad");
      out.setAttribute("data-outcome", r.outcome || "");
      out.appendChild(el("p", "outcome", outcomes[r.outcome] || r.outcome));
      // The reason explains a fix that did not help; a good outcome says it all.
      if (r.reason && !good) { out.appendChild(el("p", "muted", r.reason)); }
      var byName = {};
      (r.before || []).forEach(function (c) { byName[c.name] = { before: c }; });
      (r.after || []).forEach(function (c) { (byName[c.name] = byName[c.name] || {}).after = c; });
      var names = Object.keys(byName);
      if (names.length) {
        out.appendChild(el("p", "", "Checked before and after:"));
        var ul = el("ul", "checks-verify");
        names.forEach(function (n) { ul.appendChild(checkLine(byName[n].before, byName[n].after)); });
        out.appendChild(ul);
      }
      runs.push({ fix: fix.id, title: fix.title, outcome: r.outcome });
      renderTried();
      loadDiagnosis();
    }).catch(function (e) {
      clear(out);
      out.className = "result bad";
      out.appendChild(el("p", "", e.message));
    }).then(function () { btn.disabled = false; });
  }

  // The applications that crashed or stopped responding lately, when the
  // user says the problem is about an application.
  function renderCrashes() {
    var box = $("app-crashes");
    box.hidden = category() !== "application";
    if (box.hidden) { return; }
    var list = $("crashes");
    clear(list);
    crashes.forEach(function (c) {
      var li = el("li", "crash", c.says + ".");
      li.setAttribute("data-app", c.app);
      list.appendChild(li);
    });
    $("crashes-note").textContent = crashes.length ? "" : "No application crashed on this computer in the last 24 hours.";
    $("crashes-note").hidden = crashes.length > 0;
  }

  // --- step 3: ticket ---------------------------------------------------
  function renderTried() {
    var ul = $("tried");
    clear(ul);
    var text = $("problem").value.trim();
    ul.appendChild(el("li", "", "Your words: " + (text || "(write them in step 1)")));
    var c = category();
    if (c) { ul.appendChild(el("li", "", "About: " + (labels[c] || c))); }
    if (failing.length) { ul.appendChild(el("li", "", "Problems found on this computer: " + failing.join(", "))); }
    if (c === "application" && crashes.length) {
      ul.appendChild(el("li", "", "Crashes on this computer: " + crashes.map(function (x) { return x.says; }).join("; ")));
    }
    var ids = Object.keys(articlesShown);
    if (ids.length) {
      ul.appendChild(el("li", "", "Articles you were shown: " + ids.map(function (i) { return articlesShown[i]; }).join("; ")));
    }
    runs.forEach(function (r) { ul.appendChild(el("li", "tried-run", "You ran " + r.title + ": " + (outcomes[r.outcome] || r.outcome))); });
  }

  function pickShot() {
    var f = $("shot-file").files[0];
    if (!f) { return; }
    if (f.size > maxShot) {
      showError("That screenshot is larger than " + Math.floor(maxShot / 1024) + " KiB. Choose a smaller PNG.");
      $("shot-file").value = "";
      return;
    }
    f.arrayBuffer().then(function (buf) {
      var b = new Uint8Array(buf);
      var sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
      for (var i = 0; i < sig.length; i++) {
        if (b[i] !== sig[i]) { showError("The screenshot must be a PNG image."); $("shot-file").value = ""; return; }
      }
      showError("");
      shot = b;
      if (shotURL) { URL.revokeObjectURL(shotURL); }
      shotURL = URL.createObjectURL(new Blob([b], { type: "image/png" }));
      $("shot-img").src = shotURL;
      $("shot-preview").hidden = false;
    });
  }

  function removeShot() {
    shot = null;
    $("shot-file").value = "";
    if (shotURL) { URL.revokeObjectURL(shotURL); shotURL = ""; }
    $("shot-img").removeAttribute("src");
    $("shot-preview").hidden = true;
    $("shot-file").focus();
  }

  function base64(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i += 0x8000) {
      s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(s);
  }

  function fileTicket() {
    var text = $("problem").value.trim();
    if (!text) {
      showError("Say in a few words what is wrong (step 1) before sending.");
      $("problem").focus();
      return;
    }
    showError("");
    var btn = $("file");
    btn.disabled = true;
    var out = $("filed");
    out.hidden = false;
    out.className = "result";
    out.textContent = "Sending your request with this computer's diagnosis…";
    var body = { text: text, category: category() };
    if (shot) { body.screenshot = base64(shot); }
    api("POST", "/api/help", body).then(function (a) {
      filed = true;
      clear(out);
      out.className = "result good";
      if (a.joined && a.number > 0) {
        out.setAttribute("data-state", "joined");
        out.appendChild(el("p", "ticket-number", "Added to your ticket #" + a.number + " with the Tier " + a.tier + " help desk."));
        out.appendChild(el("p", "", a.next || "You asked the same a moment ago; a technician will look at it."));
      } else if (a.number > 0) {
        out.setAttribute("data-state", "filed");
        out.appendChild(el("p", "ticket-number", "Ticket #" + a.number + " is with the Tier " + a.tier + " help desk."));
        out.appendChild(el("p", "", a.next || "A technician will look at it; their messages appear under My tickets."));
      } else if (a.connected) {
        out.setAttribute("data-state", "sent");
        out.appendChild(el("p", "", "Your request is on its way to the help desk; its ticket number will appear under My tickets."));
      } else {
        out.setAttribute("data-state", "queued");
        out.appendChild(el("p", "queued", "Your help desk cannot be reached right now. Your request is saved on this computer " +
          "and will be sent automatically as soon as the connection is back."));
        out.appendChild(el("p", "muted", "You do not need to send it again."));
      }
      loadTickets();
      loadStatus();
    }).catch(function (e) {
      out.className = "result bad";
      out.textContent = e.message;
      btn.disabled = false;
    });
  }

  // --- service requests -------------------------------------------------
  // The help desk's request templates: each a form of typed fields. The
  // page checks the answers as the agent and the hub will (required,
  // length in characters, one of the choices), so the user hears at once.
  var templates = [];
  var chosen = null;
  var software = [];

  // Install software: the signed catalog entries, each with its state and
  // an Install button (the agent installs it with the OS's package
  // manager and reads the package database afterwards).
  function loadSoftware() {
    return api("GET", "/api/software").then(function (a) {
      software = (a && a.entries) || [];
      $("software-card").hidden = software.length === 0;
      $("mode").hidden = templates.length === 0 && software.length === 0;
      var ul = $("software");
      clear(ul);
      software.forEach(function (e) {
        var li = el("li", "template");
        li.setAttribute("data-entry", e.id);
        li.appendChild(el("strong", "", e.title));
        if (e.description) { li.appendChild(el("p", "muted", e.description)); }
        var state = "Not installed.";
        if (e.satisfied) { state = "Installed (" + e.installed + ")."; }
        else if (e.installed) { state = "Installed at " + e.installed + "; your organisation offers " + e.constraint + "."; }
        else if (!e.applicable) { state = "Cannot be installed here: " + e.reason; }
        li.appendChild(el("p", "sw-state", state));
        var b = el("button", "primary", e.satisfied ? "Installed" : "Install");
        b.type = "button";
        b.setAttribute("data-install", e.id);
        b.disabled = e.satisfied || !e.applicable;
        var out = el("div", "result");
        out.hidden = true;
        out.setAttribute("role", "status");
        b.addEventListener("click", function () { install(e, b, out); });
        li.appendChild(b);
        li.appendChild(out);
        ul.appendChild(li);
      });
    }).catch(function () { $("software-card").hidden = true; });
  }

  function install(e, btn, out) {
    btn.disabled = true;
    out.hidden = false;
    out.className = "result";
    clear(out);
    out.appendChild(el("p", "", "Installing " + e.title + "… this can take a few minutes."));
    var p = el("progress");
    p.setAttribute("aria-label", "Installing " + e.title);
    out.appendChild(p);
    // What the install is doing now, from the agent's progress steps
    // (apt's own status), as text, until the result comes.
    var step = el("p", "muted", "");
    step.id = "install-step";
    out.appendChild(step);
    var done = false;
    (function poll() {
      if (done) { return; }
      api("GET", "/api/progress").then(function (g) {
        if (done || !g.running || !g.text) { return; }
        if (g.percent >= 0) { p.max = 100; p.value = g.percent; }
        step.textContent = "Installing… " + (g.percent >= 0 ? g.percent + "% " : "") + g.text;
      }).catch(function () {}).finally(function () { if (!done) { setTimeout(poll, 1000); } });
    })();
    api("POST", "/api/run", { fix: "install-software", params: { entry: e.id } }).then(function (r) {
      done = true;
      clear(out);
      var ok = r.outcome === "succeeded";
      out.className = "result " + (ok ? "ok" : "bad");
      out.setAttribute("data-outcome", r.outcome);
      out.appendChild(el("p", "", (ok ? "Installed. " : "Not installed. ") + (r.reason || "")));
      runs.push({ fix: "install-software", title: "Install " + e.title, outcome: r.outcome });
      if (ok) { btn.textContent = "Installed"; } else { btn.disabled = false; }
    }).catch(function (err) {
      clear(out);
      out.className = "result bad";
      out.setAttribute("data-outcome", "error");
      out.appendChild(el("p", "", err.message));
      btn.disabled = false;
    }).finally(function () { done = true; });
  }

  function loadTemplates() {
    return api("GET", "/api/templates").then(function (a) {
      templates = (a && a.templates) || [];
      $("mode").hidden = templates.length === 0 && software.length === 0;
      var ul = $("templates");
      clear(ul);
      templates.forEach(function (t) {
        var li = el("li", "template");
        var b = el("button", "secondary", t.name);
        b.type = "button";
        b.setAttribute("data-template", t.id);
        b.addEventListener("click", function () { chooseTemplate(t); });
        li.appendChild(b);
        if (t.description) { li.appendChild(el("p", "muted", t.description)); }
        ul.appendChild(li);
      });
    }).catch(function () { $("mode").hidden = software.length === 0; });
  }

  function setMode(request) {
    $("mode-problem").setAttribute("aria-pressed", String(!request));
    $("mode-request").setAttribute("aria-pressed", String(request));
    $("view-problem").hidden = request;
    $("view-request").hidden = !request;
  }

  function chooseTemplate(t) {
    chosen = t;
    $("req-card").hidden = false;
    $("req-title").textContent = t.name;
    $("req-desc").textContent = t.description || "";
    $("req-filed").hidden = true;
    $("req-send").disabled = false;
    $("req-note").value = "";
    var box = $("req-fields");
    clear(box);
    (t.fields || []).forEach(function (f) {
      var id = "req-" + f.key;
      var wrap = el("div", "field");
      wrap.setAttribute("data-field", f.key);
      var label = f.label + (f.required ? " (required)" : "");
      if (f.kind === "yesno") {
        var fs = el("fieldset", "yesno");
        fs.appendChild(el("legend", "", label));
        ["yes", "no"].forEach(function (v) {
          var lab = el("label");
          var r = el("input");
          r.type = "radio";
          r.name = id;
          r.value = v;
          r.id = id + "-" + v;
          lab.appendChild(r);
          lab.appendChild(document.createTextNode(v === "yes" ? " Yes" : " No"));
          fs.appendChild(lab);
        });
        wrap.appendChild(fs);
      } else {
        var l = el("label", "", label);
        l.htmlFor = id;
        wrap.appendChild(l);
        var input;
        if (f.kind === "choice") {
          input = el("select");
          var none = el("option", "", "Choose…");
          none.value = "";
          input.appendChild(none);
          (f.choices || []).forEach(function (c) {
            var o = el("option", "", c);
            o.value = c;
            input.appendChild(o);
          });
        } else {
          input = el("textarea");
          input.rows = 2;
          input.maxLength = f.max_len || 2000;
        }
        input.id = id;
        wrap.appendChild(input);
      }
      if (f.help) { wrap.appendChild(el("p", "muted", f.help)); }
      var err = el("p", "field-error");
      err.hidden = true;
      wrap.appendChild(err);
      box.appendChild(wrap);
    });
    $("req-title").scrollIntoView({ block: "nearest" });
  }

  function answerOf(f) {
    var id = "req-" + f.key;
    if (f.kind === "yesno") {
      var r = document.querySelector("input[name='" + id + "']:checked");
      return r ? r.value : "";
    }
    return $(id).value.trim();
  }

  // checkAnswer says what is wrong with one answer, "" when nothing.
  function checkAnswer(f, v) {
    if (v === "") { return f.required ? "An answer is required." : ""; }
    var n = Array.from(v).length;
    if (f.kind === "text") {
      if (n < (f.min_len || 0)) { return "Write at least " + f.min_len + " characters."; }
      if (n > (f.max_len || 2000)) { return "Write at most " + (f.max_len || 2000) + " characters."; }
    }
    return "";
  }

  function sendRequest(ev) {
    ev.preventDefault();
    if (!chosen) { return; }
    var answers = {}, first = null;
    (chosen.fields || []).forEach(function (f) {
      var v = answerOf(f);
      var wrap = document.querySelector("[data-field='" + f.key + "']");
      var err = wrap.querySelector(".field-error");
      var problem = checkAnswer(f, v);
      err.textContent = problem;
      err.hidden = !problem;
      if (problem && !first) { first = wrap.querySelector("textarea, select, input"); }
      if (v !== "") { answers[f.key] = v; }
    });
    if (first) { first.focus(); return; }
    var btn = $("req-send");
    btn.disabled = true;
    var out = $("req-filed");
    out.hidden = false;
    out.className = "result";
    out.textContent = "Sending your request…";
    api("POST", "/api/help", { template: chosen.id, answers: answers, text: $("req-note").value.trim() }).then(function (a) {
      clear(out);
      out.className = "result good";
      if (a.number > 0) {
        out.setAttribute("data-state", "filed");
        out.appendChild(el("p", "ticket-number", "Request #" + a.number + " is with the Tier " + a.tier + " help desk."));
        out.appendChild(el("p", "", a.next || "Their messages appear under My tickets."));
      } else {
        out.setAttribute("data-state", a.connected ? "sent" : "queued");
        out.appendChild(el("p", "", a.connected ? "Your request is on its way; its number will appear under My tickets." :
          "Your help desk cannot be reached right now. Your request is saved on this computer and will be sent automatically."));
      }
      loadTickets();
    }).catch(function (e) {
      out.className = "result bad";
      out.textContent = e.message;
      btn.disabled = false;
    });
  }

  // --- my tickets -------------------------------------------------------
  function loadTickets() {
    // Only the newest request draws: an older answer arriving late must
    // not take back a message or the reply box the user is typing in.
    var seq = ++ticketsSeq;
    return api("GET", "/api/tickets").then(function (list) {
      if (seq !== ticketsSeq) { return; }
      list = list || [];
      // Unchanged lists are left alone, so nothing moves under the user.
      var key = JSON.stringify(list);
      if (key === lastTickets) { return; }
      lastTickets = key;
      var ul = $("tickets");
      clear(ul);
      $("tickets-note").textContent = list.length ? "" : "You have no tickets.";
      list.forEach(function (t) { ul.appendChild(ticketItem(t)); });
    }).catch(function (e) { $("tickets-note").textContent = e.message; });
  }

  var states = { "new": "New", open: "Open", in_progress: "Being worked on", waiting_user: "Waiting for you",
    waiting_vendor: "Waiting for a vendor", resolved: "Resolved", closed: "Closed" };

  function ticketItem(t) {
    var li = el("li", "ticket");
    li.setAttribute("data-ticket", t.id);
    li.appendChild(el("strong", "", "#" + t.number + (t.title ? " " + t.title : "")));
    li.appendChild(el("p", "muted", (states[t.state] || t.state) + " · Tier " + t.tier));
    (t.messages || []).forEach(function (m) {
      var n = el("div", "note");
      n.appendChild(el("strong", "", (m.from === "you" ? "You" : (m.from || "Help desk")) + ": "));
      n.appendChild(el("span", "", m.text));
      li.appendChild(n);
    });
    if (t.state !== "closed") {
      var id = "reply-" + t.id;
      var lab = el("label", "", "Reply");
      lab.htmlFor = id;
      var ta = el("textarea");
      ta.id = id;
      ta.rows = 2;
      ta.maxLength = 8000;
      var send = el("button", "", "Send reply");
      send.type = "button";
      var msg = el("span", "muted");
      msg.setAttribute("role", "status");
      send.addEventListener("click", function () {
        if (!ta.value.trim()) { ta.focus(); return; }
        send.disabled = true;
        api("POST", "/api/reply", { ticket_id: t.id, text: ta.value }).then(function () {
          msg.textContent = "Sent.";
          ta.value = "";
          loadTickets();
        }).catch(function (e) { msg.textContent = e.message; }).then(function () { send.disabled = false; });
      });
      li.appendChild(lab);
      li.appendChild(ta);
      var row = el("div", "row");
      row.appendChild(send);
      row.appendChild(msg);
      li.appendChild(row);
    }
    if (t.ask_survey) { li.appendChild(survey(t)); }
    // The thanks stay: the list is drawn again after an answer.
    else if (t.surveyed) {
      var thanks = el("p", "muted survey-done", "Thank you: your answer to the survey reached the help desk (or will, once it can be reached).");
      thanks.setAttribute("role", "status");
      li.appendChild(thanks);
    }
    return li;
  }

  function survey(t) {
    var fs = el("fieldset", "cats survey");
    fs.appendChild(el("legend", "", "How well was this handled? (1 poor – 5 excellent)"));
    var result = el("p", "muted");
    result.setAttribute("role", "status");
    [1, 2, 3, 4, 5].forEach(function (n) {
      var b = el("button", "", String(n));
      b.type = "button";
      b.setAttribute("aria-label", "Score " + n + " of 5");
      b.addEventListener("click", function () {
        api("POST", "/api/survey", { ticket_id: t.id, score: n }).then(function () {
          result.textContent = "Thank you.";
          loadTickets();
        }).catch(function (e) { result.textContent = e.message; });
      });
      fs.appendChild(b);
    });
    fs.appendChild(result);
    return fs;
  }

  // --- consent ----------------------------------------------------------
  function loadConsent() {
    return api("GET", "/api/consent").then(function (items) {
      items = items || [];
      var ul = $("consent-list");
      clear(ul);
      $("consent").hidden = items.length === 0;
      items.forEach(function (c) {
        var li = el("li", "consent-item");
        li.appendChild(el("strong", "", c.title || c.fix));
        li.appendChild(el("p", "", (c.technician || "A technician") + " asks to run this fix" +
          (c.disruptive ? " (it interrupts what you are doing)" : "") + ". " + (c.reason || "")));
        if (c.target) { li.appendChild(el("p", "consent-target", "It acts on " + c.target + ".")); }
        var row = el("div", "row");
        [["Allow", true], ["Decline", false]].forEach(function (o) {
          var b = el("button", o[1] ? "primary" : "", o[0]);
          b.type = "button";
          b.addEventListener("click", function () {
            api("POST", "/api/consent", { run_id: c.run_id, allow: o[1] }).then(loadConsent)
              .catch(function (e) { showError(e.message); });
          });
          row.appendChild(b);
        });
        li.appendChild(row);
        ul.appendChild(li);
      });
    }).catch(function () { $("consent").hidden = true; });
  }

  // --- tabs -------------------------------------------------------------
  function show(which) {
    var help = which === "help";
    $("view-help").hidden = !help;
    $("view-tickets").hidden = help;
    $("tab-help").setAttribute("aria-pressed", String(help));
    $("tab-tickets").setAttribute("aria-pressed", String(!help));
    if (!help) { loadTickets(); }
    loadConsent();
  }

  function leave() {
    api("POST", "/api/leave", {}, { keepalive: true }).catch(function () {});
  }

  function start() {
    var cats = $("categories");
    api("GET", "/api/session").then(function (s) {
      csrf = s.csrf;
      maxShot = s.max_screenshot || maxShot;
      (s.categories || []).forEach(function (c) {
        var lab = el("label");
        var r = el("input");
        r.type = "radio";
        r.name = "category";
        r.value = c;
        r.id = "cat-" + c;
        r.addEventListener("change", function () { renderCrashes(); renderTried(); searchKB(); loadFixes(); });
        lab.appendChild(r);
        lab.appendChild(document.createTextNode(labels[c] || c));
        cats.appendChild(lab);
      });
      loadStatus();
      loadConsent();
      loadTickets();
      loadTemplates();
      loadSoftware().then(function () {
        if (window.location.hash === "#software" && software.length > 0) {
          setMode(true);
          $("software-card").scrollIntoView();
        }
      });
      renderTried();
      loadDiagnosis().then(searchKB);
      setInterval(function () {
        loadStatus();
        loadConsent();
        // Refresh the tickets unless the user is writing a reply.
        var busy = Array.prototype.some.call(document.querySelectorAll("#tickets textarea"), function (ta) {
          return ta.value !== "" || ta === document.activeElement;
        });
        if (!$("view-tickets").hidden && !busy) { loadTickets(); }
      }, 15000);
    }).catch(function (e) { showError(e.message); });

    $("problem").addEventListener("input", function () {
      renderTried();
      clearTimeout(kbTimer);
      kbTimer = setTimeout(searchKB, 400);
    });
    $("shot-file").addEventListener("change", pickShot);
    $("shot-remove").addEventListener("click", removeShot);
    $("file").addEventListener("click", fileTicket);
    $("mode-problem").addEventListener("click", function () { setMode(false); });
    $("mode-request").addEventListener("click", function () { setMode(true); });
    $("req-form").addEventListener("submit", sendRequest);
    $("tab-help").addEventListener("click", function () { show("help"); });
    $("tab-tickets").addEventListener("click", function () { show("tickets"); });
    window.addEventListener("pagehide", leave);
    // The tray opens My tickets as the page's #tickets.
    window.addEventListener("hashchange", function () { show(location.hash === "#tickets" ? "tickets" : "help"); });
    if (location.hash === "#tickets") { show("tickets"); }
    void filed;
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
