package updates

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/update"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/shared/testwait"
)

const devID = "0123456789abcdef0123456789abcdef"

func setup(t *testing.T) (*store.Store, string, ed25519.PrivateKey) {
	s := storetest.Open(t)
	ctx := context.Background()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	secret := sha256.Sum256([]byte("secret"))
	now := time.Now()
	if err := s.CreateToken(ctx, store.Token{ID: "t1", CreatedAt: now, ExpiresAt: now.Add(time.Hour), MaxUses: 1}, secret[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnrollDevice(ctx, secret[:], store.Device{ID: devID, PublicKey: pub, Hostname: "h", OS: runtime.GOOS, Arch: runtime.GOARCH}, now); err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return s, srv.URL, priv
}

func upload(t *testing.T, s *store.Store, relKey ed25519.PrivateKey, version string, content []byte) {
	sum := sha256.Sum256(content)
	m := update.Manifest{Product: update.Product, Version: version, OS: runtime.GOOS, Arch: runtime.GOARCH,
		SHA256: hex.EncodeToString(sum[:]), Size: int64(len(content))}
	raw, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := PrepareRelease(raw, update.Sign(relKey, raw), content, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddRelease(context.Background(), rel, content); err != nil {
		t.Fatal(err)
	}
}

// TestAgentUpdaterAgainstHub runs agent/update's Updater against this
// handler: the two sides agree on signing, offers, binaries and reports.
func TestAgentUpdaterAgainstHub(t *testing.T) {
	s, url, devKey := setup(t)
	ctx := context.Background()
	relPub, relKey, _ := ed25519.GenerateKey(rand.Reader)
	upload(t, s, relKey, "1.1.0", []byte("new agent binary"))
	dir := t.TempDir()
	exe := filepath.Join(dir, "tierline-agent")
	os.WriteFile(exe, []byte("old agent binary"), 0o755)
	newUpdater := func(current string) *update.Updater {
		u, err := update.New(update.Config{StateDir: filepath.Join(dir, "state"), Current: current,
			PublicKey: base64.StdEncoding.EncodeToString(relPub), HubURL: url, DeviceID: devID, Key: devKey,
			HTTPClient: http.DefaultClient, Executable: exe,
			Probe: func(context.Context, string, string) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	u := newUpdater("1.0.0")
	if err := u.Check(ctx); err != nil {
		t.Fatalf("check without a rollout: %v", err)
	}
	if err := s.SetRollout(ctx, store.Rollout{Version: "1.1.0", Percent: 100}); err != nil {
		t.Fatal(err)
	}
	if err := u.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(exe); string(b) != "new agent binary" {
		t.Fatalf("exe = %q", b)
	}
	u2 := newUpdater("1.1.0")
	if err := u2.Start(); err != nil {
		t.Fatal(err)
	}
	u2.Connected()
	go u2.Run(ctx)
	var st []store.DeviceUpdate
	testwait.Until(t, "the update report recorded", func() bool {
		var err error
		if st, err = s.UpdateStatus(ctx, ""); err != nil {
			t.Fatal(err)
		}
		return len(st) == 1 && st[0].Last != nil
	})
	if st[0].Last.Outcome != "applied" || st[0].Last.From != "1.0.0" || st[0].Last.To != "1.1.0" {
		t.Fatalf("report = %+v", st[0].Last)
	}
}

func TestSignedRequests(t *testing.T) {
	s, url, devKey := setup(t)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	do := func(key ed25519.PrivateKey, at time.Time, dev string) int {
		req, _ := http.NewRequest("GET", url+OfferPath+"?os=linux&arch=amd64&version=1.0.0", nil)
		update.SignRequest(req, dev, key, nil, at)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := do(devKey, time.Now(), devID); got != http.StatusNoContent {
		t.Errorf("signed request: %d", got)
	}
	if got := do(otherKey, time.Now(), devID); got != http.StatusUnauthorized {
		t.Errorf("wrong key: %d", got)
	}
	if got := do(devKey, time.Now().Add(-10*time.Minute), devID); got != http.StatusUnauthorized {
		t.Errorf("stale time: %d", got)
	}
	if got := do(devKey, time.Now(), "ffffffffffffffffffffffffffffffff"); got != http.StatusUnauthorized {
		t.Errorf("unknown device: %d", got)
	}
	resp, _ := http.Get(url + OfferPath + "?os=linux&arch=amd64")
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned: %d", resp.StatusCode)
	}
	if err := s.RevokeDevice(context.Background(), devID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := do(devKey, time.Now(), devID); got != http.StatusForbidden {
		t.Errorf("revoked device: %d", got)
	}
}

func TestInWave(t *testing.T) {
	in := 0
	for i := 0; i < 10000; i++ {
		id := fmt.Sprintf("%032x", i)
		a := InWave(id, "1.2.0", 10)
		if a && !InWave(id, "1.2.0", 50) {
			t.Fatal("raising the percent dropped a device from the wave")
		}
		if a {
			in++
		}
	}
	if in < 800 || in > 1200 {
		t.Fatalf("10%% wave holds %d of 10000 devices", in)
	}
	if InWave(devID, "1", 0) || !InWave(devID, "1", 100) {
		t.Fatal("0% or 100% wrong")
	}
}

func TestPrepareReleaseRejectsMismatch(t *testing.T) {
	_, relKey, _ := ed25519.GenerateKey(rand.Reader)
	m := update.Manifest{Product: update.Product, Version: "1.0.0", OS: "linux", Arch: "amd64", SHA256: hex.EncodeToString(make([]byte, 32)), Size: 3}
	raw, _ := m.Encode()
	if _, err := PrepareRelease(raw, update.Sign(relKey, raw), []byte("abc"), time.Now()); err == nil {
		t.Fatal("binary that does not match the manifest accepted")
	}
	if _, err := PrepareRelease(raw, "not base64!", []byte("abc"), time.Now()); err == nil {
		t.Fatal("bad signature text accepted")
	}
}
