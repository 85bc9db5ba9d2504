package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

func TestSecondFactorRoutes(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	admin := f.tokens[store.RoleAdmin]
	for _, role := range []store.Role{store.RoleTier1, store.RoleTier2, store.RoleTier3} {
		if rec := f.call(t, "PUT", "/api/v1/settings/second-factor", f.tokens[role], `{"tier1":false}`); rec.Code != http.StatusForbidden {
			t.Errorf("%s changes the second-factor rule: %d", role, rec.Code)
		}
	}
	for _, body := range []string{`{"boss":true}`, `{"admin":"yes"}`, `[]`, `{"admin":true,"admin":1}`} {
		if rec := f.call(t, "PUT", "/api/v1/settings/second-factor", admin, body); rec.Code != http.StatusBadRequest {
			t.Errorf("PUT %s: %d, want 400", body, rec.Code)
		}
	}
	rec := f.call(t, "PUT", "/api/v1/settings/second-factor", admin, `{"admin":true,"tier3":true}`)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"admin": true`) || !strings.Contains(rec.Body.String(), `"tier1": false`) {
		t.Fatalf("PUT: %d %s", rec.Code, rec.Body.String())
	}
	// A role left out keeps its setting.
	f.call(t, "PUT", "/api/v1/settings/second-factor", admin, `{"tier3":false}`)
	roles, _ := f.store.SecondFactorRoles(ctx)
	if !roles[store.RoleAdmin] || roles[store.RoleTier3] {
		t.Fatalf("stored roles %v, want admin only", roles)
	}

	u := store.User{ID: wire.NewID(), Name: "lost-phone", Role: store.RoleTier1, PasswordHash: "x"}
	if err := f.store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := f.store.StartTOTP(ctx, u.ID, "JBSWY3DPEHPK3PXP"); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.store.UseTOTPStep(ctx, u.ID, 1, true, time.Now()); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if rec := f.call(t, "GET", "/api/v1/settings/second-factor", admin, ""); !strings.Contains(rec.Body.String(), `"lost-phone"`) {
		t.Fatalf("GET: %s", rec.Body.String())
	}
	if rec := f.call(t, "POST", "/api/v1/users/"+u.ID+"/second-factor/reset", f.tokens[store.RoleTier3], ""); rec.Code != http.StatusForbidden {
		t.Errorf("tier3 resets a second factor: %d", rec.Code)
	}
	if rec := f.call(t, "POST", "/api/v1/users/nope/second-factor/reset", admin, ""); rec.Code != http.StatusNotFound {
		t.Errorf("reset for an unknown user: %d", rec.Code)
	}
	if rec := f.call(t, "POST", "/api/v1/users/"+u.ID+"/second-factor/reset", admin, ""); rec.Code != http.StatusOK {
		t.Fatalf("reset: %d %s", rec.Code, rec.Body.String())
	}
	if _, err := f.store.GetTOTP(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("secret after the reset: %v", err)
	}
	ev, _ := f.store.ListAudit(ctx, store.AuditFilter{ActionPrefix: "user.second_factor.reset"})
	if len(ev) != 1 || ev[0].Target != "lost-phone" {
		t.Errorf("audit of the reset: %+v", ev)
	}
}

// A read-only token reads and is refused every change; a token used from
// a new address is audited.
func TestReadOnlyAPIToken(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	admin := f.tokens[store.RoleAdmin]
	rec := f.call(t, "POST", "/api/v1/apitokens", admin, `{"user":"u-admin","read_only":true,"note":"dashboard"}`)
	if rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), `"read_only": true`) {
		t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
	}
	var created struct{ Secret string }
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	if rec := f.call(t, "GET", "/api/v1/users", created.Secret, ""); rec.Code != http.StatusOK {
		t.Errorf("read with a read-only token: %d", rec.Code)
	}
	rec = f.call(t, "POST", "/api/v1/users", created.Secret, `{"name":"x","role":"tier1","password":"long enough pw"}`)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "read-only") {
		t.Errorf("change with a read-only token: %d %s", rec.Code, rec.Body.String())
	}
	if _, err := f.store.GetUserByName(ctx, "x"); err == nil {
		t.Error("the read-only token created a user")
	}
	ev, _ := f.store.ListAudit(ctx, store.AuditFilter{ActionPrefix: "apitoken.use"})
	if len(ev) == 0 || ev[len(ev)-1].Outcome != "new_address" {
		t.Errorf("first use not audited: %+v", ev)
	}
	n := len(ev)
	f.call(t, "GET", "/api/v1/users", created.Secret, "")
	if ev, _ := f.store.ListAudit(ctx, store.AuditFilter{ActionPrefix: "apitoken.use"}); len(ev) != n {
		t.Errorf("a use from the same address audited again: %d events, want %d", len(ev), n)
	}
}
