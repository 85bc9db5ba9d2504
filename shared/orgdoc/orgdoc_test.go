package orgdoc_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/tierline/tierline/shared/orgdoc"
)

func key(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func TestKeyChange(t *testing.T) {
	oldPub, oldPriv := key(t)
	newPub, _ := key(t)
	doc, err := orgdoc.Sign(oldPriv, orgdoc.KindKeyChange, orgdoc.KeyChange{New: orgdoc.EncodePublicKey(newPub), Serial: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Verify(oldPub); err != nil {
		t.Fatal(err)
	}
	var kc orgdoc.KeyChange
	if err := doc.DecodeBody(orgdoc.KindKeyChange, &kc); err != nil || kc.Validate() != nil {
		t.Fatalf("decode key change: %v", err)
	}
	if err := doc.Verify(newPub); err == nil {
		t.Fatal("a key change verified against the new key")
	}
	if err := (orgdoc.KeyChange{New: "short", Serial: 1}).Validate(); err == nil {
		t.Fatal("a key change without a key validated")
	}
}

func TestKeygenFiles(t *testing.T) {
	dir := t.TempDir()
	pub, err := orgdoc.Keygen(dir)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := orgdoc.LoadPrivateKey(dir + "/" + orgdoc.PrivateKeyFile)
	if err != nil || !priv.Public().(ed25519.PublicKey).Equal(pub) {
		t.Fatalf("LoadPrivateKey: %v", err)
	}
	got, err := orgdoc.ReadPublicKey(dir + "/" + orgdoc.PublicKeyFile)
	if err != nil || !got.Equal(pub) {
		t.Fatalf("ReadPublicKey: %v", err)
	}
	if _, err := orgdoc.Keygen(dir); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Fatalf("second keygen: %v", err)
	}
}
