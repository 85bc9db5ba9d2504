package update

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestVersionCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"1.2.3", "1.2.3", 0}, {"v1.2.3", "1.2.3", 0}, {"1.2.4", "1.2.3", 1}, {"1.10.0", "1.9.9", 1},
		{"2.0.0", "10.0.0", -1}, {"1.0.0-rc.1", "1.0.0", -1}, {"1.0.0-rc.2", "1.0.0-rc.10", -1},
		{"1.0.0-alpha", "1.0.0-alpha.1", -1}, {"1.0.0-beta", "1.0.0-alpha", 1}, {"1.0.0+abc", "1.0.0", 0},
	} {
		a, err := ParseVersion(tc.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseVersion(tc.b)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Compare(b); got != tc.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	for _, bad := range []string{"", "1.2", "1.2.x", "01.2.3", "1.2.3-", "dev", "8546e09-dirty"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) accepted", bad)
		}
	}
	if up, _ := IsUpgrade("dev", "1.0.0"); !up {
		t.Error("a development build should accept a release")
	}
	if up, _ := IsUpgrade("1.2.0", "1.1.9"); up {
		t.Error("downgrade accepted")
	}
}

func TestSignVerify(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	m := Manifest{Product: Product, Version: "1.2.3", OS: "linux", Arch: "amd64", SHA256: hex.EncodeToString(make([]byte, 32)), Size: 10}
	raw, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	sig := Sign(priv, raw)
	got, err := Verify(pub, raw, sig)
	if err != nil || got.Version != "1.2.3" {
		t.Fatalf("Verify = %+v, %v", got, err)
	}
	if _, err := Verify(other, raw, sig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("wrong key: %v", err)
	}
	tampered := append([]byte{}, raw...)
	tampered[len(tampered)-3] ^= 1
	if _, err := Verify(pub, tampered, sig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered manifest: %v", err)
	}
	if _, err := ParsePublicKey(""); !errors.Is(err, ErrNoReleaseKey) {
		t.Errorf("empty key: %v", err)
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"product":"tierline-agent","version":"1.0.0","os":"linux","arch":"amd64","sha256":"00","size":1}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := ParseManifest(raw)
		if err == nil {
			if err := m.Validate(); err != nil {
				t.Fatalf("parsed manifest does not validate: %v", err)
			}
		}
	})
}

// fakeHub serves one offer and records reports.
type fakeHub struct {
	t       *testing.T
	mu      sync.Mutex
	pub     ed25519.PublicKey // the device's key
	offer   *Offer
	binary  []byte
	reports []Report
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	sig, _ := base64.StdEncoding.DecodeString(r.Header.Get(HeaderSignature))
	ts := r.Header.Get(HeaderTime)
	if n, _ := strconv.ParseInt(ts, 10, 64); time.Since(time.Unix(n, 0)).Abs() > MaxClockSkew ||
		!ed25519.Verify(h.pub, RequestMessage(r.Method, r.URL.RequestURI(), r.Header.Get(HeaderDevice), ts, body), sig) {
		http.Error(w, `{"error":"bad signature","code":"unauthenticated"}`, http.StatusUnauthorized)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case r.URL.Path == OfferPath:
		if h.offer == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		json.NewEncoder(w).Encode(h.offer)
	case r.URL.Path == ReportPath:
		var rep Report
		json.Unmarshal(body, &rep)
		h.reports = append(h.reports, rep)
		w.WriteHeader(http.StatusNoContent)
	case len(r.URL.Path) > len(BinaryPath) && r.URL.Path[:len(BinaryPath)] == BinaryPath:
		w.Write(h.binary)
	default:
		http.NotFound(w, r)
	}
}

func (h *fakeHub) lastReport() Report {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.reports) == 0 {
		return Report{}
	}
	return h.reports[len(h.reports)-1]
}

type rig struct {
	hub      *fakeHub
	exe      string
	state    string
	release  ed25519.PrivateKey
	pubB64   string
	devKey   ed25519.PrivateKey
	url      string
	probeErr error
}

func newRig(t *testing.T) *rig {
	devPub, devKey, _ := ed25519.GenerateKey(rand.Reader)
	relPub, relKey, _ := ed25519.GenerateKey(rand.Reader)
	h := &fakeHub{t: t, pub: devPub}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	exe := filepath.Join(dir, "tierline-agent")
	if err := os.WriteFile(exe, []byte("old binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &rig{hub: h, exe: exe, state: filepath.Join(dir, "state"), release: relKey,
		pubB64: base64.StdEncoding.EncodeToString(relPub), devKey: devKey, url: srv.URL}
}

func (r *rig) updater(t *testing.T, current string) *Updater {
	u, err := New(Config{StateDir: r.state, Current: current, PublicKey: r.pubB64, HubURL: r.url,
		DeviceID: "abcdefabcdefabcdefabcdefabcdef12", Key: r.devKey, HTTPClient: http.DefaultClient,
		Executable: r.exe, ConfirmTimeout: 300 * time.Millisecond,
		Probe: func(ctx context.Context, cand, version string) error { return r.probeErr }})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// publish offers binary as version, signed with key (the rig's release key
// when nil).
func (r *rig) publish(t *testing.T, version string, binary []byte, key ed25519.PrivateKey) {
	if key == nil {
		key = r.release
	}
	sum := sha256.Sum256(binary)
	m := Manifest{Product: Product, Version: version, OS: runtime.GOOS, Arch: runtime.GOARCH, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(binary))}
	raw, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	r.hub.mu.Lock()
	r.hub.offer = &Offer{Manifest: raw, Signature: Sign(key, raw)}
	r.hub.binary = binary
	r.hub.mu.Unlock()
}

func (r *rig) exeContent(t *testing.T) string {
	b, err := os.ReadFile(r.exe)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func restarted(u *Updater) bool {
	select {
	case <-u.Restart():
		return true
	default:
		return false
	}
}

func TestApplyConfirmReport(t *testing.T) {
	r := newRig(t)
	u := r.updater(t, "1.0.0")
	if err := u.Check(context.Background()); err != nil {
		t.Fatalf("check with nothing offered: %v", err)
	}
	r.publish(t, "1.1.0", []byte("new binary"), nil)
	if err := u.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !restarted(u) || r.exeContent(t) != "new binary" {
		t.Fatalf("not applied: restart %v, exe %q", restarted(u), r.exeContent(t))
	}
	if b, _ := os.ReadFile(r.exe + ".previous"); string(b) != "old binary" {
		t.Fatalf("previous binary not kept: %q", b)
	}
	// The new version starts and connects.
	u2 := r.updater(t, "1.1.0")
	if err := u2.Start(); err != nil {
		t.Fatal(err)
	}
	u2.Connected()
	if _, ok, _ := u2.PendingUpdate(); ok {
		t.Fatal("update still pending after connecting")
	}
	u2.sendReports(context.Background())
	if rep := r.hub.lastReport(); rep.Outcome != OutcomeApplied || rep.From != "1.0.0" || rep.To != "1.1.0" {
		t.Fatalf("report = %+v", rep)
	}
	time.Sleep(400 * time.Millisecond) // past the confirm timeout: nothing happens
	if restarted(u2) || r.exeContent(t) != "new binary" {
		t.Fatal("confirmed update was rolled back")
	}
}

func TestRefusals(t *testing.T) {
	_, wrongKey, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name    string
		setup   func(r *rig)
		wantErr string
	}{
		{"wrong key", func(r *rig) { r.publish(t, "1.1.0", []byte("new"), wrongKey) }, "does not verify"},
		{"downgrade", func(r *rig) { r.publish(t, "0.9.0", []byte("old"), nil) }, "downgrades are refused"},
		{"tampered binary", func(r *rig) {
			r.publish(t, "1.1.0", []byte("new"), nil)
			r.hub.binary = []byte("evil")
		}, "does not match the signed manifest"},
		{"probe fails", func(r *rig) {
			r.publish(t, "1.1.0", []byte("new"), nil)
			r.probeErr = errors.New("exit status 1")
		}, "failed its probe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			tc.setup(r)
			u := r.updater(t, "1.0.0")
			err := u.Check(context.Background())
			var re *RefusedError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Check = %v, want a refusal with %q", err, tc.wantErr)
			}
			if restarted(u) || r.exeContent(t) != "old binary" {
				t.Fatal("the running binary was replaced")
			}
			if _, err := os.Stat(r.exe + ".new"); !os.IsNotExist(err) {
				t.Error("candidate left behind")
			}
			u.sendReports(context.Background())
			if rep := r.hub.lastReport(); rep.Outcome != OutcomeRefused || !strings.Contains(rep.Error, tc.wantErr) {
				t.Fatalf("report = %+v", rep)
			}
			// The same offer is not tried again.
			if err := u.Check(context.Background()); err != nil {
				t.Fatalf("second check: %v", err)
			}
		})
	}
}

func TestRollbackWhenNotConnected(t *testing.T) {
	r := newRig(t)
	u := r.updater(t, "1.0.0")
	r.publish(t, "1.1.0", []byte("new binary"), nil)
	if err := u.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	u2 := r.updater(t, "1.1.0")
	if err := u2.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-u2.Restart():
	case <-time.After(10 * time.Second):
		t.Fatal("no rollback after the confirm timeout")
	}
	if r.exeContent(t) != "old binary" {
		t.Fatalf("exe after rollback = %q", r.exeContent(t))
	}
	// The old version starts again and reports.
	u3 := r.updater(t, "1.0.0")
	if err := u3.Start(); err != nil {
		t.Fatal(err)
	}
	u3.sendReports(context.Background())
	if rep := r.hub.lastReport(); rep.Outcome != OutcomeRolledBack || rep.To != "1.1.0" {
		t.Fatalf("report = %+v", rep)
	}
	// The rolled-back release is not offered to itself again.
	if err := u3.Check(context.Background()); err != nil || restarted(u3) {
		t.Fatalf("rolled-back release tried again: %v", err)
	}
}

func TestRollbackAfterTooManyStarts(t *testing.T) {
	r := newRig(t)
	r.publish(t, "1.1.0", []byte("new binary"), nil)
	if err := r.updater(t, "1.0.0").Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < MaxStarts; i++ {
		u := r.updater(t, "1.1.0")
		u.cfg.ConfirmTimeout = time.Hour
		if err := u.Start(); err != nil || restarted(u) {
			t.Fatalf("start %d: %v", i+1, err)
		}
	}
	u := r.updater(t, "1.1.0")
	if err := u.Start(); err != nil || !restarted(u) {
		t.Fatalf("start %d did not roll back: %v", MaxStarts+1, err)
	}
	if r.exeContent(t) != "old binary" {
		t.Fatal("previous binary not restored")
	}
}

func TestNoReleaseKey(t *testing.T) {
	r := newRig(t)
	r.pubB64 = ""
	old := ReleasePublicKey
	ReleasePublicKey = ""
	defer func() { ReleasePublicKey = old }()
	u := r.updater(t, "1.0.0")
	if ok, why := u.Enabled(); ok || !errors.Is(why, ErrNoReleaseKey) {
		t.Fatalf("Enabled = %v, %v", ok, why)
	}
}

// TestUpdateLeavesTray shows what a self-update does to tierline-tray, the
// tray program installed beside the agent: nothing. A release replaces the
// service's binary only; the tray keeps its version until the package is
// upgraded, and the local socket's operations are what the two agree on
// (docs/install.md, "Updates").
func TestUpdateLeavesTray(t *testing.T) {
	r := newRig(t)
	tray := filepath.Join(filepath.Dir(r.exe), "tierline-tray")
	if err := os.WriteFile(tray, []byte("tray 1.0.0"), 0o755); err != nil {
		t.Fatal(err)
	}
	u := r.updater(t, "1.0.0")
	r.publish(t, "1.1.0", []byte("new binary"), nil)
	if err := u.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !restarted(u) || r.exeContent(t) != "new binary" {
		t.Fatalf("not applied: restart %v, exe %q", restarted(u), r.exeContent(t))
	}
	if b, err := os.ReadFile(tray); err != nil || string(b) != "tray 1.0.0" {
		t.Fatalf("tierline-tray after the update: %q, %v", b, err)
	}
	entries, err := os.ReadDir(filepath.Dir(r.exe))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "tierline-tray") && e.Name() != "tierline-tray" {
			t.Errorf("the update left %s beside the tray", e.Name())
		}
	}
}
