package store_test

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/shared/wire"
)

func TestPasskeys(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.Now().UTC().Truncate(time.Millisecond)
		u := store.User{ID: wire.NewID(), Name: "pat", Role: store.RoleTier1, PasswordHash: "x"}
		v := store.User{ID: wire.NewID(), Name: "vic", Role: store.RoleTier1, PasswordHash: "x"}
		for _, x := range []store.User{u, v} {
			if err := s.CreateUser(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddPasskey(ctx, store.Passkey{ID: []byte{1, 2}, UserID: u.ID, Name: "laptop", Credential: []byte(`{"a":1}`), CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddPasskey(ctx, store.Passkey{ID: []byte{1, 2}, UserID: v.ID, Name: "same", Credential: []byte(`{}`), CreatedAt: t0}); !errors.Is(err, store.ErrExists) {
			t.Errorf("the same credential twice: %v, want ErrExists", err)
		}
		if err := s.AddPasskey(ctx, store.Passkey{ID: []byte{9}, UserID: "nobody", Name: "x", Credential: []byte(`{}`), CreatedAt: t0}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a passkey of an unknown user: %v, want ErrNotFound", err)
		}
		users, err := s.SecondFactorUsers(ctx)
		if err != nil || !users[u.ID] || users[v.ID] {
			t.Errorf("users with a second factor: %v %v", users, err)
		}
		if err := s.UsePasskey(ctx, v.ID, []byte{1, 2}, []byte(`{}`), t0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another user's passkey used: %v", err)
		}
		if err := s.UsePasskey(ctx, u.ID, []byte{1, 2}, []byte(`{"a":2}`), t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		ps, err := s.ListPasskeys(ctx, u.ID)
		if err != nil || len(ps) != 1 || string(ps[0].Credential) != `{"a":2}` || ps[0].LastUsedAt == nil || !ps[0].LastUsedAt.Equal(t0.Add(time.Minute)) || ps[0].Name != "laptop" {
			t.Fatalf("passkeys: %+v %v", ps, err)
		}
		if err := s.RemovePasskey(ctx, v.ID, []byte{1, 2}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another user removed the passkey: %v", err)
		}

		// A ceremony is taken once, and not after it expired.
		if err := s.PutWebAuthnSession(ctx, u.ID, store.PasskeyLogin, []byte("one"), t0.Add(time.Minute), t0); err != nil {
			t.Fatal(err)
		}
		if err := s.PutWebAuthnSession(ctx, u.ID, store.PasskeyLogin, []byte("two"), t0.Add(time.Minute), t0); err != nil {
			t.Fatal(err)
		}
		if d, err := s.TakeWebAuthnSession(ctx, u.ID, store.PasskeyLogin, t0); err != nil || string(d) != "two" {
			t.Errorf("take: %q %v", d, err)
		}
		if _, err := s.TakeWebAuthnSession(ctx, u.ID, store.PasskeyLogin, t0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("taken twice: %v", err)
		}
		_ = s.PutWebAuthnSession(ctx, u.ID, store.PasskeyRegister, []byte("x"), t0.Add(time.Minute), t0)
		if _, err := s.TakeWebAuthnSession(ctx, u.ID, store.PasskeyRegister, t0.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("expired ceremony taken: %v", err)
		}

		// The user turning TOTP off keeps passkeys; an admin's reset
		// removes them.
		if err := s.ClearTOTP(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if ps, _ := s.ListPasskeys(ctx, u.ID); len(ps) != 1 {
			t.Errorf("passkeys after turning TOTP off: %d", len(ps))
		}
		if err := s.ClearSecondFactor(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if ps, _ := s.ListPasskeys(ctx, u.ID); len(ps) != 0 {
			t.Errorf("passkeys after a reset: %d", len(ps))
		}
	})
}

func TestSSOSettings(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.GetSSOSettings(ctx); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no settings yet: %v", err)
		}
		if v, err := s.SSOSettingsVersion(ctx); v != 0 || err != nil {
			t.Fatalf("version: %d %v", v, err)
		}
		in := store.SSOSettings{Issuer: "https://idp.example.test", ClientID: "hub", ClientSecret: "s3", Roles: map[string]store.Role{"it": store.RoleTier1},
			Sites: map[string]string{"berlin-desk": "berlin|paris", "hq": "*"}, GroupsClaim: "groups", CreateUsers: true, PasswordLogin: false, BreakGlass: "admin", UpdatedAt: time.Now().UTC().Truncate(time.Millisecond), UpdatedBy: "boss"}
		saved, err := s.PutSSOSettings(ctx, in)
		if err != nil || saved.Version != 1 {
			t.Fatalf("put: %+v %v", saved, err)
		}
		in.Issuer = "https://other.example.test"
		if saved, err = s.PutSSOSettings(ctx, in); err != nil || saved.Version != 2 {
			t.Fatalf("put again: %+v %v", saved, err)
		}
		got, err := s.GetSSOSettings(ctx)
		if err != nil || got.Issuer != in.Issuer || got.ClientSecret != "s3" || got.Roles["it"] != store.RoleTier1 || !maps.Equal(got.Sites, in.Sites) || !got.CreateUsers || got.PasswordLogin ||
			got.BreakGlass != "admin" || got.Version != 2 || !got.UpdatedAt.Equal(in.UpdatedAt) || got.UpdatedBy != "boss" {
			t.Errorf("got %+v %v", got, err)
		}
		// No site mapping reads back empty.
		in.Sites = nil
		if _, err = s.PutSSOSettings(ctx, in); err != nil {
			t.Fatal(err)
		}
		if got, err = s.GetSSOSettings(ctx); err != nil || len(got.Sites) != 0 || got.Version != 3 {
			t.Errorf("without sites: %+v %v", got, err)
		}
	})
}
