package api

import (
	"net/http"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
)

// SLA settings: the per-tier resolution and response limits and the
// business hours, changed at run time by an admin and put in force at
// once (on every hub sharing the database within one SLA round). A field
// left null keeps the hub's default from its serve flags.
func (a *API) settingsRoutes() []Route {
	return []Route{
		{"GET /api/v1/settings/sla", store.RoleAdmin, a.getSLA},
		{"PUT /api/v1/settings/sla", store.RoleAdmin, a.putSLA},
	}
}

func (a *API) getSLA(w http.ResponseWriter, r *http.Request, who Caller) {
	svc, ok := a.ticketService(w)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, svc.SLA())
}

// putSLA takes {"tier_limits": "1=15m,2=4h,3=2d", "response_limits": "1=5m",
// "business_hours": "mon-fri 09:00-17:00 Europe/Berlin"} (business hours
// as --business-hours takes them, "" for all hours).
func (a *API) putSLA(w http.ResponseWriter, r *http.Request, who Caller) {
	svc, ok := a.ticketService(w)
	if !ok {
		return
	}
	var req tickets.SLASettings
	if !decodeBody(w, r, &req) {
		return
	}
	detail := map[string]any{}
	if req.TierLimits != nil {
		detail["tier_limits"] = *req.TierLimits
	}
	if req.ResponseLimits != nil {
		detail["response_limits"] = *req.ResponseLimits
	}
	if req.BusinessHours != nil {
		detail["business_hours"] = *req.BusinessHours
	}
	view, err := svc.SetSLA(r.Context(), req)
	if err != nil {
		detail["reason"] = err.Error()
		a.audit(r, who, "tickets.sla", "sla", "refused", detail)
		a.ticketError(w, r, err)
		return
	}
	a.audit(r, who, "tickets.sla", "sla", "ok", detail)
	writeJSON(w, http.StatusOK, view)
}
