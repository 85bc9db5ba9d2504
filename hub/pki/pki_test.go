package pki

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLoadOrCreate(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	a, err := LoadOrCreate(dir, []string{"localhost", "127.0.0.1", "hub.example"}, now)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(a.CA)
	for _, host := range []string{"localhost", "127.0.0.1", "hub.example"} {
		if _, err := a.Certificate.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: host}); err != nil {
			t.Errorf("server certificate does not verify for %s: %v", host, err)
		}
	}
	for _, f := range []string{CAKeyFile, CertKeyFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want 0600", f, err, st.Mode().Perm())
		}
	}
	// A second start keeps the CA (agents pin it) and the certificate.
	b, err := LoadOrCreate(dir, []string{"localhost", "127.0.0.1", "hub.example"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if b.Fingerprint() != a.Fingerprint() || !b.Certificate.Leaf.Equal(a.Certificate.Leaf) {
		t.Error("second start changed the CA or certificate")
	}
	// A new name reissues the certificate under the same CA.
	c, err := LoadOrCreate(dir, []string{"localhost", "other.example"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Fingerprint() != a.Fingerprint() || c.Certificate.Leaf.VerifyHostname("other.example") != nil {
		t.Error("new host name did not reissue the certificate under the same CA")
	}
	ca, err := LoadCA(dir)
	if err != nil || Fingerprint(ca) != a.Fingerprint() {
		t.Errorf("LoadCA: %v", err)
	}
	if _, err := LoadCA(t.TempDir()); err == nil {
		t.Error("LoadCA of an empty directory succeeded")
	}
}
