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
}

// recipePoll is how often each replica looks for published changes (from
// the API, the CLI or another replica) to pass on to its agents.
const recipePoll = 2 * time.Second

// sendRecipes sends a connected device its group's recipes.
func (g *Gateway) sendRecipes(ctx context.Context, c *agentConn) {
	rs := g.cfg.Recipes
	if rs == nil {
		return
	}
	all, err := rs.ListRecipes(ctx)
	if err != nil {
		c.log.Warn("read recipes; the device gets them at its next connection", "err", err)
		return
	}
	changes, err := rs.ListRecipeKeyChanges(ctx)
	if err != nil {
		c.log.Warn("read recipe key changes; the device gets them at its next connection", "err", err)
		return
	}
	group := c.group
	if d, err := g.cfg.Store.DeviceAuth(ctx, c.deviceID); err == nil {
		group = d.Group // it may have moved since it connected
	}
	if err := c.write(ctx, recipes.Message(all, changes, group)); err != nil {
		c.log.Info("sending recipes failed; they go again at the next connection", "err", err)
	}
}

// recipeLoop passes published changes on to every connected agent.
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
		last = rev
		g.mu.Lock()
		conns := make([]*agentConn, 0, len(g.conns))
		for _, c := range g.conns {
			conns = append(conns, c)
		}
		g.mu.Unlock()
		g.log.Info("recipes changed; sending them to connected agents", "agents", len(conns))
		for _, c := range conns {
			g.sendRecipes(ctx, c)
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
	raw, _ := json.Marshal(st)
	if err := c.g.cfg.Recipes.SetRecipeStatus(ctx, store.RecipeStatus{DeviceID: c.deviceID, Signer: st.Key, Status: raw, UpdatedAt: c.g.cfg.Now()}); err != nil {
		c.log.Warn("store the device's recipe status", "err", err)
	}
	if len(st.Refused) > 0 {
		c.log.Warn("agent refused recipes", "refused", len(st.Refused), "first", st.Refused[0].ID, "reason", st.Refused[0].Reason)
	}
	return nil
}
