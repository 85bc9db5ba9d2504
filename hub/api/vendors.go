package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/hub/vendors"
	"github.com/tierline/tierline/shared/wire"
)

// vendorsStore is what the Tier 4 vendor routes call on the store.
type vendorsStore interface {
	ListVendors(ctx context.Context, withDisabled bool) ([]store.Vendor, error)
	GetVendor(ctx context.Context, idOrName string) (store.Vendor, error)
	CreateVendor(ctx context.Context, v store.Vendor) error
	UpdateVendor(ctx context.Context, v store.Vendor, clearSecret bool, at time.Time) error
	SetVendorDisabled(ctx context.Context, id string, at *time.Time, now time.Time) error
	GetTicket(ctx context.Context, id string) (store.Ticket, error)
	TicketDeliveries(ctx context.Context, ticketID string) ([]store.VendorDelivery, error)
}

// Vendor routes: any technician may see vendors (never their webhook
// secret); admins create, change and disable them; Tier 3 forwards a
// ticket to a vendor (Tier 4) and records the vendor's reference.
func (a *API) vendorRoutes() []Route {
	return []Route{
		{"GET /api/v1/vendors", store.RoleTier1, a.listVendors},
		{"GET /api/v1/vendors/{id}", store.RoleTier1, a.getVendor},
		{"POST /api/v1/vendors", store.RoleAdmin, a.createVendor},
		{"PUT /api/v1/vendors/{id}", store.RoleAdmin, a.updateVendor},
		{"POST /api/v1/vendors/{id}/disable", store.RoleAdmin, a.disableVendor(true)},
		{"POST /api/v1/vendors/{id}/enable", store.RoleAdmin, a.disableVendor(false)},
		{"GET /api/v1/tickets/{id}/vendor", store.RoleTier1, a.ticketDeliveries},
		{"POST /api/v1/tickets/{id}/vendor", store.RoleTier3, ticketAction(a, "vendor", func(svc *tickets.Service, r *http.Request, who Caller, id string, req vendorSendReq) (store.Ticket, error) {
			return svc.SendToVendor(r.Context(), id, who.Name, req.Vendor, req.Note)
		})},
		{"POST /api/v1/tickets/{id}/vendor/reference", store.RoleTier3, ticketAction(a, "vendor_ref", func(svc *tickets.Service, r *http.Request, who Caller, id string, req vendorRefReq) (store.Ticket, error) {
			return svc.RecordVendorRef(r.Context(), id, who.Name, req.Reference)
		})},
	}
}

type vendorSendReq struct {
	Vendor string `json:"vendor"` // id or name
	Note   string `json:"note"`
}

type vendorRefReq struct {
	Reference string `json:"reference"`
}

// vendorReq is the body of POST and PUT /api/v1/vendors. The secret is
// write-only: PUT without it keeps the stored one, "clear_secret" removes
// it.
type vendorReq struct {
	Name           string `json:"name"`
	Email          string `json:"email"`
	WebhookURL     string `json:"webhook_url"`
	WebhookSecret  string `json:"webhook_secret"`
	ClearSecret    bool   `json:"clear_secret"`
	ContractRef    string `json:"contract_ref"`
	ResponseTarget string `json:"response_target"` // Go duration, e.g. "4h"; "" for no reminders
	// Site keeps a new vendor to one site; "" shares it (POST only).
	Site string `json:"site"`
}

func (q vendorReq) vendor() (store.Vendor, string) {
	v := store.Vendor{Name: strings.TrimSpace(q.Name), Email: strings.TrimSpace(q.Email), WebhookURL: strings.TrimSpace(q.WebhookURL),
		WebhookSecret: q.WebhookSecret, ContractRef: strings.TrimSpace(q.ContractRef)}
	if q.WebhookSecret != "" && q.ClearSecret {
		return v, "give webhook_secret or clear_secret, not both"
	}
	if q.ResponseTarget != "" {
		d, err := time.ParseDuration(q.ResponseTarget)
		if err != nil || d <= 0 {
			return v, "response_target must be a duration from 1s to 8760h, such as 30m or 8h"
		}
		v.ResponseTarget = d
	}
	if err := vendors.Check(v); err != nil {
		return v, err.Error()
	}
	return v, ""
}

func (a *API) vendorError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error()+"; list vendors with GET /api/v1/vendors")
	case errors.Is(err, store.ErrExists):
		writeError(w, http.StatusConflict, "conflict", err.Error()+"; vendor names are unique, pick another")
	default:
		a.internal(w, "vendor request", err)
	}
}

func (a *API) listVendors(w http.ResponseWriter, r *http.Request, who Caller) {
	vs, err := a.vendors.ListVendors(r.Context(), r.URL.Query().Get("disabled") == "true")
	if err != nil {
		a.vendorError(w, r, err)
		return
	}
	for i := range vs {
		vs[i] = vendorFor(who, vs[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"vendors": vs})
}

// vendorFor is what who may see of v: admins the whole webhook URL, other
// roles only its scheme and host (a URL's path or query often holds the
// vendor's access token).
func vendorFor(who Caller, v store.Vendor) store.Vendor {
	if who.Role.Rank() >= store.RoleAdmin.Rank() || v.WebhookURL == "" {
		return v
	}
	if u, err := url.Parse(v.WebhookURL); err == nil && u.Host != "" {
		v.WebhookURL = u.Scheme + "://" + u.Host + "/…"
	} else {
		v.WebhookURL = "(set)"
	}
	return v
}

func (a *API) getVendor(w http.ResponseWriter, r *http.Request, who Caller) {
	v, err := a.vendors.GetVendor(r.Context(), r.PathValue("id"))
	if err != nil {
		a.vendorError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, vendorFor(who, v))
}

func (a *API) createVendor(w http.ResponseWriter, r *http.Request, who Caller) {
	var req vendorReq
	if !decodeBody(w, r, &req) {
		return
	}
	v, bad := req.vendor()
	if bad != "" {
		writeError(w, http.StatusBadRequest, "bad_request", bad)
		return
	}
	v.ID, v.CreatedAt = wire.NewID(), a.cfg.Now()
	site, ok := a.recordSite(w, who, req.Site)
	if !ok {
		return
	}
	v.Site = site
	if err := a.vendors.CreateVendor(r.Context(), v); err != nil {
		a.vendorError(w, r, err)
		return
	}
	got, err := a.vendors.GetVendor(r.Context(), v.ID)
	if err != nil {
		a.vendorError(w, r, err)
		return
	}
	a.audit(r, who, "vendor.create", got.ID, "ok", map[string]any{"name": got.Name})
	writeJSON(w, http.StatusCreated, got)
}

func (a *API) updateVendor(w http.ResponseWriter, r *http.Request, who Caller) {
	var req vendorReq
	if !decodeBody(w, r, &req) {
		return
	}
	v, bad := req.vendor()
	if bad != "" {
		writeError(w, http.StatusBadRequest, "bad_request", bad)
		return
	}
	cur, err := a.vendors.GetVendor(r.Context(), r.PathValue("id"))
	if err != nil {
		a.vendorError(w, r, err)
		return
	}
	v.ID = cur.ID
	if req.ClearSecret {
		v.WebhookSecret = ""
	}
	if err := a.vendors.UpdateVendor(r.Context(), v, req.ClearSecret, a.cfg.Now()); err != nil {
		a.vendorError(w, r, err)
		return
	}
	got, err := a.vendors.GetVendor(r.Context(), v.ID)
	if err != nil {
		a.vendorError(w, r, err)
		return
	}
	a.audit(r, who, "vendor.update", got.ID, "ok", map[string]any{"name": got.Name, "secret_changed": req.WebhookSecret != "" || req.ClearSecret})
	writeJSON(w, http.StatusOK, got)
}

func (a *API) disableVendor(disable bool) func(w http.ResponseWriter, r *http.Request, who Caller) {
	return func(w http.ResponseWriter, r *http.Request, who Caller) {
		cur, err := a.vendors.GetVendor(r.Context(), r.PathValue("id"))
		if err != nil {
			a.vendorError(w, r, err)
			return
		}
		var at *time.Time
		action := "vendor.enable"
		if disable {
			now := a.cfg.Now()
			at, action = &now, "vendor.disable"
		}
		if err := a.vendors.SetVendorDisabled(r.Context(), cur.ID, at, a.cfg.Now()); err != nil {
			a.vendorError(w, r, err)
			return
		}
		got, err := a.vendors.GetVendor(r.Context(), cur.ID)
		if err != nil {
			a.vendorError(w, r, err)
			return
		}
		a.audit(r, who, action, got.ID, "ok", map[string]any{"name": got.Name})
		writeJSON(w, http.StatusOK, got)
	}
}

// ticketDeliveries lists what was sent to vendors for a ticket, with each
// delivery's state, attempts and last error.
func (a *API) ticketDeliveries(w http.ResponseWriter, r *http.Request, who Caller) {
	id := r.PathValue("id")
	if _, err := a.vendors.GetTicket(r.Context(), id); err != nil {
		a.ticketError(w, r, err)
		return
	}
	ds, err := a.vendors.TicketDeliveries(r.Context(), id)
	if err != nil {
		a.ticketError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": ds})
}
