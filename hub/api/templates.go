package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// templatesStore is what the request template routes call on the store.
type templatesStore interface {
	ListRequestTemplates(ctx context.Context) ([]store.RequestTemplate, error)
	GetRequestTemplate(ctx context.Context, id string) (store.RequestTemplate, error)
	CreateRequestTemplate(ctx context.Context, t store.RequestTemplate) error
	UpdateRequestTemplate(ctx context.Context, t wire.RequestTemplate, at time.Time) error
	DeleteRequestTemplate(ctx context.Context, id string) error
}

// Service request templates: every technician reads them (to file a
// request for someone who called); admins write them.
func (a *API) templateRoutes() []Route {
	return []Route{
		{"GET /api/v1/request-templates", store.RoleTier1, a.listTemplates},
		{"GET /api/v1/request-templates/{id}", store.RoleTier1, a.getTemplate},
		{"POST /api/v1/request-templates", store.RoleAdmin, a.createTemplate},
		{"PUT /api/v1/request-templates/{id}", store.RoleAdmin, a.updateTemplate},
		{"DELETE /api/v1/request-templates/{id}", store.RoleAdmin, a.deleteTemplate},
	}
}

// templateReq is a template as an admin writes it: the id is the hub's.
type templateReq struct {
	Name        string               `json:"name"`
	Description string               `json:"description"`
	Category    string               `json:"category"`
	Tier        int                  `json:"tier"`
	Priority    int                  `json:"priority"`
	Fields      []wire.TemplateField `json:"fields"`
	// Software names a software catalog entry: requests from the template
	// are approved and installed (POST /api/v1/tickets/{id}/software).
	Software string `json:"software,omitempty"`
}

// template makes the request a template with id, defaults filled: Tier 1,
// priority 4 (P4, as a user's own request).
func (req templateReq) template(id string) wire.RequestTemplate {
	t := wire.RequestTemplate{ID: id, Name: req.Name, Description: req.Description, Category: req.Category, Tier: req.Tier,
		Priority: req.Priority, Fields: req.Fields, Software: req.Software}
	if t.Tier == 0 {
		t.Tier = 1
	}
	if t.Priority == 0 {
		t.Priority = 4
	}
	if t.Fields == nil {
		t.Fields = []wire.TemplateField{}
	}
	return t
}

func (a *API) listTemplates(w http.ResponseWriter, r *http.Request, who Caller) {
	list, err := a.templates.ListRequestTemplates(r.Context())
	if err != nil {
		a.internal(w, "list request templates", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"templates": list})
}

func (a *API) template(w http.ResponseWriter, r *http.Request) (store.RequestTemplate, bool) {
	id, ok := pathID(w, r)
	if !ok {
		return store.RequestTemplate{}, false
	}
	t, err := a.templates.GetRequestTemplate(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no request template "+id+"; list them with GET /api/v1/request-templates")
		return t, false
	}
	if err != nil {
		a.internal(w, "get request template", err)
		return t, false
	}
	return t, true
}

func (a *API) getTemplate(w http.ResponseWriter, r *http.Request, who Caller) {
	if t, ok := a.template(w, r); ok {
		writeJSON(w, http.StatusOK, t)
	}
}

// templateWriteError answers a refused template write, audited.
func (a *API) templateWriteError(w http.ResponseWriter, r *http.Request, who Caller, action, target string, err error) {
	switch {
	case errors.Is(err, store.ErrExists):
		a.audit(r, who, action, target, "refused", map[string]any{"reason": "name taken"})
		writeError(w, http.StatusConflict, "conflict", "another request template has this name; choose another")
	case errors.Is(err, store.ErrTooMany):
		a.audit(r, who, action, target, "refused", map[string]any{"reason": "too many templates"})
		writeError(w, http.StatusConflict, "conflict", "the hub keeps at most "+strconv.Itoa(wire.MaxTemplates)+" request templates; delete one first")
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no request template "+target)
	default:
		a.internal(w, "save request template", err)
	}
}

func (a *API) createTemplate(w http.ResponseWriter, r *http.Request, who Caller) {
	var req templateReq
	if !decodeBody(w, r, &req) {
		return
	}
	t := store.RequestTemplate{RequestTemplate: req.template(wire.NewID()), CreatedBy: who.Name, CreatedAt: a.cfg.Now()}
	t.UpdatedAt = t.CreatedAt
	if err := t.Validate(); err != nil {
		a.audit(r, who, "template.create", "", "refused", map[string]any{"reason": err.Error()})
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if err := a.templates.CreateRequestTemplate(r.Context(), t); err != nil {
		a.templateWriteError(w, r, who, "template.create", "", err)
		return
	}
	a.audit(r, who, "template.create", t.ID, "ok", map[string]any{"name": t.Name, "tier": t.Tier, "fields": len(t.Fields)})
	w.Header().Set("Location", "/api/v1/request-templates/"+t.ID)
	writeJSON(w, http.StatusCreated, t)
}

func (a *API) updateTemplate(w http.ResponseWriter, r *http.Request, who Caller) {
	old, ok := a.template(w, r)
	if !ok {
		return
	}
	var req templateReq
	if !decodeBody(w, r, &req) {
		return
	}
	t := req.template(old.ID)
	if err := t.Validate(); err != nil {
		a.audit(r, who, "template.update", old.ID, "refused", map[string]any{"reason": err.Error()})
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	now := a.cfg.Now()
	if err := a.templates.UpdateRequestTemplate(r.Context(), t, now); err != nil {
		a.templateWriteError(w, r, who, "template.update", old.ID, err)
		return
	}
	a.audit(r, who, "template.update", old.ID, "ok", map[string]any{"name": t.Name, "tier": t.Tier, "fields": len(t.Fields)})
	writeJSON(w, http.StatusOK, store.RequestTemplate{RequestTemplate: t, CreatedBy: old.CreatedBy, CreatedAt: old.CreatedAt, UpdatedAt: now})
}

func (a *API) deleteTemplate(w http.ResponseWriter, r *http.Request, who Caller) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if err := a.templates.DeleteRequestTemplate(r.Context(), id); err != nil {
		a.templateWriteError(w, r, who, "template.delete", id, err)
		return
	}
	a.audit(r, who, "template.delete", id, "ok", nil)
	writeJSON(w, http.StatusOK, map[string]any{"deleted": id})
}
