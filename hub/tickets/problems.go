package tickets

import (
	"context"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/ticketevent"
)

// LinkProblem links the ticket to a problem (known error) the caller has
// checked exists; an empty problem id unlinks it. Linking to the problem
// it already has adds nothing to the timeline.
func (s *Service) LinkProblem(ctx context.Context, id, actor, problemID string) (store.Ticket, error) {
	if len(problemID) > 64 {
		return store.Ticket{}, invalid("problem id is longer than 64 characters")
	}
	return s.update(ctx, id, func(t *store.Ticket, now time.Time) ([]store.TicketEvent, error) {
		if t.ProblemID == problemID {
			return nil, nil
		}
		return ev(now, actor, ticketevent.Problem{Problem: problemID}), nil
	})
}
