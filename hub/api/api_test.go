package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/api"
	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/shared/wire"
)

type fixture struct {
	api    *api.API
	store  *store.Store
	tokens map[store.Role]string
	device string
	// notify wakes waiters for a run, as the gateway does after ingest.
	notify func(runID string)
}

func setup(t *testing.T) fixture {
	t.Helper()
	return setupOn(t, storetest.Open(t))
}

// setupOn is setup on a store of the caller's (storetest.Backends).
func setupOn(t *testing.T, st *store.Store) fixture {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	f := fixture{tokens: map[store.Role]string{}, store: st}
	for _, r := range store.Roles {
		u := store.User{ID: wire.NewID(), Name: "u-" + string(r), Role: r, PasswordHash: "x", CreatedAt: now}
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		secret := auth.APITokenPrefix + auth.Secret(32)
		if err := st.CreateAPIToken(ctx, store.APIToken{ID: wire.NewID()[:12], UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, auth.HashSecret(secret)); err != nil {
			t.Fatal(err)
		}
		f.tokens[r] = secret
	}
	tok, secret, err := api.NewToken(now, "1h", 1, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateToken(ctx, tok, auth.HashSecret(secret)); err != nil {
		t.Fatal(err)
	}
	d, err := st.EnrollDevice(ctx, auth.HashSecret(secret), store.Device{ID: wire.NewID(), PublicKey: make([]byte, 32), Hostname: "<b>pc</b>", OS: "linux"}, now)
	if err != nil {
		t.Fatal(err)
	}
	f.device = d.ID
	var mu sync.Mutex
	waiters := map[string]chan struct{}{}
	waiter := func(id string) chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		if waiters[id] == nil {
			waiters[id] = make(chan struct{})
		}
		return waiters[id]
	}
	f.notify = func(id string) { close(waiter(id)) }
	f.api, err = api.New(api.Config{Store: st, EnrollToken: func(s string) (string, error) { return "tl1.test" + s, nil },
		WaitRun: func(id string) (<-chan struct{}, func()) { return waiter(id), func() {} }})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f fixture) call(t *testing.T, method, path, token, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	f.api.ServeHTTP(rec, req)
	return rec
}

// TestRoleMatrix calls every route as every role and without a token: a
// role below the route's is refused with 403, the rest are let through.
func TestRoleMatrix(t *testing.T) {
	f := setup(t)
	for _, rt := range f.api.Routes() {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		path = strings.ReplaceAll(path, "{id}", f.device)
		body := ""
		if method == "POST" {
			body = "{}"
		}
		if rec := f.call(t, method, path, "", body); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d, want 401", rt.Pattern, rec.Code)
		}
		for _, role := range store.Roles {
			rec := f.call(t, method, path, f.tokens[role], body)
			allowed := role.Rank() >= rt.Role.Rank()
			if allowed && (rec.Code == http.StatusForbidden || rec.Code == http.StatusUnauthorized) {
				t.Errorf("%s as %s: %d, want allowed", rt.Pattern, role, rec.Code)
			}
			if !allowed && rec.Code != http.StatusForbidden {
				t.Errorf("%s as %s: %d, want 403", rt.Pattern, role, rec.Code)
			}
			var e map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
				t.Errorf("%s as %s: body is not JSON: %q", rt.Pattern, role, rec.Body.String())
			}
		}
	}
}

func TestCreateTokenValidation(t *testing.T) {
	f := setup(t)
	admin := f.tokens[store.RoleAdmin]
	for _, body := range []string{`{"expires":"soon"}`, `{"uses":-3}`, `{"unknown":1}`, `not json`, `{"expires":"-1h"}`} {
		if rec := f.call(t, "POST", "/api/v1/tokens", admin, body); rec.Code != http.StatusBadRequest {
			t.Errorf("body %s: %d, want 400", body, rec.Code)
		}
	}
	rec := f.call(t, "POST", "/api/v1/tokens", admin, `{"expires":"2h","uses":5,"note":"lab"}`)
	if rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), `"enrollment_token": "tl1.test`) {
		t.Errorf("create: %d %s", rec.Code, rec.Body.String())
	}
}

func TestDeviceJSONEscapesAgentText(t *testing.T) {
	f := setup(t)
	rec := f.call(t, "GET", "/api/v1/devices/"+f.device, f.tokens[store.RoleTier1], "")
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "<b>") || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("device: %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
}
