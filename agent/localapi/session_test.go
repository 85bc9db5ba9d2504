package localapi

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/tierline/tierline/agent/link"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// sentLink keeps what the operations send to the hub.
type sentLink struct {
	mu   sync.Mutex
	sent []wire.Body
}

func (l *sentLink) Send(_ context.Context, b wire.Body) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent = append(l.sent, b)
	return uint64(len(l.sent)), nil
}
func (l *sentLink) State() link.State { return link.State{} }
func (l *sentLink) SearchKB(context.Context, wire.KBQuery) (wire.KBResults, error) {
	return wire.KBResults{}, link.ErrOffline
}
func (l *sentLink) RequestTemplates(context.Context) ([]wire.RequestTemplate, error) {
	return nil, link.ErrOffline
}

type fixedChecks []diag.CheckResult

func (c fixedChecks) Run(context.Context, ...string) []diag.CheckResult { return c }

// A Get help session names the user who opened it (the hub counts them
// coming back from another computer); root's sessions name nobody, as
// root is no one user.
func TestSessionNamesItsUser(t *testing.T) {
	l := &sentLink{}
	o := New(Config{Link: l, Checks: fixedChecks{{Name: "disk-almost-full", Status: diag.StatusOK}}, Logger: slog.New(slog.DiscardHandler)})
	for _, who := range []localipc.Caller{{UID: 1000, User: "alice"}, {UID: 0, User: "root", Privileged: true}} {
		ans, err := o.session(localipc.WithCaller(context.Background(), who), localipc.SessionCall{SessionID: wire.NewID(), Failing: []string{"disk-almost-full"}})
		if err != nil || len(ans.Recovered) != 1 {
			t.Fatalf("session of %s: %+v %v", who.User, ans, err)
		}
	}
	if len(l.sent) != 2 {
		t.Fatalf("sent %d messages", len(l.sent))
	}
	if u := l.sent[0].(wire.HelpSession).User; u != "alice" {
		t.Errorf("alice's session names %q", u)
	}
	if u := l.sent[1].(wire.HelpSession).User; u != "" {
		t.Errorf("root's session names %q", u)
	}
}
