package store_test

import (
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
)

func TestUserAdministration(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		for _, u := range []store.User{{ID: "u1", Name: "root", Role: store.RoleAdmin}, {ID: "u2", Name: "ana", Role: store.RoleTier1}} {
			u.PasswordHash, u.CreatedAt = "h-"+u.ID, t0
			if err := s.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		wantErr(t, "demote the last admin", s.SetUserRole(ctx, "u1", store.RoleTier3), store.ErrLastAdmin)
		wantErr(t, "disable the last admin", s.SetUserDisabled(ctx, "u1", t0), store.ErrLastAdmin)
		wantErr(t, "unknown user", s.SetUserRole(ctx, "nope", store.RoleTier2), store.ErrNotFound)
		wantErr(t, "unknown user", s.SetUserDisabled(ctx, "nope", t0), store.ErrNotFound)
		wantErr(t, "unknown user", s.SetUserPassword(ctx, "nope", "h"), store.ErrNotFound)
		if err := s.SetUserRole(ctx, "u2", "boss"); err == nil {
			t.Error("an unknown role was stored")
		}
		if err := s.SetUserRole(ctx, "u2", store.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		// With a second admin, the first may step down.
		if err := s.SetUserRole(ctx, "u1", store.RoleTier3); err != nil {
			t.Fatal(err)
		}
		// A password reset ends the user's console sessions and lifts the
		// lockout of the name; other users' sessions stay.
		for _, id := range []string{"u1", "u2"} {
			if err := s.CreateSession(ctx, store.Session{IDHash: []byte("sess-" + id), UserID: id, CSRF: "c", CreatedAt: t0, LastSeen: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		for range 6 {
			if _, err := s.RecordLoginFailure(ctx, "Ana", t0); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SetUserPassword(ctx, "u2", "new-hash"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.LookupSession(ctx, []byte("sess-u2"), t0, time.Hour, time.Minute); err == nil {
			t.Error("a session opened before the password reset still works")
		}
		if _, _, err := s.LookupSession(ctx, []byte("sess-u1"), t0, time.Hour, time.Minute); err != nil {
			t.Errorf("another user's session after the reset: %v", err)
		}
		if n, _, _ := s.LoginFailures(ctx, "ana"); n != 0 {
			t.Errorf("failed logins after the reset: %d, want 0", n)
		}
		if err := s.SetUserDisabled(ctx, "u1", t0); err != nil {
			t.Fatal(err)
		}

		u1, _ := s.GetUser(ctx, "u1")
		u2, _ := s.GetUser(ctx, "u2")
		if u1.Role != store.RoleTier3 || u1.DisabledAt == nil || !u1.DisabledAt.Equal(t0) || u2.Role != store.RoleAdmin || u2.PasswordHash != "new-hash" {
			t.Fatalf("after changes: %+v %+v", u1, u2)
		}
		// A disabled user's API tokens stop working; enabling restores them.
		if err := s.CreateAPIToken(ctx, store.APIToken{ID: "k1", UserID: "u1", CreatedAt: t0}, hash("k1")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.LookupAPIToken(ctx, hash("k1"), t0); err == nil {
			t.Error("a disabled user's token works")
		}
		if err := s.SetUserDisabled(ctx, "u1", time.Time{}); err != nil {
			t.Fatal(err)
		}
		// Disabling ended the sessions: enabling again brings none back.
		if _, _, err := s.LookupSession(ctx, []byte("sess-u1"), t0, time.Hour, time.Minute); err == nil {
			t.Error("a session from before the user was disabled works again after enabling")
		}
		if _, _, err := s.LookupAPIToken(ctx, hash("k1"), t0); err != nil {
			t.Errorf("token after enabling: %v", err)
		}
		// u1 is an enabled tier3 again, u2 the only admin.
		wantErr(t, "disable the only admin", s.SetUserDisabled(ctx, "u2", t0), store.ErrLastAdmin)
	})
}
