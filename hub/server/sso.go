package server

import (
	"errors"
	"strings"

	"github.com/tierline/tierline/hub/sso"
	"github.com/tierline/tierline/hub/store"
)

// SSOConfig is single sign-on (hub/sso) and whether passwords still log
// in, as the flags set them; what the flags leave out an admin sets on
// the admin page.
type SSOConfig struct {
	OIDC sso.Config
	// PasswordLoginOff refuses password logins to everyone but BreakGlass,
	// an admin kept for when the provider is down. PasswordSet says the
	// flags set these two (the admin page then cannot).
	PasswordLoginOff bool
	BreakGlass       string
	PasswordSet      bool
}

// callback is the hub's sign-on callback.
func callback(hubURL string) string { return strings.TrimRight(hubURL, "/") + "/login/sso/callback" }

// check validates the flags' part.
func (c *SSOConfig) check(hubURL string) error {
	if c.PasswordLoginOff && c.BreakGlass == "" {
		return errors.New("--password-login=false needs --break-glass-admin NAME: an admin who can still log in when the provider is down")
	}
	if !c.OIDC.Enabled() {
		return nil
	}
	c.OIDC.RedirectURL = callback(hubURL)
	return c.OIDC.Check()
}

// settings puts the flags and the admin's saved settings together.
func (c SSOConfig) settings(st *store.Store, hubURL string) (*sso.Settings, error) {
	return sso.NewSettings(sso.Flags{OIDC: c.OIDC, PasswordSet: c.PasswordSet || c.PasswordLoginOff || c.BreakGlass != "",
		PasswordLoginOff: c.PasswordLoginOff, BreakGlass: c.BreakGlass}, st, callback(hubURL), nil)
}
