// Package updates serves signed agent releases to devices and checks
// uploads. The hub only stores and hands out what the release key signed:
// agents verify the signature against the key baked into them, so the hub
// (or anyone who owns it) cannot make an agent run a binary of its own.
//
// Agent-facing routes, each signed by the device's ed25519 key (see
// RequestMessage):
//
//	GET  /agent/v1/update?os=&arch=&version=   the release to run: 200 {manifest, signature} or 204
//	GET  /agent/v1/update/binary/{sha256}      the release binary
//	POST /agent/v1/update/report               {from, to, outcome, error}: applied, rolled_back or refused
package updates

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// Routes and headers; the agent side is agent/update.
const (
	OfferPath       = "/agent/v1/update"
	BinaryPath      = "/agent/v1/update/binary/"
	ReportPath      = "/agent/v1/update/report"
	HeaderDevice    = "Tierline-Device"
	HeaderTime      = "Tierline-Time"
	HeaderSignature = "Tierline-Signature"
	MaxClockSkew    = 5 * time.Minute
	maxReportSize   = 16 << 10
)

// Outcomes an agent reports.
var outcomes = map[string]bool{"applied": true, "rolled_back": true, "refused": true}

// RequestMessage is what a device signs for an update request (the same
// bytes as agent/update.RequestMessage).
func RequestMessage(method, requestURI, deviceID, unixTime string, body []byte) []byte {
	sum := sha256.Sum256(body)
	return []byte("tierline-update-request-v1\n" + method + "\n" + requestURI + "\n" + deviceID + "\n" +
		unixTime + "\n" + hex.EncodeToString(sum[:]))
}

// Store is what the update endpoints need.
type Store interface {
	DeviceAuth(ctx context.Context, id string) (store.Device, error)
	RolloutFor(ctx context.Context, group string) (store.Rollout, error)
	GetRelease(ctx context.Context, version, goos, arch string) (store.Release, error)
	ReleaseContent(ctx context.Context, sha256 string) ([]byte, error)
	RecordUpdateReport(ctx context.Context, r store.UpdateReport) error
	AppendAudit(ctx context.Context, e store.AuditEvent) error
}

// Config configures the handler.
type Config struct {
	Store  Store
	Logger *slog.Logger
	Now    func() time.Time
}

// Handler serves the agent-facing update routes.
type Handler struct {
	cfg Config
	log *slog.Logger

	mu    sync.Mutex
	cache map[string][]byte // release binaries by sha256, the last few served
	order []string
}

// New returns a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("updates: no store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{cfg: cfg, log: cfg.Logger.With("component", "updates"), cache: map[string][]byte{}}, nil
}

// Register mounts the routes on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+OfferPath, h.offer)
	mux.HandleFunc("GET "+BinaryPath+"{sha256}", h.binary)
	mux.HandleFunc("POST "+ReportPath, h.report)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, wire.APIError{Error: msg, Code: code})
}

// authenticate checks the device's signature over the request and returns
// the device and the body.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (store.Device, []byte, bool) {
	id := r.Header.Get(HeaderDevice)
	ts := r.Header.Get(HeaderTime)
	sig, sigErr := base64.StdEncoding.DecodeString(r.Header.Get(HeaderSignature))
	if wire.ValidateDeviceID(id) != nil || ts == "" || sigErr != nil || len(sig) != ed25519.SignatureSize {
		writeError(w, http.StatusUnauthorized, "unauthenticated", "update requests must be signed by an enrolled device")
		return store.Device{}, nil, false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || h.cfg.Now().Sub(time.Unix(sec, 0)).Abs() > MaxClockSkew {
		writeError(w, http.StatusUnauthorized, "stale", "request time is more than 5 minutes from the hub's clock; check this device's clock")
		return store.Device{}, nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxReportSize))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "request body is too large")
		return store.Device{}, nil, false
	}
	d, err := h.cfg.Store.DeviceAuth(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusUnauthorized, "unauthenticated", "device is not enrolled with this hub")
		return d, nil, false
	}
	if err != nil {
		h.log.Error("look up device", "device", id, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not check the device")
		return d, nil, false
	}
	if d.RevokedAt != nil {
		writeError(w, http.StatusForbidden, "revoked", "this device was revoked; enroll it again")
		return d, nil, false
	}
	if len(d.PublicKey) != ed25519.PublicKeySize || !ed25519.Verify(d.PublicKey, RequestMessage(r.Method, r.URL.RequestURI(), id, ts, body), sig) {
		writeError(w, http.StatusUnauthorized, "unauthenticated", "device signature does not verify")
		return d, nil, false
	}
	return d, body, true
}

// InWave reports whether a device is in the first percent of its group for
// a version. The bucket is stable for a device and version, so raising the
// percent only adds devices, and each version starts with different ones.
func InWave(deviceID, version string, percent int) bool {
	if percent >= 100 {
		return true
	}
	if percent <= 0 {
		return false
	}
	sum := sha256.Sum256([]byte(deviceID + "\x00" + version))
	return int(binary.BigEndian.Uint32(sum[:4])%100) < percent
}

type offer struct {
	Manifest  []byte `json:"manifest"`
	Signature string `json:"signature"`
}

func (h *Handler) offer(w http.ResponseWriter, r *http.Request) {
	d, _, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	goos, arch, current := q.Get("os"), q.Get("arch"), q.Get("version")
	if goos == "" || arch == "" {
		writeError(w, http.StatusBadRequest, "bad_request", "os and arch are required")
		return
	}
	ro, err := h.cfg.Store.RolloutFor(r.Context(), d.Group)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (ro.Version == current || !InWave(d.ID, ro.Version, ro.Percent))) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err != nil {
		h.log.Error("rollout", "group", d.Group, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not read the rollout")
		return
	}
	rel, err := h.cfg.Store.GetRelease(r.Context(), ro.Version, goos, arch)
	if errors.Is(err, store.ErrNotFound) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err != nil {
		h.log.Error("release", "version", ro.Version, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not read the release")
		return
	}
	h.log.Debug("offering update", "device", d.ID, "from", current, "to", rel.Version)
	writeJSON(w, http.StatusOK, offer{Manifest: rel.Manifest, Signature: rel.Signature})
}

func (h *Handler) content(ctx context.Context, sum string) ([]byte, error) {
	h.mu.Lock()
	b, ok := h.cache[sum]
	h.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := h.cfg.Store.ReleaseContent(ctx, sum)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.cache[sum]; !ok {
		h.cache[sum] = b
		h.order = append(h.order, sum)
		for len(h.order) > 4 {
			delete(h.cache, h.order[0])
			h.order = h.order[1:]
		}
	}
	return b, nil
}

// Forget drops cached binaries (after a release is deleted or replaced).
func (h *Handler) Forget() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cache, h.order = map[string][]byte{}, nil
}

func (h *Handler) binary(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := h.authenticate(w, r); !ok {
		return
	}
	sum := r.PathValue("sha256")
	if b, err := hex.DecodeString(sum); err != nil || len(b) != 32 {
		writeError(w, http.StatusBadRequest, "bad_request", "want a lowercase hex SHA-256")
		return
	}
	b, err := h.content(r.Context(), sum)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no release binary "+sum)
		return
	}
	if err != nil {
		h.log.Error("release binary", "sha256", sum, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not read the release binary")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, bytes.NewReader(b))
}

type report struct {
	From    string    `json:"from"`
	To      string    `json:"to"`
	Outcome string    `json:"outcome"`
	Error   string    `json:"error"`
	Time    time.Time `json:"time"`
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (h *Handler) report(w http.ResponseWriter, r *http.Request) {
	d, body, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	var rep report
	if err := json.Unmarshal(body, &rep); err != nil || !outcomes[rep.Outcome] {
		writeError(w, http.StatusBadRequest, "bad_request", "want {from, to, outcome: applied|rolled_back|refused, error}")
		return
	}
	ur := store.UpdateReport{DeviceID: d.ID, From: clip(rep.From, 64), To: clip(rep.To, 64), Outcome: rep.Outcome,
		Error: clip(rep.Error, 1000), Time: h.cfg.Now()}
	if err := h.cfg.Store.RecordUpdateReport(r.Context(), ur); err != nil {
		h.log.Error("record update report", "device", d.ID, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "could not record the report")
		return
	}
	outcome := "ok"
	if rep.Outcome != "applied" {
		outcome = "failed"
	}
	if err := h.cfg.Store.AppendAudit(r.Context(), store.AuditEvent{Time: ur.Time, Actor: "device:" + d.ID,
		Action: "update." + rep.Outcome, Target: d.ID, Outcome: outcome, Remote: r.RemoteAddr,
		Detail: map[string]any{"from": ur.From, "to": ur.To, "error": ur.Error}}); err != nil {
		h.log.Error("audit update report", "err", err)
	}
	h.log.Info("update report", "device", d.ID, "from", ur.From, "to", ur.To, "outcome", ur.Outcome, "error", ur.Error)
	w.WriteHeader(http.StatusNoContent)
}

// Manifest is the part of a release manifest the hub reads (agent/update
// writes and verifies it; the hub never holds the release key).
type Manifest struct {
	Product string `json:"product"`
	Version string `json:"version"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
}

// PrepareRelease checks an upload (manifest bytes, base64 signature text,
// binary) for consistency and returns the release to store. It cannot check
// the signature: agents do.
func PrepareRelease(manifest []byte, signature string, content []byte, now time.Time) (store.Release, error) {
	var m Manifest
	if len(manifest) > 16<<10 {
		return store.Release{}, errors.New("manifest is larger than 16 KiB")
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		return store.Release{}, fmt.Errorf("manifest is not JSON (make it with `go run ./scripts/release sign`): %w", err)
	}
	if m.Product != "tierline-agent" || m.Version == "" || m.OS == "" || m.Arch == "" {
		return store.Release{}, errors.New("manifest must name product tierline-agent, a version, an os and an arch")
	}
	if strings.ContainsAny(m.Version+m.OS+m.Arch, " /\\\x00") || len(m.Version) > 64 {
		return store.Release{}, errors.New("manifest version, os or arch contains characters it may not")
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return store.Release{}, errors.New("signature must be a base64 ed25519 signature (the .sig file `scripts/release sign` wrote)")
	}
	sum := sha256.Sum256(content)
	if got := hex.EncodeToString(sum[:]); got != m.SHA256 || int64(len(content)) != m.Size {
		return store.Release{}, fmt.Errorf("binary does not match the manifest (sha256 %s, %d bytes; manifest says %s, %d bytes): upload the binary that was signed", got, len(content), m.SHA256, m.Size)
	}
	return store.Release{Version: m.Version, OS: m.OS, Arch: m.Arch, SHA256: m.SHA256, Size: m.Size,
		Manifest: manifest, Signature: strings.TrimSpace(signature), CreatedAt: now}, nil
}
