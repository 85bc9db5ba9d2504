package console

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// ticketStore is what the ticket page reads from the store.
type ticketStore interface {
	GetTicket(ctx context.Context, id string) (store.Ticket, error)
	TicketEvents(ctx context.Context, id string) ([]store.TicketEvent, error)
	GetDevice(ctx context.Context, id string) (store.Device, error)
	ListRuns(ctx context.Context, f store.RunFilter) ([]store.Run, error)
	GetRun(ctx context.Context, id string) (store.Run, error)
	ListUsers(ctx context.Context) ([]store.User, error)
	ListProblems(ctx context.Context, state string, limit int) ([]store.Problem, error)
	TicketLinks(ctx context.Context, ticketID string) ([]store.TicketLink, error)
	ListVendors(ctx context.Context, withDisabled bool) ([]store.Vendor, error)
	GetVendor(ctx context.Context, idOrName string) (store.Vendor, error)
	TicketDeliveries(ctx context.Context, ticketID string) ([]store.VendorDelivery, error)
	SoftwareChanges(ctx context.Context, deviceID string, since, until time.Time, limit int) ([]store.SoftwareChange, error)
	TicketAttachments(ctx context.Context, ticketID string) ([]store.Attachment, error)
	GetProblem(ctx context.Context, id string) (store.Problem, error)
}

func init() {
	Register(Page{Pattern: "GET /tickets/{id}", Role: store.RoleTier1, Handle: ticketPage})
}

// ticketRuns is how many of a ticket's fix runs the page shows.
const ticketRuns = 20

type timelineItem struct {
	Time  time.Time
	Actor string
	Kind  string
	Text  string
}

type ticketData struct {
	T         store.Ticket
	Open      bool
	Device    store.Device
	HasDevice bool
	// Channel says how a ticket a technician filed came in ("phone call");
	// "" for a device's own help request. NoSnapshot says why a ticket
	// filed for a device has no diagnostics.
	Channel    string
	NoSnapshot string
	// Attachments are the files an email ticket's mails brought, kept or
	// dropped with the reason.
	Attachments []store.Attachment
	SLA         queueRow // countdown attributes
	SLAPct      int
	Checks      []diag.CheckResult // failing first
	Failing     int
	Sample      *diag.Sample
	Inventory   *diag.Inventory
	Chart       Chart
	Timeline    []timelineItem
	Messages    []tickets.ViewMessage
	Runs        []store.Run
	Users       []store.User
	Problems    []store.Problem
	Links       []store.TicketLink
	// Tiers are the tiers the ticket can be moved to (1 to TopTier, not
	// its own); NextTier is pre-selected: the next one up, or at the top
	// the one below.
	Tiers    []int
	NextTier int
	// Vendors are the enabled vendors a Tier 3 technician may forward the
	// ticket to; Vendor is the one it was sent to, Deliveries the
	// hand-off messages.
	Vendors    []store.Vendor
	Vendor     store.Vendor
	Deliveries []store.VendorDelivery
	// WaitReasons are the typed reasons a ticket may wait on its user.
	WaitReasons []string
	CanWait     bool
	Waiting     bool
	// SoftwareChanges are the device's software changes in the 24 hours
	// before the ticket was filed (SoftwareWindow), newest first.
	SoftwareChanges []store.SoftwareChange
	// Problem is the problem the ticket is linked to (HasProblem); KB the
	// knowledge-base drafts written from it; Bundles its fix runs that
	// collected a log bundle.
	Problem    store.Problem
	HasProblem bool
	KB         []ticketevent.KBDraft
	Bundles    []store.Run
}

// SoftwareWindow is how long before a ticket was filed its device's
// software changes are shown with it: something installed or upgraded the
// day before is a common cause.
const SoftwareWindow = 24 * time.Hour

func ticketPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	id := r.PathValue("id")
	if len(id) > 64 {
		c.Error(w, r, req, http.StatusBadRequest, "That ticket id is too long; open tickets from the queue.")
		return
	}
	ctx := r.Context()
	st := c.tickets
	now := c.cfg.Now()
	v, err := tickets.BuildView(ctx, st, id, c.cfg.Policy(), now)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	t := v.Ticket
	d := ticketData{T: t, Open: t.State != store.TicketResolved && t.State != store.TicketClosed,
		WaitReasons: tickets.WaitingReasons[store.TicketWaitingUser],
		CanWait:     t.State == store.TicketNew || t.State == store.TicketOpen,
		Waiting:     t.State == store.TicketWaitingUser || t.State == store.TicketWaitingVendor}
	d.Tiers, d.NextTier = moveTiers(t.Tier)
	if t.DeviceID != "" {
		dev, err := st.GetDevice(ctx, t.DeviceID)
		switch {
		case err == nil:
			d.Device, d.HasDevice = dev, true
		case !isNotFound(err):
			c.Fail(w, r, req, err)
			return
		}
	}
	if t.Channel == store.IntakeEmail {
		if d.Attachments, err = st.TicketAttachments(ctx, t.ID); err != nil {
			c.Fail(w, r, req, err)
			return
		}
	}
	if d.HasDevice {
		if d.SoftwareChanges, err = st.SoftwareChanges(ctx, t.DeviceID, t.CreatedAt.Add(-SoftwareWindow), t.CreatedAt.Add(time.Second), 100); err != nil {
			c.Fail(w, r, req, err)
			return
		}
	}
	d.SLA = makeQueueRow(t, d.Device.Hostname, c.cfg.Policy(), now)
	if v.SLA.Limit > 0 {
		d.SLAPct = v.SLA.Pct
	}
	if s := t.Snapshot; s != nil {
		d.Checks = sortChecks(s.Checks)
		for _, ch := range d.Checks {
			if ch.Status == diag.StatusFailing {
				d.Failing++
			}
		}
		d.Sample, d.Inventory = s.Sample, s.Inventory
		pts := s.History.Full
		if len(pts) < 2 {
			pts = s.History.Minute
		}
		d.Chart = HistoryChart(pts)
	}
	d.Messages, d.Links = v.Messages(), v.Links
	for _, e := range v.Timeline {
		d.Timeline = append(d.Timeline, timelineItem{Time: e.Time, Actor: actorName(e.Actor, d.Device), Kind: e.Kind(), Text: describeEvent(e)})
		switch ev := e.Data.(type) {
		case ticketevent.Filed:
			d.NoSnapshot = ev.NoSnapshot
		case ticketevent.KBDraft:
			d.KB = append(d.KB, ev)
		}
	}
	d.Channel = channelWords[t.Channel]
	slices.Reverse(d.Timeline) // newest first
	runs, err := st.ListRuns(ctx, store.RunFilter{Ticket: t.ID, Limit: ticketRuns})
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	for _, run := range runs {
		if run.FinishedAt != nil {
			if full, err := st.GetRun(ctx, run.ID); err == nil {
				run = full
			}
		}
		d.Runs = append(d.Runs, run)
		if run.BundleName != "" {
			d.Bundles = append(d.Bundles, run)
		}
	}
	if t.ProblemID != "" {
		switch p, err := st.GetProblem(ctx, t.ProblemID); {
		case err == nil:
			d.Problem, d.HasProblem = p, true
		case isNotFound(err):
			d.Problem, d.HasProblem = store.Problem{ID: t.ProblemID, Title: t.ProblemID}, true
		default:
			c.Fail(w, r, req, err)
			return
		}
	}
	if d.Users, err = st.ListUsers(ctx); err != nil {
		c.Fail(w, r, req, err)
		return
	}
	d.Users = slices.DeleteFunc(d.Users, func(u store.User) bool { return u.DisabledAt != nil })
	if req.Can(store.RoleTier3) {
		if d.Problems, err = st.ListProblems(ctx, "", 200); err != nil {
			c.Fail(w, r, req, err)
			return
		}
	}
	if req.Can(store.RoleTier3) && d.Open {
		if d.Vendors, err = st.ListVendors(ctx, false); err != nil {
			c.Fail(w, r, req, err)
			return
		}
	}
	if t.VendorID != "" {
		switch v, err := st.GetVendor(ctx, t.VendorID); {
		case err == nil:
			d.Vendor = v
		case !isNotFound(err):
			c.Fail(w, r, req, err)
			return
		default:
			d.Vendor = store.Vendor{ID: t.VendorID, Name: t.VendorID}
		}
		if d.Deliveries, err = st.TicketDeliveries(ctx, t.ID); err != nil {
			c.Fail(w, r, req, err)
			return
		}
	}
	c.Render(w, r, req, http.StatusOK, "ticket.html", View{Title: fmt.Sprintf("#%d %s", t.Number, t.Title), Scripts: []string{"ticket.js", "problems.js"}, Data: d})
}

// moveTiers lists the tiers a ticket in tier can be moved to by hand (1 to
// TopTier; vendors, tier 4, have their own step) and the one to offer
// first: the next tier up, or from the top tier (or a vendor) the one
// below.
func moveTiers(tier int) (tiers []int, next int) {
	for n := 1; n <= tickets.TopTier; n++ {
		if n != tier {
			tiers = append(tiers, n)
		}
	}
	switch {
	case tier < 1:
		next = 1
	case tier < tickets.TopTier:
		next = tier + 1
	case tier == tickets.TopTier:
		next = tier - 1
	default:
		next = tickets.TopTier
	}
	return tiers, next
}

// LinkLabel says what a linked ticket is to this one.
func (d ticketData) LinkLabel(kind string) string {
	switch kind {
	case store.LinkParent:
		return "parent"
	case "child":
		return "child"
	case store.LinkDuplicate:
		return "this ticket duplicates"
	case "duplicated_by":
		return "duplicate of this ticket"
	case store.LinkRelated:
		return "related"
	}
	return strings.ReplaceAll(kind, "_", " ")
}

// Words shows a typed value such as user_info as words.
func (d ticketData) Words(s string) string { return strings.ReplaceAll(s, "_", " ") }

// Levels are the impact and urgency levels, 1 high to 3 low.
func (d ticketData) Levels() []int { return []int{1, 2, 3} }

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// sortChecks puts failing checks first, then warnings, unknown, ok; by name
// within each.
func sortChecks(in []diag.CheckResult) []diag.CheckResult {
	out := slices.Clone(in)
	rank := map[diag.Status]int{diag.StatusFailing: 0, diag.StatusWarning: 1, diag.StatusUnknown: 2, diag.StatusOK: 3}
	slices.SortStableFunc(out, func(a, b diag.CheckResult) int {
		ra, oka := rank[a.Status]
		rb, okb := rank[b.Status]
		if !oka {
			ra = 2
		}
		if !okb {
			rb = 2
		}
		return cmp.Or(cmp.Compare(ra, rb), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// actorName says who did something on a ticket in words: the computer's
// name rather than "device:<id>", "maria (user)" rather than "user:maria",
// "SLA clock" for the hub's timers; technicians by their names.
func actorName(actor string, dev store.Device) string {
	switch {
	case actor == tickets.ActorSLA:
		return "SLA clock"
	case actor == tickets.ActorAutoAssign:
		return "automatic assignment (auto-assign)"
	case strings.HasPrefix(actor, "device:"):
		if id := strings.TrimPrefix(actor, "device:"); id == dev.ID && dev.Hostname != "" {
			return dev.Hostname + " (the computer)"
		}
		return "the computer"
	case strings.HasPrefix(actor, "user:"):
		return strings.TrimPrefix(actor, "user:") + " (user)"
	}
	return actor
}

// channelWords name an intake channel in a sentence ("from a phone call").
var channelWords = map[string]string{store.IntakePhone: "phone call", store.IntakeWalkIn: "walk-in visit",
	store.IntakeChat: "chat", store.IntakeEmail: "email", store.IntakeWeb: "web form"}

// describeEvent says what a timeline event means in a sentence.
func describeEvent(e store.TicketEvent) string {
	switch d := e.Data.(type) {
	case ticketevent.Filed:
		s := fmt.Sprintf("Filed into tier %d", d.Tier)
		if d.Type == store.TypeRequest {
			s = fmt.Sprintf("Service request filed into tier %d", d.Tier)
		}
		if d.Channel != "" && d.Channel != store.IntakeAgent {
			s += " from a " + channelWords[d.Channel]
			if d.User != "" {
				s += " with " + d.User
			}
		}
		if d.Category != "" {
			s += ", category " + d.Category
		}
		if d.Rule != "" {
			s += " (routing rule " + d.Rule + ")"
		}
		if d.NoSnapshot != "" {
			s += "; no diagnostics: " + d.NoSnapshot
		}
		return s
	case ticketevent.SelfHelp:
		return "The user tried self-help before filing"
	case ticketevent.Assigned:
		if d.To != "" {
			return "Assigned to " + d.To
		}
		return "Unassigned"
	case ticketevent.Collaborator:
		return d.User + " joined as collaborator"
	case ticketevent.Message:
		if d.From == ticketevent.FromUser {
			return "Message from the user: " + d.Text
		}
		return "Message to the user: " + d.Text
	case ticketevent.Waiting:
		s := "Waiting (" + d.State + ")"
		if d.Reason != "" {
			s += ": " + d.Reason
		}
		return s
	case ticketevent.Resumed:
		return "Resumed"
	case ticketevent.Escalated:
		s := fmt.Sprintf("Moved from tier %d to tier %d", d.From, d.To)
		if d.Auto {
			s = fmt.Sprintf("Escalated automatically from tier %d to tier %d", d.From, d.To)
		}
		if d.Reason != "" {
			s += " (" + d.Reason + ")"
		}
		if d.Note != "" {
			s += ": " + d.Note
		}
		return s
	case ticketevent.SLAWarning:
		return fmt.Sprintf("SLA warning: %d%% of the tier %d limit used", d.Pct, d.Tier)
	case ticketevent.SLABreach:
		return fmt.Sprintf("SLA breached in tier %d", d.Tier)
	case ticketevent.ResponseBreach:
		return "Nobody responded within the tier's response limit"
	case ticketevent.Run:
		return "Fix " + d.Fix + ": " + cmp.Or(d.Outcome, "requested")
	case ticketevent.Resolved:
		return "Resolved: " + d.Resolution
	case ticketevent.Reopened:
		return "Reopened: " + d.Reason
	case ticketevent.Closed:
		return "Closed"
	case ticketevent.Survey:
		s := fmt.Sprintf("User rated the help %d/5", d.Score)
		if d.Comment != "" {
			s += ": " + d.Comment
		}
		return s
	case ticketevent.Priority:
		return fmt.Sprintf("Priority set from impact %d, urgency %d", d.Impact, d.Urgency)
	case ticketevent.Problem:
		if d.Problem != "" {
			return "Linked to problem " + d.Problem
		}
		return "Unlinked from its problem"
	case ticketevent.Link:
		return "Linked to ticket " + d.Other + " (" + d.LinkKind + ")"
	case ticketevent.VendorSent:
		return "Forwarded to vendor " + cmp.Or(d.Name, d.Vendor)
	case ticketevent.VendorRef:
		return "Vendor reference " + d.Ref
	case ticketevent.VendorOverdue:
		return "Vendor has not answered in time"
	case ticketevent.KBDraft:
		return "Knowledge base draft written"
	case ticketevent.RequestForm:
		s := fmt.Sprintf("Request form “%s” with %d answers", d.Name, len(d.Answers))
		if d.Problem != "" {
			s += ": " + d.Problem
		}
		return s
	}
	return strings.ReplaceAll(e.Kind(), "_", " ")
}

// Chart is a small line chart drawn as SVG by the server: Lines hold
// polyline points in a 0..W x 0..H box (100 at the top).
type Chart struct {
	W, H  int
	Lines []ChartLine
	From  time.Time
	To    time.Time
	Empty bool
}

// ChartLine is one series of a Chart.
type ChartLine struct {
	Class  string // CSS class: line-cpu, line-mem
	Label  string
	Points string // "x,y x,y ..." for <polyline points>
	Last   float64
}

// HistoryChart draws CPU and memory use (percent) over a device's recent
// history.
func HistoryChart(pts []diag.Point) Chart {
	c := Chart{W: 600, H: 140}
	if len(pts) < 2 {
		c.Empty = true
		return c
	}
	c.From, c.To = pts[0].Time, pts[len(pts)-1].Time
	span := c.To.Sub(c.From)
	if span <= 0 {
		c.Empty = true
		return c
	}
	line := func(class, label string, v func(diag.Point) float64) ChartLine {
		var b strings.Builder
		for i, p := range pts {
			x := float64(c.W) * float64(p.Time.Sub(c.From)) / float64(span)
			y := float64(c.H) * (1 - min(max(v(p), 0), 100)/100)
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%.1f,%.1f", x, y)
		}
		return ChartLine{Class: class, Label: label, Points: b.String(), Last: v(pts[len(pts)-1])}
	}
	c.Lines = []ChartLine{
		line("line-cpu", "CPU", func(p diag.Point) float64 { return p.CPUPct }),
		line("line-mem", "Memory", func(p diag.Point) float64 { return p.MemPct }),
	}
	return c
}

// tried lists self-help the user tried, for the template.
func (d ticketData) Tried() []wire.TriedFix {
	if d.T.Tried == nil {
		return nil
	}
	return d.T.Tried.Runs
}

// TriedArticles lists the article ids the user was shown.
func (d ticketData) TriedArticles() []string {
	if d.T.Tried == nil {
		return nil
	}
	return d.T.Tried.Articles
}
