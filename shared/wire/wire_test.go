package wire

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/shared/diag"
)

func TestRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	bodies := []Body{
		Challenge{Nonce: bytes.Repeat([]byte{7}, NonceSize), HubTime: now},
		Hello{DeviceID: strings.Repeat("a", 32), Signature: make([]byte, 64), OS: "linux", SpoolDepth: 3},
		Welcome{DeviceID: strings.Repeat("b", 32), HubTime: now, LastSeq: 42},
		Telemetry{Sample: diag.Sample{Time: now, CPU: diag.CPU{TotalPct: 12.5}}, SpoolDropped: 2},
		Inventory{Inventory: diag.Inventory{Hostname: "pc-1"}},
		Health{Checks: []diag.CheckResult{{Name: "disk-almost-full", Status: diag.StatusWarning, Time: now}}},
		Ack{Seq: 9},
		Error{Code: CodeBadBody, Message: "no", Seq: 3},
		CheckRequest{RequestID: "r1", Names: []string{"disk-almost-full"}},
	}
	for _, b := range bodies {
		frame, err := Encode("id1", 5, now, b)
		if err != nil {
			t.Fatalf("%s: encode: %v", b.Type(), err)
		}
		env, err := Decode(frame)
		if err != nil {
			t.Fatalf("%s: decode: %v", b.Type(), err)
		}
		if env.Seq != 5 || env.ID != "id1" || env.Type != b.Type() || !env.Time.Equal(now) {
			t.Errorf("%s: envelope %+v", b.Type(), env)
		}
		got, err := DecodeAny(env)
		if err != nil {
			t.Fatalf("%s: body: %v", b.Type(), err)
		}
		// DecodeAny returns a pointer to the registered type.
		if diff := cmp.Diff(b, derefBody(got)); diff != "" {
			t.Errorf("%s round trip (-want +got):\n%s", b.Type(), diff)
		}
	}
}

func derefBody(b Body) Body {
	switch v := b.(type) {
	case *Challenge:
		return *v
	case *Hello:
		return *v
	case *Welcome:
		return *v
	case *Telemetry:
		return *v
	case *Inventory:
		return *v
	case *Health:
		return *v
	case *Ack:
		return *v
	case *Error:
		return *v
	case *CheckRequest:
		return *v
	}
	return b
}

func TestDecodeRefusals(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		code  string
	}{
		{"garbage", "{not json", CodeBadFrame},
		{"empty", "", CodeBadFrame},
		{"array", "[1,2]", CodeBadFrame},
		{"trailing", `{"v":1,"type":"ack","id":"a","time":"2026-11-23T00:00:00Z"} {}`, CodeBadFrame},
		{"old version", `{"v":0,"type":"ack","id":"a","time":"2026-11-23T00:00:00Z"}`, CodeUnsupportedVersion},
		{"future version", `{"v":2,"type":"ack","id":"a","time":"2026-11-23T00:00:00Z"}`, CodeUnsupportedVersion},
		{"unknown type", `{"v":1,"type":"exec","id":"a","time":"2026-11-23T00:00:00Z"}`, CodeUnknownType},
		{"long id", `{"v":1,"type":"ack","id":"` + strings.Repeat("x", 65) + `","time":"2026-11-23T00:00:00Z"}`, CodeBadFrame},
		{"too large", `{"v":1,"type":"ack","id":"` + strings.Repeat("x", MaxFrameSize) + `"}`, CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.frame))
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Code != tt.code {
				t.Fatalf("Decode: %v, want code %s", err, tt.code)
			}
			if pe.Message == "" {
				t.Error("error has no message")
			}
		})
	}
}

func TestBodyRefusals(t *testing.T) {
	tests := []struct {
		name  string
		frame string
	}{
		{"no body", `{"v":1,"type":"ack","id":"a","time":"2026-11-23T00:00:00Z"}`},
		{"wrong shape", `{"v":1,"type":"ack","id":"a","time":"2026-11-23T00:00:00Z","body":{"seq":"x"}}`},
		{"short nonce", `{"v":1,"type":"challenge","id":"a","time":"2026-11-23T00:00:00Z","body":{"nonce":"AAAA"}}`},
		{"bad device id", `{"v":1,"type":"hello","id":"a","time":"2026-11-23T00:00:00Z","body":{"device_id":"../etc","signature":"AAAA"}}`},
		{"telemetry without time", `{"v":1,"type":"telemetry","id":"a","time":"2026-11-23T00:00:00Z","body":{"sample":{}}}`},
		{"check request without id", `{"v":1,"type":"check_request","id":"a","time":"2026-11-23T00:00:00Z","body":{"names":["dns-resolution"]}}`},
		{"check request with a path", `{"v":1,"type":"check_request","id":"a","time":"2026-11-23T00:00:00Z","body":{"request_id":"r","names":["../../bin/sh"]}}`},
		{"health without name", `{"v":1,"type":"health","id":"a","time":"2026-11-23T00:00:00Z","body":{"checks":[{"status":"ok"}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := Decode([]byte(tt.frame))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if _, err := DecodeAny(env); CodeOf(err) != CodeBadBody {
				t.Fatalf("DecodeAny: %v, want %s", err, CodeBadBody)
			}
		})
	}
	env, _ := Decode([]byte(`{"v":1,"type":"ack","id":"a","time":"2026-11-23T00:00:00Z","body":{"seq":1}}`))
	if _, err := DecodeBody[Hello](env); CodeOf(err) != CodeUnexpected {
		t.Errorf("DecodeBody of the wrong type: %v", err)
	}
}

func TestEnrollToken(t *testing.T) {
	tok := EnrollToken{HubURL: "https://hub.example:8443", CAFingerprint: strings.Repeat("0f", 32), Secret: strings.Repeat("s", 43)}
	got, err := ParseEnrollToken("  " + tok.Encode() + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if got != tok {
		t.Errorf("got %+v", got)
	}
	for name, s := range map[string]string{
		"empty":     "",
		"no prefix": "abc",
		"bad b64":   TokenPrefix + "!!!",
		"not json":  TokenPrefix + "bm90IGpzb24",
		"http":      EnrollToken{HubURL: "http://x", CAFingerprint: tok.CAFingerprint, Secret: tok.Secret}.Encode(),
		"short fp":  EnrollToken{HubURL: tok.HubURL, CAFingerprint: "00", Secret: tok.Secret}.Encode(),
		"no secret": EnrollToken{HubURL: tok.HubURL, CAFingerprint: tok.CAFingerprint}.Encode(),
		"huge":      TokenPrefix + strings.Repeat("A", 5000),
	} {
		if _, err := ParseEnrollToken(s); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestEnrollRequestProof(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	req := EnrollRequest{Secret: "secret", PublicKey: pub, OS: "linux", Proof: ed25519.Sign(priv, EnrollMessage("secret", pub))}
	if err := req.Validate(); err != nil {
		t.Fatal(err)
	}
	req.Secret = "other"
	if err := req.Validate(); err == nil {
		t.Error("proof over another secret accepted")
	}
}

// TestSeedCorpusPresent keeps a seed corpus in testdata/fuzz for every
// decoder's fuzz test, so plain `go test` replays them.
func TestSeedCorpusPresent(t *testing.T) {
	for _, fuzz := range []string{"FuzzDecode", "FuzzParseEnrollToken", "FuzzEnrollRequest"} {
		entries, err := os.ReadDir(filepath.Join("testdata", "fuzz", fuzz))
		if err != nil || len(entries) == 0 {
			t.Errorf("no seed corpus for %s in testdata/fuzz: %v", fuzz, err)
		}
	}
}

// A policy_update carrying a policy that does not validate is refused
// with the field named, as the agent reports it.
func TestPolicyUpdateValidates(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"group":"lab","version":1,"policy":{"max_tier":9}}`, "max_tier"},
		{`{"group":"lab","version":1}`, "version above 0"},
		{`{"group":"lab","version":0,"policy":{}}`, "version above 0"},
		{`{"group":"lab","version":1,"policy":{"checks":[{"name":"x","title":"t","http":{"url":"file:///etc/shadow"}}]}}`, "checks[0].http.url"},
	} {
		frame := []byte(`{"v":1,"type":"policy_update","id":"p","time":"2026-12-06T00:00:00Z","body":` + tc.body + `}`)
		env, err := Decode(frame)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeBody[PolicyUpdate](env); err == nil || CodeOf(err) != CodeBadBody || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want bad_body naming %s", tc.body, err, tc.want)
		}
	}
}
