// Package ssotest is a small OpenID Connect provider for tests: discovery,
// a login form, the authorization code flow with PKCE (S256 only), RS256
// ID tokens and their key set. Users and clients come from its Config; a
// test can make it misbehave (another audience, an expired token, a wrong
// nonce) to see the hub refuse. cmd/oidc-provider runs it as a process of
// its own.
package ssotest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// User is someone who can log in at the provider.
type User struct {
	Name     string   `json:"name"` // preferred_username; also the login name
	Password string   `json:"password"`
	Email    string   `json:"email"`
	Groups   []string `json:"groups"`
}

// Client is a relying party (the hub).
type Client struct {
	ID          string `json:"id"`
	Secret      string `json:"secret"`
	RedirectURI string `json:"redirect_uri"`
}

// Faults make the provider misbehave, so a test sees the hub refuse.
type Faults struct {
	Audience   string `json:"audience,omitempty"`    // ID tokens for this audience instead of the client
	Expired    bool   `json:"expired,omitempty"`     // ID tokens that expired an hour ago
	WrongNonce bool   `json:"wrong_nonce,omitempty"` // ID tokens with another nonce
}

// Config is the provider's users and clients.
type Config struct {
	Issuer  string   `json:"issuer"` // its own URL
	Users   []User   `json:"users"`
	Clients []Client `json:"clients"`
}

// Provider serves the protocol.
type Provider struct {
	cfg Config
	key *rsa.PrivateKey
	kid string

	mu     sync.Mutex
	codes  map[string]grant
	faults Faults
	users  map[string]User
}

type grant struct {
	client, user, nonce, challenge, redirect string
	expires                                  time.Time
}

// New makes a provider with a fresh signing key.
func New(cfg Config) (*Provider, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	p := &Provider{cfg: cfg, key: key, kid: randomString(8), codes: map[string]grant{}, users: map[string]User{}}
	for _, u := range cfg.Users {
		p.users[u.Name] = u
	}
	return p, nil
}

// SetFaults changes how the provider misbehaves from now on.
func (p *Provider) SetFaults(f Faults) { p.mu.Lock(); p.faults = f; p.mu.Unlock() }

// SetUser adds or changes a user (their groups, say).
func (p *Provider) SetUser(u User) { p.mu.Lock(); p.users[u.Name] = u; p.mu.Unlock() }

// Handler serves the provider's endpoints; POST /test/faults and
// POST /test/user let a test running the provider as a process change it.
func (p *Provider) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /keys", p.keys)
	mux.HandleFunc("GET /authorize", p.authorizeForm)
	mux.HandleFunc("POST /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("POST /test/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p.SetFaults(f)
	})
	mux.HandleFunc("POST /test/user", func(w http.ResponseWriter, r *http.Request) {
		var u User
		if err := json.NewDecoder(r.Body).Decode(&u); err != nil || u.Name == "" {
			http.Error(w, "want a user with a name", http.StatusBadRequest)
			return
		}
		p.SetUser(u)
	})
	return mux
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	iss := p.cfg.Issuer
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer": iss, "authorization_endpoint": iss + "/authorize", "token_endpoint": iss + "/token", "jwks_uri": iss + "/keys",
		"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"}, "code_challenge_methods_supported": []string{"S256"},
		"scopes_supported":                      []string{"openid", "profile", "email", "groups"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	})
}

func (p *Provider) keys(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.key.PublicKey, KeyID: p.kid, Algorithm: "RS256", Use: "sig"}}})
}

func (p *Provider) client(id string) (Client, bool) {
	for _, c := range p.cfg.Clients {
		if c.ID == id {
			return c, true
		}
	}
	return Client{}, false
}

var form = template.Must(template.New("f").Parse(`<!doctype html><title>Company sign-on</title>
<h1>Company sign-on</h1>{{if .Error}}<p id="error">{{.Error}}</p>{{end}}
<form method="post" action="/authorize">{{range $k, $v := .Query}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}
<label>User <input name="username" id="username"></label> <label>Password <input name="password" id="password" type="password"></label>
<button type="submit" id="signin">Sign in</button></form>`))

// checkRequest validates an authorization request's client and redirect.
func (p *Provider) checkRequest(q url.Values) (Client, string) {
	c, ok := p.client(q.Get("client_id"))
	switch {
	case !ok:
		return c, "unknown client"
	case q.Get("redirect_uri") != c.RedirectURI:
		return c, "redirect_uri is not the client's"
	case q.Get("response_type") != "code":
		return c, "only response_type=code"
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		return c, "PKCE with S256 is required"
	}
	return c, ""
}

func (p *Provider) authorizeForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if _, msg := p.checkRequest(q); msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = form.Execute(w, map[string]any{"Query": q})
}

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := url.Values{}
	for _, k := range []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method"} {
		q.Set(k, r.PostForm.Get(k))
	}
	c, msg := p.checkRequest(q)
	if msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	u, ok := p.users[r.PostForm.Get("username")]
	p.mu.Unlock()
	if !ok || subtle.ConstantTimeCompare([]byte(u.Password), []byte(r.PostForm.Get("password"))) != 1 {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_ = form.Execute(w, map[string]any{"Query": q, "Error": "Wrong user or password."})
		return
	}
	code := randomString(24)
	p.mu.Lock()
	p.codes[code] = grant{client: c.ID, user: u.Name, nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: c.RedirectURI,
		expires: time.Now().Add(time.Minute)}
	p.mu.Unlock()
	back, _ := url.Parse(c.RedirectURI)
	bq := back.Query()
	bq.Set("code", code)
	bq.Set("state", q.Get("state"))
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request", err.Error())
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	c, known := p.client(id)
	if !known || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
		tokenError(w, "invalid_client", "wrong client or secret")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		tokenError(w, "unsupported_grant_type", "only authorization_code")
		return
	}
	p.mu.Lock()
	g, ok := p.codes[r.PostForm.Get("code")]
	delete(p.codes, r.PostForm.Get("code")) // a code works once
	u := p.users[g.user]
	faults := p.faults
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case !ok || time.Now().After(g.expires) || g.client != c.ID:
		tokenError(w, "invalid_grant", "unknown, used or expired code")
		return
	case r.PostForm.Get("redirect_uri") != g.redirect:
		tokenError(w, "invalid_grant", "redirect_uri differs from the authorization request's")
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		tokenError(w, "invalid_grant", "code_verifier does not match the code_challenge")
		return
	}
	now := time.Now()
	claims := map[string]any{"iss": p.cfg.Issuer, "sub": "sub-" + u.Name, "aud": c.ID, "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		"nonce": g.nonce, "preferred_username": u.Name, "email": u.Email, "groups": u.Groups}
	if faults.Audience != "" {
		claims["aud"] = faults.Audience
	}
	if faults.Expired {
		claims["iat"], claims["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	}
	if faults.WrongNonce {
		claims["nonce"] = "another-login"
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: p.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", p.kid))
	if err != nil {
		tokenError(w, "server_error", err.Error())
		return
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		tokenError(w, "server_error", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": randomString(24), "token_type": "Bearer", "expires_in": 600, "id_token": raw})
}

func tokenError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprint("ssotest: ", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
