package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/orgdoc"
	"github.com/tierline/tierline/shared/wire"
)

// tokensStore is what the enrollment-token routes call on the store.
type tokensStore interface {
	ListTokens(ctx context.Context) ([]store.Token, error)
	CreateToken(ctx context.Context, t store.Token, secretHash []byte) error
	RevokeToken(ctx context.Context, id string, at time.Time) error
}

// NewToken makes an enrollment token record and its secret. expires is a Go
// duration ("" = 24h); uses 0 means 1.
func NewToken(now time.Time, expires string, uses int, note, by string) (store.Token, string, error) {
	d := 24 * time.Hour
	if expires != "" {
		var err error
		if d, err = time.ParseDuration(expires); err != nil {
			return store.Token{}, "", fmt.Errorf("expires %q is not a duration such as 24h or 30m", expires)
		}
	}
	if d <= 0 || d > 365*24*time.Hour {
		return store.Token{}, "", errors.New("expires must be between 1s and 8760h")
	}
	if uses == 0 {
		uses = 1
	}
	if uses < 0 || uses > 1_000_000 {
		return store.Token{}, "", errors.New("uses must be between 1 and 1000000")
	}
	if len(note) > 200 {
		return store.Token{}, "", errors.New("note must be at most 200 characters")
	}
	return store.Token{
		ID: wire.NewID()[:12], Note: note, CreatedBy: by, CreatedAt: now, ExpiresAt: now.Add(d), MaxUses: uses,
	}, auth.Secret(32), nil
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request, who Caller) {
	ts, err := a.tokens.ListTokens(r.Context())
	if err != nil {
		a.internal(w, "list tokens", err)
		return
	}
	if ts == nil {
		ts = []store.Token{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": ts})
}

// CreateTokenRequest is the body of POST /api/v1/tokens.
type CreateTokenRequest struct {
	Expires string `json:"expires"` // Go duration, default 24h
	Uses    int    `json:"uses"`    // default 1
	Note    string `json:"note"`
	// RecipeKey, when set, is the organisation's recipe public key
	// (base64, recipe keygen's .pub) that agents enrolling with the token
	// pin (docs/recipes.md).
	RecipeKey string `json:"recipe_key,omitempty"`
	// Site is the site of the devices that enroll with the token
	// (default "default").
	Site string `json:"site,omitempty"`
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request, who Caller) {
	var req CreateTokenRequest
	if !decodeBody(w, r, &req) {
		return
	}
	t, secret, err := NewToken(a.cfg.Now(), req.Expires, req.Uses, req.Note, who.Name)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if t.Site = req.Site; t.Site == "" {
		t.Site = store.DefaultSite
	}
	if err := store.ValidateSite(t.Site); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "site: "+err.Error())
		return
	}
	if a.cfg.EnrollToken == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "this hub cannot issue tokens")
		return
	}
	enc, err := a.cfg.EnrollToken(secret)
	if err != nil {
		a.internal(w, "render token", err)
		return
	}
	if req.RecipeKey != "" {
		pub, err := orgdoc.ParsePublicKey(req.RecipeKey)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "recipe_key: "+err.Error())
			return
		}
		tok, err := wire.ParseEnrollToken(enc)
		if err != nil {
			a.internal(w, "render token", err)
			return
		}
		tok.RecipeKey = orgdoc.EncodePublicKey(pub)
		enc = tok.Encode()
	}
	if err := a.tokens.CreateToken(r.Context(), t, auth.HashSecret(secret)); err != nil {
		a.internal(w, "create token", err)
		return
	}
	a.audit(r, who, "token.create", t.ID, "ok", map[string]any{"uses": t.MaxUses, "expires_at": t.ExpiresAt, "site": t.Site})
	writeJSON(w, http.StatusCreated, map[string]any{"token": t, "enrollment_token": enc})
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request, who Caller) {
	id := r.PathValue("id")
	err := a.tokens.RevokeToken(r.Context(), id, a.cfg.Now())
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no enrollment token "+id)
		return
	}
	if err != nil {
		a.internal(w, "revoke token", err)
		return
	}
	a.audit(r, who, "token.revoke", id, "ok", nil)
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "revoked": true})
}
