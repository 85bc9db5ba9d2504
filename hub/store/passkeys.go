package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Passkey is a WebAuthn credential a user registered as a second factor.
// Credential is the library's record of it (public key, sign count,
// flags) as JSON; the store does not read it.
type Passkey struct {
	ID         []byte // the credential id the authenticator chose
	UserID     string
	Name       string
	Credential []byte
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// WebAuthn ceremony purposes.
const (
	PasskeyRegister = "register"
	PasskeyLogin    = "login"
)

// AddPasskey stores a newly registered passkey; ErrExists when the
// credential is registered already (to anyone).
func (s *Store) AddPasskey(ctx context.Context, p Passkey) error {
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO user_passkeys (credential_id, user_id, name, credential, created_at) VALUES (?, ?, ?, ?, ?)`),
		p.ID, p.UserID, p.Name, string(p.Credential), ns(p.CreatedAt))
	switch {
	case err == nil:
		return nil
	case isUniqueViolation(err):
		return fmt.Errorf("add passkey: %w", ErrExists)
	case isForeignKeyViolation(err):
		return fmt.Errorf("add passkey: user %s: %w", p.UserID, ErrNotFound)
	default:
		return fmt.Errorf("add passkey: %w", err)
	}
}

// ListPasskeys returns the user's passkeys, oldest first.
func (s *Store) ListPasskeys(ctx context.Context, userID string) ([]Passkey, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT credential_id, user_id, name, credential, created_at, last_used_at FROM user_passkeys
		WHERE user_id = ? ORDER BY created_at, name`), userID)
	if err != nil {
		return nil, fmt.Errorf("passkeys of %s: %w", userID, err)
	}
	defer rows.Close()
	var out []Passkey
	for rows.Next() {
		var p Passkey
		var cred string
		var created int64
		var used sql.NullInt64
		if err := rows.Scan(&p.ID, &p.UserID, &p.Name, &cred, &created, &used); err != nil {
			return nil, fmt.Errorf("passkeys of %s: %w", userID, err)
		}
		p.Credential, p.CreatedAt, p.LastUsedAt = []byte(cred), fromNS(created), nullTimePtr(used)
		out = append(out, p)
	}
	return out, rows.Err()
}

// UsePasskey records a login with the passkey: its new state (the sign
// count the authenticator gave) and the time. ErrNotFound when it was
// removed meanwhile.
func (s *Store) UsePasskey(ctx context.Context, userID string, id, credential []byte, at time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE user_passkeys SET credential = ?, last_used_at = ? WHERE credential_id = ? AND user_id = ?`),
		string(credential), ns(at), id, userID)
	if err != nil {
		return fmt.Errorf("use passkey: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("use passkey: %w", ErrNotFound)
	}
	return nil
}

// RemovePasskey removes one of the user's passkeys; ErrNotFound when the
// user has no such passkey.
func (s *Store) RemovePasskey(ctx context.Context, userID string, id []byte) error {
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM user_passkeys WHERE credential_id = ? AND user_id = ?`), id, userID)
	if err != nil {
		return fmt.Errorf("remove passkey: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("remove passkey: %w", ErrNotFound)
	}
	return nil
}

// PutWebAuthnSession keeps a ceremony's state until the browser answers;
// a newer one of the same user and purpose replaces it.
func (s *Store) PutWebAuthnSession(ctx context.Context, userID, purpose string, data []byte, expires, now time.Time) error {
	if _, err := s.w.ExecContext(ctx, s.q(`DELETE FROM webauthn_sessions WHERE expires_at <= ?`), ns(now)); err != nil {
		return fmt.Errorf("passkey ceremony: %w", err)
	}
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO webauthn_sessions (user_id, purpose, data, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, purpose) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at`), userID, purpose, string(data), ns(expires))
	if err != nil {
		return fmt.Errorf("passkey ceremony: %w", err)
	}
	return nil
}

// TakeWebAuthnSession returns a ceremony's state and removes it, so an
// answer is checked against it once; ErrNotFound for none or an expired one.
func (s *Store) TakeWebAuthnSession(ctx context.Context, userID, purpose string, now time.Time) ([]byte, error) {
	var data string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var expires int64
		err := tx.QueryRowContext(ctx, s.q(`SELECT data, expires_at FROM webauthn_sessions WHERE user_id = ? AND purpose = ?`), userID, purpose).Scan(&data, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("passkey ceremony: %w", ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("passkey ceremony: %w", err)
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM webauthn_sessions WHERE user_id = ? AND purpose = ? AND expires_at = ?`), userID, purpose, expires)
		if err != nil {
			return fmt.Errorf("passkey ceremony: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("passkey ceremony taken meanwhile: %w", ErrNotFound)
		}
		if !now.Before(fromNS(expires)) {
			return fmt.Errorf("passkey ceremony expired: %w", ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return []byte(data), nil
}
