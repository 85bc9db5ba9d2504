package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// TOTP is a user's time-based one-time password secret. It is in use once
// confirmed (the user typed a code from it); an unconfirmed one is an
// enrolment in progress.
type TOTP struct {
	UserID      string
	Secret      string // base32, as authenticator apps take it
	ConfirmedAt *time.Time
	LastStep    int64 // the last 30-second step whose code was accepted
}

// LoginChallenge is a login that passed its password and waits for the
// second factor (Purpose "code") or for the user to set one up because
// their role requires it (Purpose "enroll").
type LoginChallenge struct {
	IDHash    []byte
	UserID    string
	Purpose   string
	Next      string // where the console goes after the login
	ExpiresAt time.Time
}

// Login challenge purposes.
const (
	ChallengeCode   = "code"
	ChallengeEnroll = "enroll"
)

// GetTOTP returns the user's TOTP secret; ErrNotFound when they have none.
func (s *Store) GetTOTP(ctx context.Context, userID string) (TOTP, error) {
	var t TOTP
	var confirmed sql.NullInt64
	err := s.r.QueryRowContext(ctx, s.q(`SELECT user_id, secret, confirmed_at, last_step FROM user_totp WHERE user_id = ?`), userID).
		Scan(&t.UserID, &t.Secret, &confirmed, &t.LastStep)
	if errors.Is(err, sql.ErrNoRows) {
		return TOTP{}, fmt.Errorf("second factor of %s: %w", userID, ErrNotFound)
	}
	if err != nil {
		return TOTP{}, fmt.Errorf("second factor of %s: %w", userID, err)
	}
	t.ConfirmedAt = nullTimePtr(confirmed)
	return t, nil
}

// StartTOTP stores a new, unconfirmed secret for the user. It refuses
// (ErrExists) while a confirmed one is in use: that one must be removed
// first, with a code or by an admin.
func (s *Store) StartTOTP(ctx context.Context, userID, secret string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var confirmed sql.NullInt64
		err := tx.QueryRowContext(ctx, s.q(`SELECT confirmed_at FROM user_totp WHERE user_id = ?`), userID).Scan(&confirmed)
		switch {
		case err == nil && confirmed.Valid:
			return fmt.Errorf("start second factor for %s: one is in use: %w", userID, ErrExists)
		case err == nil:
			_, err = tx.ExecContext(ctx, s.q(`UPDATE user_totp SET secret = ?, last_step = 0 WHERE user_id = ?`), secret, userID)
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO user_totp (user_id, secret) VALUES (?, ?)`), userID, secret)
		}
		if err != nil && isForeignKeyViolation(err) {
			return fmt.Errorf("start second factor: user %s: %w", userID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("start second factor for %s: %w", userID, err)
		}
		return nil
	})
}

// UseTOTPStep records that the code of step was accepted, so that it (or
// an earlier one) is never accepted again; confirm also puts the secret in
// use. It answers false when the step is not after the last one taken:
// the code was already used.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64, confirm bool, at time.Time) (bool, error) {
	var res sql.Result
	var err error
	if confirm {
		res, err = s.w.ExecContext(ctx, s.q(`UPDATE user_totp SET last_step = ?, confirmed_at = COALESCE(confirmed_at, ?)
			WHERE user_id = ? AND last_step < ?`), step, at.UnixNano(), userID, step)
	} else {
		res, err = s.w.ExecContext(ctx, s.q(`UPDATE user_totp SET last_step = ? WHERE user_id = ? AND last_step < ? AND confirmed_at IS NOT NULL`),
			step, userID, step)
	}
	if err != nil {
		return false, fmt.Errorf("use second factor of %s: %w", userID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ReplaceRecoveryCodes puts a new set of recovery code hashes in place of
// the user's old ones (all of which stop working).
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM user_recovery_codes WHERE user_id = ?`), userID); err != nil {
			return fmt.Errorf("replace recovery codes of %s: %w", userID, err)
		}
		for _, h := range hashes {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO user_recovery_codes (user_id, code_hash) VALUES (?, ?)`), userID, h); err != nil {
				if isForeignKeyViolation(err) {
					return fmt.Errorf("replace recovery codes: user %s: %w", userID, ErrNotFound)
				}
				return fmt.Errorf("replace recovery codes of %s: %w", userID, err)
			}
		}
		return nil
	})
}

// UseRecoveryCode spends one recovery code; false when the code is not one
// of the user's or was used before.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, hash []byte, at time.Time) (bool, error) {
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE user_recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`),
		at.UnixNano(), userID, hash)
	if err != nil {
		return false, fmt.Errorf("use recovery code of %s: %w", userID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM user_recovery_codes WHERE user_id = ? AND used_at IS NULL`), userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("recovery codes of %s: %w", userID, err)
	}
	return n, nil
}

// ClearTOTP removes the user's TOTP secret and recovery codes (the user
// turning it off with a code); their passkeys stay.
func (s *Store) ClearTOTP(ctx context.Context, userID string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM user_totp WHERE user_id = ?`, `DELETE FROM user_recovery_codes WHERE user_id = ?`} {
			if _, err := tx.ExecContext(ctx, s.q(q), userID); err != nil {
				return fmt.Errorf("clear second factor of %s: %w", userID, err)
			}
		}
		return nil
	})
}

// ClearSecondFactor removes every second factor of the user: TOTP secret,
// recovery codes, passkeys, and logins waiting for one (an admin's reset).
func (s *Store) ClearSecondFactor(ctx context.Context, userID string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM user_totp WHERE user_id = ?`, `DELETE FROM user_recovery_codes WHERE user_id = ?`,
			`DELETE FROM login_challenges WHERE user_id = ?`, `DELETE FROM user_passkeys WHERE user_id = ?`, `DELETE FROM webauthn_sessions WHERE user_id = ?`} {
			if _, err := tx.ExecContext(ctx, s.q(q), userID); err != nil {
				return fmt.Errorf("clear second factor of %s: %w", userID, err)
			}
		}
		return nil
	})
}

// CreateLoginChallenge stores a login waiting for its second factor, and
// removes challenges that have expired.
func (s *Store) CreateLoginChallenge(ctx context.Context, c LoginChallenge, now time.Time) error {
	if _, err := s.w.ExecContext(ctx, s.q(`DELETE FROM login_challenges WHERE expires_at <= ?`), now.UnixNano()); err != nil {
		return fmt.Errorf("create login challenge: %w", err)
	}
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO login_challenges (id_hash, user_id, purpose, next, expires_at) VALUES (?, ?, ?, ?, ?)`),
		c.IDHash, c.UserID, c.Purpose, c.Next, c.ExpiresAt.UnixNano())
	if err != nil {
		return fmt.Errorf("create login challenge: %w", err)
	}
	return nil
}

// GetLoginChallenge finds a challenge still within its time and its user;
// ErrNotFound when there is none (unknown, expired or the user disabled).
func (s *Store) GetLoginChallenge(ctx context.Context, hash []byte, now time.Time) (LoginChallenge, User, error) {
	var c LoginChallenge
	var expires int64
	err := s.r.QueryRowContext(ctx, s.q(`SELECT id_hash, user_id, purpose, next, expires_at FROM login_challenges WHERE id_hash = ?`), hash).
		Scan(&c.IDHash, &c.UserID, &c.Purpose, &c.Next, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return LoginChallenge{}, User{}, fmt.Errorf("login challenge: %w", ErrNotFound)
	}
	if err != nil {
		return LoginChallenge{}, User{}, fmt.Errorf("login challenge: %w", err)
	}
	c.ExpiresAt = fromNS(expires)
	if !now.Before(c.ExpiresAt) {
		return LoginChallenge{}, User{}, fmt.Errorf("login challenge expired: %w", ErrNotFound)
	}
	u, err := s.GetUser(ctx, c.UserID)
	if err != nil {
		return LoginChallenge{}, User{}, err
	}
	if u.DisabledAt != nil {
		return LoginChallenge{}, User{}, fmt.Errorf("login challenge: user disabled: %w", ErrNotFound)
	}
	return c, u, nil
}

// DeleteLoginChallenge ends a challenge (used, or abandoned).
func (s *Store) DeleteLoginChallenge(ctx context.Context, hash []byte) error {
	if _, err := s.w.ExecContext(ctx, s.q(`DELETE FROM login_challenges WHERE id_hash = ?`), hash); err != nil {
		return fmt.Errorf("delete login challenge: %w", err)
	}
	return nil
}

// secondFactorRolesKey is the setting naming the roles whose users must
// log in with a second factor (a JSON list of roles).
const secondFactorRolesKey = "second_factor_roles"

// SecondFactorRoles returns the roles that must log in with a second
// factor; none unless an admin set some.
func (s *Store) SecondFactorRoles(ctx context.Context) (map[Role]bool, error) {
	v, ok, err := s.GetSetting(ctx, secondFactorRolesKey)
	if err != nil || !ok {
		return map[Role]bool{}, err
	}
	var roles []Role
	if err := json.Unmarshal([]byte(v), &roles); err != nil {
		return nil, fmt.Errorf("setting %s: %w", secondFactorRolesKey, err)
	}
	out := map[Role]bool{}
	for _, r := range roles {
		if r.Valid() {
			out[r] = true
		}
	}
	return out, nil
}

// SetSecondFactorRoles sets the roles that must log in with a second factor.
func (s *Store) SetSecondFactorRoles(ctx context.Context, roles map[Role]bool) error {
	list := []Role{}
	for _, r := range Roles {
		if roles[r] {
			list = append(list, r)
		}
	}
	b, _ := json.Marshal(list)
	return s.PutSetting(ctx, secondFactorRolesKey, string(b))
}

// SecondFactorUsers returns the ids of the users who log in with a second
// factor (an authenticator app, a passkey or both).
func (s *Store) SecondFactorUsers(ctx context.Context) (map[string]bool, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT user_id FROM user_totp WHERE confirmed_at IS NOT NULL UNION SELECT user_id FROM user_passkeys`)
	if err != nil {
		return nil, fmt.Errorf("users with a second factor: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("users with a second factor: %w", err)
		}
		out[id] = true
	}
	return out, rows.Err()
}
