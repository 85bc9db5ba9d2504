package gethelp

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/agent/history"
	"github.com/tierline/tierline/agent/link"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/agent/spool"
	"github.com/tierline/tierline/shared/wire"
)

func laptopTemplate() wire.RequestTemplate {
	return wire.RequestTemplate{ID: "tpl-laptop", Name: "A loan laptop", Category: "other", Tier: 1, Priority: 4,
		Fields: []wire.TemplateField{{Key: "days", Label: "For how many days", Kind: wire.FieldChoice, Required: true, Choices: []string{"1", "5"}}}}
}

// The desk checks a request's answers against the template the hub gave
// last, before anything is spooled: a wrong or missing answer, or a form
// this computer does not know, is refused with the reason; a good one is
// spooled with the template's words and category.
func TestRequestCheckedBeforeSpooling(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	tpls := OpenTemplateCache(filepath.Join(dir, TemplatesFile), log)
	tpls.Remember([]wire.RequestTemplate{laptopTemplate(), {ID: "bad", Name: ""}})
	_, key, _ := ed25519.GenerateKey(nil)
	l, err := link.New(link.Config{URL: "wss://127.0.0.1:1/agent/v1/connect", DeviceID: strings.Repeat("ab", 16), Key: key, Spool: spool.NewMem(1<<20, log), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	d := NewDesk(Config{Link: l, Checks: health.NewRunnerOf(time.Second), History: history.New(history.Config{}), Logger: log, Dir: dir, Templates: tpls})
	ctx := context.Background()
	for name, call := range map[string]HelpCall{
		"missing":    {Template: "tpl-laptop", User: "alice"},
		"not choice": {Template: "tpl-laptop", Answers: map[string]string{"days": "30"}, User: "alice"},
		"unknown":    {Template: "tpl-gone", Answers: map[string]string{"days": "1"}, User: "alice"},
		"invalid":    {Template: "bad", User: "alice"},
	} {
		_, err := d.file(ctx, call)
		var le *localipc.Error
		if !errors.As(err, &le) || le.Code != localipc.CodeBadRequest {
			t.Errorf("%s: %v, want a bad request", name, err)
		}
	}
	if n := l.State().SpoolDepth; n != 0 {
		t.Fatalf("%d refused requests spooled", n)
	}
	ans, err := d.file(ctx, HelpCall{Template: "tpl-laptop", Answers: map[string]string{"days": "5"}, User: "alice", Wait: time.Millisecond})
	if err != nil || !ans.Queued {
		t.Fatalf("a good request: %+v %v", ans, err)
	}
	// The list survives a restart of the agent, bad entries left out.
	again := OpenTemplateCache(filepath.Join(dir, TemplatesFile), log)
	if got := again.List(); len(got) != 1 || got[0].Name != "A loan laptop" {
		t.Fatalf("templates after a restart: %+v", got)
	}
	// The hub deleted it: the next answer replaces the list.
	again.Remember(nil)
	if _, ok := again.Get("tpl-laptop"); ok {
		t.Fatal("a template the hub deleted is still offered")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, TemplatesFile)); string(b) != "[]" {
		t.Fatalf("file after the hub deleted every template: %s", b)
	}
}
