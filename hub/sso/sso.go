// Package sso logs technicians in with the organisation's OpenID Connect
// provider: the authorization code flow with PKCE, the ID token checked
// (signature, issuer, audience, expiry, nonce), and the user's role read
// from a groups claim through the admin's mapping. It knows nothing of
// sessions or pages; the console asks it for a login address and for the
// identity behind a callback.
package sso

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/tierline/tierline/hub/store"
)

// Config is how the hub reaches its provider.
type Config struct {
	Issuer       string // the provider's issuer URL (discovery at Issuer/.well-known/openid-configuration)
	ClientID     string
	ClientSecret string
	// RedirectURL is the hub's callback: https://HUB/login/sso/callback.
	RedirectURL string
	// GroupsClaim names the ID-token claim holding the user's groups
	// (default "groups"); RoleMap gives each group a role. A user in
	// several mapped groups gets the highest role.
	GroupsClaim string
	RoleMap     map[string]store.Role
	// SiteMap, if set, gives groups sites as RoleMap gives roles: a user
	// works the sites of all their mapped groups ("*": every site), set
	// at every login. Empty: sites are kept as an admin set them.
	SiteMap map[string]string
	// CreateUsers lets a first login create the user; without it an admin
	// creates the user first (`tierline-hub user add --sso`).
	CreateUsers bool
	// HTTPClient reaches the provider (its CA, a proxy); default
	// http.DefaultClient.
	HTTPClient *http.Client
}

// Enabled reports whether single sign-on is configured.
func (c Config) Enabled() bool { return c.Issuer != "" }

// Check validates c.
func (c *Config) Check() error {
	if !c.Enabled() {
		return nil
	}
	switch {
	case !strings.HasPrefix(c.Issuer, "https://") && !strings.HasPrefix(c.Issuer, "http://127.0.0.1") && !strings.HasPrefix(c.Issuer, "http://localhost"):
		return fmt.Errorf("--oidc-issuer %q: the provider's issuer must be an https:// URL", c.Issuer)
	case c.ClientID == "":
		return errors.New("--oidc-issuer needs --oidc-client-id: the client id the provider gave the hub")
	case c.ClientSecret == "":
		return errors.New("--oidc-issuer needs --oidc-client-secret-file: a file holding the client secret the provider gave the hub")
	case c.RedirectURL == "":
		return errors.New("single sign-on needs the hub's own URL for its callback")
	case len(c.RoleMap) == 0:
		return errors.New("--oidc-issuer needs --oidc-roles, e.g. helpdesk-admins=admin,helpdesk=tier1: which provider groups get which role")
	}
	for g, r := range c.RoleMap {
		if !r.Valid() || g == "" {
			return fmt.Errorf("--oidc-roles: %q=%q: give group=role with role tier1, tier2, tier3 or admin", g, r)
		}
	}
	for g, sites := range c.SiteMap {
		for s := range strings.SplitSeq(sites, "|") {
			if g == "" || s != EverySite && store.ValidateSite(s) != nil {
				return fmt.Errorf("--oidc-sites: %q=%q: give group=site with a site name or * for every site", g, s)
			}
		}
	}
	if c.GroupsClaim == "" {
		c.GroupsClaim = "groups"
	}
	return nil
}

// ParseRoleMap reads "group=role,group=role".
func ParseRoleMap(s string) (map[string]store.Role, error) {
	out := map[string]store.Role{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		g, r, ok := strings.Cut(part, "=")
		role := store.Role(strings.TrimSpace(r))
		if !ok || strings.TrimSpace(g) == "" || !role.Valid() {
			return nil, fmt.Errorf("%q: give group=role with role tier1, tier2, tier3 or admin", part)
		}
		out[strings.TrimSpace(g)] = role
	}
	return out, nil
}

// Identity is who the provider says logged in.
type Identity struct {
	Issuer  string
	Subject string
	// Name is the user name the hub uses: preferred_username, else the
	// email's local part... as the provider gives them.
	Name   string
	Email  string
	Groups []string
}

// Provider talks to one OpenID provider. Discovery happens at the first
// login, and again after a failure, so a hub starts while its provider is
// down.
type Provider struct {
	cfg Config

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// New makes a provider from a checked config.
func New(cfg Config) (*Provider, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	return &Provider{cfg: cfg}, nil
}

// Issuer is the provider's issuer URL.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// ClientID is the hub's client id at the provider.
func (p *Provider) ClientID() string { return p.cfg.ClientID }

// CreatesUsers says whether a first login creates its user.
func (p *Provider) CreatesUsers() bool { return p.cfg.CreateUsers }

// RoleMap is the groups that give roles.
func (p *Provider) RoleMap() map[string]store.Role { return p.cfg.RoleMap }

// SiteMap is the groups that give sites (empty: none do).
func (p *Provider) SiteMap() map[string]string { return p.cfg.SiteMap }

func (p *Provider) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, p.cfg.HTTPClient)
}

func (p *Provider) discover(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.oauth != nil {
		return p.oauth, p.verifier, nil
	}
	dctx, cancel := context.WithTimeout(p.ctx(ctx), 10*time.Second)
	defer cancel()
	op, err := oidc.NewProvider(dctx, p.cfg.Issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("reach the sign-on provider %s: %w", p.cfg.Issuer, err)
	}
	p.oauth = &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, RedirectURL: p.cfg.RedirectURL,
		Endpoint: op.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email", "groups"}}
	p.verifier = op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID})
	return p.oauth, p.verifier, nil
}

// Check asks the provider for its discovery document (and keeps it for
// logins): an error says it cannot be reached or its document is not
// valid for this issuer.
func (p *Provider) Check(ctx context.Context) error {
	_, _, err := p.discover(ctx)
	return err
}

// GroupsClaim is the ID-token claim read for groups.
func (p *Provider) GroupsClaim() string { return p.cfg.GroupsClaim }

// Start is one login's secrets: state and nonce tie the callback to it,
// the verifier is PKCE's. All three are random and used once.
type Start struct {
	State, Nonce, Verifier string
}

// NewStart makes a login's secrets.
func NewStart() Start {
	return Start{State: oauth2.GenerateVerifier(), Nonce: oauth2.GenerateVerifier(), Verifier: oauth2.GenerateVerifier()}
}

// AuthURL is where the browser goes to log in at the provider.
func (p *Provider) AuthURL(ctx context.Context, s Start) (string, error) {
	oc, _, err := p.discover(ctx)
	if err != nil {
		return "", err
	}
	return oc.AuthCodeURL(s.State, oidc.Nonce(s.Nonce), oauth2.S256ChallengeOption(s.Verifier)), nil
}

// Exchange trades the callback's code for tokens and returns the identity
// of a checked ID token: signed by the provider, for this hub (audience),
// not expired, carrying this login's nonce.
func (p *Provider) Exchange(ctx context.Context, s Start, code string) (Identity, error) {
	oc, verifier, err := p.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	tctx, cancel := context.WithTimeout(p.ctx(ctx), 15*time.Second)
	defer cancel()
	tok, err := oc.Exchange(tctx, code, oauth2.VerifierOption(s.Verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("the sign-on provider refused the login code: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, errors.New("the sign-on provider sent no ID token")
	}
	idt, err := verifier.Verify(tctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("the sign-on provider's ID token is not valid for this hub: %w", err)
	}
	if idt.Nonce != s.Nonce {
		return Identity{}, errors.New("the sign-on provider's ID token belongs to another login (nonce)")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("read the ID token's claims: %w", err)
	}
	id := Identity{Issuer: idt.Issuer, Subject: idt.Subject}
	id.Email, _ = claims["email"].(string)
	id.Name, _ = claims["preferred_username"].(string)
	if id.Name == "" {
		id.Name, _, _ = strings.Cut(id.Email, "@")
	}
	switch g := claims[p.cfg.GroupsClaim].(type) {
	case []any:
		for _, v := range g {
			if s, ok := v.(string); ok {
				id.Groups = append(id.Groups, s)
			}
		}
	case string:
		id.Groups = []string{g}
	}
	return id, nil
}

// Role is the highest role the identity's groups map to; false when none
// of its groups gives one.
func (p *Provider) Role(id Identity) (store.Role, bool) {
	best, found := store.Role(""), false
	for _, g := range id.Groups {
		r, ok := p.cfg.RoleMap[g]
		if ok && (!found || r.Rank() > best.Rank()) {
			best, found = r, true
		}
	}
	return best, found
}

// SortedGroups lists the mapped groups, for pages.
func (p *Provider) SortedGroups() []string {
	gs := make([]string, 0, len(p.cfg.RoleMap))
	for g := range p.cfg.RoleMap {
		gs = append(gs, g)
	}
	slices.Sort(gs)
	return gs
}

// EverySite in a SiteMap gives a group every site.
const EverySite = "*"

// ParseSiteMap reads "group=site,group=site" (site * for every site); a
// group may be named more than once to give several sites.
func ParseSiteMap(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		g, site, ok := strings.Cut(part, "=")
		g, site = strings.TrimSpace(g), strings.TrimSpace(site)
		if !ok || g == "" || site != EverySite && store.ValidateSite(site) != nil {
			return nil, fmt.Errorf("%q: give group=site with a site name or * for every site", part)
		}
		if prev, ok := out[g]; ok && prev != EverySite && site != EverySite {
			site = prev + "|" + site
		} else if ok {
			site = EverySite
		}
		out[g] = site
	}
	return out, nil
}

// Sites are the sites the identity's groups map to (nil: every site);
// managed is false when no site mapping is configured, and the user's
// stored sites stand; ok is false when a mapping is configured and none
// of the identity's groups gives a site.
func (p *Provider) Sites(id Identity) (sites []string, managed, ok bool) {
	if len(p.cfg.SiteMap) == 0 {
		return nil, false, true
	}
	var out []string
	for _, g := range id.Groups {
		s, mapped := p.cfg.SiteMap[g]
		switch {
		case !mapped:
			continue
		case s == EverySite:
			return nil, true, true
		}
		out = append(out, strings.Split(s, "|")...)
	}
	if len(out) == 0 {
		return nil, true, false
	}
	slices.Sort(out)
	return slices.Compact(out), true, true
}
