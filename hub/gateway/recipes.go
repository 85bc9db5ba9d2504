package gateway

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tierline/tierline/hub/recipes"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// RecipeStore is what the gateway needs to hand devices the organisation's
// signed recipes and keep what they made of them.
type RecipeStore interface {
	ListRecipes(ctx context.Context) ([]store.Recipe, error)
	ListRecipeKeyChanges(ctx context.Context) ([]store.RecipeKeyChange, error)
	RecipesRevision(ctx context.Context) (string, error)
	SetRecipeStatus(ctx context.Context, st store.RecipeStatus) error
	DeviceGroupsByID(ctx context.Context) (map[string]string, error)
}

const (
	// recipePoll is how often each replica looks for published changes
	// (from the API, the CLI or another replica) to pass on to its agents.
	recipePoll = 2 * time.Second
	// recipeStatusEvery bounds how often one connection's recipe reports
	// are stored; an agent sends one per recipes message, so more is a
	// flood and is dropped.
	recipeStatusEvery = time.Second
)

// recipeSet is the published recipes and key changes, read once and
// turned into each group's message.
type recipeSet struct {
	all     []store.Recipe
	changes []store.RecipeKeyChange
	byGroup map[string]wire.Recipes
}

func (g *Gateway) readRecipes(ctx context.Context) (*recipeSet, error) {
	all, err := g.cfg.Recipes.ListRecipes(ctx)
	if err != nil {
		return nil, err
	}
	changes, err := g.cfg.Recipes.ListRecipeKeyChanges(ctx)
	if err != nil {
		return nil, err
	}
	return &recipeSet{all: all, changes: changes, byGroup: map[string]wire.Recipes{}}, nil
}

func (s *recipeSet) message(group string) wire.Recipes {
	m, ok := s.byGroup[group]
	if !ok {
		m = recipes.Message(s.all, s.changes, group)
		s.byGroup[group] = m
	}
	return m
}

// sendRecipes sends a newly connected device its group's recipes.
func (g *Gateway) sendRecipes(ctx context.Context, c *agentConn) {
	if g.cfg.Recipes == nil {
		return
	}
	set, err := g.readRecipes(ctx)
	if err != nil {
		c.log.Warn("read recipes; the device gets them at its next connection", "err", err)
		return
	}
	if err := c.write(ctx, set.message(c.group())); err != nil {
		c.log.Info("sending recipes failed; they go again at the next connection", "err", err)
	}
}

// recipeLoop passes published changes on to every connected agent, each
// in the group it is in now.
func (g *Gateway) recipeLoop(ctx context.Context) {
	if g.cfg.Recipes == nil {
		return
	}
	last, _ := g.cfg.Recipes.RecipesRevision(ctx)
	t := time.NewTicker(recipePoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rev, err := g.cfg.Recipes.RecipesRevision(ctx)
		if err != nil || rev == last {
			continue
		}
		set, err := g.readRecipes(ctx)
		if err != nil {
			g.log.Warn("read recipes; trying again", "err", err)
			continue
		}
		groups, err := g.cfg.Recipes.DeviceGroupsByID(ctx)
		if err != nil {
			g.log.Warn("read device groups; trying again", "err", err)
			continue
		}
		last = rev
		g.mu.Lock()
		conns := make([]*agentConn, 0, len(g.conns))
		for _, c := range g.conns {
			conns = append(conns, c)
		}
		g.mu.Unlock()
		g.log.Info("recipes changed; sending them to connected agents", "agents", len(conns), "recipes", len(set.all))
		for _, c := range conns {
			grp := c.group()
			if now, ok := groups[c.deviceID]; ok {
				grp = now // moved since it connected
			}
			if err := c.write(ctx, set.message(grp)); err != nil {
				c.log.Info("sending recipes failed; they go again at the next connection", "err", err)
			}
		}
	}
}

// handleRecipeStatus stores what the agent made of its recipes.
func (c *agentConn) handleRecipeStatus(ctx context.Context, env wire.Envelope) error {
	st, err := wire.DecodeBody[wire.RecipeStatus](env)
	if err != nil {
		return err
	}
	if c.g.cfg.Recipes == nil {
		return nil
	}
	// At most one store a second per connection; a status sent sooner is
	// kept and stored when the second has passed (each replaces the one
	// before, so the newest must not be lost).
	c.statusMu.Lock()
	defer c.statusMu.Unlock()
	now := c.g.cfg.Now()
	if last := c.recipeStatusAt.Load(); last != 0 && now.Sub(time.Unix(0, last)) < recipeStatusEvery {
		pending := st
		first := c.statusPending == nil
		c.statusPending = &pending
		if first {
			time.AfterFunc(recipeStatusEvery-now.Sub(time.Unix(0, last)), func() {
				c.statusMu.Lock()
				defer c.statusMu.Unlock()
				if p := c.statusPending; p != nil {
					c.statusPending = nil
					c.storeRecipeStatus(context.Background(), *p)
				}
			})
		}
		return nil
	}
	c.statusPending = nil
	c.storeRecipeStatus(ctx, st)
	if len(st.Refused) > 0 {
		c.log.Warn("agent refused recipes", "refused", len(st.Refused), "first", st.Refused[0].ID, "reason", st.Refused[0].Reason)
	}
	return nil
}

// storeRecipeStatus records st as the device's latest recipe report.
// Called with statusMu held.
func (c *agentConn) storeRecipeStatus(ctx context.Context, st wire.RecipeStatus) {
	now := c.g.cfg.Now()
	c.recipeStatusAt.Store(now.UnixNano())
	raw, _ := json.Marshal(st)
	if err := c.g.cfg.Recipes.SetRecipeStatus(ctx, store.RecipeStatus{DeviceID: c.deviceID, Signer: st.Key, Status: raw, UpdatedAt: now}); err != nil {
		c.log.Warn("store the device's recipe status", "err", err)
	}
}
