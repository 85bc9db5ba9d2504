package tickets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// ErrKBDraft: the ticket was resolved but its knowledge base draft could
// not be written.
var ErrKBDraft = errors.New("knowledge base draft not written")

// ResolveKB resolves the ticket and, when kb is set, writes a draft
// knowledge base article from it: titled after the ticket, its body
// Markdown with the problem, the cause (the linked problem's root cause,
// or the failing checks), the resolution and the fixes run; linked to the
// ticket's failing checks and the catalog fixes run on it. The draft's
// id is recorded on the timeline (kb_draft). When the draft cannot be
// written the ticket stays resolved and the error says so.
func (s *Service) ResolveKB(ctx context.Context, id, actor, resolution string, kb bool) (store.Ticket, *store.Article, error) {
	t, err := s.Resolve(ctx, id, actor, resolution)
	if err != nil || !kb {
		return t, nil, err
	}
	art, err := s.draftArticle(ctx, t, actor)
	if err != nil {
		return t, nil, fmt.Errorf("%w: ticket #%d is resolved, but %v; write the article with POST /api/v1/articles", ErrKBDraft, t.Number, err)
	}
	t, err = s.update(ctx, id, func(t *store.Ticket, now time.Time) ([]store.TicketEvent, error) {
		return ev(now, actor, ticketevent.KBDraft{Article: art.ID, Title: art.Title}), nil
	})
	return t, &art, err
}

func (s *Service) draftArticle(ctx context.Context, t store.Ticket, actor string) (store.Article, error) {
	full, err := s.cfg.Store.GetTicket(ctx, t.ID)
	if err != nil {
		return store.Article{}, err
	}
	events, err := s.cfg.Store.TicketEvents(ctx, t.ID)
	if err != nil {
		return store.Article{}, err
	}
	checks := []string{}
	for _, c := range strings.Split(full.Signature, ",") {
		if diag.KnownCheck(c) && !slices.Contains(checks, c) {
			checks = append(checks, c)
		}
	}
	type run struct{ fix, outcome string }
	var runs []run
	fixes := []string{}
	addFix := func(fix, outcome string) {
		if _, ok := catalog.Get(fix); !ok {
			return
		}
		runs = append(runs, run{fix, outcome})
		if !slices.Contains(fixes, fix) {
			fixes = append(fixes, fix)
		}
	}
	if full.Tried != nil {
		for _, r := range full.Tried.Runs {
			addFix(r.Fix, r.Outcome+" (self-help)")
		}
	}
	for _, e := range events {
		if r, ok := e.Data.(ticketevent.Run); ok {
			addFix(r.Fix, r.Outcome)
		}
	}
	cause := ""
	if full.ProblemID != "" {
		if p, err := s.cfg.Store.GetProblem(ctx, full.ProblemID); err == nil && p.RootCause != "" {
			cause = p.RootCause
		}
	}
	if cause == "" && len(checks) > 0 {
		cause = "Health checks failing when the ticket was filed: " + strings.Join(checks, ", ") + "."
	}
	if cause == "" {
		cause = "_To be written._"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## Problem\n\n%s\n\n## Cause\n\n%s\n\n## Resolution\n\n%s\n", orText(full.Body, "_As reported in the ticket._"), cause, full.Resolution)
	if len(runs) > 0 {
		b.WriteString("\n## Fixes run\n\n")
		for _, r := range runs {
			f, _ := catalog.Get(r.fix)
			fmt.Fprintf(&b, "- %s (`%s`): %s\n", f.Title, r.fix, orText(r.outcome, "no result recorded"))
		}
	}
	fmt.Fprintf(&b, "\n_Drafted from ticket #%d._\n", full.Number)
	title := full.Title
	if _, rest, ok := strings.Cut(title, ": "); ok && full.DeviceID != "" {
		// Drop the host name: the article is about the problem, not the machine.
		title = rest
	}
	return s.cfg.Store.CreateArticle(ctx, store.Article{ID: s.cfg.NewID(), Title: title, Body: b.String(), State: store.ArticleDraft,
		Checks: checks, Fixes: fixes, SourceTicket: full.ID, CreatedBy: actor, CreatedAt: s.now()})
}

func orText(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
