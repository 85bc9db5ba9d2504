package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tierline/tierline/hub/store"
)

func TestUserAdministrationRoutes(t *testing.T) {
	f := setup(t)
	admin := f.tokens[store.RoleAdmin]
	for _, role := range []store.Role{store.RoleTier1, store.RoleTier2, store.RoleTier3} {
		if rec := f.call(t, "POST", "/api/v1/users", f.tokens[role], `{"name":"x","role":"admin","password":"long enough pw"}`); rec.Code != http.StatusForbidden {
			t.Errorf("%s creates a user: %d", role, rec.Code)
		}
	}
	for _, body := range []string{`{}`, `{"name":"a b","role":"tier1","password":"long enough pw"}`, `{"name":"<b>","role":"tier1","password":"long enough pw"}`,
		`{"name":"ok","role":"boss","password":"long enough pw"}`, `{"name":"ok","role":"tier1","password":"short"}`, `{"name":"ok","role":"tier1","password":"long enough pw","extra":1}`} {
		if rec := f.call(t, "POST", "/api/v1/users", admin, body); rec.Code != http.StatusBadRequest {
			t.Errorf("create %s: %d, want 400", body, rec.Code)
		}
	}
	rec := f.call(t, "POST", "/api/v1/users", admin, `{"name":"maria","role":"tier1","password":"correct horse battery"}`)
	if rec.Code != http.StatusCreated || strings.Contains(rec.Body.String(), "argon2") || strings.Contains(rec.Body.String(), "correct horse") {
		t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
	}
	var u store.User
	json.Unmarshal(rec.Body.Bytes(), &u)
	if rec := f.call(t, "POST", "/api/v1/users", admin, `{"name":"maria","role":"tier2","password":"correct horse battery"}`); rec.Code != http.StatusConflict {
		t.Errorf("duplicate name: %d", rec.Code)
	}

	// Role, password, disable, enable.
	if rec := f.call(t, "POST", "/api/v1/users/"+u.ID+"/role", admin, `{"role":"tier2"}`); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"tier2"`) {
		t.Errorf("set role: %d %s", rec.Code, rec.Body.String())
	}
	if rec := f.call(t, "POST", "/api/v1/users/"+u.ID+"/role", admin, `{"role":"root"}`); rec.Code != http.StatusBadRequest {
		t.Errorf("bad role: %d", rec.Code)
	}
	if rec := f.call(t, "POST", "/api/v1/users/nope/role", admin, `{"role":"tier1"}`); rec.Code != http.StatusNotFound {
		t.Errorf("unknown user: %d", rec.Code)
	}
	if rec := f.call(t, "POST", "/api/v1/users/"+u.ID+"/password", admin, `{"password":"x"}`); rec.Code != http.StatusBadRequest {
		t.Errorf("short password: %d", rec.Code)
	}
	if rec := f.call(t, "POST", "/api/v1/users/"+u.ID+"/password", admin, `{"password":"another long secret"}`); rec.Code != http.StatusOK {
		t.Errorf("reset password: %d %s", rec.Code, rec.Body.String())
	}

	// API tokens: created for maria, shown once, work, listed without the
	// secret, stop working when maria is disabled or the token is revoked.
	for _, body := range []string{`{}`, `{"user":"ghost"}`, `{"user":"maria","expires":"forever"}`, `{"user":"maria","note":"a\nb"}`} {
		if rec := f.call(t, "POST", "/api/v1/apitokens", admin, body); rec.Code != http.StatusBadRequest && rec.Code != http.StatusNotFound {
			t.Errorf("create token %s: %d", body, rec.Code)
		}
	}
	rec = f.call(t, "POST", "/api/v1/apitokens", admin, `{"user":"maria","expires":"24h","note":"script"}`)
	var created struct {
		Token  struct{ ID, User string }
		Secret string
	}
	json.Unmarshal(rec.Body.Bytes(), &created)
	if rec.Code != http.StatusCreated || !strings.HasPrefix(created.Secret, "tla_") || created.Token.User != "maria" {
		t.Fatalf("create token: %d %s", rec.Code, rec.Body.String())
	}
	if rec := f.call(t, "GET", "/api/v1/me", created.Secret, ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"tier2"`) {
		t.Errorf("maria's token: %d %s", rec.Code, rec.Body.String())
	}
	rec = f.call(t, "GET", "/api/v1/apitokens", admin, "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), created.Token.ID) || strings.Contains(rec.Body.String(), created.Secret) {
		t.Errorf("list tokens: %d %s", rec.Code, rec.Body.String())
	}
	if rec := f.call(t, "POST", "/api/v1/users/"+u.ID+"/disable", admin, `{}`); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "disabled_at") {
		t.Errorf("disable: %d %s", rec.Code, rec.Body.String())
	}
	if rec := f.call(t, "GET", "/api/v1/me", created.Secret, ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("a disabled user's token: %d", rec.Code)
	}
	if rec := f.call(t, "POST", "/api/v1/apitokens", admin, `{"user":"maria"}`); rec.Code != http.StatusConflict {
		t.Errorf("token for a disabled user: %d", rec.Code)
	}
	if rec := f.call(t, "POST", "/api/v1/users/"+u.ID+"/disable", admin, `{"disabled":false}`); rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "disabled_at") {
		t.Errorf("enable: %d %s", rec.Code, rec.Body.String())
	}
	if rec := f.call(t, "POST", "/api/v1/apitokens/"+created.Token.ID+"/revoke", admin, ``); rec.Code != http.StatusOK {
		t.Errorf("revoke: %d", rec.Code)
	}
	if rec := f.call(t, "GET", "/api/v1/me", created.Secret, ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("a revoked token: %d", rec.Code)
	}
	if rec := f.call(t, "POST", "/api/v1/apitokens/nope/revoke", admin, ``); rec.Code != http.StatusNotFound {
		t.Errorf("revoke unknown: %d", rec.Code)
	}

	// The only admin cannot demote or disable themselves.
	var me struct{ ID string }
	json.Unmarshal(f.call(t, "GET", "/api/v1/me", admin, "").Body.Bytes(), &me)
	if rec := f.call(t, "POST", "/api/v1/users/"+me.ID+"/role", admin, `{"role":"tier1"}`); rec.Code != http.StatusConflict {
		t.Errorf("demote the last admin: %d %s", rec.Code, rec.Body.String())
	}
	if rec := f.call(t, "POST", "/api/v1/users/"+me.ID+"/disable", admin, `{}`); rec.Code != http.StatusConflict {
		t.Errorf("disable yourself: %d", rec.Code)
	}

	// Every change is in the audit log, which pages with before.
	rec = f.call(t, "GET", "/api/v1/audit?action=user.&limit=2", admin, "")
	var page struct {
		Events     []store.AuditEvent
		NextBefore int64 `json:"next_before"`
	}
	json.Unmarshal(rec.Body.Bytes(), &page)
	if len(page.Events) != 2 || page.NextBefore == 0 {
		t.Fatalf("audit page 1: %s", rec.Body.String())
	}
	var actions []string
	for before := page.NextBefore; ; {
		for _, e := range page.Events {
			actions = append(actions, e.Action)
		}
		if before == 0 {
			break
		}
		page.Events, page.NextBefore = nil, 0
		json.Unmarshal(f.call(t, "GET", "/api/v1/audit?action=user.&limit=2&before="+itoa(before), admin, "").Body.Bytes(), &page)
		before = page.NextBefore
	}
	if got := strings.Join(actions, " "); got != "user.enable user.disable user.password user.role user.create" {
		t.Errorf("audited user changes, newest first: %s", got)
	}
	if rec := f.call(t, "GET", "/api/v1/audit?before=x", admin, ""); rec.Code != http.StatusBadRequest {
		t.Errorf("bad before: %d", rec.Code)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
