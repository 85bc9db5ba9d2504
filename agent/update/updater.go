package update

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/tierline/tierline/agent/execx"
)

// Defaults for Config fields left zero.
const (
	DefaultInterval       = time.Hour
	DefaultConfirmTimeout = 5 * time.Minute
	DefaultProbeTimeout   = 90 * time.Second
	// MaxStarts is how often a new version may start without connecting
	// before it is rolled back at its next start.
	MaxStarts = 3
	// RefusalTTL is how long a refused release is not tried again.
	RefusalTTL = 24 * time.Hour
)

// Dir is the update bookkeeping directory inside the state directory.
const Dir = "update"

// ProbeOK starts the line the probe prints when the candidate was welcomed
// by the hub; the version follows.
const ProbeOK = "tierline-agent update-probe ok version="

// Config configures an Updater.
type Config struct {
	StateDir string
	// Current is the running agent's version.
	Current string
	// PublicKey is the base64 release key (default ReleasePublicKey).
	PublicKey string
	HubURL    string
	DeviceID  string
	Key       ed25519.PrivateKey
	TLS       *tls.Config
	// HTTPClient, if set, is used as is (tests).
	HTTPClient *http.Client
	// Executable is the binary to replace (default: this process's).
	Executable string
	// Interval between checks (default 1 h; a random jitter of up to a
	// tenth is added).
	Interval time.Duration
	// ConfirmTimeout bounds how long a new version may take to connect.
	ConfirmTimeout time.Duration
	ProbeTimeout   time.Duration
	// Probe runs the candidate binary in probe mode; nil runs
	// `CANDIDATE update-probe --state DIR` through execx.
	Probe  func(ctx context.Context, candidate, version string) error
	Logger *slog.Logger
	Now    func() time.Time
}

// Updater checks the hub for releases, applies them and confirms or rolls
// them back. Create with New, call Start once, then Run.
type Updater struct {
	cfg    Config
	log    *slog.Logger
	client *http.Client
	pub    ed25519.PublicKey
	keyErr error

	mu          sync.Mutex
	restartOnce sync.Once
	restart     chan struct{}
	reason      string
	watchdog    *time.Timer
	kick        chan struct{}
}

// New checks cfg and returns an Updater.
func New(cfg Config) (*Updater, error) {
	if cfg.StateDir == "" || cfg.HubURL == "" || len(cfg.Key) != ed25519.PrivateKeySize || cfg.DeviceID == "" {
		return nil, errors.New("update: StateDir, HubURL, DeviceID and Key are required")
	}
	if cfg.PublicKey == "" {
		cfg.PublicKey = ReleasePublicKey
	}
	if cfg.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("update: find this program's path: %w", err)
		}
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		cfg.Executable = exe
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.ConfirmTimeout <= 0 {
		cfg.ConfirmTimeout = DefaultConfirmTimeout
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = DefaultProbeTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	u := &Updater{cfg: cfg, log: cfg.Logger, client: cfg.HTTPClient, restart: make(chan struct{}), kick: make(chan struct{}, 1)}
	if u.client == nil {
		u.client = &http.Client{Timeout: 10 * time.Minute, Transport: &http.Transport{
			TLSClientConfig: cfg.TLS, TLSHandshakeTimeout: 20 * time.Second, Proxy: http.ProxyFromEnvironment,
			ResponseHeaderTimeout: time.Minute,
		}}
	}
	u.pub, u.keyErr = ParsePublicKey(cfg.PublicKey)
	if cfg.Probe == nil {
		u.cfg.Probe = u.execProbe
	}
	return u, nil
}

// Enabled reports whether this agent can install updates (it has a
// release key), and why not.
func (u *Updater) Enabled() (bool, error) { return u.keyErr == nil, u.keyErr }

// Restart is closed when the agent must restart: a new version is in place,
// or the previous one was restored.
func (u *Updater) Restart() <-chan struct{} { return u.restart }

// Reason says why Restart was closed.
func (u *Updater) Reason() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.reason
}

func (u *Updater) requestRestart(reason string) {
	u.restartOnce.Do(func() {
		u.mu.Lock()
		u.reason = reason
		u.mu.Unlock()
		u.log.Info("restarting the agent", "reason", reason)
		close(u.restart)
	})
}

// ---- bookkeeping files ----

// Pending is an update that was swapped in and is not yet confirmed.
type Pending struct {
	From      string    `json:"from"`
	To        string    `json:"to"`
	Manifest  string    `json:"manifest_sha256"`
	Exe       string    `json:"exe"`
	Previous  string    `json:"previous"`
	SwappedAt time.Time `json:"swapped_at"`
	Starts    int       `json:"starts"`
}

func (u *Updater) path(name string) string { return filepath.Join(u.cfg.StateDir, Dir, name) }

func (u *Updater) readJSON(name string, v any) (bool, error) {
	raw, err := os.ReadFile(u.path(name))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("%s: %w", u.path(name), err)
	}
	return true, nil
}

func (u *Updater) writeJSON(name string, v any) error {
	dir := filepath.Join(u.cfg.StateDir, Dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := u.path(name + ".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(raw); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, u.path(name))
}

// PendingUpdate returns the unconfirmed update, if any.
func (u *Updater) PendingUpdate() (Pending, bool, error) {
	var p Pending
	ok, err := u.readJSON("pending.json", &p)
	return p, ok, err
}

func (u *Updater) queueReport(r Report) {
	u.mu.Lock()
	defer u.mu.Unlock()
	var rs []Report
	if _, err := u.readJSON("reports.json", &rs); err != nil {
		u.log.Warn("update reports file unreadable; starting a new one", "err", err)
		rs = nil
	}
	rs = append(rs, r)
	if len(rs) > 20 {
		rs = rs[len(rs)-20:]
	}
	if err := u.writeJSON("reports.json", rs); err != nil {
		u.log.Error("save update report", "err", err)
	}
}

type refusal struct {
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

func (u *Updater) refused(key string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	m := map[string]refusal{}
	_, _ = u.readJSON("refused.json", &m)
	r, ok := m[key]
	return ok && u.cfg.Now().Sub(r.At) < RefusalTTL
}

func (u *Updater) refuse(key, to string, err error) error {
	u.log.Warn("update refused; keeping this version", "version", u.cfg.Current, "offered", to, "err", err)
	u.mu.Lock()
	m := map[string]refusal{}
	_, _ = u.readJSON("refused.json", &m)
	for k, r := range m {
		if u.cfg.Now().Sub(r.At) >= RefusalTTL {
			delete(m, k)
		}
	}
	m[key] = refusal{At: u.cfg.Now(), Reason: err.Error()}
	if werr := u.writeJSON("refused.json", m); werr != nil {
		u.log.Error("save refused update", "err", werr)
	}
	u.mu.Unlock()
	u.queueReport(Report{From: u.cfg.Current, To: to, Outcome: OutcomeRefused, Error: err.Error(), Time: u.cfg.Now()})
	return &RefusedError{Err: err}
}

// RefusedError is an offered release the agent will not install.
type RefusedError struct{ Err error }

func (e *RefusedError) Error() string { return "update refused: " + e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// ---- start, confirm, roll back ----

// Start looks at an update left pending by the previous process. When this
// process is the new version, it counts the start and arms the confirmation
// watchdog (rolling back at once after MaxStarts starts); when it is not,
// the update did not take and is recorded as rolled back.
func (u *Updater) Start() error {
	p, ok, err := u.PendingUpdate()
	if err != nil || !ok {
		return err
	}
	if u.cfg.Current != p.To {
		u.log.Warn("an update did not take: this is not the version that was installed", "installed", p.To, "running", u.cfg.Current)
		u.queueReport(Report{From: p.From, To: p.To, Outcome: OutcomeRolledBack, Time: u.cfg.Now(),
			Error: "version " + p.To + " did not start; running " + u.cfg.Current})
		return os.Remove(u.path("pending.json"))
	}
	p.Starts++
	if err := u.writeJSON("pending.json", p); err != nil {
		return fmt.Errorf("save pending update: %w", err)
	}
	if p.Starts > MaxStarts {
		return u.rollback(p, fmt.Sprintf("version %s started %d times without connecting to the hub", p.To, p.Starts-1))
	}
	u.log.Info("new version started; it must connect to the hub to stay", "version", p.To, "previous", p.From,
		"within", u.cfg.ConfirmTimeout.String(), "start", p.Starts)
	u.mu.Lock()
	u.watchdog = time.AfterFunc(u.cfg.ConfirmTimeout, func() {
		p, ok, err := u.PendingUpdate()
		if err != nil || !ok || p.To != u.cfg.Current {
			return
		}
		if err := u.rollback(p, fmt.Sprintf("version %s did not connect to the hub within %s", p.To, u.cfg.ConfirmTimeout)); err != nil {
			u.log.Error("roll back", "err", err)
		}
	})
	u.mu.Unlock()
	return nil
}

// Connected confirms a pending update: this version reached the hub. Call
// it after every successful connection; it is cheap when nothing is pending.
func (u *Updater) Connected() {
	u.mu.Lock()
	if u.watchdog != nil {
		u.watchdog.Stop()
		u.watchdog = nil
	}
	u.mu.Unlock()
	p, ok, err := u.PendingUpdate()
	if err == nil && ok && p.To == u.cfg.Current {
		if err := os.Remove(u.path("pending.json")); err != nil {
			u.log.Error("confirm update", "err", err)
			return
		}
		u.log.Info("update confirmed: connected to the hub", "version", p.To, "previous", p.From, "previous_binary", p.Previous)
		u.queueReport(Report{From: p.From, To: p.To, Outcome: OutcomeApplied, Time: u.cfg.Now()})
	}
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

// rollback restores the previous binary and asks for a restart into it.
func (u *Updater) rollback(p Pending, reason string) error {
	u.log.Error("rolling back update", "version", p.To, "previous", p.From, "reason", reason)
	if err := restore(p.Exe, p.Previous); err != nil {
		return fmt.Errorf("roll back to %s: %w (restore %s from %s by hand)", p.From, err, p.Exe, p.Previous)
	}
	u.queueReport(Report{From: p.From, To: p.To, Outcome: OutcomeRolledBack, Error: reason, Time: u.cfg.Now()})
	u.mu.Lock()
	m := map[string]refusal{}
	_, _ = u.readJSON("refused.json", &m)
	m[p.Manifest] = refusal{At: u.cfg.Now(), Reason: reason}
	if err := u.writeJSON("refused.json", m); err != nil {
		u.log.Error("save refused update", "err", err)
	}
	u.mu.Unlock()
	if err := os.Remove(u.path("pending.json")); err != nil {
		u.log.Error("clear pending update", "err", err)
	}
	u.requestRestart("rolled back to " + p.From)
	return nil
}

// ---- the check loop ----

// Run checks for updates every Interval (the first soon after start) and
// sends queued reports, until ctx ends or a restart is requested.
func (u *Updater) Run(ctx context.Context) {
	first := time.Duration(rand.Int64N(int64(min(u.cfg.Interval, 30*time.Second)) + 1))
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-u.restart:
			return
		case <-u.kick:
			u.sendReports(ctx)
			continue
		case <-t.C:
		}
		u.sendReports(ctx)
		if err := u.Check(ctx); err != nil && ctx.Err() == nil {
			var re *RefusedError
			if !errors.As(err, &re) {
				u.log.Warn("update check failed; will retry", "err", err)
			}
			u.sendReports(ctx)
		}
		t.Reset(u.cfg.Interval + time.Duration(rand.Int64N(int64(u.cfg.Interval/10)+1)))
	}
}

func (u *Updater) signedRequest(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(u.cfg.HubURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	SignRequest(req, u.cfg.DeviceID, u.cfg.Key, body, u.cfg.Now())
	resp, err := u.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("contact hub %s: %w", u.cfg.HubURL, err)
	}
	return resp, nil
}

func hubError(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var ae struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	if json.Unmarshal(raw, &ae) == nil && ae.Error != "" {
		return fmt.Errorf("hub answered %d: %s (%s)", resp.StatusCode, ae.Error, ae.Code)
	}
	return fmt.Errorf("hub answered %s", resp.Status)
}

func (u *Updater) sendReports(ctx context.Context) {
	u.mu.Lock()
	var rs []Report
	_, err := u.readJSON("reports.json", &rs)
	u.mu.Unlock()
	if err != nil || len(rs) == 0 {
		return
	}
	sent := 0
	for _, r := range rs {
		body, _ := json.Marshal(r)
		resp, err := u.signedRequest(ctx, http.MethodPost, ReportPath, body)
		if err != nil {
			u.log.Debug("update report not sent yet", "err", err)
			break
		}
		ok := resp.StatusCode/100 == 2
		if !ok {
			err = hubError(resp)
		}
		resp.Body.Close()
		if !ok {
			u.log.Warn("hub refused an update report", "err", err)
			if resp.StatusCode/100 != 4 {
				break
			}
		}
		sent++
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	var now []Report
	_, _ = u.readJSON("reports.json", &now)
	if sent >= len(now) {
		_ = os.Remove(u.path("reports.json"))
		return
	}
	// Reports queued while sending stay.
	if err := u.writeJSON("reports.json", now[sent:]); err != nil {
		u.log.Error("save update reports", "err", err)
	}
}

// Check asks the hub once for the release this device should run and
// applies it. It returns nil when there is nothing to do or a new version
// is in place (Restart is then closed), a *RefusedError for a release
// refused, and other errors for failures worth retrying.
func (u *Updater) Check(ctx context.Context) error {
	if u.keyErr != nil {
		return u.keyErr
	}
	if _, ok, err := u.PendingUpdate(); err != nil || ok {
		return err // an update waits for confirmation
	}
	q := "?os=" + runtime.GOOS + "&arch=" + runtime.GOARCH + "&version=" + urlEscape(u.cfg.Current)
	resp, err := u.signedRequest(ctx, http.MethodGet, OfferPath+q, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNoContent:
		return nil
	case http.StatusOK:
	default:
		return hubError(resp)
	}
	var offer Offer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4*MaxManifestSize)).Decode(&offer); err != nil {
		return fmt.Errorf("hub's update offer is not valid JSON: %w", err)
	}
	sum := sha256.Sum256(append(append([]byte{}, offer.Manifest...), offer.Signature...))
	key := hex.EncodeToString(sum[:])
	if u.refused(key) {
		return nil
	}
	m, err := Verify(u.pub, offer.Manifest, offer.Signature)
	if err != nil {
		return u.refuse(key, unverifiedVersion(offer.Manifest), err)
	}
	if m.OS != runtime.GOOS || m.Arch != runtime.GOARCH {
		return u.refuse(key, m.Version, fmt.Errorf("release is for %s/%s, this agent runs on %s/%s", m.OS, m.Arch, runtime.GOOS, runtime.GOARCH))
	}
	if m.Version == u.cfg.Current {
		return nil
	}
	up, err := IsUpgrade(u.cfg.Current, m.Version)
	if err != nil {
		return u.refuse(key, m.Version, err)
	}
	if !up {
		return u.refuse(key, m.Version, fmt.Errorf("version %s is not newer than the running %s: downgrades are refused", m.Version, u.cfg.Current))
	}
	u.log.Info("update offered", "version", m.Version, "size", m.Size, "sha256", m.SHA256)
	cand, err := u.download(ctx, m)
	if err != nil {
		var re *RefusedError
		if errors.As(err, &re) {
			return u.refuse(key, m.Version, re.Err)
		}
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, u.cfg.ProbeTimeout)
	err = u.cfg.Probe(pctx, cand, m.Version)
	cancel()
	if err != nil {
		os.Remove(cand)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return u.refuse(key, m.Version, fmt.Errorf("version %s failed its probe (load identity, connect to the hub): %w", m.Version, err))
	}
	prev := u.cfg.Executable + ".previous"
	if err := swap(u.cfg.Executable, cand, prev); err != nil {
		os.Remove(cand)
		return fmt.Errorf("install version %s: %w", m.Version, err)
	}
	p := Pending{From: u.cfg.Current, To: m.Version, Manifest: key, Exe: u.cfg.Executable, Previous: prev, SwappedAt: u.cfg.Now()}
	if err := u.writeJSON("pending.json", p); err != nil {
		if rerr := restore(u.cfg.Executable, prev); rerr != nil {
			return fmt.Errorf("record pending update: %w; restoring the previous binary failed too: %v", err, rerr)
		}
		return fmt.Errorf("record pending update: %w", err)
	}
	u.log.Info("update installed; restarting into it", "version", m.Version, "previous_binary", prev)
	u.requestRestart("updated to " + m.Version)
	return nil
}

func urlEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// unverifiedVersion names an offer in a report before it verified; it is
// never used to decide anything.
func unverifiedVersion(raw []byte) string {
	var m struct {
		Version string `json:"version"`
	}
	_ = json.Unmarshal(raw, &m)
	if len(m.Version) > 64 {
		return m.Version[:64]
	}
	return m.Version
}

// download fetches the release binary next to the executable (so the swap
// is a rename on one file system) and checks its size and SHA-256.
func (u *Updater) download(ctx context.Context, m Manifest) (string, error) {
	resp, err := u.signedRequest(ctx, http.MethodGet, BinaryPath+m.SHA256, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("download version %s: %w", m.Version, hubError(resp))
	}
	cand := u.cfg.Executable + ".new"
	f, err := os.OpenFile(cand, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o700)
	if err != nil {
		return "", fmt.Errorf("write the new version next to %s (the agent must run as root/SYSTEM to update itself): %w", u.cfg.Executable, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(resp.Body, m.Size+1))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(cand)
		return "", fmt.Errorf("download version %s: %w", m.Version, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != m.Size || got != m.SHA256 {
		os.Remove(cand)
		return "", &RefusedError{Err: fmt.Errorf("downloaded binary does not match the signed manifest (size %d, sha256 %s; want %d, %s)", n, got, m.Size, m.SHA256)}
	}
	if err := os.Chmod(cand, 0o755); err != nil {
		os.Remove(cand)
		return "", err
	}
	return cand, nil
}

// execProbe runs `CANDIDATE update-probe --state DIR` and expects it to
// print ProbeOK with the manifest's version.
func (u *Updater) execProbe(ctx context.Context, candidate, version string) error {
	deadline, _ := ctx.Deadline()
	res, err := execx.Run(ctx, execx.Cmd{
		Argv:    []string{candidate, "update-probe", "--state", u.cfg.StateDir},
		Timeout: time.Until(deadline),
		Env:     os.Environ(),
	})
	if err != nil {
		return fmt.Errorf("%w: %s", err, lastLine(res.Output))
	}
	if !strings.Contains(res.Output, ProbeOK+version+"\n") {
		return fmt.Errorf("the candidate did not report version %s: %s", version, lastLine(res.Output))
	}
	return nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// Executable is the path of the binary updates replace.
func (u *Updater) Executable() string { return u.cfg.Executable }
