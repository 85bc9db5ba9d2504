package tickets

import (
	"context"
	"fmt"
	"strings"

	"github.com/tierline/tierline/hub/store"
)

// checkUserSite refuses to give a ticket to, or add as collaborator, a
// technician who does not work the ticket's site: they could not see it.
func (s *Service) checkUserSite(ctx context.Context, ticketID, name string) error {
	u, err := s.cfg.Store.GetUserByName(ctx, name)
	if err != nil {
		return fmt.Errorf("check user %s: %w", name, err)
	}
	t, err := s.cfg.Store.GetTicket(ctx, ticketID)
	if err != nil {
		return err
	}
	if !store.SeesSite(u.Sites, t.Site) {
		return fmt.Errorf("%w: %s works sites %s, not this ticket's site %s; name a technician of site %s", ErrUnknownUser, name,
			strings.Join(u.Sites, ","), t.Site, t.Site)
	}
	return nil
}
