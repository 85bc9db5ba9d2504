package console

import (
	"context"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/wire"
)

// A request filed from a template shows its template and answers on the
// ticket page, escaped; the admin page lists templates; New ticket offers
// them; tier1 cannot open the admin page.
func TestRequestTemplatePages(t *testing.T) {
	tc := newTestConsole(t)
	ctx := context.Background()
	tpl := store.RequestTemplate{RequestTemplate: wire.RequestTemplate{ID: "tpl-1", Name: "Access to a share " + hostile, Tier: 2, Priority: 3,
		Fields: []wire.TemplateField{{Key: "share", Label: "Which share " + hostile, Kind: wire.FieldText, Required: true}}},
		CreatedBy: "admin", CreatedAt: time.Now()}
	if err := tc.st.CreateRequestTemplate(ctx, tpl); err != nil {
		t.Fatal(err)
	}
	tk, _, err := tc.svc.Open(ctx, "tier1-user", tickets.Intake{Requester: "Maria", Template: "tpl-1", Answers: map[string]string{"share": hostile}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cl := tc.login(t, store.RoleAdmin)
	_, page := tc.get(t, cl, "/tickets/"+tk.ID)
	for _, want := range []string{`id="request-answers"`, html.EscapeString("Which share " + hostile), `<dd data-key="share">` + html.EscapeString(hostile) + `</dd>`,
		"service request"} {
		if !strings.Contains(page, want) {
			t.Errorf("ticket page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script>window", "<img src=x", "<svg onload"} {
		if strings.Contains(page, bad) {
			t.Errorf("ticket page contains unescaped %q", bad)
		}
	}
	_, admin := tc.get(t, cl, "/admin/templates")
	if !strings.Contains(admin, `data-template="tpl-1"`) || !strings.Contains(admin, html.EscapeString("Access to a share "+hostile)) || strings.Contains(admin, "<script>window") {
		t.Errorf("admin templates page does not list the template, escaped")
	}
	_, form := tc.get(t, cl, "/tickets/new")
	if !strings.Contains(form, `<option value="tpl-1">`) {
		t.Errorf("New ticket does not offer the template")
	}
	if res, _ := tc.get(t, tc.login(t, store.RoleTier3), "/admin/templates"); res.StatusCode != http.StatusForbidden {
		t.Errorf("tier3 opens the templates admin page: %d", res.StatusCode)
	}
}

// A resolution that ends with a full stop is not given a second one.
func TestResolutionHasOneFullStop(t *testing.T) {
	tc := newTestConsole(t)
	cl := tc.login(t, store.RoleTier2)
	for _, tt := range []struct{ resolution, want string }{
		{"Rebooted the router.", "Rebooted the router.</p>"},
		{"Rebooted the router", "Rebooted the router.</p>"},
		{"Fixed it!", "Fixed it!</p>"},
		{`Told them "restart it."`, html.EscapeString(`Told them "restart it."`) + "</p>"},
	} {
		tk := tc.fileTicket(t, "pc1", "printer jammed")
		if _, err := tc.svc.Resolve(context.Background(), tk.ID, "tier2-user", tt.resolution); err != nil {
			t.Fatal(err)
		}
		_, page := tc.get(t, cl, "/tickets/"+tk.ID)
		i := strings.Index(page, `id="ticket-outcome"`)
		if i < 0 {
			t.Fatalf("no outcome line on the page of a resolved ticket")
		}
		line := page[i:]
		line = line[:strings.Index(line, "</p>")+4]
		if !strings.HasSuffix(line, tt.want) || strings.Contains(line, "..") {
			t.Errorf("resolution %q shows as %q, want it to end %q", tt.resolution, line, tt.want)
		}
	}
	if got := sentence("Done.  "); got != "Done." {
		t.Errorf("sentence(%q) = %q", "Done.  ", got)
	}
}

// Problems: the list with proposals, a problem's page with its tickets,
// root cause and workaround; the ticket links to its problem, its
// knowledge-base draft and its log bundle, and offers to create a
// problem to Tier 3.
func TestProblemPagesAndTicketLinks(t *testing.T) {
	tc := newTestConsole(t)
	ctx := context.Background()
	a := tc.fileTicket(t, "pc-a", "no websites")
	b := tc.fileTicket(t, "pc-b", "no websites either")
	cl := tc.login(t, store.RoleTier3)

	_, list := tc.get(t, cl, "/problems")
	if !strings.Contains(list, `data-signature="dns-resolve"`) || !strings.Contains(list, `data-tickets="`+a.ID+","+b.ID+`"`) {
		t.Errorf("problems page does not propose the two tickets sharing dns-resolve")
	}
	_, page := tc.get(t, cl, "/tickets/"+a.ID)
	if !strings.Contains(page, `id="problem-create-form"`) || !strings.Contains(page, "Create problem from this ticket") {
		t.Errorf("ticket page does not offer to create a problem to tier3")
	}
	_, t1page := tc.get(t, tc.login(t, store.RoleTier1), "/tickets/"+a.ID)
	if strings.Contains(t1page, `id="problem-create-form"`) {
		t.Errorf("tier1 is offered to create a problem")
	}

	p := store.Problem{ID: "p-1", Title: "Branch resolver " + hostile, State: store.ProblemKnownError, RootCause: "MTU " + hostile,
		Workaround: "Use the secondary resolver", Signature: "dns-resolve", CreatedBy: "tier3-user", CreatedAt: time.Now()}
	if err := tc.st.CreateProblem(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.svc.LinkProblem(ctx, a.ID, "tier3-user", p.ID); err != nil {
		t.Fatal(err)
	}
	_, ppage := tc.get(t, cl, "/problems/"+p.ID)
	for _, want := range []string{html.EscapeString("MTU " + hostile), "Use the secondary resolver", `href="/tickets/` + a.ID + `"`, `id="problem-form"`} {
		if !strings.Contains(ppage, want) {
			t.Errorf("problem page lacks %q", want)
		}
	}
	if strings.Contains(ppage, "<script>window") {
		t.Errorf("problem page has unescaped text")
	}
	if res, _ := tc.get(t, cl, "/problems/nope"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown problem: %d", res.StatusCode)
	}

	// A knowledge-base draft from the ticket and a collected log bundle.
	if _, _, err := tc.st.UpdateTicket(ctx, a.ID, func(tk *store.Ticket) ([]store.TicketEvent, error) {
		return []store.TicketEvent{{Time: time.Now(), Actor: "tier3-user", Data: ticketevent.KBDraft{Article: "kb-9", Title: "Resolver drops"}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	run := store.Run{ID: wire.NewID(), DeviceID: a.DeviceID, Fix: "collect-logs", Ticket: a.ID, Tier: 2, State: store.RunQueued, RequestedBy: "tier3-user", CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := tc.st.CreateRuns(ctx, nil, []store.Run{run}); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.st.Ingest(ctx, []store.IngestItem{{DeviceID: a.DeviceID, Seq: 1, Kind: store.KindRunResult, Received: time.Now(),
		RunResult: &wire.RunResult{RunID: run.ID, Fix: "collect-logs", Outcome: wire.OutcomeSucceeded, Bundle: []byte("\x1f\x8b bundle"), BundleName: "logs-pc-a.tar.gz"}}}); err != nil {
		t.Fatal(err)
	}
	_, page = tc.get(t, cl, "/tickets/"+a.ID)
	for _, want := range []string{`href="/problems/p-1"`, `href="/kb/kb-9"`, "Resolver drops", `href="/api/v1/runs/` + run.ID + `/bundle" download`, "logs-pc-a.tar.gz"} {
		if !strings.Contains(page, want) {
			t.Errorf("ticket page lacks %q", want)
		}
	}
	if strings.Contains(page, `id="problem-create-form"`) {
		t.Errorf("a ticket with a problem is offered another")
	}
}
