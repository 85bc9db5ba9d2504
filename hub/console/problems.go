package console

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/tierline/tierline/hub/store"
)

// problemsStore is what the problem pages read from the store.
type problemsStore interface {
	ListProblems(ctx context.Context, state string, limit int) ([]store.Problem, error)
	GetProblem(ctx context.Context, id string) (store.Problem, error)
	ProblemProposals(ctx context.Context, minDevices int) ([]store.ProblemProposal, error)
	ListTickets(ctx context.Context, f store.TicketFilter) ([]store.Ticket, error)
	GetTicket(ctx context.Context, id string) (store.Ticket, error)
}

// Problems (known errors): every technician reads them; Tier 3 and admins
// create, edit and link them, through the API (problems.js).
func init() {
	Register(Page{Pattern: "GET /problems", Role: store.RoleTier1, Nav: "Problems", NavOrder: 25, Handle: problemsPage})
	Register(Page{Pattern: "GET /problems/{id}", Role: store.RoleTier1, Handle: problemPage})
}

// proposalView is a proposal with its tickets as the page names them.
type proposalView struct {
	store.ProblemProposal
	Tickets []store.Ticket
	// Title is offered as the new problem's title.
	Title string
}

type problemsData struct {
	State     string
	States    []string
	Problems  []store.Problem
	Proposals []proposalView
}

// proposalTickets bounds the tickets read to name one proposal's.
const proposalTickets = 20

func problemsPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	ctx := r.Context()
	d := problemsData{State: r.URL.Query().Get("state"), States: store.ProblemStates}
	if d.State != "" && !slices.Contains(store.ProblemStates, d.State) {
		c.Error(w, r, req, http.StatusBadRequest, "Unknown problem state; use one of "+strings.Join(store.ProblemStates, ", ")+".")
		return
	}
	var err error
	if d.Problems, err = c.problems.ListProblems(ctx, d.State, 500); err != nil {
		c.Fail(w, r, req, err)
		return
	}
	props, err := c.problems.ProblemProposals(ctx, 2)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	for _, p := range props {
		v := proposalView{ProblemProposal: p, Title: "Failing on several devices: " + strings.Join(p.Checks, ", ")}
		for i, id := range p.Tickets {
			if i == proposalTickets {
				break
			}
			t, err := c.problems.GetTicket(ctx, id)
			if err != nil {
				c.Fail(w, r, req, err)
				return
			}
			v.Tickets = append(v.Tickets, t)
		}
		d.Proposals = append(d.Proposals, v)
	}
	c.Render(w, r, req, http.StatusOK, "problems.html", View{Title: "Problems", Scripts: []string{"problems.js"}, Data: d})
}

type problemData struct {
	P       store.Problem
	Tickets []store.Ticket
	States  []string
}

func problemPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	id := r.PathValue("id")
	if len(id) > 64 {
		c.Error(w, r, req, http.StatusBadRequest, "That problem id is too long; open problems from the Problems page.")
		return
	}
	p, err := c.problems.GetProblem(r.Context(), id)
	if isNotFound(err) {
		c.Error(w, r, req, http.StatusNotFound, "No such problem; it may have been mistyped. See the Problems page.")
		return
	}
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	d := problemData{P: p, States: store.ProblemStates}
	if d.Tickets, err = c.problems.ListTickets(r.Context(), store.TicketFilter{ProblemID: p.ID, Limit: 1000, NewestFirst: true}); err != nil {
		c.Fail(w, r, req, err)
		return
	}
	c.Render(w, r, req, http.StatusOK, "problem.html", View{Title: "Problem: " + p.Title, Scripts: []string{"problems.js"}, Data: d})
}
