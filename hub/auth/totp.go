package auth

import (
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"image"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP codes follow RFC 6238 as every authenticator app reads it: SHA-1,
// six digits, 30-second steps. A code is accepted in its own step and the
// one before and after it (clocks drift), once.
const (
	TOTPPeriod = 30 * time.Second
	totpSkew   = 1
)

// TOTPKey is a new secret for a user to scan into their authenticator.
type TOTPKey struct {
	Secret string // base32 without padding
	URL    string // otpauth:// URL, the QR code's content
}

// NewTOTPKey makes a random 160-bit secret labelled with the issuer (the
// hub's name in the app) and the user's name.
func NewTOTPKey(issuer, account string) (TOTPKey, error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: uint(TOTPPeriod / time.Second),
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return TOTPKey{}, fmt.Errorf("make second-factor secret: %w", err)
	}
	return TOTPKey{Secret: k.Secret(), URL: k.URL()}, nil
}

// TOTPURL is the otpauth:// URL of an existing secret.
func TOTPURL(issuer, account, secret string) string {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: uint(TOTPPeriod / time.Second),
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Secret: mustBase32(secret)})
	if err != nil {
		return ""
	}
	return k.URL()
}

// TOTPImage draws the secret's otpauth URL as a QR code of size pixels.
func TOTPImage(url string, size int) (image.Image, error) {
	k, err := otp.NewKeyFromURL(url)
	if err != nil {
		return nil, fmt.Errorf("second-factor QR code: %w", err)
	}
	return k.Image(size, size)
}

// TOTPCode is the code for the step holding t (what the user's app shows).
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: uint(TOTPPeriod / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// CheckTOTP reports the step whose code matches code near now, and whether
// one did. The caller must refuse a step not after the last one it took,
// so a code seen over a shoulder cannot be used again.
func CheckTOTP(secret, code string, now time.Time) (step int64, ok bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 {
		return 0, false
	}
	cur := now.Unix() / int64(TOTPPeriod/time.Second)
	// Try each step and keep the match: the same time whether or not, and
	// wherever, it matches.
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		s := cur + d
		want, err := TOTPCode(secret, time.Unix(s*int64(TOTPPeriod/time.Second), 0))
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			step, ok = s, true
		}
	}
	return step, ok
}

func mustBase32(secret string) []byte {
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(secret))
	if err != nil {
		return nil
	}
	return b
}

// Recovery codes: RecoveryCodeCount codes a user keeps on paper for when
// the authenticator is lost; each works once. 16 base32 letters (80 bits),
// so the SHA-256 they are stored under cannot be searched.
const RecoveryCodeCount = 10

var recoveryAlphabet = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// NewRecoveryCodes returns fresh codes, written as xxxx-xxxx-xxxx-xxxx.
func NewRecoveryCodes() []string {
	out := make([]string, RecoveryCodeCount)
	for i := range out {
		b := make([]byte, 10)
		randRead(b)
		s := recoveryAlphabet.EncodeToString(b)
		out[i] = s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
	}
	return out
}

// HashRecoveryCode is the stored form of a recovery code as typed: case,
// spaces and dashes do not matter.
func HashRecoveryCode(code string) []byte {
	c := strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
	return HashSecret(c)
}
