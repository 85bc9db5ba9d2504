package gateway

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// ServeEnroll handles wire.EnrollPath.
func (g *Gateway) ServeEnroll(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSONError(w, http.StatusMethodNotAllowed, "bad_method", "enrollment is a POST")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, wire.MaxEnrollSize+1))
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, "bad_request", "could not read request body")
		return
	}
	if len(body) > wire.MaxEnrollSize {
		g.metrics.enrollments.WithLabelValues("too_large").Inc()
		writeJSONError(w, http.StatusRequestEntityTooLarge, wire.CodeTooLarge, "enrollment request is larger than 64 KiB")
		return
	}
	var req wire.EnrollRequest
	if err := json.Unmarshal(body, &req); err != nil {
		g.metrics.enrollments.WithLabelValues("bad_request").Inc()
		writeJSONError(w, http.StatusBadRequest, "bad_request", "enrollment request is not valid JSON: "+err.Error())
		return
	}
	if err := req.Validate(); err != nil {
		g.metrics.enrollments.WithLabelValues("bad_request").Inc()
		writeJSONError(w, http.StatusBadRequest, "bad_request", "enrollment request: "+err.Error())
		return
	}
	now := g.cfg.Now()
	d, err := g.cfg.Store.EnrollDevice(r.Context(), auth.HashSecret(req.Secret), store.Device{
		ID: wire.NewID(), PublicKey: req.PublicKey, Hostname: req.Hostname, OS: req.OS, Arch: req.Arch,
		Platform: req.Platform, AgentVersion: req.AgentVersion,
	}, now)
	audit := store.AuditEvent{Time: now, Actor: "agent", Action: "device.enroll", Remote: r.RemoteAddr,
		Detail: map[string]any{"hostname": req.Hostname, "os": req.OS}}
	switch {
	case errors.Is(err, store.ErrTokenUnknown), errors.Is(err, store.ErrTokenExpired),
		errors.Is(err, store.ErrTokenUsedUp), errors.Is(err, store.ErrTokenRevoked):
		g.metrics.enrollments.WithLabelValues("token_refused").Inc()
		audit.Outcome, audit.Detail["reason"] = "denied", err.Error()
		_ = g.cfg.Store.AppendAudit(r.Context(), audit)
		writeJSONError(w, http.StatusForbidden, "token_refused", err.Error())
		return
	case err != nil:
		g.metrics.enrollments.WithLabelValues("error").Inc()
		g.log.Error("enroll device", "err", err)
		writeJSONError(w, http.StatusInternalServerError, wire.CodeInternal, "the hub could not enroll this device; try again, and check the hub's log if it persists")
		return
	}
	g.metrics.enrollments.WithLabelValues("ok").Inc()
	audit.Actor, audit.Target, audit.Outcome = "device:"+d.ID, d.ID, "ok"
	audit.Detail["token"] = d.TokenID
	_ = g.cfg.Store.AppendAudit(r.Context(), audit)
	g.log.Info("device enrolled", "device", d.ID, "hostname", d.Hostname, "token", d.TokenID)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(wire.EnrollResponse{DeviceID: d.ID, HubTime: now.UTC()})
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(wire.APIError{Error: msg, Code: code})
}
