package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SSOLogin is a sign-on login waiting for its callback.
type SSOLogin struct {
	StateHash       []byte
	Nonce, Verifier string
	Next            string
	ExpiresAt       time.Time
}

// CreateSSOLogin stores a login leaving for the provider, and removes
// ones that ran out.
func (s *Store) CreateSSOLogin(ctx context.Context, l SSOLogin, now time.Time) error {
	if _, err := s.w.ExecContext(ctx, s.q(`DELETE FROM sso_logins WHERE expires_at <= ?`), now.UnixNano()); err != nil {
		return fmt.Errorf("create sign-on login: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, s.q(`INSERT INTO sso_logins (state_hash, nonce, verifier, next, expires_at) VALUES (?, ?, ?, ?, ?)`),
		l.StateHash, l.Nonce, l.Verifier, l.Next, l.ExpiresAt.UnixNano()); err != nil {
		return fmt.Errorf("create sign-on login: %w", err)
	}
	return nil
}

// TakeSSOLogin returns the login with this state and removes it, so a
// callback is taken once; ErrNotFound for an unknown, used or expired one.
func (s *Store) TakeSSOLogin(ctx context.Context, stateHash []byte, now time.Time) (SSOLogin, error) {
	var l SSOLogin
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var expires int64
		err := tx.QueryRowContext(ctx, s.q(`SELECT state_hash, nonce, verifier, next, expires_at FROM sso_logins WHERE state_hash = ?`), stateHash).
			Scan(&l.StateHash, &l.Nonce, &l.Verifier, &l.Next, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sign-on login: %w", ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("sign-on login: %w", err)
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM sso_logins WHERE state_hash = ?`), stateHash)
		if err != nil {
			return fmt.Errorf("sign-on login: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("sign-on login taken meanwhile: %w", ErrNotFound)
		}
		l.ExpiresAt = fromNS(expires)
		if !now.Before(l.ExpiresAt) {
			return fmt.Errorf("sign-on login expired: %w", ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return SSOLogin{}, err
	}
	return l, nil
}

// UserByIdentity finds the user a provider's subject logged in as before;
// ErrNotFound when none has.
func (s *Store) UserByIdentity(ctx context.Context, issuer, subject string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, s.q(`SELECT `+prefixed("u.", userCols)+` FROM user_identities i JOIN users u ON u.id = i.user_id
		WHERE i.issuer = ? AND i.subject = ?`), issuer, subject))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user of %s at %s: %w", subject, issuer, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("user of %s at %s: %w", subject, issuer, err)
	}
	return u, nil
}

// LinkIdentity ties a provider's subject to a user. ErrExists when the
// subject is tied already or the user has another subject at this issuer.
func (s *Store) LinkIdentity(ctx context.Context, issuer, subject, userID string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM user_identities WHERE issuer = ? AND user_id = ?`), issuer, userID).Scan(&n); err != nil {
			return fmt.Errorf("link identity: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("link identity: user %s has another identity at %s: %w", userID, issuer, ErrExists)
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO user_identities (issuer, subject, user_id) VALUES (?, ?, ?)`), issuer, subject, userID)
		switch {
		case err == nil:
			return nil
		case isUniqueViolation(err):
			return fmt.Errorf("link identity %s: %w", subject, ErrExists)
		case isForeignKeyViolation(err):
			return fmt.Errorf("link identity: user %s: %w", userID, ErrNotFound)
		default:
			return fmt.Errorf("link identity: %w", err)
		}
	})
}
