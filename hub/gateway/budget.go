package gateway

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/ratelimit"
	"github.com/tierline/tierline/shared/wire"
)

// DefaultBudgets are the per-device budgets of the agent messages that
// create work on the hub: tickets, messages on them, surveys, Get help
// sessions, health reports (check state changes), inventories, fix
// results, their progress steps and knowledge-base searches. Each allows a burst of N, then one
// every Per/N. They sit above what an honest agent sends (its own limits
// on help requests are lower: agent run --help-limit), so only a flood
// meets them. Telemetry has none: an agent back after a day offline
// rightly sends 8,640 samples at once, each one row that raw retention
// prunes.
var DefaultBudgets = map[wire.Type]ratelimit.Limit{
	wire.TypeHelpRequest:  {N: 10, Per: time.Hour},
	wire.TypeUserReply:    {N: 120, Per: time.Hour},
	wire.TypeSurveyAnswer: {N: 30, Per: time.Hour},
	wire.TypeHelpSession:  {N: 60, Per: time.Hour},
	wire.TypeHealth:       {N: 720, Per: time.Hour},
	wire.TypeInventory:    {N: 60, Per: time.Hour},
	wire.TypeRunResult:    {N: 600, Per: time.Hour},
	wire.TypeKBQuery:      {N: 600, Per: time.Hour},
	// An agent sends at most one step a second while a fix runs.
	wire.TypeRunProgress: {N: 7200, Per: time.Hour},
}

// ParseBudgets reads "help_request=10/1h,health=off,...": the defaults
// with the named types changed. An empty string is the defaults.
func ParseBudgets(s string) (map[wire.Type]ratelimit.Limit, error) {
	out := maps.Clone(DefaultBudgets)
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		t := wire.Type(strings.TrimSpace(name))
		if _, known := DefaultBudgets[t]; !ok || !known {
			return nil, fmt.Errorf("budget %q: want TYPE=COUNT/DURATION, TYPE one of %s", part, budgetTypes())
		}
		l, err := ratelimit.ParseLimit(val)
		if err != nil {
			return nil, fmt.Errorf("budget of %s: %w", t, err)
		}
		out[t] = l
	}
	return out, nil
}

// DescribeBudgets lists the default budgets as --device-budgets takes them.
func DescribeBudgets() string {
	var parts []string
	for t, l := range DefaultBudgets {
		parts = append(parts, string(t)+"="+l.String())
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func budgetTypes() string {
	var ts []string
	for t := range DefaultBudgets {
		ts = append(ts, string(t))
	}
	slices.Sort(ts)
	return strings.Join(ts, ", ")
}

// budgets holds one limiter per message type, keyed by device.
type budgets map[wire.Type]*ratelimit.Keyed

func newBudgets(m map[wire.Type]ratelimit.Limit) budgets {
	b := budgets{}
	for t, l := range m {
		if !l.Off() {
			b[t] = ratelimit.NewKeyed(l)
		}
	}
	return b
}

// overBudget spends one of the device's budget for a new message of type
// t. Over it, the refusal is counted and logged, and the error says when
// the next is accepted.
func (c *agentConn) overBudget(t wire.Type) (*wire.ProtocolError, time.Time) {
	k := c.g.budgets[t]
	if k == nil {
		return nil, time.Time{}
	}
	ok, at := k.Allow(c.deviceID, c.g.cfg.Now())
	if ok {
		return nil, time.Time{}
	}
	c.g.metrics.budgetRefusals.WithLabelValues(string(t)).Inc()
	c.log.Warn("device over its budget: message refused", "type", t, "budget", k.Limit().String(), "next_at", at.UTC().Format(time.RFC3339))
	return wire.Errorf(wire.CodeRateLimited, "this device sent more %s messages than the hub takes from one device (%s); "+
		"this one was refused; the next is accepted from %s", t, k.Limit().Describe(), at.UTC().Format(time.RFC3339)), at
}

// refuseOverBudget answers a message refused for its device's budget: an
// error naming it, for a help request a receipt the agent shows its user
// (no ticket, and when to ask again), and for a sequenced message its
// sequence number recorded as rejected, so it is acknowledged and not
// sent again.
func (c *agentConn) refuseOverBudget(ctx context.Context, env wire.Envelope, perr *wire.ProtocolError, at time.Time) {
	c.sendError(perr.Code, perr.Message, env.Seq)
	if env.Type == wire.TypeHelpRequest {
		if req, err := wire.DecodeBody[wire.HelpRequest](env); err == nil {
			r := wire.HelpReceipt{RequestID: req.RequestID, RetryAt: at.UTC(),
				Refused: fmt.Sprintf("This computer has asked the help desk for help more often than it takes from one computer (%s), "+
					"so no ticket was opened.", c.g.budgets[env.Type].Limit().Describe())}
			if werr := c.write(ctx, r); werr != nil {
				c.log.Info("refusal of a help request not delivered", "err", werr)
			}
		}
	}
	if env.Seq != 0 {
		c.g.enqueue(ctx, pending{item: store.IngestItem{DeviceID: c.deviceID, Seq: env.Seq, Kind: store.KindRejected, Received: c.g.cfg.Now()},
			conn: c, typ: string(env.Type)})
	}
}
