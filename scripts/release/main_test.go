package main

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tierline/tierline/agent/update"
)

func TestKeygenSignVerify(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "keys", "release.key")
	var out bytes.Buffer
	if err := run([]string{"pubkey", "--key", key, "--create"}, &out); err != nil {
		t.Fatal(err)
	}
	pubText := strings.TrimSpace(out.String())
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if _, err := Keygen(key); err == nil {
		t.Fatal("keygen overwrote an existing key")
	}
	bin := filepath.Join(dir, "tierline-agent")
	os.WriteFile(bin, []byte("agent"), 0o755)
	out.Reset()
	if err := run([]string{"sign", "--key", key, "--binary", bin, "--version", "1.2.3", "--os", "linux", "--arch", "arm64"}, &out); err != nil {
		t.Fatal(err)
	}
	m, _ := os.ReadFile(bin + ".manifest.json")
	s, _ := os.ReadFile(bin + ".manifest.sig")
	pub, err := update.ParsePublicKey(pubText)
	if err != nil {
		t.Fatal(err)
	}
	got, err := update.Verify(pub, m, string(s))
	if err != nil || got.Version != "1.2.3" || got.Arch != "arm64" || got.Size != 5 {
		t.Fatalf("Verify = %+v, %v", got, err)
	}
	if err := run([]string{"sign", "--key", key, "--binary", bin, "--version", "dev"}, &out); err == nil {
		t.Fatal("a version that is not semantic was signed")
	}
	_ = ed25519.PublicKeySize
}
