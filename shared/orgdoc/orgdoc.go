// Package orgdoc is the organisation's signed documents: what the help desk
// adds to its agents without a new agent release (fix recipes, and later
// other kinds), each signed offline with the organisation's own ed25519 key.
//
// The agent pins the organisation's public key at install or enrollment and
// accepts a document only when that key signed it. The hub stores and
// forwards documents but never holds the private key, so a hub, or anyone
// who owns it, can choose which signed documents a device gets and nothing
// else. A key is changed only by a key-change document signed by the key it
// replaces, or by the machine's administrator locally. See docs/recipes.md.
//
// A Signed document carries its kind, its body as canonical JSON (the
// exact bytes encoding/json writes for the typed document, so one document
// has one encoding: no reordered or duplicate keys, no extra space), the id
// of the key that signed it and the signature over a context string, the
// kind and the body.
package orgdoc

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Kinds of signed documents.
const (
	KindRecipe    = "recipe"
	KindKeyChange = "key-change"
	// KindSoftware is a self-service software catalog entry
	// (shared/software).
	KindSoftware = "software"
)

// Kinds lists the document kinds this version knows.
var Kinds = []string{KindRecipe, KindKeyChange, KindSoftware}

// MaxSize bounds one signed document as JSON.
const MaxSize = 64 << 10

// signContext separates these signatures from every other use of a key.
const signContext = "tierline-orgdoc-v1\x00"

// File names keygen writes.
const (
	PrivateKeyFile = "recipe-signing.key"
	PublicKeyFile  = "recipe-signing.pub"
)

// Signed is one signed document.
type Signed struct {
	Kind string          `json:"kind"`
	Body json.RawMessage `json:"body"`
	// Key is the signing key's id (KeyID).
	Key string `json:"key"`
	Sig []byte `json:"sig"`
}

// Error says why a document is refused. Its text is safe to show.
type Error struct{ Reason string }

func (e *Error) Error() string { return e.Reason }

func refuse(format string, args ...any) error { return &Error{Reason: fmt.Sprintf(format, args...)} }

// KeyID is the first 16 hex digits of the SHA-256 of a public key: what
// documents, listings and the console show as the signer.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

func message(kind string, body []byte) []byte {
	m := make([]byte, 0, len(signContext)+len(kind)+1+len(body))
	m = append(m, signContext...)
	m = append(m, kind...)
	m = append(m, 0)
	return append(m, body...)
}

// Sign encodes doc canonically and signs it as kind.
func Sign(priv ed25519.PrivateKey, kind string, doc any) (Signed, error) {
	if !slices.Contains(Kinds, kind) {
		return Signed{}, fmt.Errorf("unknown document kind %q", kind)
	}
	if len(priv) != ed25519.PrivateKeySize {
		return Signed{}, errors.New("not an ed25519 private key")
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return Signed{}, fmt.Errorf("encode %s: %w", kind, err)
	}
	pub := priv.Public().(ed25519.PublicKey)
	return Signed{Kind: kind, Body: body, Key: KeyID(pub), Sig: ed25519.Sign(priv, message(kind, body))}, nil
}

// Encode renders the signed document as the JSON that files, the API and
// the wire carry.
func (s Signed) Encode() ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("signed document is %d bytes; at most %d", len(b), MaxSize)
	}
	return b, nil
}

// Decode reads a signed document's envelope: size, strict JSON, a known
// kind, a signature of the right length. It does not verify the signature
// (Verify does).
func Decode(raw []byte) (Signed, error) {
	var s Signed
	if len(raw) > MaxSize {
		return s, refuse("signed document is %d bytes; at most %d", len(raw), MaxSize)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Signed{}, refuse("not a signed document (JSON with kind, body, key and sig): %v", err)
	}
	if dec.More() {
		return Signed{}, refuse("trailing data after the signed document")
	}
	return s, s.Check()
}

// Check checks the envelope's form.
func (s Signed) Check() error {
	if !slices.Contains(Kinds, s.Kind) {
		return refuse("unknown document kind %q (known: %s)", clip(s.Kind), strings.Join(Kinds, ", "))
	}
	if len(s.Body) == 0 || len(s.Body) > MaxSize {
		return refuse("%s document has no body, or one over %d bytes", s.Kind, MaxSize)
	}
	if len(s.Sig) != ed25519.SignatureSize {
		return refuse("%s document has no ed25519 signature", s.Kind)
	}
	if len(s.Key) != 16 {
		return refuse("%s document names no signing key", s.Kind)
	}
	return nil
}

// Verify checks that pub signed the document. A document signed by
// another key, or changed after signing, is refused with the reason.
func (s Signed) Verify(pub ed25519.PublicKey) error {
	if err := s.Check(); err != nil {
		return err
	}
	if len(pub) != ed25519.PublicKeySize {
		return refuse("no organisation signing key is pinned on this device, so it accepts no signed documents " +
			"(pin one with `tierline-agent recipe-key set` as root, or enroll with a token made with --recipe-key)")
	}
	if s.Key != KeyID(pub) {
		return refuse("%s is signed by key %s, not by the key pinned on this device (%s)", s.Kind, clip(s.Key), KeyID(pub))
	}
	if !ed25519.Verify(pub, message(s.Kind, s.Body), s.Sig) {
		return refuse("%s signature does not verify against the pinned key %s: the document was changed after it was signed", s.Kind, KeyID(pub))
	}
	return nil
}

// DecodeBody decodes a verified document's body into v strictly and
// checks it is canonical: re-encoding v gives the signed bytes exactly.
func (s Signed) DecodeBody(kind string, v any) error {
	if s.Kind != kind {
		return refuse("expected a %s document, got %s", kind, clip(s.Kind))
	}
	dec := json.NewDecoder(bytes.NewReader(s.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return refuse("%s body: %v", kind, err)
	}
	if dec.More() {
		return refuse("%s body: trailing data", kind)
	}
	again, err := json.Marshal(v)
	if err != nil || !bytes.Equal(again, s.Body) {
		return refuse("%s body is not in canonical form (sign it with `tierline-hub recipe sign`)", kind)
	}
	return nil
}

// KeyChange replaces the pinned key. It must be signed by the key it
// replaces; Serial must be above that of every key change the device has
// applied, so an old change cannot be replayed.
type KeyChange struct {
	// New is the new public key, base64.
	New    string `json:"new"`
	Serial int64  `json:"serial"`
	Note   string `json:"note,omitempty"`
}

// Validate checks a key change's fields.
func (k KeyChange) Validate() error {
	if _, err := ParsePublicKey(k.New); err != nil {
		return refuse("key change: new key: %v", err)
	}
	if k.Serial < 1 {
		return refuse("key change: serial must be 1 or more")
	}
	if len(k.Note) > 500 {
		return refuse("key change: note is longer than 500 bytes")
	}
	return nil
}

// ParsePublicKey reads a public key as keygen writes it: base64 of the 32
// key bytes (surrounding space ignored).
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("an organisation public key is 32 bytes in base64 (the .pub file `tierline-hub recipe keygen` writes)")
	}
	return ed25519.PublicKey(b), nil
}

// EncodePublicKey is the text form of pub.
func EncodePublicKey(pub ed25519.PublicKey) string { return base64.StdEncoding.EncodeToString(pub) }

// ReadPublicKey reads a public key file.
func ReadPublicKey(file string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if len(b) > 4096 {
		return nil, fmt.Errorf("%s: too large for a public key", file)
	}
	pub, err := ParsePublicKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return pub, nil
}

// Keygen makes a signing key in dir: PrivateKeyFile (PKCS#8 PEM, 0600,
// never overwritten) and PublicKeyFile (0644). It returns the public key.
func Keygen(dir string) (ed25519.PublicKey, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	privFile, pubFile := filepath.Join(dir, PrivateKeyFile), filepath.Join(dir, PublicKeyFile)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(privFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%s exists; a signing key is never overwritten (move it away first, and see docs/recipes.md on rotating keys)", privFile)
		}
		return nil, err
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(pubFile, []byte(EncodePublicKey(pub)+"\n"), 0o644); err != nil {
		return nil, err
	}
	return pub, nil
}

// LoadPrivateKey reads a key Keygen wrote, refusing one others can read.
func LoadPrivateKey(file string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 && os.PathSeparator == '/' {
		return nil, fmt.Errorf("%s is readable by group or others (mode %v); fix with: chmod 600 %s", file, fi.Mode().Perm(), file)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s is not a PEM private key", file)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s is not an ed25519 key", file)
	}
	return priv, nil
}

func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return strings.ToValidUTF8(s[:64], "") + "…"
}

// Doc is a typed document that checks itself (a recipe, a software
// catalog entry).
type Doc interface{ Validate() error }

// SignDoc checks d and signs it as kind with the organisation's key.
func SignDoc[D Doc](priv ed25519.PrivateKey, kind string, d D) (Signed, error) {
	if err := d.Validate(); err != nil {
		return Signed{}, err
	}
	return Sign(priv, kind, d)
}

// OpenDoc verifies s against pub and returns its body, a D of kind,
// checked.
func OpenDoc[D Doc](s Signed, kind string, pub ed25519.PublicKey) (D, error) {
	if err := s.Verify(pub); err != nil {
		var zero D
		return zero, err
	}
	return ParseDoc[D](s, kind)
}

// ParseDoc decodes and checks s's body, a D of kind, without verifying
// the signature: for the hub, which holds no key, and after Verify.
func ParseDoc[D Doc](s Signed, kind string) (D, error) {
	var d D
	if err := s.DecodeBody(kind, &d); err != nil {
		return d, err
	}
	return d, d.Validate()
}

// ValidID says whether s is a document id: 1 to 64 of a-z, 0-9 and '-'.
func ValidID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// Clip shortens untrusted text quoted in an error to 64 bytes.
func Clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return strings.ToValidUTF8(s[:64], "") + "…"
}
