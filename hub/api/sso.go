package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/tierline/tierline/hub/sso"
	"github.com/tierline/tierline/hub/store"
)

// SSOSettings is single sign-on as in force and as an admin changes it
// (the hub's *sso.Settings).
type SSOSettings interface {
	Current(ctx context.Context) (sso.State, error)
	Save(ctx context.Context, u sso.Update, by string, now time.Time) (sso.State, error)
}

// Single sign-on settings: the provider (issuer, client id and secret,
// the groups that give roles and sites, whether a first login creates its user) and
// whether passwords still log in. A save asks the provider for its
// discovery document first and is in force at once, on every replica, at
// its next login. The client secret is write-only: never answered back.
// Parts the hub's flags set cannot be changed here.
func (a *API) ssoRoutes() []Route {
	return []Route{
		{"GET /api/v1/settings/sso", store.RoleAdmin, a.getSSO},
		{"PUT /api/v1/settings/sso", store.RoleAdmin, a.putSSO},
	}
}

// SSOView is the answer of GET and PUT /api/v1/settings/sso.
type SSOView struct {
	Issuer            string    `json:"issuer"`
	ClientID          string    `json:"client_id"`
	HasSecret         bool      `json:"has_secret"`
	Roles             string    `json:"roles"`
	Sites             string    `json:"sites"`
	GroupsClaim       string    `json:"groups_claim"`
	CreateUsers       bool      `json:"create_users"`
	PasswordLogin     bool      `json:"password_login"`
	BreakGlass        string    `json:"break_glass"`
	ProviderFromFlags bool      `json:"provider_from_flags"`
	PasswordFromFlags bool      `json:"password_from_flags"`
	SitesFromFlags    bool      `json:"sites_from_flags"`
	UpdatedBy         string    `json:"updated_by,omitempty"`
	UpdatedAt         time.Time `json:"updated_at,omitzero"`
}

func ssoView(st sso.State) SSOView {
	v := SSOView{PasswordLogin: !st.PasswordLoginOff, BreakGlass: st.BreakGlass, ProviderFromFlags: st.ProviderFromFlags,
		PasswordFromFlags: st.PasswordFromFlags, SitesFromFlags: st.SitesFromFlags, Sites: sso.SiteList(st.Sites), HasSecret: st.HasSecret, UpdatedBy: st.Saved.UpdatedBy, UpdatedAt: st.Saved.UpdatedAt, GroupsClaim: "groups"}
	if p := st.Provider; p != nil {
		v.Issuer, v.ClientID, v.Roles, v.GroupsClaim, v.CreateUsers = p.Issuer(), p.ClientID(), sso.RoleList(p.RoleMap()), p.GroupsClaim(), p.CreatesUsers()
		v.HasSecret = v.HasSecret || st.ProviderFromFlags
	}
	return v
}

func (a *API) ssoSettings(w http.ResponseWriter) (SSOSettings, bool) {
	if a.cfg.SSO == nil {
		writeError(w, http.StatusNotImplemented, "not_available", "this hub has no sign-on settings")
		return nil, false
	}
	return a.cfg.SSO, true
}

func (a *API) getSSO(w http.ResponseWriter, r *http.Request, who Caller) {
	s, ok := a.ssoSettings(w)
	if !ok {
		return
	}
	st, err := s.Current(r.Context())
	if err != nil {
		a.internal(w, "sign-on settings", err)
		return
	}
	writeJSON(w, http.StatusOK, ssoView(st))
}

// putSSO takes {"issuer": URL, "client_id": ..., "client_secret": ...,
// "roles": "group=role,...", "sites": "group=site,...", "groups_claim": "groups", "create_users":
// bool, "password_login": bool, "break_glass": NAME}; a field left out
// keeps its value, an empty client_secret keeps the saved one (unless
// the issuer changes), an empty issuer turns single sign-on off.
func (a *API) putSSO(w http.ResponseWriter, r *http.Request, who Caller) {
	s, ok := a.ssoSettings(w)
	if !ok {
		return
	}
	var u sso.Update
	if !decodeBody(w, r, &u) {
		return
	}
	detail := map[string]any{}
	for k, v := range map[string]*string{"issuer": u.Issuer, "client_id": u.ClientID, "roles": u.Roles, "sites": u.Sites, "groups_claim": u.GroupsClaim, "break_glass": u.BreakGlass} {
		if v != nil {
			detail[k] = *v
		}
	}
	if u.CreateUsers != nil {
		detail["create_users"] = *u.CreateUsers
	}
	if u.PasswordLogin != nil {
		detail["password_login"] = *u.PasswordLogin
	}
	detail["secret_changed"] = u.ClientSecret != nil && *u.ClientSecret != ""
	st, err := s.Save(r.Context(), u, who.Name, a.cfg.Now())
	var inv *sso.InvalidError
	if errors.As(err, &inv) {
		detail["reason"] = inv.Msg
		a.audit(r, who, "settings.sso", "sso", "refused", detail)
		writeError(w, http.StatusBadRequest, "bad_request", inv.Msg)
		return
	}
	if err != nil {
		a.internal(w, "save sign-on settings", err)
		return
	}
	a.audit(r, who, "settings.sso", "sso", "ok", detail)
	writeJSON(w, http.StatusOK, ssoView(st))
}
