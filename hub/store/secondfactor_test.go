package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/shared/wire"
)

func TestSecondFactor(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.Now().UTC().Truncate(time.Millisecond)
		u := store.User{ID: wire.NewID(), Name: "ann", Role: store.RoleTier2, PasswordHash: "x"}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetTOTP(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no secret yet: %v", err)
		}
		if err := s.StartTOTP(ctx, "nobody", "AAAA"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("secret for an unknown user: %v, want ErrNotFound", err)
		}
		if err := s.StartTOTP(ctx, u.ID, "FIRST"); err != nil {
			t.Fatal(err)
		}
		// An unconfirmed secret is replaced by a new enrolment, and a plain
		// login code is not accepted against it.
		if err := s.StartTOTP(ctx, u.ID, "SECOND"); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.UseTOTPStep(ctx, u.ID, 100, false, t0); ok || err != nil {
			t.Errorf("login code against an unconfirmed secret: %v %v", ok, err)
		}
		if ok, err := s.UseTOTPStep(ctx, u.ID, 100, true, t0); !ok || err != nil {
			t.Fatalf("confirm: %v %v", ok, err)
		}
		tt, err := s.GetTOTP(ctx, u.ID)
		if err != nil || tt.Secret != "SECOND" || tt.ConfirmedAt == nil || tt.LastStep != 100 {
			t.Fatalf("after confirming: %+v %v", tt, err)
		}
		if err := s.StartTOTP(ctx, u.ID, "THIRD"); !errors.Is(err, store.ErrExists) {
			t.Errorf("a new enrolment over a confirmed secret: %v, want ErrExists", err)
		}
		// A step is taken once; an earlier one never.
		for _, c := range []struct {
			step int64
			want bool
		}{{100, false}, {99, false}, {101, true}, {101, false}} {
			if ok, err := s.UseTOTPStep(ctx, u.ID, c.step, false, t0); ok != c.want || err != nil {
				t.Errorf("step %d: %v %v, want %v", c.step, ok, err, c.want)
			}
		}
		// Recovery codes: each once; a new set replaces the old.
		a, b := auth.HashSecret("a"), auth.HashSecret("b")
		if err := s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{a, b}); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.UseRecoveryCode(ctx, u.ID, a, t0); !ok {
			t.Error("first use of a recovery code refused")
		}
		if ok, _ := s.UseRecoveryCode(ctx, u.ID, a, t0); ok {
			t.Error("a recovery code taken twice")
		}
		if n, _ := s.RecoveryCodesLeft(ctx, u.ID); n != 1 {
			t.Errorf("codes left %d, want 1", n)
		}
		if err := s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{auth.HashSecret("c")}); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.UseRecoveryCode(ctx, u.ID, b, t0); ok {
			t.Error("an old recovery code still works after a new set")
		}
		// Challenges: found within their time, gone after.
		ch := store.LoginChallenge{IDHash: auth.HashSecret("ch"), UserID: u.ID, Purpose: store.ChallengeCode, Next: "/queue", ExpiresAt: t0.Add(5 * time.Minute)}
		if err := s.CreateLoginChallenge(ctx, ch, t0); err != nil {
			t.Fatal(err)
		}
		got, gu, err := s.GetLoginChallenge(ctx, ch.IDHash, t0.Add(time.Minute))
		if err != nil || got.Purpose != store.ChallengeCode || got.Next != "/queue" || gu.Name != "ann" {
			t.Fatalf("challenge: %+v %+v %v", got, gu, err)
		}
		if _, _, err := s.GetLoginChallenge(ctx, ch.IDHash, t0.Add(5*time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("expired challenge: %v", err)
		}
		// Clearing removes the secret, the codes and open challenges.
		if err := s.ClearSecondFactor(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetTOTP(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("secret after clearing: %v", err)
		}
		if n, _ := s.RecoveryCodesLeft(ctx, u.ID); n != 0 {
			t.Errorf("codes after clearing: %d", n)
		}
		if _, _, err := s.GetLoginChallenge(ctx, ch.IDHash, t0.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("challenge after clearing: %v", err)
		}
	})
}

func TestSSOIdentities(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.Now().UTC().Truncate(time.Millisecond)
		u := store.User{ID: wire.NewID(), Name: "alice", Role: store.RoleTier1}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		const iss = "https://idp.example.test"
		if _, err := s.UserByIdentity(ctx, iss, "sub-alice"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("before linking: %v", err)
		}
		if err := s.LinkIdentity(ctx, iss, "sub-alice", u.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := s.UserByIdentity(ctx, iss, "sub-alice"); err != nil || got.Name != "alice" {
			t.Fatalf("after linking: %+v %v", got, err)
		}
		if err := s.LinkIdentity(ctx, iss, "sub-other", u.ID); !errors.Is(err, store.ErrExists) {
			t.Errorf("a second subject for alice: %v, want ErrExists", err)
		}
		if err := s.LinkIdentity(ctx, iss, "sub-alice", "nobody"); !errors.Is(err, store.ErrExists) {
			t.Errorf("a subject tied twice: %v, want ErrExists", err)
		}
		l := store.SSOLogin{StateHash: auth.HashSecret("state"), Nonce: "n", Verifier: "v", Next: "/queue", ExpiresAt: t0.Add(10 * time.Minute)}
		if err := s.CreateSSOLogin(ctx, l, t0); err != nil {
			t.Fatal(err)
		}
		got, err := s.TakeSSOLogin(ctx, l.StateHash, t0.Add(time.Minute))
		if err != nil || got.Nonce != "n" || got.Verifier != "v" || got.Next != "/queue" {
			t.Fatalf("take: %+v %v", got, err)
		}
		if _, err := s.TakeSSOLogin(ctx, l.StateHash, t0.Add(time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a state taken twice: %v", err)
		}
		late := store.SSOLogin{StateHash: auth.HashSecret("late"), Nonce: "n", Verifier: "v", Next: "/", ExpiresAt: t0.Add(time.Minute)}
		_ = s.CreateSSOLogin(ctx, late, t0)
		if _, err := s.TakeSSOLogin(ctx, late.StateHash, t0.Add(2*time.Minute)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("an expired state: %v", err)
		}
	})
}
