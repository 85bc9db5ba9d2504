// Package identity is the agent's enrolled identity: its device id, its
// ed25519 key, and the hub CA it pins. It enrolls a device against a hub and
// loads and saves the state directory:
//
//	DIR/               0700
//	  identity.json    0600  {device_id, hub_url, ca_fingerprint, enrolled_at}
//	  key.pem          0600  PKCS#8 ed25519 private key
//	  ca.pem           0644  the pinned hub CA certificate
//	  spool/           0700  the outbox (package spool)
package identity

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/tierline/tierline/agent/fsutil"
	"github.com/tierline/tierline/shared/wire"
)

// File names inside the state directory.
const (
	IdentityFile = "identity.json"
	KeyFile      = "key.pem"
	CAFile       = "ca.pem"
	SpoolDir     = "spool"
)

// ErrNotEnrolled is returned by Load when the state directory holds no identity.
var ErrNotEnrolled = errors.New("not enrolled")

// Identity is an enrolled device.
type Identity struct {
	DeviceID      string
	HubURL        string // https://host:port
	CAFingerprint string // lowercase hex SHA-256 of CA.Raw
	EnrolledAt    time.Time
	Key           ed25519.PrivateKey
	CA            *x509.Certificate
}

type identityJSON struct {
	DeviceID      string    `json:"device_id"`
	HubURL        string    `json:"hub_url"`
	CAFingerprint string    `json:"ca_fingerprint"`
	EnrolledAt    time.Time `json:"enrolled_at"`
}

// Fingerprint returns the lowercase hex SHA-256 of a certificate's DER.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// Exists reports whether dir holds an identity file.
func Exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, IdentityFile))
	return err == nil
}

func notEnrolled(dir string, detail string) error {
	return fmt.Errorf("%w: %s (run: tierline-agent enroll --token ... --state %s)", ErrNotEnrolled, detail, dir)
}

// Load reads and checks the state directory. It refuses key or identity
// files that are readable by group or others, a CA that does not match the
// pinned fingerprint, and incomplete state.
func Load(dir string) (*Identity, error) {
	for _, name := range []string{IdentityFile, KeyFile, CAFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return nil, notEnrolled(dir, filepath.Join(dir, name)+" is missing")
		}
		if err != nil {
			return nil, fmt.Errorf("state %s: %w", name, err)
		}
		if name != CAFile && runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("%s is readable by group or others (mode %v); fix with: chmod 600 %s",
				filepath.Join(dir, name), fi.Mode().Perm(), filepath.Join(dir, name))
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, IdentityFile))
	if err != nil {
		return nil, fmt.Errorf("read identity: %w", err)
	}
	var ij identityJSON
	if err := json.Unmarshal(raw, &ij); err != nil {
		return nil, fmt.Errorf("%s is damaged: %w", filepath.Join(dir, IdentityFile), err)
	}
	if err := wire.ValidateDeviceID(ij.DeviceID); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, IdentityFile), err)
	}
	if _, err := hubHost(ij.HubURL); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, IdentityFile), err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, KeyFile))
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	blk, _ := pem.Decode(keyPEM)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s is not a PEM private key", filepath.Join(dir, KeyFile))
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, KeyFile), err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s is not an ed25519 key", filepath.Join(dir, KeyFile))
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, CAFile))
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	cblk, _ := pem.Decode(caPEM)
	if cblk == nil || cblk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s is not a PEM certificate", filepath.Join(dir, CAFile))
	}
	ca, err := x509.ParseCertificate(cblk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, CAFile), err)
	}
	if fp := Fingerprint(ca.Raw); fp != ij.CAFingerprint {
		return nil, fmt.Errorf("%s (fingerprint %s) is not the CA pinned at enrollment (%s); enroll again",
			filepath.Join(dir, CAFile), fp, ij.CAFingerprint)
	}
	return &Identity{DeviceID: ij.DeviceID, HubURL: ij.HubURL, CAFingerprint: ij.CAFingerprint,
		EnrolledAt: ij.EnrolledAt, Key: key, CA: ca}, nil
}

// Save writes the identity into dir (created 0700), each file atomically.
func Save(dir string, id *Identity) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(id.Key)
	if err != nil {
		return fmt.Errorf("encode key: %w", err)
	}
	if err := writeAtomic(dir, KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	if err := writeAtomic(dir, CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.CA.Raw}), 0o644); err != nil {
		return err
	}
	raw, _ := json.MarshalIndent(identityJSON{DeviceID: id.DeviceID, HubURL: id.HubURL,
		CAFingerprint: id.CAFingerprint, EnrolledAt: id.EnrolledAt.UTC()}, "", "  ")
	// identity.json last: its presence means the state is complete.
	return writeAtomic(dir, IdentityFile, append(raw, '\n'), 0o600)
}

func writeAtomic(dir, name string, data []byte, perm os.FileMode) error {
	return fsutil.WriteAtomic(filepath.Join(dir, name), data, perm)
}

// hubHost returns the host name (without port) of an https hub URL.
func hubHost(hubURL string) (string, error) {
	u, err := url.Parse(hubURL)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return "", fmt.Errorf("hub URL %q is not an https:// URL", hubURL)
	}
	return u.Hostname(), nil
}

// ConnectURL is the hub's agent WebSocket URL (wss://host:port/agent/v1/connect).
func (id *Identity) ConnectURL() string {
	u, _ := url.Parse(id.HubURL)
	return "wss://" + u.Host + wire.ConnectPath
}

// TLSConfig trusts only the pinned CA, for the hub's host name.
func (id *Identity) TLSConfig() *tls.Config {
	host, _ := hubHost(id.HubURL)
	return TrustedTLSConfig(id.CA, host)
}

// TrustedTLSConfig trusts only ca, for serverName, and re-checks that the
// chain it verified goes through exactly that CA.
func TrustedTLSConfig(ca *x509.Certificate, serverName string) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	fp := Fingerprint(ca.Raw)
	return &tls.Config{
		RootCAs:    pool,
		ServerName: serverName,
		MinVersion: tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			for _, chain := range cs.VerifiedChains {
				if len(chain) > 0 && Fingerprint(chain[len(chain)-1].Raw) == fp {
					return nil
				}
			}
			return fmt.Errorf("hub certificate does not chain to the pinned CA (fingerprint %s)", fp)
		},
	}
}

// PinError is returned when the hub's certificate is not signed by the CA
// pinned in the enrollment token.
type PinError struct {
	Fingerprint string
	Reason      string
}

func (e *PinError) Error() string {
	return fmt.Sprintf("hub certificate is not signed by the CA pinned in the enrollment token (fingerprint %s): wrong hub or interception (%s)",
		e.Fingerprint, e.Reason)
}

// PinnedTLSConfig verifies the hub by the CA fingerprint alone (first
// contact, before ca.pem exists): the peer's presented chain must contain a
// certificate whose SHA-256 is fingerprint, and the leaf must verify against
// that certificate for serverName. The found CA is passed to found.
func PinnedTLSConfig(fingerprint, serverName string, found func(*x509.Certificate)) *tls.Config {
	return &tls.Config{
		InsecureSkipVerify: true, // replaced by VerifyConnection below
		MinVersion:         tls.VersionTLS12,
		ServerName:         serverName,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return &PinError{Fingerprint: fingerprint, Reason: "no certificate presented"}
			}
			var ca *x509.Certificate
			for _, c := range cs.PeerCertificates {
				if Fingerprint(c.Raw) == fingerprint {
					ca = c
					break
				}
			}
			if ca == nil {
				return &PinError{Fingerprint: fingerprint, Reason: "pinned CA not in the presented chain"}
			}
			pool := x509.NewCertPool()
			pool.AddCert(ca)
			if _, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, DNSName: serverName}); err != nil {
				return &PinError{Fingerprint: fingerprint, Reason: err.Error()}
			}
			if found != nil {
				found(ca)
			}
			return nil
		},
	}
}
