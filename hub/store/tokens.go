package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// CreateToken stores an enrollment token; secretHash is the SHA-256 of its
// secret. ErrExists when the id or secret is already stored.
func (s *Store) CreateToken(ctx context.Context, t Token, secretHash []byte) error {
	if t.ID == "" || len(secretHash) == 0 {
		return errors.New("create token: id and secret hash are required")
	}
	if t.MaxUses <= 0 {
		t.MaxUses = 1
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now()
	}
	if t.Site == "" {
		t.Site = DefaultSite
	}
	if err := ValidateSite(t.Site); err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO enroll_tokens
		(id, secret_hash, note, created_by, created_at, expires_at, max_uses, uses, revoked_at, site)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		t.ID, secretHash, t.Note, t.CreatedBy, t.CreatedAt.UnixNano(), ns(t.ExpiresAt), t.MaxUses, t.Uses, nsPtr(t.RevokedAt), t.Site)
	if isUniqueViolation(err) {
		return fmt.Errorf("create token %s: %w", t.ID, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create token %s: %w", t.ID, err)
	}
	return nil
}

// ListTokens lists enrollment tokens, newest first.
func (s *Store) ListTokens(ctx context.Context) ([]Token, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, note, created_by, created_at, expires_at, max_uses, uses, revoked_at, site
		FROM enroll_tokens ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var t Token
		var created int64
		var expires, revoked sql.NullInt64
		if err := rows.Scan(&t.ID, &t.Note, &t.CreatedBy, &created, &expires, &t.MaxUses, &t.Uses, &revoked, &t.Site); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		t.CreatedAt = fromNS(created)
		t.ExpiresAt = nullTime(expires)
		t.RevokedAt = nullTimePtr(revoked)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken revokes an enrollment token. ErrNotFound for an unknown id.
// Revoking a revoked token keeps the first revocation time.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE enroll_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`), at.UnixNano(), id)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("revoke token %s: %w", id, ErrNotFound)
	}
	return nil
}

// EnrollDevice consumes one use of the enrollment token whose secret hashes
// to secretHash and stores d, in one transaction. It returns the stored
// device (EnrolledAt = now, TokenID set). Refusals: ErrTokenUnknown,
// ErrTokenExpired, ErrTokenUsedUp, ErrTokenRevoked; ErrExists when d.ID is
// taken (the token use is then not consumed).
func (s *Store) EnrollDevice(ctx context.Context, secretHash []byte, d Device, now time.Time) (Device, error) {
	if d.ID == "" {
		return Device{}, errors.New("enroll device: device id is required")
	}
	if d.PublicKey == nil {
		d.PublicKey = []byte{}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// The conditional update is the single point of truth: concurrent
		// callers serialize on the row and at most max_uses of them match.
		var tokenID string
		err := tx.QueryRowContext(ctx, s.q(`UPDATE enroll_tokens SET uses = uses + 1
			WHERE secret_hash = ? AND uses < max_uses AND revoked_at IS NULL
			AND (expires_at IS NULL OR expires_at > ?)
			RETURNING id, site`), secretHash, now.UnixNano()).Scan(&tokenID, &d.Site)
		if errors.Is(err, sql.ErrNoRows) {
			return s.tokenRefusal(ctx, tx, secretHash, now)
		}
		if err != nil {
			return fmt.Errorf("consume token: %w", err)
		}
		d.TokenID = tokenID
		d.EnrolledAt = now
		d.Online = false
		d.LastSeq = 0
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO devices
			(id, public_key, hostname, os, arch, platform, agent_version, grp, token_id, enrolled_at, online, last_seen, revoked_at, last_seq, spool_dropped, site)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, ?, ?)`),
			d.ID, d.PublicKey, d.Hostname, d.OS, d.Arch, d.Platform, d.AgentVersion, d.Group, d.TokenID,
			now.UnixNano(), false, nsPtr(d.LastSeen), int64(d.SpoolDropped), d.Site)
		if isUniqueViolation(err) {
			return ErrExists
		}
		if err != nil {
			return fmt.Errorf("insert device: %w", err)
		}
		return nil
	})
	if err != nil {
		return Device{}, fmt.Errorf("enroll device %s: %w", d.ID, err)
	}
	d.EnrolledAt = fromNS(now.UnixNano())
	d.RevokedAt = nil
	return d, nil
}

// tokenRefusal says why no token matched for enrollment.
func (s *Store) tokenRefusal(ctx context.Context, tx *sql.Tx, secretHash []byte, now time.Time) error {
	var expires, revoked sql.NullInt64
	var uses, maxUses int
	err := tx.QueryRowContext(ctx, s.q(`SELECT expires_at, uses, max_uses, revoked_at FROM enroll_tokens WHERE secret_hash = ?`),
		secretHash).Scan(&expires, &uses, &maxUses, &revoked)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrTokenUnknown
	case err != nil:
		return fmt.Errorf("look up token: %w", err)
	case revoked.Valid:
		return ErrTokenRevoked
	case expires.Valid && expires.Int64 <= now.UnixNano():
		return ErrTokenExpired
	default:
		return ErrTokenUsedUp
	}
}
