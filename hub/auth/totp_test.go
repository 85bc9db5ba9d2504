package auth

import (
	"strings"
	"testing"
	"time"
)

func TestCheckTOTP(t *testing.T) {
	k, err := NewTOTPKey("Tierline", "ann")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k.URL, "otpauth://totp/Tierline:ann?") || !strings.Contains(k.URL, "secret="+k.Secret) {
		t.Errorf("url %q", k.URL)
	}
	if got := TOTPURL("Tierline", "ann", k.Secret); got != k.URL {
		t.Errorf("url again %q, want %q", got, k.URL)
	}
	now := time.Date(2026, 12, 6, 9, 0, 10, 0, time.UTC)
	step := now.Unix() / 30
	for _, c := range []struct {
		at   time.Time
		ok   bool
		step int64
	}{
		{now, true, step},
		{now.Add(-30 * time.Second), true, step - 1}, // the user's phone is a little behind
		{now.Add(30 * time.Second), true, step + 1},
		{now.Add(-90 * time.Second), false, 0}, // too old
		{now.Add(90 * time.Second), false, 0},
	} {
		code, err := TOTPCode(k.Secret, c.at)
		if err != nil {
			t.Fatal(err)
		}
		s, ok := CheckTOTP(k.Secret, code, now)
		if ok != c.ok || s != c.step {
			t.Errorf("code of %s: step %d %v, want %d %v", c.at.Sub(now), s, ok, c.step, c.ok)
		}
	}
	code, _ := TOTPCode(k.Secret, now)
	if _, ok := CheckTOTP(k.Secret, code[:3]+" "+code[3:], now); !ok {
		t.Error("a code typed with a space in the middle refused")
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := CheckTOTP(k.Secret, bad, now); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	other, _ := NewTOTPKey("Tierline", "bob")
	if _, ok := CheckTOTP(other.Secret, code, now); ok {
		t.Error("ann's code accepted for bob's secret")
	}
	if _, err := TOTPImage(k.URL, 200); err != nil {
		t.Errorf("QR code: %v", err)
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes := NewRecoveryCodes()
	if len(codes) != RecoveryCodeCount {
		t.Fatalf("%d codes", len(codes))
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 19 || strings.Count(c, "-") != 3 || seen[c] {
			t.Errorf("code %q", c)
		}
		seen[c] = true
	}
	c := codes[0]
	if string(HashRecoveryCode(strings.ToUpper(strings.ReplaceAll(c, "-", " ")))) != string(HashRecoveryCode(c)) {
		t.Error("case and separators change a recovery code's hash")
	}
}
