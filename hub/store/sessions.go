package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Session is a console login. Its id is a random secret held only in the
// browser's cookie; the store keeps its SHA-256.
type Session struct {
	IDHash    []byte
	UserID    string
	CSRF      string // per-session token the console puts in every page
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time // absolute end, whatever the activity
}

// ErrSessionExpired: the session ran past its idle or absolute limit.
var ErrSessionExpired = errors.New("console session has expired; log in again")

// CreateSession stores a new session. ErrNotFound for an unknown user.
func (s *Store) CreateSession(ctx context.Context, se Session) error {
	if len(se.IDHash) == 0 || se.UserID == "" || se.CSRF == "" {
		return errors.New("create session: id hash, user and csrf token are required")
	}
	if se.LastSeen.IsZero() {
		se.LastSeen = se.CreatedAt
	}
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO sessions (id_hash, user_id, csrf, created_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?, ?)`),
		se.IDHash, se.UserID, se.CSRF, se.CreatedAt.UnixNano(), se.LastSeen.UnixNano(), se.ExpiresAt.UnixNano())
	if err != nil && isForeignKeyViolation(err) {
		return fmt.Errorf("create session: user %s: %w", se.UserID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// LookupSession finds the session with this id hash and its user, and
// records the activity (at most once every touchEvery). A session idle for
// longer than idle, or past its absolute expiry, is deleted and answers
// ErrSessionExpired; an unknown session or a disabled user ErrNotFound.
func (s *Store) LookupSession(ctx context.Context, hash []byte, now time.Time, idle, touchEvery time.Duration) (Session, User, error) {
	var se Session
	var u User
	var role string
	var created, seen, expires, ucreated int64
	var udisabled sql.NullInt64
	var usites string
	err := s.r.QueryRowContext(ctx, s.q(`SELECT s.id_hash, s.user_id, s.csrf, s.created_at, s.last_seen, s.expires_at,
		u.id, u.name, u.role, u.password_hash, u.created_at, u.disabled_at, u.available, u.sites
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?`), hash).
		Scan(&se.IDHash, &se.UserID, &se.CSRF, &created, &seen, &expires,
			&u.ID, &u.Name, &role, &u.PasswordHash, &ucreated, &udisabled, &u.Available, &usites)
	u.Sites = splitSites(usites)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, User{}, fmt.Errorf("look up session: %w", ErrNotFound)
	}
	if err != nil {
		return Session{}, User{}, fmt.Errorf("look up session: %w", err)
	}
	se.CreatedAt, se.LastSeen, se.ExpiresAt = fromNS(created), fromNS(seen), fromNS(expires)
	u.Role = Role(role)
	u.CreatedAt = fromNS(ucreated)
	u.DisabledAt = nullTimePtr(udisabled)
	switch {
	case u.DisabledAt != nil:
		_ = s.DeleteSession(ctx, hash)
		return Session{}, User{}, fmt.Errorf("look up session: user disabled: %w", ErrNotFound)
	case !now.Before(se.ExpiresAt), idle > 0 && now.Sub(se.LastSeen) >= idle:
		_ = s.DeleteSession(ctx, hash)
		return Session{}, User{}, fmt.Errorf("look up session: %w", ErrSessionExpired)
	}
	if now.Sub(se.LastSeen) >= touchEvery {
		if _, err := s.w.ExecContext(ctx, s.q(`UPDATE sessions SET last_seen = ? WHERE id_hash = ? AND last_seen < ?`),
			now.UnixNano(), hash, now.UnixNano()); err != nil {
			return Session{}, User{}, fmt.Errorf("look up session: record activity: %w", err)
		}
		se.LastSeen = now
	}
	return se, u, nil
}

// DeleteSession ends a session; ending an unknown one is not an error.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	if _, err := s.w.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE id_hash = ?`), hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of a user. (A password reset does
// this itself, in SetUserPassword; a disabled user's sessions are refused
// by LookupSession; a role change applies at the next request.)
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE user_id = ?`), userID)
	if err != nil {
		return 0, fmt.Errorf("delete sessions of user %s: %w", userID, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// PruneSessions deletes sessions past their absolute expiry or idle since
// before idleBefore.
func (s *Store) PruneSessions(ctx context.Context, now, idleBefore time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE expires_at <= ? OR last_seen < ?`), now.UnixNano(), idleBefore.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("prune sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// LoginFailures returns how many logins for name failed in a row and when
// the last one did (zero time if none).
func (s *Store) LoginFailures(ctx context.Context, name string) (int, time.Time, error) {
	var n int
	var last int64
	err := s.r.QueryRowContext(ctx, s.q(`SELECT failures, last_at FROM login_failures WHERE name = ?`), loginKey(name)).Scan(&n, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("login failures: %w", err)
	}
	return n, fromNS(last), nil
}

// RecordLoginFailure counts one more failed login for name and returns the
// new count.
func (s *Store) RecordLoginFailure(ctx context.Context, name string, at time.Time) (int, error) {
	var n int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO login_failures (name, failures, last_at) VALUES (?, 1, ?)
			ON CONFLICT (name) DO UPDATE SET failures = login_failures.failures + 1, last_at = excluded.last_at`),
			loginKey(name), at.UnixNano()); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, s.q(`SELECT failures FROM login_failures WHERE name = ?`), loginKey(name)).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("record login failure: %w", err)
	}
	return n, nil
}

// ClearLoginFailures forgets the failures of name after a good login.
func (s *Store) ClearLoginFailures(ctx context.Context, name string) error {
	if _, err := s.w.ExecContext(ctx, s.q(`DELETE FROM login_failures WHERE name = ?`), loginKey(name)); err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}

// loginKey bounds what an unauthenticated caller can make the store keep.
func loginKey(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if len(name) > 128 {
		name = name[:128]
	}
	return name
}
