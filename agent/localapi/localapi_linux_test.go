package localapi

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/fixes"
	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/wire"
)

// TestLocalOpsAsAnotherUser: a local user (uid 65534) may run Tier 0
// fixes and see and answer only its own tickets; a Tier 1 fix and the
// administrator's business are refused with "forbidden".
func TestLocalOpsAsAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a client as another user (uid 65534)")
	}
	f := newOpsFixture(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A technician's fix on alice's ticket waits for alice's consent.
	f.consent.Seen(localipc.Caller{User: "alice"})
	asked := make(chan error, 1)
	askCtx, stopAsk := context.WithCancel(context.Background())
	defer stopAsk()
	go func() {
		_, err := f.consent.Ask(askCtx, fixes.ConsentRequest{RunID: "run-alice", Fix: catalog.ResetNetwork, Title: "Reset network",
			RequestedBy: "tech1", Ticket: "t-alice"})
		asked <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); len(f.consent.Pending(localipc.Caller{Privileged: true})) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the consent question never waited")
		}
		time.Sleep(10 * time.Millisecond)
	}

	bin := filepath.Join(filepath.Dir(f.socket), "client")
	in, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(out, in)
	in.Close()
	out.Close()
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = []string{"TIERLINE_OPS_CHILD=" + f.socket, "TIERLINE_OPS=" + strings.Join([]string{
		`run {"fix":"reset-network"}`,
		`run {"fix":"flush-dns"}`,
		`fixes`,
		`tickets`,
		`reply {"ticket_id":"t-alice","text":"hello"}`,
		`survey {"ticket_id":"t-alice","score":5}`,
		`consent_answer {"run_id":"run-x","allow":true}`,
		`consent_pending`,
		`consent_answer {"run_id":"run-alice","allow":true}`,
		`run {"fix":"flush-dns","params":{"x":"y"},"extra":1}`,
		`run`,
	}, "\n")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	raw, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("client: %v\n%s", err, raw)
	}
	got := string(raw)
	for _, want := range []string{
		"run refused forbidden: reset-network (Reset network) is a Tier 1 fix: only the help desk can run it",
		`run ok {"run_id":`, `"fix":"flush-dns"`,
		"reply refused forbidden: ticket t-alice was filed by another user",
		"survey refused forbidden: ticket t-alice was filed by another user",
		"consent_answer refused failed: no fix is waiting for consent",
		"consent_answer refused forbidden: the fix waiting with run id \"run-alice\" is on a ticket another user of this computer filed",
		"consent_pending ok []",
		"run refused bad_request: the request body is not valid",
		"run refused bad_request: this operation needs a body",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in\n%s", want, got)
		}
	}
	for _, line := range strings.Split(got, "\n") {
		switch {
		case strings.HasPrefix(line, "fixes ok"):
			if strings.Contains(line, `"tier":1`) || strings.Contains(line, `"tier":2`) || !strings.Contains(line, `"id":"flush-dns"`) {
				t.Errorf("a user sees Tier 0 fixes only: %s", line)
			}
		case strings.HasPrefix(line, "tickets ok"):
			if !strings.Contains(line, "t-nobody") || strings.Contains(line, "t-alice") {
				t.Errorf("a user sees its own tickets only: %s", line)
			}
		}
	}
	// Alice's question is still waiting for her.
	select {
	case err := <-asked:
		t.Fatalf("alice's consent question ended while another user answered it: %v", err)
	default:
	}
	if got := f.consent.Pending(localipc.Caller{User: "alice"}); len(got) != 1 || got[0].RunID != "run-alice" {
		t.Fatalf("alice's pending questions: %+v", got)
	}
	stopAsk()
	if ran := f.exec.ran(); strings.Contains(ran, "nmcli") || !strings.Contains(ran, "resolvectl flush-caches") {
		t.Errorf("commands run: %q", ran)
	}
	// The agent's own user (root) may run a Tier 1 fix locally.
	ctx, c := f.client(t)
	res, err := c.Run(ctx, localipc.RunCall{Fix: catalog.ResetNetwork})
	if err != nil || res.Outcome == wire.OutcomeRefused {
		t.Errorf("root runs reset-network: %+v %v", res, err)
	}
}
