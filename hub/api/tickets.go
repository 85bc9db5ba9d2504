package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
)

// ticketsStore is what the ticket routes read from the store; they change
// tickets through Config.Tickets.
type ticketsStore interface {
	GetTicket(ctx context.Context, id string) (store.Ticket, error)
	TicketEvents(ctx context.Context, id string) ([]store.TicketEvent, error)
	TicketLinks(ctx context.Context, ticketID string) ([]store.TicketLink, error)
	TicketScreenshot(ctx context.Context, id string) ([]byte, error)
}

// ticketView is a ticket as the API shows it: the stored ticket plus its
// SLA clock now.
type ticketView struct {
	store.Ticket
	SLA tickets.SLA `json:"sla"`
}

func (a *API) ticketService(w http.ResponseWriter) (*tickets.Service, bool) {
	if a.cfg.Tickets == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "tickets are not enabled on this hub; start it with `tierline-hub serve`")
		return nil, false
	}
	return a.cfg.Tickets, true
}

func (a *API) view(svc *tickets.Service, t store.Ticket) ticketView {
	return ticketView{Ticket: t, SLA: tickets.Status(&t, svc.Policy(), a.cfg.Now())}
}

// ticketError translates service and store errors to API answers.
func (a *API) ticketError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, tickets.ErrUnknownUser), errors.Is(err, tickets.ErrUnknownVendor):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error()+"; list tickets with GET /api/v1/tickets")
	case errors.Is(err, tickets.ErrInvalid), errors.Is(err, store.ErrSelfLink):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
	case errors.Is(err, tickets.ErrState):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	default:
		a.log.Error("ticket request", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "the ticket could not be changed; try again, and check the hub's log if it persists")
	}
}

func (a *API) listTickets(w http.ResponseWriter, r *http.Request, who Caller) {
	svc, ok := a.ticketService(w)
	if !ok {
		return
	}
	q := r.URL.Query()
	f := store.TicketFilter{DeviceID: q.Get("device"), Assignee: q.Get("assignee"), Q: q.Get("q"), Queue: q.Get("queue"), Signature: q.Get("signature"),
		Channel: q.Get("channel"), Type: q.Get("type")}
	if f.Channel != "" && !slices.Contains(store.IntakeChannels, f.Channel) {
		writeError(w, http.StatusBadRequest, "bad_request", "channel must be one of "+strings.Join(store.IntakeChannels, ", "))
		return
	}
	if f.Type != "" && !slices.Contains(store.TicketTypes, f.Type) {
		writeError(w, http.StatusBadRequest, "bad_request", "type must be one of "+strings.Join(store.TicketTypes, ", "))
		return
	}
	if v := q.Get("tier"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 4 {
			writeError(w, http.StatusBadRequest, "bad_request", "tier must be 0 to 4")
			return
		}
		f.Tier = n
	}
	if v := q.Get("state"); v != "" {
		for _, s := range strings.Split(v, ",") {
			if !slices.Contains(store.TicketStates, s) {
				writeError(w, http.StatusBadRequest, "bad_request", "state must be one or more of "+strings.Join(store.TicketStates, ", ")+", comma separated")
				return
			}
			f.States = append(f.States, s)
		}
	}
	for _, p := range []struct {
		name string
		dst  *int
		max  int
	}{{"limit", &f.Limit, 1000}, {"offset", &f.Offset, 1 << 30}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > p.max {
				writeError(w, http.StatusBadRequest, "bad_request", p.name+" must be a number from 0 to "+strconv.Itoa(p.max))
				return
			}
			*p.dst = n
		}
	}
	if len(f.Q) > 256 {
		writeError(w, http.StatusBadRequest, "bad_request", "q must be at most 256 bytes")
		return
	}
	list, err := svc.List(r.Context(), f)
	if err != nil {
		a.ticketError(w, r, err)
		return
	}
	if q.Get("format") == "csv" {
		writeCSV(w, "tickets.csv", func(out io.Writer) error { return tickets.WriteTicketsCSV(out, list) })
		return
	}
	out := make([]ticketView, 0, len(list))
	for _, t := range list {
		out = append(out, a.view(svc, t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tickets": out})
}

// openReq is the body of POST /api/v1/tickets: a ticket a technician
// files for someone who called, walked in, chatted or wrote.
type openReq struct {
	Device    string `json:"device"`    // the requester's device id, if enrolled
	Requester string `json:"requester"` // who asked
	Text      string `json:"text"`
	Category  string `json:"category"`
	Type      string `json:"type"`    // incident (default) or request
	Channel   string `json:"channel"` // phone (default), walk-in, chat, email, web
	Impact    int    `json:"impact"`  // 1 (high) to 3 (low); default 3
	Urgency   int    `json:"urgency"` // 1 (high) to 3 (low); default 2
	// RequestID makes the request safe to retry: the same id files one
	// ticket.
	RequestID string `json:"request_id"`
	// Template files a service request from a request template, with
	// Answers to its fields by key; text may then be left out.
	Template string            `json:"template"`
	Answers  map[string]string `json:"answers"`
	// Site is the ticket's site when it names no device (a device's
	// ticket is in the device's site); default: the default site, or the
	// caller's first site when they do not work the default one.
	Site string `json:"site"`
}

// openTicket files a ticket for a person, with or without a device. For a
// device that is online its checks run on the spot (the request waits for
// them, up to tickets.DiagnoseTimeout); the answer says whether the ticket
// carries a snapshot and why not.
func (a *API) openTicket(w http.ResponseWriter, r *http.Request, who Caller) {
	svc, ok := a.ticketService(w)
	if !ok {
		return
	}
	var req openReq
	if !decodeBody(w, r, &req) {
		return
	}
	in := tickets.Intake{DeviceID: req.Device, Requester: req.Requester, Text: req.Text, Category: req.Category,
		Type: req.Type, Channel: req.Channel, Impact: req.Impact, Urgency: req.Urgency, RequestID: req.RequestID,
		Template: req.Template, Answers: req.Answers, Site: req.Site}
	if !a.intakeSite(w, who, &in) {
		return
	}
	t, created, err := svc.Open(r.Context(), who.Name, in, a.cfg.Diagnose)
	if err != nil {
		if errors.Is(err, tickets.ErrInvalid) {
			a.audit(r, who, "ticket.open", "", "refused", map[string]any{"reason": err.Error()})
		}
		a.ticketError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		a.audit(r, who, "ticket.open", t.ID, "ok", map[string]any{"number": t.Number, "channel": t.Channel, "type": t.Type, "device": t.DeviceID,
			"template": req.Template})
	}
	writeJSON(w, status, map[string]any{"ticket": a.view(svc, t), "created": created})
}

func (a *API) getTicket(w http.ResponseWriter, r *http.Request, who Caller) {
	svc, ok := a.ticketService(w)
	if !ok {
		return
	}
	v, err := svc.View(r.Context(), r.PathValue("id"), a.cfg.Now())
	if err != nil {
		a.ticketError(w, r, err)
		return
	}
	out := map[string]any{"ticket": ticketView{Ticket: v.Ticket, SLA: v.SLA}, "timeline": v.Timeline, "links": v.Links}
	if v.Ticket.DeviceID != "" {
		out["telemetry"] = "/api/v1/devices/" + v.Ticket.DeviceID + "/telemetry"
	}
	writeJSON(w, http.StatusOK, out)
}

// ticketAction decodes a body into req and runs do; the changed ticket is
// the answer, and the change is audited.
func ticketAction[T any](a *API, action string, do func(svc *tickets.Service, r *http.Request, who Caller, id string, req T) (store.Ticket, error)) func(w http.ResponseWriter, r *http.Request, who Caller) {
	return func(w http.ResponseWriter, r *http.Request, who Caller) {
		svc, ok := a.ticketService(w)
		if !ok {
			return
		}
		var req T
		if !decodeBody(w, r, &req) {
			return
		}
		id := r.PathValue("id")
		t, err := do(svc, r, who, id, req)
		if err != nil {
			if errors.Is(err, tickets.ErrInvalid) || errors.Is(err, tickets.ErrState) {
				a.audit(r, who, "ticket."+action, id, "refused", map[string]any{"reason": err.Error()})
			}
			a.ticketError(w, r, err)
			return
		}
		a.audit(r, who, "ticket."+action, id, "ok", nil)
		writeJSON(w, http.StatusOK, map[string]any{"ticket": a.view(svc, t)})
	}
}

type assignReq struct {
	// To is the technician; absent assigns the caller, "" unassigns.
	To *string `json:"to"`
}

type collaboratorReq struct {
	User string `json:"user"` // default: the caller
}

type escalateReq struct {
	Tier int    `json:"tier"`
	Note string `json:"note"`
}

type messageReq struct {
	Text string `json:"text"`
}

type waitingReq struct {
	State  string `json:"state"`
	Reason string `json:"reason"`
}

type resolveReq struct {
	Resolution string `json:"resolution"`
	// KB drafts a knowledge base article from the ticket.
	KB bool `json:"kb"`
}

type reopenReq struct {
	Reason string `json:"reason"`
}

// linkReq names the other ticket by id ("other") or by number.
type linkReq struct {
	Other  string `json:"other"`
	Number int64  `json:"number"`
	Kind   string `json:"kind"`
}

// priorityReq sets impact and urgency, each 1 (high) to 3 (low); both are
// required.
type priorityReq struct {
	Impact  *int `json:"impact"`
	Urgency *int `json:"urgency"`
}

type empty struct{}

func (a *API) ticketRoutes() []Route {
	return []Route{
		{"GET /api/v1/tickets", store.RoleTier1, a.listTickets},
		{"POST /api/v1/tickets", store.RoleTier1, a.openTicket},
		{"GET /api/v1/tickets/{id}", store.RoleTier1, a.getTicket},
		{"POST /api/v1/tickets/{id}/assign", store.RoleTier1, ticketAction(a, "assign", func(svc *tickets.Service, r *http.Request, who Caller, id string, req assignReq) (store.Ticket, error) {
			to := who.Name
			if req.To != nil {
				to = *req.To
			}
			return svc.Assign(r.Context(), id, who.Name, to)
		})},
		{"POST /api/v1/tickets/{id}/collaborators", store.RoleTier1, ticketAction(a, "collaborate", func(svc *tickets.Service, r *http.Request, who Caller, id string, req collaboratorReq) (store.Ticket, error) {
			if req.User == "" {
				req.User = who.Name
			}
			return svc.AddCollaborator(r.Context(), id, who.Name, req.User)
		})},
		{"POST /api/v1/tickets/{id}/escalate", store.RoleTier1, ticketAction(a, "escalate", func(svc *tickets.Service, r *http.Request, who Caller, id string, req escalateReq) (store.Ticket, error) {
			return svc.Escalate(r.Context(), id, who.Name, req.Tier, req.Note)
		})},
		{"POST /api/v1/tickets/{id}/messages", store.RoleTier1, ticketAction(a, "message", func(svc *tickets.Service, r *http.Request, who Caller, id string, req messageReq) (store.Ticket, error) {
			return svc.Message(r.Context(), id, who.Name, tickets.FromTechnician, req.Text)
		})},
		{"POST /api/v1/tickets/{id}/waiting", store.RoleTier1, ticketAction(a, "wait", func(svc *tickets.Service, r *http.Request, who Caller, id string, req waitingReq) (store.Ticket, error) {
			return svc.SetWaiting(r.Context(), id, who.Name, req.State, req.Reason)
		})},
		{"POST /api/v1/tickets/{id}/resume", store.RoleTier1, ticketAction(a, "resume", func(svc *tickets.Service, r *http.Request, who Caller, id string, _ empty) (store.Ticket, error) {
			return svc.Resume(r.Context(), id, who.Name)
		})},
		{"POST /api/v1/tickets/{id}/resolve", store.RoleTier1, a.resolveTicket},
		{"POST /api/v1/tickets/{id}/software", store.RoleTier1, a.decideSoftware},
		{"POST /api/v1/tickets/{id}/reopen", store.RoleTier1, ticketAction(a, "reopen", func(svc *tickets.Service, r *http.Request, who Caller, id string, req reopenReq) (store.Ticket, error) {
			return svc.Reopen(r.Context(), id, who.Name, req.Reason)
		})},
		{"POST /api/v1/tickets/{id}/close", store.RoleTier1, ticketAction(a, "close", func(svc *tickets.Service, r *http.Request, who Caller, id string, _ empty) (store.Ticket, error) {
			return svc.Close(r.Context(), id, who.Name)
		})},
		{"POST /api/v1/tickets/{id}/link", store.RoleTier1, ticketAction(a, "link", func(svc *tickets.Service, r *http.Request, who Caller, id string, req linkReq) (store.Ticket, error) {
			other, err := a.linkTarget(r, svc, req)
			if err != nil {
				return store.Ticket{}, err
			}
			return svc.Link(r.Context(), id, who.Name, other, req.Kind)
		})},
		{"POST /api/v1/tickets/{id}/priority", store.RoleTier1, ticketAction(a, "priority", func(svc *tickets.Service, r *http.Request, who Caller, id string, req priorityReq) (store.Ticket, error) {
			if req.Impact == nil || req.Urgency == nil {
				return store.Ticket{}, fmt.Errorf(`%w: send {"impact": 1-3, "urgency": 1-3} (1 high, 3 low)`, tickets.ErrInvalid)
			}
			return svc.SetPriority(r.Context(), id, who.Name, *req.Impact, *req.Urgency)
		})},
		{"GET /api/v1/tickets/{id}/screenshot", store.RoleTier1, a.ticketScreenshot},
		{"GET /api/v1/metrics/support", store.RoleTier1, a.supportMetrics},
		{"GET /api/v1/settings/ticket-routing", store.RoleTier1, a.getRouting},
		{"PUT /api/v1/settings/ticket-routing", store.RoleAdmin, a.putRouting},
		{"GET /api/v1/settings/assignment", store.RoleTier1, a.getAssignment},
		{"PUT /api/v1/settings/assignment", store.RoleAdmin, a.putAssignment},
	}
}

// getAssignment answers each tier's automatic assignment mode:
// {"tiers": {"1": "round_robin", "2": "fewest_open"}}.
func (a *API) getAssignment(w http.ResponseWriter, r *http.Request, who Caller) {
	svc, ok := a.ticketService(w)
	if !ok {
		return
	}
	as, err := svc.Assignment(r.Context())
	if err != nil {
		a.ticketError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, as)
}

// putAssignment sets the modes; a tier left out or "" is not assigned
// automatically.
func (a *API) putAssignment(w http.ResponseWriter, r *http.Request, who Caller) {
	svc, ok := a.ticketService(w)
	if !ok {
		return
	}
	var req tickets.Assignment
	if !decodeBody(w, r, &req) {
		return
	}
	as, err := svc.SetAssignment(r.Context(), req)
	if err != nil {
		a.audit(r, who, "tickets.assignment", "assignment", "refused", map[string]any{"reason": err.Error()})
		a.ticketError(w, r, err)
		return
	}
	a.audit(r, who, "tickets.assignment", "assignment", "ok", map[string]any{"tiers": as.Tiers})
	writeJSON(w, http.StatusOK, as)
}

// linkTarget is the id of the ticket a link request names: "other" (an
// id) or "number", not both.
func (a *API) linkTarget(r *http.Request, svc *tickets.Service, req linkReq) (string, error) {
	switch {
	case req.Number != 0 && req.Other != "":
		return "", fmt.Errorf(`%w: name the other ticket by "other" (its id) or by "number", not both`, tickets.ErrInvalid)
	case req.Number < 0:
		return "", fmt.Errorf("%w: ticket number %d: numbers start at 1", tickets.ErrInvalid, req.Number)
	case req.Number == 0:
		return req.Other, nil
	}
	// The search for "#N" finds ticket N, and the few whose text holds "#N".
	list, err := svc.List(r.Context(), store.TicketFilter{Q: "#" + strconv.FormatInt(req.Number, 10), Limit: 1000})
	if err != nil {
		return "", err
	}
	for _, t := range list {
		if t.Number == req.Number {
			return t.ID, nil
		}
	}
	return "", fmt.Errorf("no ticket #%d: %w", req.Number, store.ErrNotFound)
}

// ticketScreenshot serves the PNG the user attached when filing. It is
// user-supplied bytes: served as an image only (nosniff), inline, and
// sandboxed should someone open it on its own.
func (a *API) ticketScreenshot(w http.ResponseWriter, r *http.Request, who Caller) {
	id := r.PathValue("id")
	t, err := a.tickets.GetTicket(r.Context(), id)
	if err != nil {
		a.ticketError(w, r, err)
		return
	}
	if !t.HasScreenshot {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("ticket #%d has no screenshot: the user attached none when filing", t.Number))
		return
	}
	b, err := a.tickets.TicketScreenshot(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("ticket #%d has no screenshot: the user attached none when filing", t.Number))
		return
	}
	if err != nil {
		a.log.Error("read ticket screenshot", "ticket", id, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "the screenshot could not be read; try again, and check the hub's log if it persists")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", fmt.Sprintf(`inline; filename="ticket-%d.png"`, t.Number))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// resolveTicket resolves a ticket; with "kb": true it also drafts a
// knowledge base article from it, returned as "article".
func (a *API) resolveTicket(w http.ResponseWriter, r *http.Request, who Caller) {
	svc, ok := a.ticketService(w)
	if !ok {
		return
	}
	var req resolveReq
	if !decodeBody(w, r, &req) {
		return
	}
	id := r.PathValue("id")
	if req.KB && who.Role.Rank() < store.RoleTier2.Rank() {
		// Knowledge base drafts are written by Tier 2 and up (as with
		// POST /api/v1/articles); refuse before resolving anything.
		a.audit(r, who, "ticket.resolve", id, "denied", map[string]any{"kb": true})
		writeError(w, http.StatusForbidden, "forbidden", "drafting a knowledge base article needs the tier2 role or higher; resolve without \"kb\" or ask Tier 2")
		return
	}
	t, art, err := svc.ResolveKB(r.Context(), id, who.Name, req.Resolution, req.KB)
	if errors.Is(err, tickets.ErrKBDraft) {
		// Resolved, but the draft failed: say so next to the resolved ticket.
		a.log.Error("draft knowledge base article", "ticket", id, "err", err)
		a.audit(r, who, "ticket.resolve", id, "ok", map[string]any{"kb_error": err.Error()})
		writeJSON(w, http.StatusOK, map[string]any{"ticket": a.view(svc, t), "kb_error": err.Error()})
		return
	}
	if err != nil {
		if errors.Is(err, tickets.ErrInvalid) || errors.Is(err, tickets.ErrState) {
			a.audit(r, who, "ticket.resolve", id, "refused", map[string]any{"reason": err.Error()})
		}
		a.ticketError(w, r, err)
		return
	}
	out := map[string]any{"ticket": a.view(svc, t)}
	detail := map[string]any(nil)
	if art != nil {
		out["article"] = art
		detail = map[string]any{"article": art.ID}
		a.audit(r, who, "article.create", art.ID, "ok", map[string]any{"title": art.Title, "source_ticket": id})
	}
	a.audit(r, who, "ticket.resolve", id, "ok", detail)
	writeJSON(w, http.StatusOK, out)
}

func (a *API) supportMetrics(w http.ResponseWriter, r *http.Request, who Caller) {
	svc, ok := a.ticketService(w)
	if !ok {
		return
	}
	from, to, ok := a.period(w, r)
	if !ok {
		return
	}
	m, err := svc.Metrics(r.Context(), from, to)
	if err != nil {
		a.ticketError(w, r, err)
		return
	}
	if r.URL.Query().Get("format") == "csv" {
		writeCSV(w, "support-metrics.csv", func(out io.Writer) error { return tickets.WriteMetricsCSV(out, m) })
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// writeCSV answers a CSV download named name.
func writeCSV(w http.ResponseWriter, name string, write func(io.Writer) error) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_ = write(w)
}

func (a *API) getRouting(w http.ResponseWriter, r *http.Request, who Caller) {
	svc, ok := a.ticketService(w)
	if !ok {
		return
	}
	rules, err := svc.RoutingRules(r.Context())
	if err != nil {
		a.ticketError(w, r, err)
		return
	}
	if rules == nil {
		rules = []tickets.Rule{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"rules": rules})
}

// putRouting replaces the routing rules: {"rules": [...]}.
func (a *API) putRouting(w http.ResponseWriter, r *http.Request, who Caller) {
	svc, ok := a.ticketService(w)
	if !ok {
		return
	}
	var req struct {
		Rules json.RawMessage `json:"rules"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil || len(req.Rules) == 0 {
		writeError(w, http.StatusBadRequest, "bad_request", `send {"rules": [{"name", "category"|"check"|"signature"|"group", "tier", "queue"}, ...]}`)
		return
	}
	rules, err := svc.SetRoutingRules(r.Context(), req.Rules)
	if err != nil {
		a.audit(r, who, "tickets.routing", "routing", "refused", map[string]any{"reason": err.Error()})
		a.ticketError(w, r, err)
		return
	}
	a.audit(r, who, "tickets.routing", "routing", "ok", map[string]any{"rules": len(rules)})
	writeJSON(w, http.StatusOK, map[string]any{"rules": rules})
}
