// Package update installs signed agent releases offered by the hub.
//
// A release is a manifest (JSON: product, version, os, arch, sha256, size)
// signed with the release key (ed25519). The release public key is baked
// into the agent at build time (ReleasePublicKey, set with -ldflags -X); the
// hub never holds the private key, so a hub, or anyone who owns it, can only
// offer releases that the release key signed. The agent checks the
// signature, refuses downgrades and other platforms, checks the binary's size
// and SHA-256, runs the candidate in probe mode (it must load the identity
// and be welcomed by the hub), swaps it in atomically keeping the previous
// binary, restarts, and rolls back when the new version does not connect
// within a time limit.
package update

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Product is the manifest's product name for the agent.
const Product = "tierline-agent"

// ReleasePublicKey is the base64 (standard encoding) ed25519 public key that
// release manifests must be signed with. It is set at build time:
//
//	-ldflags "-X github.com/tierline/tierline/agent/update.ReleasePublicKey=BASE64"
//
// An agent built without it refuses every update.
var ReleasePublicKey = ""

// signContext separates release signatures from every other use of a key.
const signContext = "tierline-release-v1\x00"

// MaxManifestSize bounds a manifest and its signature.
const MaxManifestSize = 16 << 10

// Manifest describes one release binary. The signed bytes are the exact JSON
// the signing tool wrote; fields are only read after the signature checks.
type Manifest struct {
	Product string    `json:"product"`
	Version string    `json:"version"`
	OS      string    `json:"os"`
	Arch    string    `json:"arch"`
	SHA256  string    `json:"sha256"`
	Size    int64     `json:"size"`
	Created time.Time `json:"created,omitzero"`
}

// Validate checks a manifest's fields.
func (m Manifest) Validate() error {
	if m.Product != Product {
		return fmt.Errorf("manifest is for %q, not %s", m.Product, Product)
	}
	if _, err := ParseVersion(m.Version); err != nil {
		return fmt.Errorf("manifest version: %w", err)
	}
	if m.OS == "" || m.Arch == "" || strings.ContainsAny(m.OS+m.Arch, "/\\ ") {
		return fmt.Errorf("manifest os/arch %q/%q is not valid", m.OS, m.Arch)
	}
	if b, err := hex.DecodeString(m.SHA256); err != nil || len(b) != 32 || strings.ToLower(m.SHA256) != m.SHA256 {
		return errors.New("manifest sha256 must be 64 lowercase hex digits")
	}
	if m.Size <= 0 || m.Size > 1<<30 {
		return fmt.Errorf("manifest size %d is out of range", m.Size)
	}
	return nil
}

// Encode renders the manifest as the bytes to sign.
func (m Manifest) Encode() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParseManifest decodes manifest bytes (after their signature checked).
func ParseManifest(raw []byte) (Manifest, error) {
	var m Manifest
	if len(raw) > MaxManifestSize {
		return m, fmt.Errorf("manifest is larger than %d bytes", MaxManifestSize)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("manifest is not valid JSON: %w", err)
	}
	return m, m.Validate()
}

// Sign signs manifest bytes with the release private key and returns the
// signature as base64 text (the .sig file's content).
func Sign(priv ed25519.PrivateKey, manifest []byte) string {
	sig := ed25519.Sign(priv, append([]byte(signContext), manifest...))
	return base64.StdEncoding.EncodeToString(sig)
}

// ErrBadSignature: the manifest is not signed by the release key.
var ErrBadSignature = errors.New("release signature does not verify against this agent's release key")

// ErrNoReleaseKey: the agent was built without a release key.
var ErrNoReleaseKey = errors.New("this agent was built without a release public key (RELEASE_PUBKEY), so it installs no updates; rebuild it with one")

// ParsePublicKey decodes a base64 ed25519 public key.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, ErrNoReleaseKey
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("release public key must be 32 bytes in base64")
	}
	return ed25519.PublicKey(b), nil
}

// Verify checks sig (base64 text) over manifest with pub and returns the
// parsed manifest.
func Verify(pub ed25519.PublicKey, manifest []byte, sig string) (Manifest, error) {
	if len(pub) != ed25519.PublicKeySize {
		return Manifest{}, ErrNoReleaseKey
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil || len(raw) != ed25519.SignatureSize {
		return Manifest{}, fmt.Errorf("%w: signature is not a base64 ed25519 signature", ErrBadSignature)
	}
	if !ed25519.Verify(pub, append([]byte(signContext), manifest...), raw) {
		return Manifest{}, ErrBadSignature
	}
	return ParseManifest(manifest)
}

// Version is a parsed semantic version: MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD],
// with an optional leading v.
type Version struct {
	Major, Minor, Patch int
	Pre                 string
}

// ParseVersion parses a semantic version.
func ParseVersion(s string) (Version, error) {
	var v Version
	orig := s
	s = strings.TrimPrefix(s, "v")
	if i := strings.IndexByte(s, '+'); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '-'); i >= 0 {
		v.Pre = s[i+1:]
		s = s[:i]
		if v.Pre == "" {
			return v, fmt.Errorf("%q is not a semantic version (empty pre-release)", orig)
		}
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return v, fmt.Errorf("%q is not a semantic version such as 1.4.2", orig)
	}
	nums := []*int{&v.Major, &v.Minor, &v.Patch}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || (len(p) > 1 && p[0] == '0') {
			return v, fmt.Errorf("%q is not a semantic version such as 1.4.2", orig)
		}
		*nums[i] = n
	}
	return v, nil
}

// Compare returns -1, 0 or 1 as a is older than, the same as, or newer than b.
func (a Version) Compare(b Version) int {
	for _, d := range []int{a.Major - b.Major, a.Minor - b.Minor, a.Patch - b.Patch} {
		if d != 0 {
			return sign(d)
		}
	}
	switch {
	case a.Pre == b.Pre:
		return 0
	case a.Pre == "":
		return 1
	case b.Pre == "":
		return -1
	}
	ap, bp := strings.Split(a.Pre, "."), strings.Split(b.Pre, ".")
	for i := 0; i < len(ap) && i < len(bp); i++ {
		an, aerr := strconv.Atoi(ap[i])
		bn, berr := strconv.Atoi(bp[i])
		switch {
		case aerr == nil && berr == nil:
			if an != bn {
				return sign(an - bn)
			}
		case aerr == nil:
			return -1
		case berr == nil:
			return 1
		default:
			if c := strings.Compare(ap[i], bp[i]); c != 0 {
				return c
			}
		}
	}
	return sign(len(ap) - len(bp))
}

func sign(d int) int {
	switch {
	case d < 0:
		return -1
	case d > 0:
		return 1
	}
	return 0
}

// IsUpgrade reports whether moving from current to target is an upgrade. A
// current version that is not a semantic version (a development build)
// accepts any release; a target that is not newer is refused.
func IsUpgrade(current, target string) (bool, error) {
	t, err := ParseVersion(target)
	if err != nil {
		return false, err
	}
	c, err := ParseVersion(current)
	if err != nil {
		return true, nil
	}
	return t.Compare(c) > 0, nil
}
