package health

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/policy"
)

// TestURLCheckVerifiesAgainstSystemRoots: a URL check over HTTPS trusts a
// server whose root is in the system's bundle (SSL_CERT_FILE) and no
// other; it checks the name too; and a root added to the bundle later is
// found without restarting the agent.
func TestURLCheckVerifiesAgainstSystemRoots(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer srv.Close()
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle.pem")
	if err := os.WriteFile(bundle, []byte("# no roots of this test yet\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", bundle)
	t.Setenv("SSL_CERT_DIR", filepath.Join(dir, "none"))
	systemRoots.mu.Lock()
	systemRoots.stamp, systemRoots.found = "", nil
	systemRoots.mu.Unlock()
	d := &declared{cfg: &Config{}, env: Env{}}
	check := func(url string) diag.CheckResult {
		return d.run(context.Background(), policy.Check{Name: "portal", Title: "Portal", HTTP: &policy.HTTPCheck{URL: url, Status: 204}})
	}
	res := check(srv.URL)
	if res.Status != diag.StatusFailing || !strings.Contains(evidenceText(res), "unknown authority") {
		t.Fatalf("an untrusted server: %s %q %s", res.Status, res.Summary, evidenceText(res))
	}
	// The organisation's root goes into the bundle (update-ca-certificates).
	root := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(bundle, append([]byte("# with the test's root\n"), root...), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := check(srv.URL); res.Status != diag.StatusOK {
		t.Fatalf("a server of a root in the bundle: %s %q %s", res.Status, res.Summary, evidenceText(res))
	}
	// The test certificate names 127.0.0.1 and example.com, not localhost.
	if res := check(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)); res.Status != diag.StatusFailing ||
		!strings.Contains(evidenceText(res), "not localhost") && !strings.Contains(evidenceText(res), "valid for") {
		t.Fatalf("a name the certificate does not carry: %s %q %s", res.Status, res.Summary, evidenceText(res))
	}
}
