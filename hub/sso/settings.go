package sso

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tierline/tierline/hub/store"
)

// State is how people log in now: the provider (nil without single
// sign-on), whether passwords still log in, and where each part was set.
// A State is its own Current, for a hub (or a test) whose settings never
// change.
type State struct {
	Provider         *Provider
	PasswordLoginOff bool
	BreakGlass       string
	// ProviderFromFlags, PasswordFromFlags and SitesFromFlags say the
	// hub's flags set that part, so the admin page cannot change it.
	ProviderFromFlags, PasswordFromFlags, SitesFromFlags bool
	// Sites is the groups that give sites in force (the flag's or the
	// page's; empty: none do).
	Sites map[string]string
	// Saved is what an admin saved (the secret blanked; HasSecret says
	// whether one is saved).
	Saved     store.SSOSettings
	HasSecret bool
}

// Current answers s.
func (s State) Current(context.Context) (State, error) { return s, nil }

// Flags is single sign-on as the hub's flags set it.
type Flags struct {
	// OIDC, when Enabled, is the provider; the admin page cannot change it.
	// Its SiteMap, when not empty (--oidc-sites), gives sites whether the
	// provider comes from the flags or the page; when empty, the page's
	// site mapping stands.
	OIDC Config
	// PasswordSet says --password-login=false or --break-glass-admin was
	// given: then PasswordLoginOff and BreakGlass stand over the page's.
	PasswordSet      bool
	PasswordLoginOff bool
	BreakGlass       string
}

// settingsStore is what Settings calls on the store.
type settingsStore interface {
	GetSSOSettings(ctx context.Context) (store.SSOSettings, error)
	PutSSOSettings(ctx context.Context, s store.SSOSettings) (store.SSOSettings, error)
	SSOSettingsVersion(ctx context.Context) (int64, error)
	GetUserByName(ctx context.Context, name string) (store.User, error)
}

// Settings puts together the hub's flags and what an admin saved on the
// admin page, and keeps the provider built from them. Every replica reads
// the settings' version when asked for the current state, so a change
// saved on one is in force on all at their next login, without a restart.
type Settings struct {
	flags       Flags
	st          settingsStore
	redirectURL string
	client      *http.Client
	// flagProvider is the provider the flags set, with their sites.
	flagProvider *Provider

	mu      sync.Mutex
	version int64
	cur     State
	loaded  bool
}

// NewSettings checks the flags' part and builds what they fix.
// redirectURL is the hub's callback (https://HUB/login/sso/callback);
// client reaches providers (nil: http.DefaultClient).
func NewSettings(flags Flags, st settingsStore, redirectURL string, client *http.Client) (*Settings, error) {
	s := &Settings{flags: flags, st: st, redirectURL: redirectURL, client: client}
	if flags.OIDC.Enabled() {
		s.flags.OIDC.RedirectURL = redirectURL
		s.flags.OIDC.HTTPClient = client
		p, err := New(s.flags.OIDC)
		if err != nil {
			return nil, err
		}
		s.flagProvider, s.cur.Provider, s.cur.ProviderFromFlags = p, p, true
	}
	s.cur.SitesFromFlags = len(flags.OIDC.SiteMap) > 0
	if flags.PasswordSet {
		s.cur.PasswordLoginOff, s.cur.BreakGlass, s.cur.PasswordFromFlags = flags.PasswordLoginOff, flags.BreakGlass, true
	}
	return s, nil
}

// Current is the state in force, rebuilt when an admin saved a change
// (here or on another replica).
func (s *Settings) Current(ctx context.Context) (State, error) {
	v, err := s.st.SSOSettingsVersion(ctx)
	if err != nil {
		return State{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loaded && v == s.version {
		return s.cur, nil
	}
	saved, err := s.st.GetSSOSettings(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return State{}, err
	}
	cur, err := s.build(saved)
	if err != nil {
		return State{}, err
	}
	s.cur, s.version, s.loaded = cur, saved.Version, true
	return cur, nil
}

// build is the state from the flags and saved settings.
func (s *Settings) build(saved store.SSOSettings) (State, error) {
	cur := State{ProviderFromFlags: s.flagProvider != nil, PasswordFromFlags: s.flags.PasswordSet, SitesFromFlags: len(s.flags.OIDC.SiteMap) > 0,
		HasSecret: saved.ClientSecret != ""}
	sites := saved.Sites
	if cur.SitesFromFlags {
		sites = s.flags.OIDC.SiteMap
	}
	cur.Sites = sites
	switch {
	case cur.ProviderFromFlags && maps.Equal(sites, s.flags.OIDC.SiteMap):
		cur.Provider = s.flagProvider
	case cur.ProviderFromFlags:
		cfg := s.flags.OIDC
		cfg.SiteMap = sites
		p, err := New(cfg)
		if err != nil {
			return State{}, fmt.Errorf("saved sign-on sites: %w", err)
		}
		cur.Provider = p
	case saved.Issuer != "":
		cfg := s.config(saved)
		cfg.SiteMap = sites
		p, err := New(cfg)
		if err != nil {
			return State{}, fmt.Errorf("saved sign-on settings: %w", err)
		}
		cur.Provider = p
	}
	if cur.PasswordFromFlags {
		cur.PasswordLoginOff, cur.BreakGlass = s.flags.PasswordLoginOff, s.flags.BreakGlass
	} else if saved.Version > 0 {
		cur.PasswordLoginOff, cur.BreakGlass = !saved.PasswordLogin, saved.BreakGlass
	}
	saved.ClientSecret = ""
	cur.Saved = saved
	return cur, nil
}

func (s *Settings) config(st store.SSOSettings) Config {
	return Config{Issuer: st.Issuer, ClientID: st.ClientID, ClientSecret: st.ClientSecret, RedirectURL: s.redirectURL,
		GroupsClaim: st.GroupsClaim, RoleMap: st.Roles, SiteMap: st.Sites, CreateUsers: st.CreateUsers, HTTPClient: s.client}
}

// Update is an admin's change from the admin page. A nil field keeps its
// saved value; an empty ClientSecret keeps the saved secret while the
// issuer stays the same.
type Update struct {
	Issuer        *string `json:"issuer"`
	ClientID      *string `json:"client_id"`
	ClientSecret  *string `json:"client_secret"`
	Roles         *string `json:"roles"` // group=role,group=role
	Sites         *string `json:"sites"` // group=site,group=site (site * for every site)
	GroupsClaim   *string `json:"groups_claim"`
	CreateUsers   *bool   `json:"create_users"`
	PasswordLogin *bool   `json:"password_login"`
	BreakGlass    *string `json:"break_glass"`
}

// InvalidError is a change refused for what it says; its text tells the
// admin what to fix.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

func invalid(format string, a ...any) error { return &InvalidError{Msg: fmt.Sprintf(format, a...)} }

// Save checks an admin's change and puts it in force: the issuer must
// answer with a valid discovery document before anything is saved.
func (s *Settings) Save(ctx context.Context, u Update, by string, now time.Time) (State, error) {
	if _, err := s.Current(ctx); err != nil {
		return State{}, err
	}
	saved, err := s.st.GetSSOSettings(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return State{}, err
	}
	if saved.Version == 0 {
		saved.PasswordLogin, saved.GroupsClaim = true, "groups"
	}
	next := saved
	providerChange := u.Issuer != nil || u.ClientID != nil || u.ClientSecret != nil && *u.ClientSecret != "" || u.Roles != nil || u.GroupsClaim != nil || u.CreateUsers != nil
	if providerChange && s.flags.OIDC.Enabled() {
		return State{}, invalid("the sign-on provider is set by the hub's --oidc-* flags; change those and restart the hub, or remove them to set it here")
	}
	if u.Sites != nil && len(s.flags.OIDC.SiteMap) > 0 {
		return State{}, invalid("the groups that give sites are set by the hub's --oidc-sites flag; change it and restart the hub, or remove it to set them here")
	}
	if (u.PasswordLogin != nil || u.BreakGlass != nil) && s.flags.PasswordSet {
		return State{}, invalid("password logins are set by the hub's --password-login and --break-glass-admin flags; change those and restart the hub, or remove them to set it here")
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = strings.TrimSpace(*src)
		}
	}
	set(&next.Issuer, u.Issuer)
	next.Issuer = strings.TrimRight(next.Issuer, "/")
	set(&next.ClientID, u.ClientID)
	set(&next.GroupsClaim, u.GroupsClaim)
	set(&next.BreakGlass, u.BreakGlass)
	if u.ClientSecret != nil && strings.TrimSpace(*u.ClientSecret) != "" {
		next.ClientSecret = strings.TrimSpace(*u.ClientSecret)
	} else if next.Issuer != saved.Issuer {
		next.ClientSecret = "" // never send one provider's secret to another
	}
	if u.Roles != nil {
		roles, err := ParseRoleMap(*u.Roles)
		if err != nil {
			return State{}, invalid("roles: %v", err)
		}
		next.Roles = roles
	}
	if u.Sites != nil {
		sites, err := ParseSiteMap(*u.Sites)
		if err != nil {
			return State{}, invalid("sites: %v", err)
		}
		if len(sites) > 0 && next.Issuer == "" && !s.flags.OIDC.Enabled() {
			return State{}, invalid("sites: groups give sites only with single sign-on set up: give the issuer, client and roles too")
		}
		next.Sites = sites
	}
	if u.CreateUsers != nil {
		next.CreateUsers = *u.CreateUsers
	}
	if u.PasswordLogin != nil {
		next.PasswordLogin = *u.PasswordLogin
	}
	if next.GroupsClaim == "" {
		next.GroupsClaim = "groups"
	}
	if next.Issuer == "" {
		next.ClientID, next.ClientSecret, next.Roles, next.CreateUsers = "", "", nil, false
		if !s.flags.OIDC.Enabled() {
			next.Sites = nil
		}
	}
	if err := s.check(ctx, next); err != nil {
		return State{}, err
	}
	next.UpdatedAt, next.UpdatedBy = now, by
	if _, err := s.st.PutSSOSettings(ctx, next); err != nil {
		return State{}, err
	}
	return s.Current(ctx)
}

// check validates settings about to be saved, and asks the provider for
// its discovery document.
func (s *Settings) check(ctx context.Context, st store.SSOSettings) error {
	ssoOn := s.flags.OIDC.Enabled() || st.Issuer != ""
	if !s.flags.OIDC.Enabled() && st.Issuer != "" {
		switch {
		case len(st.Issuer) > 512:
			return invalid("issuer: at most 512 characters")
		case !strings.HasPrefix(st.Issuer, "https://") && !strings.HasPrefix(st.Issuer, "http://127.0.0.1") && !strings.HasPrefix(st.Issuer, "http://localhost"):
			return invalid("issuer %q: the provider's issuer must be an https:// URL (as its discovery document names it)", st.Issuer)
		case st.ClientID == "" || len(st.ClientID) > 256:
			return invalid("client id: give the client id the provider gave the hub (at most 256 characters)")
		case st.ClientSecret == "" || len(st.ClientSecret) > 1024:
			return invalid("client secret: give the client secret the provider gave the hub (a new issuer needs its secret again)")
		case len(st.Roles) == 0:
			return invalid("roles: give at least one group=role, e.g. helpdesk-admins=admin,helpdesk=tier1: which provider groups get which role")
		case len(st.GroupsClaim) > 64:
			return invalid("groups claim: at most 64 characters")
		}
		p, err := New(s.config(st))
		if err != nil {
			return invalid("%v", err)
		}
		if err := p.Check(ctx); err != nil {
			return invalid("%v. Check the issuer URL: %s/.well-known/openid-configuration must answer with the provider's discovery document", err, st.Issuer)
		}
	}
	if s.flags.PasswordSet || st.PasswordLogin {
		return nil
	}
	if !ssoOn {
		return invalid("password logins can only be turned off with single sign-on set up: nobody could log in")
	}
	if st.BreakGlass == "" {
		return invalid("turning password logins off needs a break-glass admin: an admin who can still log in with a password when the provider is down")
	}
	u, err := s.st.GetUserByName(ctx, st.BreakGlass)
	if errors.Is(err, store.ErrNotFound) {
		return invalid("break-glass admin %q: there is no such user", st.BreakGlass)
	}
	if err != nil {
		return err
	}
	if u.Role != store.RoleAdmin || u.PasswordHash == "" || u.DisabledAt != nil {
		return invalid("break-glass admin %q must be an enabled admin with a password", st.BreakGlass)
	}
	return nil
}

// SiteList is a site map as group=site text, sorted by group and site,
// as the admin page and the flag take it.
func SiteList(m map[string]string) string {
	var out []string
	for g, sites := range m {
		for site := range strings.SplitSeq(sites, "|") {
			out = append(out, g+"="+site)
		}
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), ",")
}

// RoleList is a role map as group=role text, sorted by group, as the
// admin page and the flag take it.
func RoleList(m map[string]store.Role) string {
	gs := make([]string, 0, len(m))
	for g := range m {
		gs = append(gs, g)
	}
	slices.Sort(gs)
	for i, g := range gs {
		gs[i] = g + "=" + string(m[g])
	}
	return strings.Join(gs, ",")
}
