package wire

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tierline/tierline/shared/orgdoc"
)

// TokenPrefix starts every enrollment token.
const TokenPrefix = "tl1."

// EnrollToken is what `tierline-hub token create` prints, decoded: where the
// hub is, which CA to trust (pinned from first contact), and the secret.
type EnrollToken struct {
	HubURL string `json:"u"`
	// CAFingerprint is the lowercase hex SHA-256 of the hub CA certificate (DER).
	CAFingerprint string `json:"f"`
	Secret        string `json:"s"`
	// RecipeKey, when set, is the organisation's recipe signing public key
	// (base64) that the agent pins at enrollment (docs/recipes.md).
	RecipeKey string `json:"r,omitempty"`
}

// Encode renders the token as a single copy-pasteable string.
func (t EnrollToken) Encode() string {
	raw, _ := json.Marshal(t)
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
}

// ParseEnrollToken decodes and checks a token string.
func ParseEnrollToken(s string) (EnrollToken, error) {
	var t EnrollToken
	s = strings.TrimSpace(s)
	if len(s) > 4096 {
		return t, errors.New("enrollment token is too long; copy it again from `tierline-hub token create`")
	}
	if !strings.HasPrefix(s, TokenPrefix) {
		return t, errors.New("not a Tierline enrollment token (it should start with \"tl1.\"); copy it again from `tierline-hub token create`")
	}
	raw, err := base64.RawURLEncoding.DecodeString(s[len(TokenPrefix):])
	if err != nil {
		return t, errors.New("enrollment token is damaged (bad base64); copy it again in full")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return EnrollToken{}, errors.New("enrollment token is damaged (bad contents); copy it again in full")
	}
	u, err := url.Parse(t.HubURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return EnrollToken{}, fmt.Errorf("enrollment token names hub %q, which is not an https:// URL", t.HubURL)
	}
	if fp, err := hex.DecodeString(t.CAFingerprint); err != nil || len(fp) != 32 {
		return EnrollToken{}, errors.New("enrollment token has no valid CA fingerprint")
	}
	if len(t.Secret) < 16 || len(t.Secret) > 128 {
		return EnrollToken{}, errors.New("enrollment token has no valid secret")
	}
	if t.RecipeKey != "" {
		if _, err := orgdoc.ParsePublicKey(t.RecipeKey); err != nil {
			return EnrollToken{}, fmt.Errorf("enrollment token's recipe key: %w", err)
		}
	}
	return t, nil
}

// EnrollRequest is POSTed by an agent to EnrollPath over TLS pinned to the
// token's CA.
type EnrollRequest struct {
	Secret       string `json:"secret"`
	PublicKey    []byte `json:"public_key"` // ed25519
	Hostname     string `json:"hostname"`
	OS           string `json:"os"`
	Arch         string `json:"arch"`
	Platform     string `json:"platform,omitempty"`
	AgentVersion string `json:"agent_version"`
	// Proof signs EnrollMessage(secret, public key) with the new private key.
	Proof []byte `json:"proof"`
}

// Validate checks the request's form and its proof of key possession.
func (r EnrollRequest) Validate() error {
	if len(r.PublicKey) != ed25519.PublicKeySize {
		return errors.New("public_key must be an ed25519 public key")
	}
	if r.Secret == "" || len(r.Secret) > 128 {
		return errors.New("secret is missing or too long")
	}
	if err := checkLens(map[string]string{
		"agent_version": r.AgentVersion, "hostname": r.Hostname, "os": r.OS, "arch": r.Arch, "platform": r.Platform,
	}, 255); err != nil {
		return err
	}
	if len(r.Proof) != ed25519.SignatureSize || !ed25519.Verify(r.PublicKey, EnrollMessage(r.Secret, r.PublicKey), r.Proof) {
		return errors.New("proof does not verify against public_key")
	}
	return nil
}

// EnrollResponse answers a successful enrollment.
type EnrollResponse struct {
	DeviceID string    `json:"device_id"`
	HubTime  time.Time `json:"hub_time"`
}

// APIError is the JSON body of every error response of the hub's HTTP API.
type APIError struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"`
}

// EnrollMessage is what an enrolling agent signs.
func EnrollMessage(secret string, pub []byte) []byte {
	return append([]byte("tierline-enroll-v1\x00"+secret+"\x00"), pub...)
}

// AuthMessage is what a connecting agent signs to answer a challenge.
func AuthMessage(nonce []byte, deviceID string) []byte {
	return append([]byte("tierline-auth-v1\x00"+deviceID+"\x00"), nonce...)
}
