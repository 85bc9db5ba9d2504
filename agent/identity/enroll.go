package identity

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/host"

	"github.com/tierline/tierline/agent/version"
	"github.com/tierline/tierline/shared/wire"
)

// HostInfo describes this machine to the hub.
type HostInfo struct {
	Hostname string
	OS       string
	Arch     string
	Platform string
}

// LocalHostInfo describes the running machine.
func LocalHostInfo(ctx context.Context) HostInfo {
	hi := HostInfo{OS: runtime.GOOS, Arch: runtime.GOARCH}
	hi.Hostname, _ = os.Hostname()
	if p, _, v, err := host.PlatformInformationWithContext(ctx); err == nil && p != "" {
		hi.Platform = p
		if v != "" {
			hi.Platform += " " + v
		}
	}
	return hi
}

func clip(s string) string {
	if len(s) > 255 {
		return s[:255]
	}
	return s
}

// EnrollOptions configure Enroll.
type EnrollOptions struct {
	Token wire.EnrollToken
	Host  HostInfo
	// DialContext dials the hub's TCP connection (nil: a net.Dialer).
	// fleetsim sets it to use many local source addresses.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// Timeout bounds the whole enrollment (0: 30 s).
	Timeout time.Duration
}

// EnrollError is an enrollment refused by the hub, with its message.
type EnrollError struct {
	Status  int
	Code    string
	Message string
}

func (e *EnrollError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("the hub refused the enrollment: %s (%s, HTTP %d)", e.Message, e.Code, e.Status)
	}
	return fmt.Sprintf("the hub refused the enrollment: %s (HTTP %d)", e.Message, e.Status)
}

// Enroll makes a key pair and enrolls it with the hub named by the token,
// pinning the hub's CA to the token's fingerprint. It does not save anything.
func Enroll(ctx context.Context, opts EnrollOptions) (*Identity, error) {
	tok := opts.Token
	host, err := hubHost(tok.HubURL)
	if err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	req := wire.EnrollRequest{
		Secret: tok.Secret, PublicKey: pub,
		Hostname: clip(opts.Host.Hostname), OS: clip(opts.Host.OS), Arch: clip(opts.Host.Arch),
		Platform: clip(opts.Host.Platform), AgentVersion: clip(version.Version),
		Proof: ed25519.Sign(priv, wire.EnrollMessage(tok.Secret, pub)),
	}
	body, _ := json.Marshal(req)

	var (
		mu sync.Mutex
		ca *x509.Certificate
	)
	dial := opts.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: 15 * time.Second}).DialContext
	}
	tr := &http.Transport{
		DialContext: dial,
		TLSClientConfig: PinnedTLSConfig(tok.CAFingerprint, host, func(c *x509.Certificate) {
			mu.Lock()
			ca = c
			mu.Unlock()
		}),
		TLSHandshakeTimeout: 15 * time.Second,
		DisableKeepAlives:   true,
		Proxy:               nil,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return errors.New("the hub answered enrollment with a redirect; check the hub URL in the token")
	}}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, tok.HubURL+wire.EnrollPath, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("enroll request: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(hreq)
	if err != nil {
		var pe *PinError
		if errors.As(err, &pe) {
			return nil, pe
		}
		return nil, fmt.Errorf("contact hub %s: %w", tok.HubURL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, wire.MaxEnrollSize+1))
	if err != nil {
		return nil, fmt.Errorf("read enrollment response: %w", err)
	}
	if len(raw) > wire.MaxEnrollSize {
		return nil, fmt.Errorf("enrollment response is larger than %d bytes", wire.MaxEnrollSize)
	}
	if resp.StatusCode != http.StatusOK {
		var ae wire.APIError
		if json.Unmarshal(raw, &ae) == nil && ae.Error != "" {
			return nil, &EnrollError{Status: resp.StatusCode, Code: ae.Code, Message: ae.Error}
		}
		return nil, &EnrollError{Status: resp.StatusCode, Message: http.StatusText(resp.StatusCode)}
	}
	var er wire.EnrollResponse
	if err := json.Unmarshal(raw, &er); err != nil {
		return nil, fmt.Errorf("enrollment response is not valid JSON: %w", err)
	}
	if err := wire.ValidateDeviceID(er.DeviceID); err != nil {
		return nil, fmt.Errorf("enrollment response: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if ca == nil {
		return nil, errors.New("enrollment succeeded without a verified CA (internal error)")
	}
	return &Identity{DeviceID: er.DeviceID, HubURL: tok.HubURL, CAFingerprint: tok.CAFingerprint,
		EnrolledAt: time.Now().UTC(), Key: priv, CA: ca}, nil
}

// AlreadyEnrolledError: the state directory holds an identity and
// EnrollInto was not told to replace it.
type AlreadyEnrolledError struct {
	Dir string
	// Old is the identity there, nil when it cannot be read (Err says why).
	Old *Identity
	Err error
}

func (e *AlreadyEnrolledError) Error() string {
	if e.Old != nil {
		return fmt.Sprintf("%s is already enrolled as device %s with hub %s; use --force to replace that identity", e.Dir, e.Old.DeviceID, e.Old.HubURL)
	}
	return fmt.Sprintf("%s already holds an identity (%v); use --force to replace it", e.Dir, e.Err)
}

// EnrollInto enrolls this device and saves its identity in dir. An
// identity already there is an *AlreadyEnrolledError unless force is set;
// with force it is replaced and the old device's spool cleared, since a
// new device starts a new sequence.
func EnrollInto(ctx context.Context, dir string, opts EnrollOptions, force bool) (*Identity, error) {
	if Exists(dir) && !force {
		old, err := Load(dir)
		return nil, &AlreadyEnrolledError{Dir: dir, Old: old, Err: err}
	}
	id, err := Enroll(ctx, opts)
	if err != nil {
		return nil, err
	}
	if force {
		if err := os.RemoveAll(filepath.Join(dir, SpoolDir)); err != nil {
			return nil, fmt.Errorf("clear old spool: %w", err)
		}
	}
	if err := Save(dir, id); err != nil {
		return nil, fmt.Errorf("save identity: %w", err)
	}
	return id, nil
}
