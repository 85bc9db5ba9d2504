package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/tierline/tierline/hub/store"
)

// auditStore is the audit log: every route writes to it, GET /api/v1/audit
// reads it.
type auditStore interface {
	AppendAudit(ctx context.Context, e store.AuditEvent) error
	ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error)
}

func (a *API) audit(r *http.Request, who Caller, action, target, outcome string, detail map[string]any) {
	err := a.auditLog.AppendAudit(r.Context(), a.auditEvent(r, who, action, target, outcome, detail))
	if err != nil {
		a.log.Error("append audit event", "action", action, "err", err)
	}
}

func (a *API) auditEvent(r *http.Request, who Caller, action, target, outcome string, detail map[string]any) store.AuditEvent {
	return store.AuditEvent{Time: a.cfg.Now(), Actor: who.Name, Action: action, Target: target, Outcome: outcome, Detail: detail, Remote: r.RemoteAddr}
}

func (a *API) listAudit(w http.ResponseWriter, r *http.Request, who Caller) {
	q := r.URL.Query()
	f := store.AuditFilter{Actor: q.Get("actor"), ActionPrefix: q.Get("action"), Target: q.Get("target")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "bad_request", "limit must be a number from 1 to 1000")
			return
		}
		f.Limit = n
	}
	// before pages back: pass the next_before of the previous answer.
	if s := q.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "bad_request", "before must be an audit event id (next_before of the previous page)")
			return
		}
		f.BeforeID = n
	}
	if q.Get("since") != "" || q.Get("until") != "" {
		since, until, ok := a.parseRange(w, r)
		if !ok {
			return
		}
		f.Since, f.Until = since, until
	}
	ev, err := a.auditLog.ListAudit(r.Context(), f)
	if err != nil {
		a.internal(w, "list audit", err)
		return
	}
	if ev == nil {
		ev = []store.AuditEvent{}
	}
	out := map[string]any{"events": ev}
	limit := f.Limit
	if limit == 0 {
		limit = 100
	}
	if len(ev) == limit {
		out["next_before"] = ev[len(ev)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}
