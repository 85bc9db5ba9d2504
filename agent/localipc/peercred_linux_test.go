package localipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The child side of TestPeerCredentials: run as another user, it calls
// the socket named by TIERLINE_IPC_CHILD and prints one line per call.
func TestMain(m *testing.M) {
	if path := os.Getenv("TIERLINE_IPC_CHILD"); path != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for _, op := range strings.Split(os.Getenv("TIERLINE_IPC_OPS"), ",") {
			name, body, _ := strings.Cut(op, ":")
			var out json.RawMessage
			var in any
			if body != "" {
				in = json.RawMessage(body)
			}
			err := call(ctx, path, Op(name), in, &out)
			var re *RemoteError
			switch {
			case errors.As(err, &re):
				fmt.Printf("%s refused %s: %s\n", name, re.Code, re.Message)
			case err != nil:
				fmt.Printf("%s error: %v\n", name, err)
			default:
				fmt.Printf("%s ok %s\n", name, out)
			}
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// tier0Only is how the agent's "run" handler treats a user caller.
func tier0Only(ctx context.Context, body json.RawMessage) (any, error) {
	var call RunCall
	if err := json.Unmarshal(body, &call); err != nil {
		return nil, BadRequest("run: %v", err)
	}
	who, _ := CallerFrom(ctx)
	if call.Fix != "flush-dns" && !who.Privileged {
		return nil, Forbidden("%s is a Tier 1 fix: ask the help desk (user %s may run Tier 0 fixes only)", call.Fix, who.User)
	}
	return map[string]string{"ran": call.Fix}, nil
}

func TestPeerCredentials(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a child as another user (uid 65534)")
	}
	dir, err := os.MkdirTemp("", "ipcpc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The test binary, where user 65534 can run it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "child")
	copyFile(t, self, bin)

	path := filepath.Join(dir, SocketName)
	s, err := Listen(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Handle("policy", func(ctx context.Context, body json.RawMessage) (any, error) { return "changed", nil })
	s.HandleUser("whoami", func(ctx context.Context, body json.RawMessage) (any, error) {
		who, ok := CallerFrom(ctx)
		if !ok {
			return nil, errors.New("no caller")
		}
		return who, nil
	})
	s.HandleUser("run", tier0Only)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	child := func(uid uint32) string {
		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Env = []string{"TIERLINE_IPC_CHILD=" + path,
			`TIERLINE_IPC_OPS=whoami,policy,run:{"fix":"reset-network"},run:{"fix":"flush-dns"}`}
		if uid != 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child uid %d: %v\n%s", uid, err, out)
		}
		return string(out)
	}

	other := child(65534)
	for _, want := range []string{
		`"uid":65534`, `"privileged":false`,
		`policy refused forbidden: "policy" is for the device's administrator only`,
		`run refused forbidden: reset-network is a Tier 1 fix`,
		`run ok {"ran":"flush-dns"}`,
	} {
		if !strings.Contains(other, want) {
			t.Errorf("another user's calls: want %q in\n%s", want, other)
		}
	}
	if !strings.Contains(other, `"pid":`) || strings.Contains(other, `"pid":0`) {
		t.Errorf("caller pid missing: %s", other)
	}

	same := child(0)
	for _, want := range []string{`"uid":0`, `"privileged":true`, `policy ok "changed"`, `run ok {"ran":"reset-network"}`} {
		if !strings.Contains(same, want) {
			t.Errorf("the agent's own user: want %q in\n%s", want, same)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
