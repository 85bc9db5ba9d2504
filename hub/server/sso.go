package server

import (
	"errors"
	"strings"

	"github.com/tierline/tierline/hub/sso"
)

// SSOConfig is single sign-on (hub/sso) and whether passwords still log in.
type SSOConfig struct {
	OIDC sso.Config
	// PasswordLoginOff refuses password logins to everyone but BreakGlass,
	// an admin kept for when the provider is down.
	PasswordLoginOff bool
	BreakGlass       string
}

// check fills the callback from the hub's URL and validates the rest.
func (c *SSOConfig) check(hubURL string) error {
	if !c.OIDC.Enabled() {
		if c.PasswordLoginOff {
			return errors.New("--password-login=false needs single sign-on (--oidc-issuer): nobody could log in")
		}
		return nil
	}
	if c.PasswordLoginOff && c.BreakGlass == "" {
		return errors.New("--password-login=false needs --break-glass-admin NAME: an admin who can still log in when the provider is down")
	}
	c.OIDC.RedirectURL = strings.TrimRight(hubURL, "/") + "/login/sso/callback"
	return c.OIDC.Check()
}

// provider is the sign-on provider, nil without single sign-on.
func (c SSOConfig) provider() (*sso.Provider, error) {
	if !c.OIDC.Enabled() {
		return nil, nil
	}
	return sso.New(c.OIDC)
}
