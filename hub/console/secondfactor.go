package console

import (
	"context"
	"errors"
	"image/png"
	"net/http"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
)

// A second factor for console logins: after the password, a user with a
// TOTP secret types a code from their authenticator app (or a one-time
// recovery code); a user whose role an admin made require one and who has
// none sets it up before their first session. Between the password and the
// code the login is a challenge held in its own short-lived cookie. Wrong
// codes count as failed logins of the name, so the lockout and its backoff
// apply to codes as to passwords; failures are cleared only when the whole
// login succeeds.

// secondFactorStore is what second-factor logins and the account page call
// on the store.
type secondFactorStore interface {
	GetTOTP(ctx context.Context, userID string) (store.TOTP, error)
	StartTOTP(ctx context.Context, userID, secret string) error
	UseTOTPStep(ctx context.Context, userID string, step int64, confirm bool, at time.Time) (bool, error)
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte) error
	UseRecoveryCode(ctx context.Context, userID string, hash []byte, at time.Time) (bool, error)
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)
	ClearTOTP(ctx context.Context, userID string) error
	CreateLoginChallenge(ctx context.Context, c store.LoginChallenge, now time.Time) error
	GetLoginChallenge(ctx context.Context, hash []byte, now time.Time) (store.LoginChallenge, store.User, error)
	DeleteLoginChallenge(ctx context.Context, hash []byte) error
	SecondFactorRoles(ctx context.Context) (map[store.Role]bool, error)
	SecondFactorUsers(ctx context.Context) (map[string]bool, error)
}

// ChallengeCookie holds a login between its password and its second
// factor, for at most challengeTTL.
const (
	ChallengeCookie = "__Host-tierline_login"
	challengeTTL    = 5 * time.Minute
	totpIssuer      = "Tierline"
)

func init() {
	Register(Page{Pattern: "GET /account", Role: store.RoleTier1, Nav: "Account", NavOrder: 95, Handle: accountPage})
	Register(Page{Pattern: "POST /account/second-factor", Role: store.RoleTier1, Handle: accountStartTOTP})
	Register(Page{Pattern: "GET /account/second-factor.png", Role: store.RoleTier1, Handle: accountTOTPImage})
	Register(Page{Pattern: "POST /account/second-factor/confirm", Role: store.RoleTier1, Handle: accountConfirmTOTP})
	Register(Page{Pattern: "POST /account/recovery-codes", Role: store.RoleTier1, Handle: accountRecoveryCodes})
	Register(Page{Pattern: "POST /account/second-factor/remove", Role: store.RoleTier1, Handle: accountRemoveTOTP})
}

// registerSecondFactor adds the login steps after the password.
func (c *Console) registerSecondFactor(mux Mux) {
	mux.Handle("GET /login/code", c.secure(http.HandlerFunc(c.codePage)))
	mux.Handle("POST /login/code", c.secure(c.sameOrigin(http.HandlerFunc(c.loginCode))))
	mux.Handle("GET /login/enroll", c.secure(http.HandlerFunc(c.enrollPage)))
	mux.Handle("GET /login/enroll.png", c.secure(http.HandlerFunc(c.enrollImage)))
	mux.Handle("POST /login/enroll", c.secure(c.sameOrigin(http.HandlerFunc(c.loginEnroll))))
}

// secondFactorNeeded says what a user whose password was right must do
// before a session: type a code, set a second factor up, or nothing.
func (c *Console) secondFactorNeeded(ctx context.Context, u store.User) (string, error) {
	hasTOTP, err := c.hasTOTP(ctx, u)
	if err != nil {
		return "", err
	}
	if hasTOTP {
		return store.ChallengeCode, nil
	}
	ps, err := c.passkeys.ListPasskeys(ctx, u.ID)
	if err != nil {
		return "", err
	}
	if len(ps) > 0 {
		return store.ChallengeCode, nil
	}
	roles, err := c.factors.SecondFactorRoles(ctx)
	if err != nil {
		return "", err
	}
	if roles[u.Role] {
		return store.ChallengeEnroll, nil
	}
	return "", nil
}

// passwordAccepted continues a login whose password was right: a session
// now, or the second-factor step.
func (c *Console) passwordAccepted(w http.ResponseWriter, r *http.Request, u store.User, next string, now time.Time) {
	ctx := r.Context()
	purpose, err := c.secondFactorNeeded(ctx, u)
	if err != nil {
		c.log.Error("second factor of user", "user", u.Name, "err", err)
		c.loginFailed(w, r, u.Name, next, http.StatusInternalServerError, "The hub could not check your login; try again.")
		return
	}
	if purpose == "" {
		c.startSession(w, r, u, next, now)
		return
	}
	id := auth.Secret(32)
	ch := store.LoginChallenge{IDHash: auth.HashSecret(id), UserID: u.ID, Purpose: purpose, Next: next, ExpiresAt: now.Add(challengeTTL)}
	if err := c.factors.CreateLoginChallenge(ctx, ch, now); err != nil {
		c.log.Error("create login challenge", "err", err)
		c.loginFailed(w, r, u.Name, next, http.StatusInternalServerError, "The hub could not continue your login; try again.")
		return
	}
	c.cfg.Audit(store.AuditEvent{Time: now, Actor: u.Name, Action: "user.login", Target: u.Name, Outcome: "password_ok",
		Detail: map[string]any{"next_step": purpose}, Remote: r.RemoteAddr})
	http.SetCookie(w, &http.Cookie{Name: ChallengeCookie, Value: id, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(challengeTTL / time.Second)})
	if purpose == store.ChallengeEnroll {
		http.Redirect(w, r, "/login/enroll", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/login/code", http.StatusSeeOther)
}

// challenge finds the request's login challenge; without one (none, run
// out, or its user disabled) it sends the browser back to the login page
// and answers false.
func (c *Console) challenge(w http.ResponseWriter, r *http.Request) (store.LoginChallenge, store.User, bool) {
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
	clearChallengeCookie(w)
	c.loginFailed(w, r, "", "", http.StatusUnauthorized, "Your login ran out of time before the code was entered (5 minutes). Log in again.")
	return store.LoginChallenge{}, store.User{}, false
}

func clearChallengeCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: ChallengeCookie, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// codeData is the second-factor step: a code to type (TOTP), a passkey
// to use, or both.
type codeData struct {
	Name    string
	Message string
	TOTP    bool
	Passkey bool
}

// codeView is the second-factor page for u with msg.
func (c *Console) codeView(ctx context.Context, u store.User, msg string) View {
	d := codeData{Name: u.Name, Message: msg, TOTP: true}
	hasTOTP, err := c.hasTOTP(ctx, u)
	ps, perr := c.passkeys.ListPasskeys(ctx, u.ID)
	if err == nil && perr == nil {
		d.TOTP, d.Passkey = hasTOTP || len(ps) == 0, len(ps) > 0 && c.webauthn != nil
	}
	return View{Title: "Second factor", Scripts: []string{"passkey.js"}, Data: d}
}

func (c *Console) codePage(w http.ResponseWriter, r *http.Request) {
	_, u, ok := c.challenge(w, r)
	if !ok {
		return
	}
	c.Render(w, r, nil, http.StatusOK, "login_code.html", c.codeView(r.Context(), u, ""))
}

// gateCode takes the name's turn and checks its lockout before a code is
// checked, as login does for passwords. It answers false (having
// answered the request) when the name is locked out.
func (c *Console) gateCode(w http.ResponseWriter, r *http.Request, u store.User, next string, now time.Time) bool {
	n, last, err := c.sessions.LoginFailures(r.Context(), u.Name)
	if err != nil {
		c.log.Error("login failures", "err", err)
		c.loginFailed(w, r, u.Name, next, http.StatusInternalServerError, "The hub could not check your login; try again.")
		return false
	}
	if until := last.Add(lockoutWait(n)); n >= LockoutAfter && now.Before(until) {
		c.locked(w, r, u.Name, next, until, now)
		return false
	}
	return true
}

// codeFailed counts a wrong code as a failed login of the name and says
// so, or locks the name out once it has had its tries.
func (c *Console) codeFailed(w http.ResponseWriter, r *http.Request, u store.User, next string, now time.Time, render func(msg string)) {
	n, err := c.sessions.RecordLoginFailure(r.Context(), u.Name, now)
	if err != nil {
		c.log.Error("record login failure", "err", err)
	}
	c.cfg.Audit(store.AuditEvent{Time: now, Actor: u.Name, Action: "user.second_factor", Target: u.Name, Outcome: "denied",
		Detail: map[string]any{"failures": n}, Remote: r.RemoteAddr})
	if n >= LockoutAfter {
		clearChallengeCookie(w)
		c.locked(w, r, u.Name, next, now.Add(lockoutWait(n)), now)
		return
	}
	render("That code is not right, or was used already. Type the code your app shows now.")
}

// codeStep starts a login's code step: its challenge, the name's turn
// (done gives it back) and its lockout. false: the request is answered.
func (c *Console) codeStep(w http.ResponseWriter, r *http.Request) (ch store.LoginChallenge, u store.User, now time.Time, done func(), ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if ch, u, ok = c.challenge(w, r); !ok {
		return
	}
	mu := c.logins.lockName(u.Name)
	mu.Lock()
	now = c.cfg.Now()
	if !c.gateCode(w, r, u, ch.Next, now) {
		mu.Unlock()
		return ch, u, now, nil, false
	}
	return ch, u, now, mu.Unlock, true
}

func (c *Console) loginCode(w http.ResponseWriter, r *http.Request) {
	ch, u, now, done, ok := c.codeStep(w, r)
	if !ok {
		return
	}
	defer done()
	method, err := c.checkSecondFactor(r.Context(), u, r.PostFormValue("code"), now)
	if err != nil {
		c.log.Error("check second factor", "err", err)
		c.loginFailed(w, r, u.Name, ch.Next, http.StatusInternalServerError, "The hub could not check your code; try again.")
		return
	}
	if method == "" {
		c.codeFailed(w, r, u, ch.Next, now, func(msg string) {
			c.Render(w, r, nil, http.StatusUnauthorized, "login_code.html", c.codeView(r.Context(), u, msg))
		})
		return
	}
	c.endChallenge(w, r, ch)
	c.cfg.Audit(store.AuditEvent{Time: now, Actor: u.Name, Action: "user.second_factor", Target: u.Name, Outcome: "ok",
		Detail: map[string]any{"method": method}, Remote: r.RemoteAddr})
	c.startSession(w, r, u, ch.Next, now)
}

// checkSecondFactor checks a code typed at login: six digits are a TOTP
// code, taken once; anything else a recovery code, spent. It answers how
// the user passed ("totp", "recovery_code") or "" for a wrong code.
func (c *Console) checkSecondFactor(ctx context.Context, u store.User, code string, now time.Time) (string, error) {
	code = strings.TrimSpace(code)
	if code == "" || len(code) > 64 {
		return "", nil
	}
	if digits := strings.ReplaceAll(code, " ", ""); len(digits) == 6 && strings.Trim(digits, "0123456789") == "" {
		t, err := c.factors.GetTOTP(ctx, u.ID)
		if errors.Is(err, store.ErrNotFound) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		step, ok := auth.CheckTOTP(t.Secret, digits, now)
		if !ok {
			return "", nil
		}
		if ok, err = c.factors.UseTOTPStep(ctx, u.ID, step, false, now); err != nil || !ok {
			return "", err
		}
		return "totp", nil
	}
	ok, err := c.factors.UseRecoveryCode(ctx, u.ID, auth.HashRecoveryCode(code), now)
	if err != nil || !ok {
		return "", err
	}
	return "recovery_code", nil
}

func (c *Console) endChallenge(w http.ResponseWriter, r *http.Request, ch store.LoginChallenge) {
	if err := c.factors.DeleteLoginChallenge(r.Context(), ch.IDHash); err != nil {
		c.log.Error("delete login challenge", "err", err)
	}
	clearChallengeCookie(w)
}

// enrollData is the page that sets up an authenticator: the secret as a
// QR code (Image) and as text to type.
type enrollData struct {
	Name    string
	Secret  string // grouped in fours for typing
	URL     string
	Image   string // the QR code's address
	Action  string // where the code goes
	Message string
	Login   bool // part of a login (the role requires it), not the account page
}

// pendingSecret returns the user's unconfirmed secret, making one if they
// have none (a reload shows the same secret, so a scanned one keeps
// working). A confirmed secret answers store.ErrExists.
func (c *Console) pendingSecret(ctx context.Context, u store.User) (string, error) {
	t, err := c.factors.GetTOTP(ctx, u.ID)
	switch {
	case err == nil && t.ConfirmedAt != nil:
		return "", store.ErrExists
	case err == nil:
		return t.Secret, nil
	case !errors.Is(err, store.ErrNotFound):
		return "", err
	}
	k, err := auth.NewTOTPKey(totpIssuer, u.Name)
	if err != nil {
		return "", err
	}
	if err := c.factors.StartTOTP(ctx, u.ID, k.Secret); err != nil {
		return "", err
	}
	return k.Secret, nil
}

func groupedSecret(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (c *Console) enrollView(u store.User, secret, msg string, login bool) View {
	d := enrollData{Name: u.Name, Secret: groupedSecret(secret), URL: auth.TOTPURL(totpIssuer, u.Name, secret), Message: msg, Login: login,
		Image: "/account/second-factor.png", Action: "/account/second-factor/confirm"}
	if login {
		d.Image, d.Action = "/login/enroll.png", "/login/enroll"
	}
	return View{Title: "Set up a second factor", Data: d}
}

func (c *Console) enrollPage(w http.ResponseWriter, r *http.Request) {
	_, u, ok := c.challenge(w, r)
	if !ok {
		return
	}
	secret, err := c.pendingSecret(r.Context(), u)
	if errors.Is(err, store.ErrExists) {
		// Set up meanwhile (another tab): type a code instead.
		http.Redirect(w, r, "/login/code", http.StatusSeeOther)
		return
	}
	if err != nil {
		c.log.Error("start second factor", "err", err)
		c.loginFailed(w, r, u.Name, "", http.StatusInternalServerError, "The hub could not set up your second factor; try again.")
		return
	}
	c.Render(w, r, nil, http.StatusOK, "second_factor_setup.html", c.enrollView(u, secret, "", true))
}

func (c *Console) enrollImage(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(ChallengeCookie)
	if err != nil || len(ck.Value) > 128 {
		http.Error(w, "no login in progress", http.StatusUnauthorized)
		return
	}
	_, u, err := c.factors.GetLoginChallenge(r.Context(), auth.HashSecret(ck.Value), c.cfg.Now())
	if err != nil {
		http.Error(w, "no login in progress", http.StatusUnauthorized)
		return
	}
	c.writeTOTPImage(w, r, u)
}

// writeTOTPImage draws the user's unconfirmed secret as a QR code.
func (c *Console) writeTOTPImage(w http.ResponseWriter, r *http.Request, u store.User) {
	t, err := c.factors.GetTOTP(r.Context(), u.ID)
	if err != nil || t.ConfirmedAt != nil {
		http.Error(w, "no second factor is being set up", http.StatusNotFound)
		return
	}
	img, err := auth.TOTPImage(auth.TOTPURL(totpIssuer, u.Name, t.Secret), 240)
	if err != nil {
		c.log.Error("second factor QR code", "err", err)
		http.Error(w, "could not draw the QR code; type the secret instead", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	_ = png.Encode(w, img)
}

// confirmTOTP checks the first code from a newly scanned secret and puts
// the secret in use with fresh recovery codes, which it returns.
func (c *Console) confirmTOTP(ctx context.Context, u store.User, code string, now time.Time) ([]string, bool, error) {
	t, err := c.factors.GetTOTP(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	step, ok := auth.CheckTOTP(t.Secret, code, now)
	if !ok {
		return nil, false, nil
	}
	if ok, err := c.factors.UseTOTPStep(ctx, u.ID, step, true, now); err != nil || !ok {
		return nil, false, err
	}
	codes, err := c.newRecoveryCodes(ctx, u)
	return codes, err == nil, err
}

func (c *Console) newRecoveryCodes(ctx context.Context, u store.User) ([]string, error) {
	codes := auth.NewRecoveryCodes()
	hashes := make([][]byte, len(codes))
	for i, code := range codes {
		hashes[i] = auth.HashRecoveryCode(code)
	}
	return codes, c.factors.ReplaceRecoveryCodes(ctx, u.ID, hashes)
}

type codesData struct {
	Codes []string
	Next  string
	First bool // shown right after setting the second factor up
}

func (c *Console) loginEnroll(w http.ResponseWriter, r *http.Request) {
	ch, u, now, done, ok := c.codeStep(w, r)
	if !ok {
		return
	}
	defer done()
	codes, ok, err := c.confirmTOTP(r.Context(), u, r.PostFormValue("code"), now)
	if err != nil {
		c.log.Error("confirm second factor", "err", err)
		c.loginFailed(w, r, u.Name, ch.Next, http.StatusInternalServerError, "The hub could not set up your second factor; try again.")
		return
	}
	if !ok {
		c.codeFailed(w, r, u, ch.Next, now, func(msg string) {
			secret, err := c.pendingSecret(r.Context(), u)
			if err != nil {
				c.loginFailed(w, r, u.Name, ch.Next, http.StatusInternalServerError, "The hub could not set up your second factor; log in again.")
				return
			}
			c.Render(w, r, nil, http.StatusUnauthorized, "second_factor_setup.html", c.enrollView(u, secret, msg, true))
		})
		return
	}
	c.endChallenge(w, r, ch)
	c.cfg.Audit(store.AuditEvent{Time: now, Actor: u.Name, Action: "user.second_factor.enable", Target: u.Name, Outcome: "ok", Remote: r.RemoteAddr})
	if !c.openSession(w, r, u, now) {
		return
	}
	c.Render(w, r, nil, http.StatusOK, "recovery_codes.html", View{Title: "Recovery codes", Data: codesData{Codes: codes, Next: ch.Next, First: true}})
}

// accountData is the account page.
type accountData struct {
	SecondFactor bool // an authenticator app (TOTP)
	Required     bool // the user's role must log in with one
	CodesLeft    int
	Message      string
	Passkeys     []accountPasskey
	PasskeysOff  string // why this hub offers no passkeys
}

type accountPasskey struct {
	ID, Name   string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

func accountPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	c.renderAccount(w, r, req, http.StatusOK, "")
}

func (c *Console) renderAccount(w http.ResponseWriter, r *http.Request, req *Request, status int, msg string) {
	ctx := r.Context()
	d := accountData{Message: msg}
	t, err := c.factors.GetTOTP(ctx, req.User.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		c.Fail(w, r, req, err)
		return
	}
	d.SecondFactor = err == nil && t.ConfirmedAt != nil
	if d.SecondFactor {
		if d.CodesLeft, err = c.factors.RecoveryCodesLeft(ctx, req.User.ID); err != nil {
			c.Fail(w, r, req, err)
			return
		}
	}
	roles, err := c.factors.SecondFactorRoles(ctx)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	d.Required = roles[req.User.Role]
	ps, err := c.passkeys.ListPasskeys(ctx, req.User.ID)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	for _, p := range ps {
		d.Passkeys = append(d.Passkeys, accountPasskey{ID: passkeyID(p.ID), Name: p.Name, CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt})
	}
	d.PasskeysOff = c.passkeysOff
	c.Render(w, r, req, status, "account.html", View{Title: "Your account", Scripts: []string{"passkey.js"}, Data: d})
}

func accountStartTOTP(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	secret, err := c.pendingSecret(r.Context(), req.User)
	if errors.Is(err, store.ErrExists) {
		c.renderAccount(w, r, req, http.StatusConflict, "Your second factor is already set up. Turn it off first to move it to another app.")
		return
	}
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	c.Render(w, r, req, http.StatusOK, "second_factor_setup.html", c.enrollView(req.User, secret, "", false))
}

func accountTOTPImage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	c.writeTOTPImage(w, r, req.User)
}

func accountConfirmTOTP(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	now := c.cfg.Now()
	codes, ok, err := c.confirmTOTP(r.Context(), req.User, r.PostFormValue("code"), now)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	if !ok {
		secret, err := c.pendingSecret(r.Context(), req.User)
		if err != nil {
			c.renderAccount(w, r, req, http.StatusConflict, "Start the set-up again.")
			return
		}
		c.Render(w, r, req, http.StatusBadRequest, "second_factor_setup.html",
			c.enrollView(req.User, secret, "That code is not right. Type the code your app shows now.", false))
		return
	}
	c.cfg.Audit(store.AuditEvent{Time: now, Actor: req.User.Name, Action: "user.second_factor.enable", Target: req.User.Name, Outcome: "ok", Remote: r.RemoteAddr})
	c.Render(w, r, req, http.StatusOK, "recovery_codes.html", View{Title: "Recovery codes", Data: codesData{Codes: codes, Next: "/account", First: true}})
}

// currentCodeOK checks the code a signed-in user types to change their
// second factor; a wrong one counts towards the name's lockout.
func (c *Console) currentCodeOK(w http.ResponseWriter, r *http.Request, req *Request, now time.Time) bool {
	mu := c.logins.lockName(req.User.Name)
	mu.Lock()
	defer mu.Unlock()
	if !c.gateCode(w, r, req.User, "/account", now) {
		return false
	}
	method, err := c.checkSecondFactor(r.Context(), req.User, r.PostFormValue("code"), now)
	if err != nil {
		c.Fail(w, r, req, err)
		return false
	}
	if method == "" {
		c.codeFailed(w, r, req.User, "/account", now, func(msg string) { c.renderAccount(w, r, req, http.StatusUnauthorized, msg) })
		return false
	}
	return true
}

func accountRecoveryCodes(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	now := c.cfg.Now()
	if !c.currentCodeOK(w, r, req, now) {
		return
	}
	codes, err := c.newRecoveryCodes(r.Context(), req.User)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	c.cfg.Audit(store.AuditEvent{Time: now, Actor: req.User.Name, Action: "user.second_factor.recovery_codes", Target: req.User.Name, Outcome: "ok", Remote: r.RemoteAddr})
	c.Render(w, r, req, http.StatusOK, "recovery_codes.html", View{Title: "Recovery codes", Data: codesData{Codes: codes, Next: "/account"}})
}

func accountRemoveTOTP(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	roles, err := c.factors.SecondFactorRoles(r.Context())
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	ps, err := c.passkeys.ListPasskeys(r.Context(), req.User.ID)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	if roles[req.User.Role] && len(ps) == 0 {
		c.renderAccount(w, r, req, http.StatusForbidden, "Your role ("+string(req.User.Role)+") must log in with a second factor, so it cannot be turned off. "+
			"To move it to a new phone, ask an admin to reset it; you set it up again at your next login. Or add a passkey first.")
		return
	}
	now := c.cfg.Now()
	if !c.currentCodeOK(w, r, req, now) {
		return
	}
	if err := c.factors.ClearTOTP(r.Context(), req.User.ID); err != nil {
		c.Fail(w, r, req, err)
		return
	}
	c.cfg.Audit(store.AuditEvent{Time: now, Actor: req.User.Name, Action: "user.second_factor.disable", Target: req.User.Name, Outcome: "ok", Remote: r.RemoteAddr})
	msg := "Your authenticator app is off: you log in with your password alone."
	if len(ps) > 0 {
		msg = "Your authenticator app is off: you log in with your password and a passkey."
	}
	c.renderAccount(w, r, req, http.StatusOK, msg)
}
