//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// slaRecorder is installed on a queue page: it writes down, per ticket, each
// SLA state its countdown shows (the class tickSLA sets) with the colour the
// user sees, and "gone" when the row leaves the queue. Rows are replaced on
// every live refresh, so it watches the whole table body.
const slaRecorder = `(function(){
  window.__sla = {};
  var tbody = document.getElementById("queue-rows");
  function note(id, st, bg) {
    var l = window.__sla[id] || (window.__sla[id] = []);
    if (!l.length || l[l.length-1].state !== st) { l.push({state: st, bg: bg}); }
  }
  function scan() {
    var here = {};
    tbody.querySelectorAll("tr[data-id]").forEach(function (tr) {
      var id = tr.getAttribute("data-id"); here[id] = true;
      var e = tr.querySelector("[data-sla]");
      if (!e) { return; }
      var st = ["sla-ok","sla-50","sla-75","sla-breach"].filter(function (c) { return e.classList.contains(c); })[0];
      if (st) { note(id, st, getComputedStyle(e).backgroundColor); }
    });
    Object.keys(window.__sla).forEach(function (id) { if (!here[id]) { note(id, "gone", ""); } });
  }
  new MutationObserver(scan).observe(tbody, {subtree: true, childList: true, attributes: true, attributeFilter: ["class"]});
  scan();
  return "ok";
})()`

type slaStep struct {
	State string `json:"state"`
	BG    string `json:"bg"`
}

func (b *consoleBrowser) slaSteps(id string) []slaStep {
	b.t.Helper()
	var steps []slaStep
	raw := b.eval(fmt.Sprintf(`JSON.stringify((window.__sla || {})[%q] || [])`, id))
	if err := json.Unmarshal([]byte(raw), &steps); err != nil {
		b.t.Fatalf("SLA record %s: %v", raw, err)
	}
	return steps
}

// selectedRow is the data-id of the queue row marked selected, with its
// aria-selected, and how many rows are marked.
func (b *consoleBrowser) selectedRow() string {
	b.t.Helper()
	return b.eval(`(function(){
  var rs = Array.from(document.querySelectorAll("#queue-rows tr"));
  var sel = rs.filter(function (r) { return r.classList.contains("selected"); });
  var aria = rs.filter(function (r) { return r.getAttribute("aria-selected") === "true"; });
  if (sel.length !== 1 || aria.length !== 1 || sel[0] !== aria[0]) { return "marked " + sel.length + "/" + aria.length; }
  return sel[0].getAttribute("data-id");
})()`)
}

// TestConsoleQueueSLAColours watches SLA countdowns in the browser with a
// 40 s Tier 1 limit and tickets filed by a real agent: a ticket's countdown
// turns from ok to the 50% and 75% colours, and when the limit passes the
// hub escalates it to Tier 2 and it leaves the Tier 1 queue without a
// reload. A ticket in the top tier, which cannot escalate further, shows
// the breach colour and stays. In the Tier 2 queue j/k and the arrow keys
// move the selection and Enter opens the selected ticket.
func TestConsoleQueueSLAColours(t *testing.T) {
	b := newConsoleBrowser(t)
	// Tier 3 gets the short limit too: the top tier does not escalate, so
	// its breach stays on screen.
	h := startHub(t, "--tier-limits", "1=40s,2=4h,3=40s")
	conAddUser(t, h, "tara", "tier3", "tier three secret")
	a := enroll(t, h.tokenCreate())
	a.run()
	eventually(t, "the agent online", 60*time.Second, func() bool {
		var d device
		h.get("/api/v1/devices/"+a.id, &d)
		return d.Online
	})

	b.login(h, "tara", "tier three secret")
	b.open(h, "/queue?tier=1", "#queue")
	b.eval(`window.__sameDocument = "yes"; "ok"`)
	b.eval(slaRecorder)

	rowSel := func(id string) string { return fmt.Sprintf(`#queue-rows tr[data-id=%q]`, id) }
	first := helpCmd(t, a, "--category", "application", "Mail client shows a red banner")
	// Its countdown is recorded from the moment it appears, well before
	// half its limit, whatever the load on this machine makes of the next
	// two filings.
	b.waitJS("the first ticket in the Tier 1 queue", fmt.Sprintf(`!!document.querySelector(%q)`, rowSel(first.TicketID)))
	second := helpCmd(t, a, "--category", "application", "Calendar does not sync")
	top := helpCmd(t, a, "--category", "application", "Shared drive is read-only")
	for _, ans := range []struct {
		n    int64
		tier int
	}{{first.Number, first.Tier}, {second.Number, second.Tier}, {top.Number, top.Tier}} {
		if ans.n == 0 || ans.tier != 1 {
			t.Fatalf("help answered ticket #%d in tier %d: want a Tier 1 ticket", ans.n, ans.tier)
		}
	}
	b.waitJS("all three tickets in the Tier 1 queue", fmt.Sprintf(`!!document.querySelector(%q) && !!document.querySelector(%q) && !!document.querySelector(%q)`,
		rowSel(first.TicketID), rowSel(second.TicketID), rowSel(top.TicketID)))

	// A technician moves one ticket to the top tier by hand; it leaves the
	// Tier 1 queue live.
	if got := b.eval(fmt.Sprintf(`tierline.api("POST", "/api/v1/tickets/%s/escalate", {tier: 3, note: "straight to the engineers"}).then(t => "ok", e => String(e.status) + " " + e.message)`, top.TicketID)); got != "ok" {
		t.Fatalf("escalate to Tier 3: %s", got)
	}
	b.waitJS("the Tier 3 ticket gone from the Tier 1 queue", fmt.Sprintf(`!document.querySelector(%q)`, rowSel(top.TicketID)))

	// The first ticket's countdown: ok, then 50%, then 75%.
	spanSel := rowSel(first.TicketID) + " [data-sla]"
	b.waitJS("the countdown at 50%", fmt.Sprintf(`(function(){var e=document.querySelector(%q);return !!e && e.classList.contains("sla-50")})()`, spanSel))
	b.waitJS("the countdown at 75%", fmt.Sprintf(`(function(){var e=document.querySelector(%q);return !!e && e.classList.contains("sla-75")})()`, spanSel))
	if got := b.text(spanSel); !strings.HasSuffix(got, " left") {
		t.Errorf("the countdown at 75%% reads %q, want the time left", got)
	}
	b.shot("queue-sla")

	// The limit passes: the hub escalates it and the Tier 1 queue drops it
	// without reloading.
	b.waitJS("the escalated ticket gone from the Tier 1 queue", fmt.Sprintf(`!document.querySelector(%q)`, rowSel(first.TicketID)))
	if b.eval(`String(window.__sameDocument)`) != "yes" {
		t.Fatalf("the Tier 1 queue reloaded; escalated tickets must leave it live")
	}
	steps := b.slaSteps(first.TicketID)
	t.Logf("the first ticket showed %+v", steps)
	var states []string
	colour := map[string]string{}
	for _, s := range steps {
		states = append(states, s.State)
		if s.State != "gone" {
			colour[s.State] = s.BG
		}
	}
	// The breach may show for the moment between the limit passing and the
	// hub's next SLA check, or not at all; everything else must be there
	// in this order.
	seq := strings.Join(states, ",")
	if seq != "sla-ok,sla-50,sla-75,gone" && seq != "sla-ok,sla-50,sla-75,sla-breach,gone" {
		t.Errorf("the first ticket's countdown went %s, want sla-ok,sla-50,sla-75[,sla-breach],gone", seq)
	}
	if colour["sla-ok"] == colour["sla-50"] || colour["sla-50"] == colour["sla-75"] || colour["sla-ok"] == colour["sla-75"] {
		t.Errorf("the countdown colours do not change: %v", colour)
	}

	// The top-tier ticket breaches and stays, in the breach colour.
	b.open(h, "/queue?tier=3", "#queue")
	topSpan := rowSel(top.TicketID) + " [data-sla]"
	b.waitJS("the Tier 3 ticket breached", fmt.Sprintf(`(function(){var e=document.querySelector(%q);return !!e && e.classList.contains("sla-breach")})()`, topSpan))
	b.waitText(topSpan, "breached")
	if bg := b.eval(fmt.Sprintf(`getComputedStyle(document.querySelector(%q)).backgroundColor`, topSpan)); bg == colour["sla-75"] || bg == colour["sla-ok"] {
		t.Errorf("the breach shows in %s, the colour of an earlier state %v", bg, colour)
	}
	b.shot("queue-sla-breach")

	// Tier 2 holds both escalated tickets, on the Tier 2 clock.
	b.open(h, "/queue?tier=2", "#queue")
	b.waitJS("both escalated tickets in the Tier 2 queue", fmt.Sprintf(`!!document.querySelector(%q) && !!document.querySelector(%q)`, rowSel(first.TicketID), rowSel(second.TicketID)))
	b.waitJS("Tier 2 countdowns running", fmt.Sprintf(`(function(){var e=document.querySelector(%q);return !!e && e.classList.contains("sla-ok")})()`, spanSel))
	order := strings.Split(b.eval(`Array.from(document.querySelectorAll("#queue-rows tr")).map(r => r.getAttribute("data-id")).join(",")`), ",")
	if len(order) != 2 {
		t.Fatalf("the Tier 2 queue holds %v, want the two escalated tickets", order)
	}
	if got := b.selectedRow(); got != "marked 0/0" {
		t.Errorf("before any key a row is selected: %s", got)
	}
	for _, k := range []struct {
		key  string
		name string
		want string
	}{
		{"j", "j", order[0]},
		{"j", "j", order[1]},
		{kb.ArrowDown, "ArrowDown", order[1]}, // the last row stays selected
		{"k", "k", order[0]},
		{kb.ArrowUp, "ArrowUp", order[0]}, // the first row stays selected
		{kb.ArrowDown, "ArrowDown", order[1]},
		{kb.ArrowUp, "ArrowUp", order[0]},
		{"j", "j", order[1]},
	} {
		b.do("press "+k.name, chromedp.KeyEvent(k.key))
		if got := b.selectedRow(); got != k.want {
			t.Fatalf("after %s the selection is %s, want %s", k.name, got, k.want)
		}
	}
	// Enter opens the selected ticket.
	b.do("open the selected ticket with Enter", chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#ticket`)))
	if loc := b.eval(`location.pathname`); loc != "/tickets/"+order[1] {
		t.Errorf("Enter opened %s, want /tickets/%s", loc, order[1])
	}
	b.waitText("#ticket-tier", "Tier 2")
	b.waitText("#timeline", "Escalated automatically from tier 1 to tier 2")
	b.noXSS("queue SLA test")
}
