package console

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
)

// Passkeys (WebAuthn) as a second factor for password logins: a user
// registers one from their account page; at the second-factor step the
// browser signs the hub's challenge with it instead of a TOTP code. The
// hub's URL names the relying party (its host name), so a passkey works
// only at that address; a hub reached by an IP address offers none, as
// browsers refuse them there. A failed assertion counts as a failed login
// of the name, as a wrong code does, so the lockout and its backoff apply.
// Ceremonies (the challenge between options and answer) live in the store
// for five minutes, so any replica takes the answer.

// passkeyStore is what passkeys call on the store.
type passkeyStore interface {
	AddPasskey(ctx context.Context, p store.Passkey) error
	ListPasskeys(ctx context.Context, userID string) ([]store.Passkey, error)
	UsePasskey(ctx context.Context, userID string, id, credential []byte, at time.Time) error
	RemovePasskey(ctx context.Context, userID string, id []byte) error
	PutWebAuthnSession(ctx context.Context, userID, purpose string, data []byte, expires, now time.Time) error
	TakeWebAuthnSession(ctx context.Context, userID, purpose string, now time.Time) ([]byte, error)
}

const (
	passkeyCeremonyTTL = 5 * time.Minute
	maxPasskeys        = 10
	maxPasskeyBody     = 64 << 10
)

func init() {
	Register(Page{Pattern: "POST /account/passkeys/options", Role: store.RoleTier1, Handle: accountPasskeyOptions})
	Register(Page{Pattern: "POST /account/passkeys", Role: store.RoleTier1, Handle: accountAddPasskey})
	Register(Page{Pattern: "POST /account/passkeys/{id}/remove", Role: store.RoleTier1, Handle: accountRemovePasskey})
}

// registerPasskeyLogin adds the passkey answer to the second-factor step.
func (c *Console) registerPasskeyLogin(mux Mux) {
	mux.Handle("POST /login/passkey/options", c.secure(c.sameOrigin(http.HandlerFunc(c.loginPasskeyOptions))))
	mux.Handle("POST /login/passkey", c.secure(c.sameOrigin(http.HandlerFunc(c.loginPasskey))))
}

// newWebAuthn is the relying party for the hub at hubURL; "" and a reason
// when passkeys cannot work there.
func newWebAuthn(hubURL string) (*webauthn.WebAuthn, string) {
	u, err := url.Parse(hubURL)
	if hubURL == "" || err != nil || u.Hostname() == "" {
		return nil, "Passkeys need the hub's address: start it with --url https://NAME:PORT."
	}
	if net.ParseIP(u.Hostname()) != nil {
		return nil, "Passkeys need the hub reached by a name, not an IP address (" + u.Hostname() + "): start it with --url https://NAME:PORT and use that address."
	}
	wa, err := webauthn.New(&webauthn.Config{RPID: u.Hostname(), RPDisplayName: "Tierline", RPOrigins: []string{u.Scheme + "://" + u.Host},
		Timeouts: webauthn.TimeoutsConfig{Login: webauthn.TimeoutConfig{Enforce: true, Timeout: passkeyCeremonyTTL},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: passkeyCeremonyTTL}}})
	if err != nil {
		return nil, "Passkeys are off: " + err.Error()
	}
	return wa, ""
}

// passkeyUser is a user as the WebAuthn library sees them: the user id is
// the handle, their passkeys the credentials.
type passkeyUser struct {
	u     store.User
	creds []webauthn.Credential
}

func (p passkeyUser) WebAuthnID() []byte                         { return []byte(p.u.ID) }
func (p passkeyUser) WebAuthnName() string                       { return p.u.Name }
func (p passkeyUser) WebAuthnDisplayName() string                { return p.u.Name }
func (p passkeyUser) WebAuthnCredentials() []webauthn.Credential { return p.creds }

func (c *Console) passkeyUser(ctx context.Context, u store.User) (passkeyUser, []store.Passkey, error) {
	ps, err := c.passkeys.ListPasskeys(ctx, u.ID)
	if err != nil {
		return passkeyUser{}, nil, err
	}
	pu := passkeyUser{u: u}
	for _, p := range ps {
		var cred webauthn.Credential
		if err := json.Unmarshal(p.Credential, &cred); err != nil {
			return passkeyUser{}, nil, fmt.Errorf("passkey %q of %s: %w", p.Name, u.Name, err)
		}
		pu.creds = append(pu.creds, cred)
	}
	return pu, ps, nil
}

func (c *Console) saveCeremony(ctx context.Context, userID, purpose string, sd *webauthn.SessionData, now time.Time) error {
	b, err := json.Marshal(sd)
	if err != nil {
		return err
	}
	return c.passkeys.PutWebAuthnSession(ctx, userID, purpose, b, now.Add(passkeyCeremonyTTL), now)
}

func (c *Console) takeCeremony(ctx context.Context, userID, purpose string, now time.Time) (webauthn.SessionData, error) {
	var sd webauthn.SessionData
	b, err := c.passkeys.TakeWebAuthnSession(ctx, userID, purpose, now)
	if err != nil {
		return sd, err
	}
	return sd, json.Unmarshal(b, &sd)
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	writeJSONStatus(w, status, map[string]string{"error": msg})
}

// ---- the account page: register and remove passkeys ----

func accountPasskeyOptions(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	if c.webauthn == nil {
		jsonError(w, http.StatusConflict, c.passkeysOff)
		return
	}
	ctx := r.Context()
	pu, ps, err := c.passkeyUser(ctx, req.User)
	if err != nil {
		c.log.Error("passkeys of user", "err", err)
		jsonError(w, http.StatusInternalServerError, "The hub could not read your passkeys; try again.")
		return
	}
	if len(ps) >= maxPasskeys {
		jsonError(w, http.StatusConflict, fmt.Sprintf("You have %d passkeys, the most one account may have. Remove one first.", len(ps)))
		return
	}
	excl := make([]protocol.CredentialDescriptor, len(pu.creds))
	for i := range pu.creds {
		excl[i] = pu.creds[i].Descriptor()
	}
	opts, sd, err := c.webauthn.BeginRegistration(pu, webauthn.WithExclusions(excl),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{ResidentKey: protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationRequired}))
	if err != nil {
		c.log.Error("begin passkey registration", "err", err)
		jsonError(w, http.StatusInternalServerError, "The hub could not start the passkey set-up; try again.")
		return
	}
	if err := c.saveCeremony(ctx, req.User.ID, store.PasskeyRegister, sd, c.cfg.Now()); err != nil {
		c.log.Error("save passkey ceremony", "err", err)
		jsonError(w, http.StatusInternalServerError, "The hub could not start the passkey set-up; try again.")
		return
	}
	writeJSONStatus(w, http.StatusOK, opts)
}

// validPasskeyName: 1-64 printable characters.
func validPasskeyName(s string) bool {
	return s != "" && utf8.RuneCountInString(s) <= 64 && utf8.ValidString(s) &&
		!strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// accountAddPasskey takes the browser's new credential (the body, as
// PublicKeyCredential.toJSON gives it) named by ?name=.
func accountAddPasskey(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	if c.webauthn == nil {
		jsonError(w, http.StatusConflict, c.passkeysOff)
		return
	}
	ctx := r.Context()
	now := c.cfg.Now()
	name := strings.TrimSpace(r.URL.Query().Get("name"))
	if !validPasskeyName(name) {
		jsonError(w, http.StatusBadRequest, "Give the passkey a name of 1 to 64 characters, such as \"work laptop\".")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPasskeyBody))
	if err != nil {
		jsonError(w, http.StatusRequestEntityTooLarge, "The browser's answer is larger than 64 KiB; try again.")
		return
	}
	sd, err := c.takeCeremony(ctx, req.User.ID, store.PasskeyRegister, now)
	if err != nil {
		jsonError(w, http.StatusBadRequest, "This passkey set-up ran out of time (5 minutes) or was finished already. Start again.")
		return
	}
	pu, _, err := c.passkeyUser(ctx, req.User)
	if err != nil {
		c.log.Error("passkeys of user", "err", err)
		jsonError(w, http.StatusInternalServerError, "The hub could not read your passkeys; try again.")
		return
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	var cred *webauthn.Credential
	if err == nil {
		cred, err = c.webauthn.CreateCredential(pu, sd, parsed)
	}
	if err != nil {
		c.cfg.Audit(store.AuditEvent{Time: now, Actor: req.User.Name, Action: "user.passkey.add", Target: req.User.Name, Outcome: "refused",
			Detail: map[string]any{"name": name, "reason": passkeyErr(err)}, Remote: r.RemoteAddr})
		jsonError(w, http.StatusBadRequest, "The hub could not accept this passkey: "+passkeyErr(err)+". Try again.")
		return
	}
	b, err := json.Marshal(cred)
	if err != nil {
		c.log.Error("encode passkey", "err", err)
		jsonError(w, http.StatusInternalServerError, "The hub could not save the passkey; try again.")
		return
	}
	err = c.passkeys.AddPasskey(ctx, store.Passkey{ID: cred.ID, UserID: req.User.ID, Name: name, Credential: b, CreatedAt: now})
	if errors.Is(err, store.ErrExists) {
		jsonError(w, http.StatusConflict, "This passkey is registered already.")
		return
	}
	if err != nil {
		c.log.Error("add passkey", "err", err)
		jsonError(w, http.StatusInternalServerError, "The hub could not save the passkey; try again.")
		return
	}
	c.cfg.Audit(store.AuditEvent{Time: now, Actor: req.User.Name, Action: "user.passkey.add", Target: req.User.Name, Outcome: "ok",
		Detail: map[string]any{"name": name, "id": passkeyID(cred.ID)}, Remote: r.RemoteAddr})
	writeJSONStatus(w, http.StatusOK, map[string]string{"id": passkeyID(cred.ID), "name": name})
}

// passkeyErr is what a refused ceremony says, with the library's detail.
func passkeyErr(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" {
		return pe.Details + " (" + pe.DevInfo + ")"
	}
	return err.Error()
}

func passkeyID(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

func accountRemovePasskey(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	ctx := r.Context()
	id, err := base64.RawURLEncoding.DecodeString(r.PathValue("id"))
	if err != nil || len(id) == 0 || len(id) > 1024 {
		c.renderAccount(w, r, req, http.StatusBadRequest, "That passkey link is broken; reload the page.")
		return
	}
	_, ps, err := c.passkeyUser(ctx, req.User)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	var name string
	for _, p := range ps {
		if bytes.Equal(p.ID, id) {
			name = p.Name
		}
	}
	if name == "" {
		c.renderAccount(w, r, req, http.StatusNotFound, "You have no such passkey (removed already?).")
		return
	}
	if len(ps) == 1 {
		hasTOTP, err := c.hasTOTP(ctx, req.User)
		if err != nil {
			c.Fail(w, r, req, err)
			return
		}
		roles, err := c.factors.SecondFactorRoles(ctx)
		if err != nil {
			c.Fail(w, r, req, err)
			return
		}
		if roles[req.User.Role] && !hasTOTP {
			c.renderAccount(w, r, req, http.StatusForbidden, "Your role ("+string(req.User.Role)+") must log in with a second factor and this passkey is your only one. "+
				"Set up an authenticator app or another passkey first.")
			return
		}
	}
	if err := c.passkeys.RemovePasskey(ctx, req.User.ID, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		c.Fail(w, r, req, err)
		return
	}
	c.cfg.Audit(store.AuditEvent{Time: c.cfg.Now(), Actor: req.User.Name, Action: "user.passkey.remove", Target: req.User.Name, Outcome: "ok",
		Detail: map[string]any{"name": name, "id": passkeyID(id)}, Remote: r.RemoteAddr})
	c.renderAccount(w, r, req, http.StatusOK, "Passkey \""+name+"\" removed.")
}

func (c *Console) hasTOTP(ctx context.Context, u store.User) (bool, error) {
	t, err := c.factors.GetTOTP(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil && t.ConfirmedAt != nil, err
}

// ---- the second-factor step of a login ----

func (c *Console) loginPasskeyOptions(w http.ResponseWriter, r *http.Request) {
	ch, u, ok := c.jsonChallenge(w, r)
	if !ok {
		return
	}
	if c.webauthn == nil {
		jsonError(w, http.StatusConflict, c.passkeysOff)
		return
	}
	ctx := r.Context()
	pu, _, err := c.passkeyUser(ctx, u)
	if err != nil {
		c.log.Error("passkeys of user", "err", err)
		jsonError(w, http.StatusInternalServerError, "The hub could not read your passkeys; try again.")
		return
	}
	if len(pu.creds) == 0 || ch.Purpose != store.ChallengeCode {
		jsonError(w, http.StatusConflict, "You have no passkey on this hub: type the code from your authenticator app.")
		return
	}
	opts, sd, err := c.webauthn.BeginLogin(pu, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err == nil {
		err = c.saveCeremony(ctx, u.ID, store.PasskeyLogin, sd, c.cfg.Now())
	}
	if err != nil {
		c.log.Error("begin passkey login", "err", err)
		jsonError(w, http.StatusInternalServerError, "The hub could not start the passkey check; try again.")
		return
	}
	writeJSONStatus(w, http.StatusOK, opts)
}

// jsonChallenge finds the request's login challenge for the passkey
// calls, answering 401 in JSON when there is none.
func (c *Console) jsonChallenge(w http.ResponseWriter, r *http.Request) (store.LoginChallenge, store.User, bool) {
	ck, err := r.Cookie(ChallengeCookie)
	if err == nil && ck.Value != "" && len(ck.Value) <= 128 {
		ch, u, err := c.factors.GetLoginChallenge(r.Context(), auth.HashSecret(ck.Value), c.cfg.Now())
		if err == nil {
			return ch, u, true
		}
		if !errors.Is(err, store.ErrNotFound) {
			c.log.Error("login challenge", "err", err)
		}
	}
	jsonError(w, http.StatusUnauthorized, "Your login ran out of time before the second factor (5 minutes). Log in again.")
	return store.LoginChallenge{}, store.User{}, false
}

// loginPasskey checks the browser's assertion (the body, as
// PublicKeyCredential.toJSON gives it) and starts the session; it
// answers {"next": path} for the page to go on to.
func (c *Console) loginPasskey(w http.ResponseWriter, r *http.Request) {
	ch, u, ok := c.jsonChallenge(w, r)
	if !ok {
		return
	}
	if c.webauthn == nil {
		jsonError(w, http.StatusConflict, c.passkeysOff)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPasskeyBody))
	if err != nil {
		jsonError(w, http.StatusRequestEntityTooLarge, "The browser's answer is larger than 64 KiB; try again.")
		return
	}
	ctx := r.Context()
	mu := c.logins.lockName(u.Name)
	mu.Lock()
	defer mu.Unlock()
	now := c.cfg.Now()
	n, last, err := c.sessions.LoginFailures(ctx, u.Name)
	if err != nil {
		c.log.Error("login failures", "err", err)
		jsonError(w, http.StatusInternalServerError, "The hub could not check your login; try again.")
		return
	}
	if until := last.Add(lockoutWait(n)); n >= LockoutAfter && now.Before(until) {
		c.cfg.Audit(store.AuditEvent{Time: now, Actor: u.Name, Action: "user.login", Target: u.Name, Outcome: "locked",
			Detail: map[string]any{"until": until.UTC().Format(time.RFC3339), "method": "passkey"}, Remote: r.RemoteAddr})
		c.passkeyLocked(w, until, now)
		return
	}
	credID, reason, err := c.checkPasskey(ctx, u, body, now)
	if err != nil {
		c.log.Error("check passkey", "err", err)
		jsonError(w, http.StatusInternalServerError, "The hub could not check your passkey; try again.")
		return
	}
	if reason != "" {
		n, err := c.sessions.RecordLoginFailure(ctx, u.Name, now)
		if err != nil {
			c.log.Error("record login failure", "err", err)
		}
		c.cfg.Audit(store.AuditEvent{Time: now, Actor: u.Name, Action: "user.second_factor", Target: u.Name, Outcome: "denied",
			Detail: map[string]any{"method": "passkey", "failures": n, "reason": reason}, Remote: r.RemoteAddr})
		if n >= LockoutAfter {
			c.endChallenge(w, r, ch)
			c.passkeyLocked(w, now.Add(lockoutWait(n)), now)
			return
		}
		jsonError(w, http.StatusForbidden, "Your passkey was not accepted ("+reason+"). Try again, or use your authenticator app.")
		return
	}
	c.endChallenge(w, r, ch)
	c.cfg.Audit(store.AuditEvent{Time: now, Actor: u.Name, Action: "user.second_factor", Target: u.Name, Outcome: "ok",
		Detail: map[string]any{"method": "passkey", "id": passkeyID(credID)}, Remote: r.RemoteAddr})
	if !c.openSession(w, r, u, now) {
		return
	}
	writeJSONStatus(w, http.StatusOK, map[string]string{"next": ch.Next})
}

// checkPasskey checks an assertion against the login's ceremony and the
// user's passkeys and records the passkey's new sign count. A refusal
// comes back as reason.
func (c *Console) checkPasskey(ctx context.Context, u store.User, body []byte, now time.Time) (id []byte, reason string, err error) {
	sd, err := c.takeCeremony(ctx, u.ID, store.PasskeyLogin, now)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "no passkey check was started, or it ran out of time", nil
	}
	if err != nil {
		return nil, "", err
	}
	pu, _, err := c.passkeyUser(ctx, u)
	if err != nil {
		return nil, "", err
	}
	parsed, perr := protocol.ParseCredentialRequestResponseBytes(body)
	var cred *webauthn.Credential
	if perr == nil {
		cred, perr = c.webauthn.ValidateLogin(pu, sd, parsed)
	}
	if perr != nil {
		return nil, passkeyErr(perr), nil
	}
	if cred.Authenticator.CloneWarning {
		return nil, "its signature counter went backwards: it may have been copied", nil
	}
	b, err := json.Marshal(cred)
	if err != nil {
		return nil, "", err
	}
	if err := c.passkeys.UsePasskey(ctx, u.ID, cred.ID, b, now); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, "the passkey was removed", nil
		}
		return nil, "", err
	}
	return cred.ID, "", nil
}

func (c *Console) passkeyLocked(w http.ResponseWriter, until, now time.Time) {
	wait := max(until.Sub(now).Round(time.Second), time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)))
	jsonError(w, http.StatusTooManyRequests, fmt.Sprintf("Too many failed logins for this name. Try again in %s (after %s UTC), or ask an admin to reset your second factor.",
		wait, until.UTC().Format("15:04:05")))
}
