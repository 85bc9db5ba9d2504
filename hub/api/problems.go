package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// problemsStore is what the problem routes call on the store.
type problemsStore interface {
	ListProblems(ctx context.Context, state string, limit int) ([]store.Problem, error)
	ProblemProposals(ctx context.Context, minDevices int) ([]store.ProblemProposal, error)
	GetProblem(ctx context.Context, id string) (store.Problem, error)
	GetTicket(ctx context.Context, id string) (store.Ticket, error)
	CreateProblem(ctx context.Context, p store.Problem) error
	UpdateProblem(ctx context.Context, p store.Problem, at time.Time) error
}

// Problem (known error) routes: any technician may read them and see the
// linking proposals; Tier 3 engineers and admins create, edit and link.
func (a *API) problemRoutes() []Route {
	return []Route{
		{"GET /api/v1/problems", store.RoleTier1, a.listProblems},
		{"GET /api/v1/problems/proposals", store.RoleTier1, a.problemProposals},
		{"GET /api/v1/problems/{id}", store.RoleTier1, a.getProblem},
		{"POST /api/v1/problems", store.RoleTier3, a.createProblem},
		{"PUT /api/v1/problems/{id}", store.RoleTier3, a.updateProblem},
		{"POST /api/v1/problems/{id}/tickets", store.RoleTier3, a.linkProblemTicket},
	}
}

type problemReq struct {
	Title      string `json:"title"`
	State      string `json:"state,omitempty"`
	RootCause  string `json:"root_cause,omitempty"`
	Workaround string `json:"workaround,omitempty"`
	// FromTicket creates the problem from a ticket: it takes the ticket's
	// failing-check signature and links the ticket.
	FromTicket string `json:"from_ticket,omitempty"`
	// Site keeps a new problem to one site; "" shares it (POST only).
	Site string `json:"site,omitempty"`
}

func (p problemReq) check(creating bool) string {
	switch {
	case strings.TrimSpace(p.Title) == "" || len(p.Title) > 200 || strings.ContainsAny(p.Title, "\x00\n\r"):
		return "title is required: one line of at most 200 bytes"
	case len(p.RootCause) > 16<<10 || len(p.Workaround) > 16<<10:
		return "root_cause and workaround may hold at most 16 KiB each"
	case p.State != "" && !slices.Contains(store.ProblemStates, p.State):
		return "state must be one of " + strings.Join(store.ProblemStates, ", ")
	case !creating && p.FromTicket != "":
		return "from_ticket is only for creating a problem"
	}
	return ""
}

func (a *API) listProblems(w http.ResponseWriter, r *http.Request, who Caller) {
	state := r.URL.Query().Get("state")
	if state != "" && !slices.Contains(store.ProblemStates, state) {
		writeError(w, http.StatusBadRequest, "bad_request", "state must be one of "+strings.Join(store.ProblemStates, ", "))
		return
	}
	ps, err := a.problems.ListProblems(r.Context(), state, 500)
	if err != nil {
		a.internal(w, "list problems", err)
		return
	}
	if ps == nil {
		ps = []store.Problem{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"problems": ps})
}

func (a *API) problemProposals(w http.ResponseWriter, r *http.Request, who Caller) {
	ps, err := a.problems.ProblemProposals(r.Context(), 2)
	if err != nil {
		a.internal(w, "problem proposals", err)
		return
	}
	if ps == nil {
		ps = []store.ProblemProposal{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"proposals": ps})
}

func (a *API) problem(w http.ResponseWriter, r *http.Request) (store.Problem, bool) {
	id, ok := pathID(w, r)
	if !ok {
		return store.Problem{}, false
	}
	p, err := a.problems.GetProblem(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no problem "+id+"; list them with GET /api/v1/problems")
		return p, false
	}
	if err != nil {
		a.internal(w, "get problem", err)
		return p, false
	}
	return p, true
}

func (a *API) getProblem(w http.ResponseWriter, r *http.Request, who Caller) {
	p, ok := a.problem(w, r)
	if !ok {
		return
	}
	linked := []store.Ticket{}
	if svc := a.cfg.Tickets; svc != nil {
		ts, err := svc.List(r.Context(), store.TicketFilter{ProblemID: p.ID, Limit: 1000})
		if err != nil {
			a.internal(w, "list the problem's tickets", err)
			return
		}
		linked = append(linked, ts...)
	}
	writeJSON(w, http.StatusOK, map[string]any{"problem": p, "tickets": linked})
}

func (a *API) createProblem(w http.ResponseWriter, r *http.Request, who Caller) {
	var req problemReq
	if !decodeBody(w, r, &req) {
		return
	}
	if msg := req.check(true); msg != "" {
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	site, ok := a.recordSite(w, who, req.Site)
	if !ok {
		return
	}
	p := store.Problem{ID: wire.NewID(), Title: req.Title, State: req.State, RootCause: req.RootCause, Workaround: req.Workaround,
		CreatedBy: who.Name, CreatedAt: a.cfg.Now(), Site: site}
	p.UpdatedAt = p.CreatedAt
	if p.State == "" {
		p.State = store.ProblemOpen
	}
	if req.FromTicket != "" {
		t, err := a.problems.GetTicket(r.Context(), req.FromTicket)
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, "not_found", "no ticket "+req.FromTicket)
			return
		}
		if err != nil {
			a.internal(w, "get ticket", err)
			return
		}
		p.Signature = t.Signature
	}
	if err := a.problems.CreateProblem(r.Context(), p); err != nil {
		a.internal(w, "create problem", err)
		return
	}
	a.audit(r, who, "problem.create", p.ID, "ok", map[string]any{"title": p.Title, "from_ticket": req.FromTicket})
	if req.FromTicket != "" && a.cfg.Tickets != nil {
		if _, err := a.cfg.Tickets.LinkProblem(r.Context(), req.FromTicket, who.Name, p.ID); err != nil {
			a.ticketError(w, r, err)
			return
		}
		p.Tickets = 1
	}
	w.Header().Set("Location", "/api/v1/problems/"+p.ID)
	writeJSON(w, http.StatusCreated, p)
}

func (a *API) updateProblem(w http.ResponseWriter, r *http.Request, who Caller) {
	p, ok := a.problem(w, r)
	if !ok {
		return
	}
	var req problemReq
	if !decodeBody(w, r, &req) {
		return
	}
	if msg := req.check(false); msg != "" {
		writeError(w, http.StatusBadRequest, "bad_request", msg)
		return
	}
	p.Title, p.RootCause, p.Workaround = req.Title, req.RootCause, req.Workaround
	if req.State != "" {
		p.State = req.State
	}
	if err := a.problems.UpdateProblem(r.Context(), p, a.cfg.Now()); err != nil {
		a.internal(w, "update problem", err)
		return
	}
	a.audit(r, who, "problem.update", p.ID, "ok", map[string]any{"state": p.State})
	writeJSON(w, http.StatusOK, p)
}

func (a *API) linkProblemTicket(w http.ResponseWriter, r *http.Request, who Caller) {
	p, ok := a.problem(w, r)
	if !ok {
		return
	}
	var req struct {
		Ticket string `json:"ticket"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	svc, ok := a.ticketService(w)
	if !ok {
		return
	}
	t, err := svc.LinkProblem(r.Context(), req.Ticket, who.Name, p.ID)
	if err != nil {
		a.ticketError(w, r, err)
		return
	}
	a.audit(r, who, "problem.link", p.ID, "ok", map[string]any{"ticket": req.Ticket})
	writeJSON(w, http.StatusOK, a.view(svc, t))
}
