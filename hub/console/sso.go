package console

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/api"
	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/sso"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// Single sign-on: the login page's "Log in with your company account"
// sends the browser to the provider with a one-time state, nonce and PKCE
// verifier (kept in the store by the state's hash, so any replica takes
// the callback); the callback takes that login once, has hub/sso check the
// ID token, and maps the provider's groups to a role at every login. A
// user whose groups no longer give a role cannot log in. The provider's
// own second factor stands for the console's: a sign-on login is not asked
// for a TOTP code.

// ssoStore is what sign-on logins call on the store.
type ssoStore interface {
	CreateSSOLogin(ctx context.Context, l store.SSOLogin, now time.Time) error
	TakeSSOLogin(ctx context.Context, stateHash []byte, now time.Time) (store.SSOLogin, error)
	UserByIdentity(ctx context.Context, issuer, subject string) (store.User, error)
	LinkIdentity(ctx context.Context, issuer, subject, userID string) error
	GetUserByName(ctx context.Context, name string) (store.User, error)
	CreateUser(ctx context.Context, u store.User) error
	SetUserRole(ctx context.Context, id string, role store.Role) error
	SetUserSites(ctx context.Context, id string, sites []string) error
}

// ssoLoginTTL is how long a user has at the provider.
const ssoLoginTTL = 10 * time.Minute

func (c *Console) registerSSO(mux Mux) {
	mux.Handle("GET /login/sso", c.secure(http.HandlerFunc(c.ssoStart)))
	mux.Handle("GET /login/sso/callback", c.secure(http.HandlerFunc(c.ssoCallback)))
}

// ssoState is how people log in now; without single sign-on set up, or
// when the settings cannot be read, the zero State (passwords only).
func (c *Console) ssoState(ctx context.Context) sso.State {
	if c.cfg.SSO == nil {
		return sso.State{}
	}
	st, err := c.cfg.SSO.Current(ctx)
	if err != nil {
		c.log.Error("sign-on settings", "err", err)
	}
	return st
}

func (c *Console) ssoStart(w http.ResponseWriter, r *http.Request) {
	p := c.ssoState(r.Context()).Provider
	if p == nil {
		c.loginFailed(w, r, "", "", http.StatusNotFound, "Single sign-on is not set up on this hub.")
		return
	}
	now := c.cfg.Now()
	next := safeNext(r.URL.Query().Get("next"))
	st := sso.NewStart()
	l := store.SSOLogin{StateHash: auth.HashSecret(st.State), Nonce: st.Nonce, Verifier: st.Verifier, Next: next, ExpiresAt: now.Add(ssoLoginTTL)}
	if err := c.ids.CreateSSOLogin(r.Context(), l, now); err != nil {
		c.log.Error("create sign-on login", "err", err)
		c.loginFailed(w, r, "", next, http.StatusInternalServerError, "The hub could not start your sign-on; try again.")
		return
	}
	to, err := p.AuthURL(r.Context(), st)
	if err != nil {
		c.log.Warn("sign-on provider", "err", err)
		c.loginFailed(w, r, "", next, http.StatusBadGateway, "The sign-on provider at "+p.Issuer()+" cannot be reached. Try again in a moment; if it stays down, an admin can log in with a password.")
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (c *Console) ssoCallback(w http.ResponseWriter, r *http.Request) {
	p := c.ssoState(r.Context()).Provider
	if p == nil {
		c.loginFailed(w, r, "", "", http.StatusNotFound, "Single sign-on is not set up on this hub.")
		return
	}
	ctx := r.Context()
	now := c.cfg.Now()
	q := r.URL.Query()
	deny := func(status int, actor, reason, msg string) {
		c.cfg.Audit(store.AuditEvent{Time: now, Actor: actor, Action: "user.sso", Target: actor, Outcome: "denied",
			Detail: map[string]any{"reason": reason, "issuer": p.Issuer()}, Remote: r.RemoteAddr})
		c.loginFailed(w, r, "", "", status, msg)
	}
	if e := q.Get("error"); e != "" {
		deny(http.StatusUnauthorized, "", "provider: "+wire.Clip(e, 64),
			"The sign-on provider did not log you in ("+wire.Clip(e+": "+q.Get("error_description"), 200)+"). Try again.")
		return
	}
	state := q.Get("state")
	if state == "" || len(state) > 256 || q.Get("code") == "" || len(q.Get("code")) > 4096 {
		deny(http.StatusBadRequest, "", "malformed callback", "This sign-on answer is incomplete. Log in again.")
		return
	}
	l, err := c.ids.TakeSSOLogin(ctx, auth.HashSecret(state), now)
	if errors.Is(err, store.ErrNotFound) {
		deny(http.StatusBadRequest, "", "unknown, used or expired state",
			"This sign-on answer was used already or took longer than 10 minutes. Log in again.")
		return
	}
	if err != nil {
		c.log.Error("take sign-on login", "err", err)
		c.loginFailed(w, r, "", "", http.StatusInternalServerError, "The hub could not finish your sign-on; try again.")
		return
	}
	id, err := p.Exchange(ctx, sso.Start{State: state, Nonce: l.Nonce, Verifier: l.Verifier}, q.Get("code"))
	if err != nil {
		c.log.Warn("sign-on refused", "err", err)
		deny(http.StatusUnauthorized, "", err.Error(), "Your sign-on could not be accepted: "+err.Error()+". Log in again, or ask an admin.")
		return
	}
	u, msg, err := c.ssoUser(ctx, p, id, now, r)
	if err != nil {
		c.log.Error("sign-on user", "err", err)
		c.loginFailed(w, r, "", "", http.StatusInternalServerError, "The hub could not finish your sign-on; try again.")
		return
	}
	if msg != "" {
		deny(http.StatusForbidden, id.Name, msg, msg)
		return
	}
	if !c.openSession(w, r, u, now) {
		return
	}
	c.cfg.Audit(store.AuditEvent{Time: now, Actor: u.Name, Action: "user.sso", Target: u.Name, Outcome: "ok",
		Detail: map[string]any{"issuer": id.Issuer, "subject": id.Subject, "role": u.Role}, Remote: r.RemoteAddr})
	// The callback is a navigation the provider started, so a redirect
	// from it would arrive without the new SameSite=Strict cookie: a page
	// moves on by itself instead.
	c.Render(w, r, nil, http.StatusOK, "signed_in.html", View{Title: "Signed in", Refresh: l.Next, Data: l.Next})
}

// ssoUser finds or makes the user behind a checked identity and gives it
// the role its groups map to now. A refusal comes back as msg, in words
// for the user.
func (c *Console) ssoUser(ctx context.Context, p *sso.Provider, id sso.Identity, now time.Time, r *http.Request) (u store.User, msg string, err error) {
	role, ok := p.Role(id)
	if !ok {
		return u, "Your account at the sign-on provider is in no group that gives a Tierline role (groups: " +
			wire.Clip(strings.Join(id.Groups, ", "), 200) + "). Ask an admin to add you to a help-desk group.", nil
	}
	u, err = c.ids.UserByIdentity(ctx, id.Issuer, id.Subject)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if u, msg, err = c.firstSSOLogin(ctx, p, id, role, now, r); err != nil || msg != "" {
			return u, msg, err
		}
	case err != nil:
		return u, "", err
	}
	if u.DisabledAt != nil {
		return u, "Your Tierline account is disabled. Ask an admin.", nil
	}
	if u.Role != role {
		if err := c.ids.SetUserRole(ctx, u.ID, role); err != nil {
			if errors.Is(err, store.ErrLastAdmin) {
				return u, "Your groups no longer make you an admin, and you are the last one: ask the provider's admin, or use the break-glass admin.", nil
			}
			return u, "", err
		}
		c.cfg.Audit(store.AuditEvent{Time: now, Actor: "sso", Action: "user.role", Target: u.Name, Outcome: "ok",
			Detail: map[string]any{"from": u.Role, "to": role, "groups": id.Groups}, Remote: r.RemoteAddr})
		u.Role = role
	}
	return c.ssoSites(ctx, p, id, u, now, r)
}

// firstSSOLogin ties a new identity to a user: one an admin made for
// sign-on (no password) with the same name, or a new one when the hub
// creates users. A user with a password is never taken over by a name.
func (c *Console) firstSSOLogin(ctx context.Context, p *sso.Provider, id sso.Identity, role store.Role, now time.Time, r *http.Request) (store.User, string, error) {
	if !api.ValidUserName(id.Name) {
		return store.User{}, "The sign-on provider gave no user name Tierline can use (preferred_username or email). Ask an admin.", nil
	}
	u, err := c.ids.GetUserByName(ctx, id.Name)
	switch {
	case err == nil && u.PasswordHash != "":
		return store.User{}, "A Tierline user named " + id.Name + " exists with a password, so single sign-on cannot take it over. Ask an admin.", nil
	case err == nil:
		// Made for sign-on by an admin (user add --sso).
	case !errors.Is(err, store.ErrNotFound):
		return store.User{}, "", err
	case !p.CreatesUsers():
		return store.User{}, "There is no Tierline user " + id.Name + " yet. Ask an admin to add you (tierline-hub user add --name " + id.Name + " --role ROLE --sso).", nil
	default:
		u = store.User{ID: wire.NewID(), Name: id.Name, Role: role, CreatedAt: now}
		if err := c.ids.CreateUser(ctx, u); err != nil {
			if errors.Is(err, store.ErrExists) {
				return store.User{}, "A Tierline user named " + id.Name + " was made meanwhile; log in again.", nil
			}
			return store.User{}, "", err
		}
		c.cfg.Audit(store.AuditEvent{Time: now, Actor: "sso", Action: "user.create", Target: u.Name, Outcome: "ok",
			Detail: map[string]any{"role": role, "issuer": id.Issuer}, Remote: r.RemoteAddr})
	}
	if err := c.ids.LinkIdentity(ctx, id.Issuer, id.Subject, u.ID); err != nil {
		if errors.Is(err, store.ErrExists) {
			return store.User{}, "The Tierline user " + id.Name + " belongs to another account at the sign-on provider. Ask an admin.", nil
		}
		return store.User{}, "", err
	}
	return u, "", nil
}

// passwordLoginRefused says why a password login of name is not taken
// when the hub has turned password logins off ("" when it is allowed).
// Settings that cannot be read refuse every password login: an admin who
// turned password logins off must not see them come back on when the
// database stumbles.
func (c *Console) passwordLoginRefused(ctx context.Context, name string) string {
	if c.cfg.SSO == nil {
		return ""
	}
	st, err := c.cfg.SSO.Current(ctx)
	if err != nil {
		c.log.Error("sign-on settings", "err", err)
		return "The hub cannot read its sign-on settings just now: try again in a minute, and if it persists ask an admin to look at the hub's log."
	}
	if !st.PasswordLoginOff || strings.EqualFold(name, st.BreakGlass) {
		return ""
	}
	return "Password logins are off on this hub: log in with your company account."
}
