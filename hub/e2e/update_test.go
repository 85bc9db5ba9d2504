package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/update"
	"github.com/tierline/tierline/hub/store"
)

// buildAgentVersion links tierline-agent with a version and release key
// (the compiled packages come from the harness's -race build cache).
func buildAgentVersion(t *testing.T, dir, version, pubkey string) string {
	t.Helper()
	out := filepath.Join(dir, "tierline-agent-"+version)
	cmd := exec.Command("go", "build", "-race", "-o", out, "-ldflags",
		"-X github.com/tierline/tierline/agent/version.Version="+version+
			" -X github.com/tierline/tierline/agent/update.ReleasePublicKey="+pubkey,
		"github.com/tierline/tierline/agent/cmd/tierline-agent")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build agent %s: %v\n%s", version, err, b)
	}
	return out
}

// signRelease writes BIN.manifest.json and .sig for content as version.
func signRelease(t *testing.T, dir string, key ed25519.PrivateKey, version string, content []byte) (manifest, sig, bin string) {
	t.Helper()
	sum := sha256.Sum256(content)
	m := update.Manifest{Product: update.Product, Version: version, OS: runtime.GOOS, Arch: runtime.GOARCH,
		SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content)), Created: time.Now().UTC()}
	raw, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "release-"+version+"-"+hex.EncodeToString(sum[:4]))
	bin = base + ".bin"
	manifest, sig = base+".manifest.json", base+".manifest.sig"
	for p, b := range map[string][]byte{bin: content, manifest: raw, sig: []byte(update.Sign(key, raw))} {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return manifest, sig, bin
}

type deviceUpdate struct {
	DeviceID     string `json:"device_id"`
	AgentVersion string `json:"agent_version"`
	Online       bool   `json:"online"`
	Last         *struct {
		From, To, Outcome, Error string
	} `json:"last_update"`
}

// TestUpdateSignedRollout runs a real hub and a real agent through a
// rollout: a release signed with the wrong key, a downgrade, a tampered
// binary, a release whose probe fails and one that does not come up after
// the swap are each refused or rolled back while the old version keeps
// running; then a valid release is applied and reported.
func TestUpdateSignedRollout(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the update e2e test re-executes the agent in place, which Windows cannot do")
	}
	work := t.TempDir()
	relPub, relKey, _ := ed25519.GenerateKey(rand.Reader)
	_, wrongKey, _ := ed25519.GenerateKey(rand.Reader)
	pub := base64.StdEncoding.EncodeToString(relPub)
	v100 := buildAgentVersion(t, work, "1.0.0", pub)
	v110 := buildAgentVersion(t, work, "1.1.0", pub)
	v120 := buildAgentVersion(t, work, "1.2.0", pub)
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	h := startHub(t)
	a := enroll(t, h.tokenCreate())
	// The agent runs from a directory it may write to, as root does in /usr/bin.
	exe := filepath.Join(work, "installed", "tierline-agent")
	os.MkdirAll(filepath.Dir(exe), 0o755)
	if err := os.WriteFile(exe, read(v100), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TIERLINE_UPDATE_INTERVAL", "1s")
	t.Setenv("TIERLINE_UPDATE_CONFIRM_TIMEOUT", "4s")
	rel, err := filepath.Rel(binDir, exe)
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, rel, "run", "--state", a.state, "--interval", "500ms", "--backoff-base", "100ms", "--backoff-max", "1s", "--log-level", "debug")

	status := func() deviceUpdate {
		var resp struct {
			Devices []deviceUpdate `json:"devices"`
		}
		if code := h.get("/api/v1/updates/devices", &resp); code != http.StatusOK || len(resp.Devices) != 1 {
			t.Fatalf("update status: %d %+v", code, resp)
		}
		return resp.Devices[0]
	}
	eventually(t, "agent 1.0.0 online", 60*time.Second, func() bool {
		d := status()
		return d.Online && d.AgentVersion == "1.0.0"
	})
	addRelease := func(manifest, sig, bin string) {
		h.cli("release", "add", "--manifest", manifest, "--signature", sig, "--binary", bin)
	}
	rollout := func(version string) {
		if code := h.do("PUT", "/api/v1/updates/rollouts/default", h.token, strings.NewReader(`{"version":"`+version+`","percent":100}`), nil); code != http.StatusOK {
			t.Fatalf("set rollout %s: %d", version, code)
		}
	}
	waitOutcome := func(to, outcome, errPart string) {
		t.Helper()
		eventually(t, "report "+outcome+" for "+to, 60*time.Second, func() bool {
			d := status()
			return d.Last != nil && d.Last.To == to && d.Last.Outcome == outcome && strings.Contains(d.Last.Error, errPart)
		})
	}
	stillOld := func() {
		t.Helper()
		select {
		case <-p.done:
			t.Fatalf("agent exited:\n%s", tail(p.output(), 4000))
		default:
		}
		if !bytes.Equal(read(exe), read(v100)) {
			t.Fatal("the installed binary changed")
		}
		eventually(t, "agent 1.0.0 online", 30*time.Second, func() bool {
			d := status()
			return d.Online && d.AgentVersion == "1.0.0"
		})
	}

	// 1. Signed with another key.
	m, s, b := signRelease(t, work, wrongKey, "1.1.0", read(v110))
	addRelease(m, s, b)
	rollout("1.1.0")
	waitOutcome("1.1.0", "refused", "does not verify")
	stillOld()
	if code := h.do("DELETE", "/api/v1/updates/releases/1.1.0/"+runtime.GOOS+"/"+runtime.GOARCH, h.token, nil, nil); code != http.StatusNoContent {
		t.Fatalf("delete release: %d", code)
	}

	// 2. A downgrade, properly signed.
	m, s, b = signRelease(t, work, relKey, "0.9.0", read(v100))
	addRelease(m, s, b)
	rollout("0.9.0")
	waitOutcome("0.9.0", "refused", "downgrades are refused")
	stillOld()

	// 3. A tampered binary: the hub's copy no longer matches the signed manifest.
	unique := append(read(v100), []byte("release 1.5.0")...) // its own SHA-256
	m, s, b = signRelease(t, work, relKey, "1.5.0", unique)
	addRelease(m, s, b)
	st, err := store.Open(context.Background(), filepath.Join(h.data, "tierline.db"))
	if err != nil {
		t.Fatal(err)
	}
	tampered := append([]byte{}, unique...)
	tampered[len(tampered)/2] ^= 0xff
	if _, err := st.DB().Exec(`UPDATE update_releases SET content = ? WHERE version = '1.5.0'`, tampered); err != nil {
		t.Fatal(err)
	}
	st.Close()
	rollout("1.5.0")
	waitOutcome("1.5.0", "refused", "does not match the signed manifest")
	stillOld()

	// 4. A release that cannot come up: its probe fails.
	m, s, b = signRelease(t, work, relKey, "1.4.0", []byte("#!/bin/sh\necho 'cannot start' >&2\nexit 1\n"))
	addRelease(m, s, b)
	rollout("1.4.0")
	waitOutcome("1.4.0", "refused", "failed its probe")
	stillOld()

	// 5. A release that passes its probe but does not connect after the
	// swap (the hub goes away): rolled back within the confirm timeout.
	m, s, b = signRelease(t, work, relKey, "1.1.0", read(v110))
	addRelease(m, s, b)
	rollout("1.1.0")
	eventually(t, "the agent to install 1.1.0", 60*time.Second, func() bool {
		return strings.Contains(p.output(), "update installed; restarting into it")
	})
	h.proc.signal(syscall.SIGKILL)
	<-h.proc.done
	eventually(t, "the agent to roll back", 60*time.Second, func() bool {
		return strings.Contains(p.output(), "rolling back update")
	})
	h.start()
	waitOutcome("1.1.0", "rolled_back", "did not connect to the hub")
	stillOld()

	// 6. A valid release is applied and reported; the previous binary is kept.
	m, s, b = signRelease(t, work, relKey, "1.2.0", read(v120))
	addRelease(m, s, b)
	rollout("1.2.0")
	waitOutcome("1.2.0", "applied", "")
	eventually(t, "agent 1.2.0 online", 30*time.Second, func() bool {
		d := status()
		return d.Online && d.AgentVersion == "1.2.0"
	})
	if !bytes.Equal(read(exe), read(v120)) || !bytes.Equal(read(exe+".previous"), read(v100)) {
		t.Fatal("after the update the binary is not 1.2.0, or 1.0.0 was not kept as .previous")
	}
	var progress struct {
		Rollouts []store.RolloutProgress `json:"rollouts"`
	}
	if code := h.get("/api/v1/updates/rollouts", &progress); code != http.StatusOK || len(progress.Rollouts) != 1 ||
		progress.Rollouts[0].OnTarget != 1 || progress.Rollouts[0].Outcomes["applied"] != 1 {
		t.Fatalf("rollout progress: %d %+v", code, progress)
	}
	select {
	case <-p.done:
		t.Fatalf("agent exited after the update:\n%s", tail(p.output(), 4000))
	default:
	}
}
