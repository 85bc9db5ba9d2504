package identity

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tierline/tierline/agent/identity/identitytest"
	"github.com/tierline/tierline/shared/wire"
)

const testDevice = "0123456789abcdef0123456789abcdef"

func fakeEnrollHub(t *testing.T, pki *identitytest.PKI, h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = pki.ServerTLS()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func okHandler(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != wire.EnrollPath || r.Method != http.MethodPost {
			http.Error(w, "bad path", 404)
			return
		}
		var req wire.EnrollRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		if err := req.Validate(); err != nil || req.Secret != "s3cret-s3cret-s3cret" {
			w.WriteHeader(401)
			json.NewEncoder(w).Encode(wire.APIError{Error: "enrollment token expired", Code: "token_expired"})
			return
		}
		json.NewEncoder(w).Encode(wire.EnrollResponse{DeviceID: testDevice})
	}
}

func TestEnrollSaveLoad(t *testing.T) {
	pki, err := identitytest.New()
	if err != nil {
		t.Fatal(err)
	}
	srv := fakeEnrollHub(t, pki, okHandler(t))
	tok := wire.EnrollToken{HubURL: srv.URL, CAFingerprint: Fingerprint(pki.CA.Raw), Secret: "s3cret-s3cret-s3cret"}
	id, err := Enroll(context.Background(), EnrollOptions{Token: tok, Host: HostInfo{Hostname: "h", OS: "linux", Arch: "amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	if id.DeviceID != testDevice || !id.CA.Equal(pki.CA) {
		t.Fatalf("identity %+v", id)
	}
	dir := filepath.Join(t.TempDir(), "state")
	if err := Save(dir, id); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{".": 0o700, IdentityFile: 0o600, KeyFile: 0o600, CAFile: 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != want {
			t.Fatalf("%s: mode %v err %v, want %v", name, fi.Mode().Perm(), err, want)
		}
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.DeviceID != id.DeviceID || !got.Key.Equal(id.Key) || !got.CA.Equal(id.CA) || got.HubURL != srv.URL {
		t.Fatalf("loaded %+v", got)
	}
	if !strings.HasPrefix(got.ConnectURL(), "wss://127.0.0.1:") || !strings.HasSuffix(got.ConnectURL(), wire.ConnectPath) {
		t.Fatalf("connect url %s", got.ConnectURL())
	}
	// The saved TLS config trusts the hub.
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: got.TLSConfig()}}
	resp, err := c.Get(srv.URL + "/x")
	if err != nil {
		t.Fatalf("trusted config refused the hub: %v", err)
	}
	resp.Body.Close()
	_ = ed25519.PublicKey(nil)
}

func TestEnrollWrongCA(t *testing.T) {
	pki, _ := identitytest.New()
	other, _ := identitytest.New()
	srv := fakeEnrollHub(t, pki, okHandler(t))
	tok := wire.EnrollToken{HubURL: srv.URL, CAFingerprint: Fingerprint(other.CA.Raw), Secret: "s3cret-s3cret-s3cret"}
	_, err := Enroll(context.Background(), EnrollOptions{Token: tok})
	var pe *PinError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "not signed by the CA pinned in the enrollment token") ||
		!strings.Contains(err.Error(), "wrong hub or interception") {
		t.Fatalf("err = %v", err)
	}
	// Later connections with ca.pem of another CA are refused too.
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: TrustedTLSConfig(other.CA, "127.0.0.1")}}
	if _, err := c.Get(srv.URL); err == nil {
		t.Fatal("trusted config accepted a hub of another CA")
	}
}

func TestEnrollHubRefuses(t *testing.T) {
	pki, _ := identitytest.New()
	srv := fakeEnrollHub(t, pki, okHandler(t))
	tok := wire.EnrollToken{HubURL: srv.URL, CAFingerprint: Fingerprint(pki.CA.Raw), Secret: "wrong-wrong-wrong-wrong"}
	_, err := Enroll(context.Background(), EnrollOptions{Token: tok})
	var ee *EnrollError
	if !errors.As(err, &ee) || ee.Status != 401 || !strings.Contains(err.Error(), "enrollment token expired") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadRefusesBadState(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); !errors.Is(err, ErrNotEnrolled) || !strings.Contains(err.Error(), "tierline-agent enroll --token") {
		t.Fatalf("empty dir: %v", err)
	}
	pki, _ := identitytest.New()
	_, priv, _ := ed25519.GenerateKey(nil)
	id := &Identity{DeviceID: testDevice, HubURL: "https://127.0.0.1:8443", CAFingerprint: Fingerprint(pki.CA.Raw), Key: priv, CA: pki.CA}
	if err := Save(dir, id); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, KeyFile), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "readable by group or others") {
		t.Fatalf("world-readable key: %v", err)
	}
	os.Chmod(filepath.Join(dir, KeyFile), 0o600)
	other, _ := identitytest.New()
	id.CA = other.CA
	Save(dir, id) // fingerprint in identity.json still the first CA
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not the CA pinned") {
		t.Fatalf("swapped ca.pem: %v", err)
	}
}
