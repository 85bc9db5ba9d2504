package tickets

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/shared/wire"
)

// How a tier's new tickets are assigned automatically (AssignmentSetting).
const (
	AssignOff        = ""            // nobody is assigned; technicians take tickets
	AssignRoundRobin = "round_robin" // to whoever got one longest ago
	AssignFewestOpen = "fewest_open" // to whoever has the fewest unresolved tickets
)

// AssignmentSetting is the setting holding each tier's assignment mode.
const AssignmentSetting = "tickets.assignment"

// ActorAutoAssign is the timeline actor of automatic assignments.
const ActorAutoAssign = "auto-assign"

// Assignment is each tier's mode: {"tiers": {"1": "round_robin"}}. A
// tier not named is not assigned automatically.
type Assignment struct {
	Tiers map[string]string `json:"tiers"`
}

// Mode returns the tier's mode.
func (a Assignment) Mode(tier int) string { return a.Tiers[strconv.Itoa(tier)] }

// validate checks the modes, saying what to write.
func (a Assignment) validate() error {
	for k, m := range a.Tiers {
		tier, err := strconv.Atoi(k)
		if err != nil || tier < 1 || tier > 3 {
			return invalid("tier %q: automatic assignment is for tiers 1 to 3 (tier 4 is vendors)", wire.Clip(k, 8))
		}
		if m != AssignOff && m != AssignRoundRobin && m != AssignFewestOpen {
			return invalid("tier %d: mode %q is not one of %q, %q or \"\" (off)", tier, wire.Clip(m, 32), AssignRoundRobin, AssignFewestOpen)
		}
	}
	return nil
}

// Assignment returns the assignment modes in force.
func (s *Service) Assignment(ctx context.Context) (Assignment, error) {
	a := Assignment{Tiers: map[string]string{}}
	v, ok, err := s.cfg.Store.GetSetting(ctx, AssignmentSetting)
	if err != nil || !ok || strings.TrimSpace(v) == "" {
		return a, err
	}
	if err := json.Unmarshal([]byte(v), &a); err != nil {
		return a, fmt.Errorf("assignment setting: %w", err)
	}
	if a.Tiers == nil {
		a.Tiers = map[string]string{}
	}
	return a, nil
}

// SetAssignment validates and stores the assignment modes; tiers set to
// off are left out.
func (s *Service) SetAssignment(ctx context.Context, a Assignment) (Assignment, error) {
	if err := a.validate(); err != nil {
		return a, err
	}
	clean := Assignment{Tiers: map[string]string{}}
	for k, m := range a.Tiers {
		if m != AssignOff {
			clean.Tiers[k] = m
		}
	}
	b, err := json.Marshal(clean)
	if err != nil {
		return a, err
	}
	if err := s.cfg.Store.PutSetting(ctx, AssignmentSetting, string(b)); err != nil {
		return a, fmt.Errorf("save assignment setting: %w", err)
	}
	return clean, nil
}

// TierRole is the role whose technicians work a tier's tickets.
func TierRole(tier int) (store.Role, bool) {
	switch tier {
	case 1:
		return store.RoleTier1, true
	case 2:
		return store.RoleTier2, true
	case 3:
		return store.RoleTier3, true
	}
	return "", false
}

// assignStore is what automatic assignment reads and writes.
type assignStore interface {
	ListUsers(ctx context.Context) ([]store.User, error)
	OpenTicketsByAssignee(ctx context.Context) (map[string]int, error)
	MarkAssigned(ctx context.Context, name string, at time.Time) error
	TicketSite(ctx context.Context, id string) (string, error)
}

// Assigner gives tickets that enter a tier (filed or escalated) to a
// technician of that tier who marked themselves available, as the tier's
// mode says. It is a subscriber of the ticket changes bus, so it works off
// the request path and off the SLA loop; each hub assigns the changes it
// made.
type Assigner struct {
	svc *Service
	st  assignStore
	log *slog.Logger
}

// NewAssigner returns an Assigner.
func NewAssigner(svc *Service, st assignStore, log *slog.Logger) *Assigner {
	return &Assigner{svc: svc, st: st, log: log}
}

// Handle assigns the ticket of a change that put it in a tier unassigned.
func (a *Assigner) Handle(c Change) {
	entered := false
	for _, e := range c.Events {
		switch e.Data.(type) {
		case ticketevent.Filed, ticketevent.Escalated, ticketevent.Reopened:
			entered = true
		}
	}
	if !entered || c.Ticket.Assignee != "" || c.Ticket.State != store.TicketNew {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.Assign(ctx, c.Ticket.ID, c.Ticket.Tier); err != nil {
		a.log.Warn("automatic assignment", "ticket", c.Ticket.Number, "err", err)
	}
}

// Assign gives the ticket, which must still be unassigned in tier, to the
// technician the tier's mode picks, and returns who ("" for nobody: the
// tier is not assigned automatically or nobody of it is available).
func (a *Assigner) Assign(ctx context.Context, ticketID string, tier int) (string, error) {
	modes, err := a.svc.Assignment(ctx)
	if err != nil {
		return "", err
	}
	mode := modes.Mode(tier)
	role, ok := TierRole(tier)
	if mode == AssignOff || !ok {
		return "", nil
	}
	users, err := a.st.ListUsers(ctx)
	if err != nil {
		return "", err
	}
	site, err := a.st.TicketSite(ctx, ticketID)
	if err != nil {
		return "", err
	}
	// Only a technician who works the ticket's site may be given it.
	users = slices.DeleteFunc(users, func(u store.User) bool {
		return !u.Available || u.DisabledAt != nil || u.Role != role || !store.SeesSite(u.Sites, site)
	})
	if len(users) == 0 {
		return "", nil
	}
	var load map[string]int
	if mode == AssignFewestOpen {
		if load, err = a.st.OpenTicketsByAssignee(ctx); err != nil {
			return "", err
		}
	}
	pick := slices.MinFunc(users, func(x, y store.User) int {
		if mode == AssignFewestOpen && load[x.Name] != load[y.Name] {
			return load[x.Name] - load[y.Name]
		}
		// Whoever was given a ticket longest ago (never first), then by
		// name: round robin, and the tie-break of fewest open.
		if c := lastAssigned(x).Compare(lastAssigned(y)); c != 0 {
			return c
		}
		return strings.Compare(x.Name, y.Name)
	})
	assigned := false
	_, err = a.svc.update(ctx, ticketID, func(t *store.Ticket, now time.Time) ([]store.TicketEvent, error) {
		// A technician who took it meanwhile, or a move since, wins.
		if t.Assignee != "" || t.Tier != tier || t.State != store.TicketNew {
			return nil, nil
		}
		assigned = true
		return ev(now, ActorAutoAssign, ticketevent.Assigned{To: pick.Name}), nil
	})
	if err != nil || !assigned {
		return "", err
	}
	if err := a.st.MarkAssigned(ctx, pick.Name, a.svc.now()); err != nil {
		a.log.Warn("record automatic assignment", "user", pick.Name, "err", err)
	}
	return pick.Name, nil
}

func lastAssigned(u store.User) time.Time {
	if u.LastAssignedAt == nil {
		return time.Time{}
	}
	return *u.LastAssignedAt
}
