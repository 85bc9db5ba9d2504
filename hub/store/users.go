package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

const userCols = `id, name, role, password_hash, created_at, disabled_at, available, last_assigned_at, sites`

func scanUser(sc rowScanner) (User, error) {
	var u User
	var role string
	var created int64
	var disabled, assigned sql.NullInt64
	var sites string
	if err := sc.Scan(&u.ID, &u.Name, &role, &u.PasswordHash, &created, &disabled, &u.Available, &assigned, &sites); err != nil {
		return User{}, err
	}
	u.Sites = splitSites(sites)
	u.Role = Role(role)
	u.CreatedAt = fromNS(created)
	u.DisabledAt = nullTimePtr(disabled)
	u.LastAssignedAt = nullTimePtr(assigned)
	return u, nil
}

// SetUserAvailable says whether tickets may be assigned to the user
// automatically. ErrNotFound for an unknown id.
func (s *Store) SetUserAvailable(ctx context.Context, id string, available bool) error {
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE users SET available = ? WHERE id = ?`), available, id)
	if err != nil {
		return fmt.Errorf("set availability of %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("set availability of %s: %w", id, ErrNotFound)
	}
	return nil
}

// MarkAssigned records when a ticket was last given to the user
// automatically (round robin's order).
func (s *Store) MarkAssigned(ctx context.Context, name string, at time.Time) error {
	if _, err := s.w.ExecContext(ctx, s.q(`UPDATE users SET last_assigned_at = ? WHERE name = ?`), at.UnixNano(), name); err != nil {
		return fmt.Errorf("mark %s assigned: %w", name, err)
	}
	return nil
}

// OpenTicketsByAssignee counts each technician's tickets not yet resolved.
func (s *Store) OpenTicketsByAssignee(ctx context.Context) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT assignee, COUNT(*) FROM tickets
		WHERE assignee <> '' AND state IN ('new', 'open', 'waiting_user', 'waiting_vendor') GROUP BY assignee`)
	if err != nil {
		return nil, fmt.Errorf("open tickets by assignee: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			return nil, fmt.Errorf("open tickets by assignee: %w", err)
		}
		out[name] = n
	}
	return out, rows.Err()
}

// CreateUser stores a console user. ErrExists when the name or id is taken.
func (s *Store) CreateUser(ctx context.Context, u User) error {
	if u.ID == "" || u.Name == "" {
		return errors.New("create user: id and name are required")
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now()
	}
	sites, err := CheckSites(u.Sites)
	if err != nil {
		return fmt.Errorf("create user %s: %w", u.Name, err)
	}
	_, err = s.w.ExecContext(ctx, s.q(`INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		u.ID, u.Name, string(u.Role), u.PasswordHash, u.CreatedAt.UnixNano(), nsPtr(u.DisabledAt), u.Available, nsPtr(u.LastAssignedAt), joinSites(sites))
	if isUniqueViolation(err) {
		return fmt.Errorf("create user %s: %w", u.Name, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create user %s: %w", u.Name, err)
	}
	return nil
}

// GetUserByName returns the user with this name. ErrNotFound if none.
func (s *Store) GetUserByName(ctx context.Context, name string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, s.q(`SELECT `+userCols+` FROM users WHERE name = ?`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("get user %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("get user %s: %w", name, err)
	}
	return u, nil
}

// GetUser returns the user with this id. ErrNotFound if none.
func (s *Store) GetUser(ctx context.Context, id string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, s.q(`SELECT `+userCols+` FROM users WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("get user %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("get user %s: %w", id, err)
	}
	return u, nil
}

// ListUsers lists users by name.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// CountUsers counts users, disabled ones included.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// CreateAPIToken stores an API token; hash is the SHA-256 of its secret.
// ErrExists when the id or hash is taken, ErrNotFound for an unknown user.
func (s *Store) CreateAPIToken(ctx context.Context, t APIToken, hash []byte) error {
	if t.ID == "" || t.UserID == "" || len(hash) == 0 {
		return errors.New("create api token: id, user and hash are required")
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now()
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM users WHERE id = ?`), t.UserID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("user %s: %w", t.UserID, ErrNotFound)
		}
		// A token never exceeds its user's sites.
		var userSites string
		if err := tx.QueryRowContext(ctx, s.q(`SELECT sites FROM users WHERE id = ?`), t.UserID).Scan(&userSites); err != nil {
			return err
		}
		if t.Sites != nil && !WithinSites(splitSites(userSites), normSites(t.Sites)) {
			return fmt.Errorf("%w: the token's sites %s are not all among its user's (%s)", ErrSitesExceedUser, joinSitesOrAll(t.Sites), joinSitesOrAll(splitSites(userSites)))
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO api_tokens (id, user_id, hash, note, created_at, expires_at, last_used, revoked_at, read_only, sites)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			t.ID, t.UserID, hash, t.Note, t.CreatedAt.UnixNano(), ns(t.ExpiresAt), nsPtr(t.LastUsed), nsPtr(t.RevokedAt), t.ReadOnly, joinSites(t.Sites))
		if isUniqueViolation(err) {
			return ErrExists
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create api token %s: %w", t.ID, err)
	}
	return nil
}

const apiTokenCols = `t.id, t.user_id, t.note, t.created_at, t.expires_at, t.last_used, t.revoked_at, t.read_only, t.last_address, t.sites`

func scanAPIToken(sc rowScanner, extra ...any) (APIToken, error) {
	var t APIToken
	var created int64
	var expires, lastUsed, revoked sql.NullInt64
	var sites string
	if err := sc.Scan(append([]any{&t.ID, &t.UserID, &t.Note, &created, &expires, &lastUsed, &revoked, &t.ReadOnly, &t.LastAddress, &sites}, extra...)...); err != nil {
		return APIToken{}, err
	}
	t.Sites = splitSites(sites)
	t.CreatedAt = fromNS(created)
	t.ExpiresAt = nullTime(expires)
	t.LastUsed = nullTimePtr(lastUsed)
	t.RevokedAt = nullTimePtr(revoked)
	return t, nil
}

// LookupAPIToken finds the API token with this hash and its user.
// ErrNotFound for an unknown token or a disabled user, ErrAPITokenRevoked,
// ErrAPITokenExpired. It records the use, at most once a minute.
func (s *Store) LookupAPIToken(ctx context.Context, hash []byte, now time.Time) (APIToken, User, error) {
	var u User
	var role string
	var ucreated int64
	var udisabled sql.NullInt64
	var usites string
	t, err := scanAPIToken(s.r.QueryRowContext(ctx, s.q(`SELECT `+apiTokenCols+`,
		u.id, u.name, u.role, u.password_hash, u.created_at, u.disabled_at, u.sites
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?`), hash),
		&u.ID, &u.Name, &role, &u.PasswordHash, &ucreated, &udisabled, &usites)
	u.Sites = splitSites(usites)
	if errors.Is(err, sql.ErrNoRows) {
		return APIToken{}, User{}, fmt.Errorf("look up api token: %w", ErrNotFound)
	}
	if err != nil {
		return APIToken{}, User{}, fmt.Errorf("look up api token: %w", err)
	}
	u.Role = Role(role)
	u.CreatedAt = fromNS(ucreated)
	u.DisabledAt = nullTimePtr(udisabled)
	switch {
	case u.DisabledAt != nil:
		return APIToken{}, User{}, fmt.Errorf("look up api token: user disabled: %w", ErrNotFound)
	case t.RevokedAt != nil:
		return APIToken{}, User{}, fmt.Errorf("look up api token %s: %w", t.ID, ErrAPITokenRevoked)
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return APIToken{}, User{}, fmt.Errorf("look up api token %s: %w", t.ID, ErrAPITokenExpired)
	}
	if t.LastUsed == nil || now.Sub(*t.LastUsed) >= time.Minute {
		cutoff := now.Add(-time.Minute).UnixNano()
		if _, err := s.w.ExecContext(ctx, s.q(`UPDATE api_tokens SET last_used = ? WHERE id = ? AND (last_used IS NULL OR last_used <= ?)`),
			now.UnixNano(), t.ID, cutoff); err != nil {
			return APIToken{}, User{}, fmt.Errorf("look up api token %s: record use: %w", t.ID, err)
		}
		lu := fromNS(now.UnixNano())
		t.LastUsed = &lu
	}
	return t, u, nil
}

// NoteAPITokenAddress records the address a token is used from and
// reports whether it is new (another than its last, or its first).
func (s *Store) NoteAPITokenAddress(ctx context.Context, id, addr string) (bool, error) {
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE api_tokens SET last_address = ? WHERE id = ? AND last_address <> ?`), addr, id, addr)
	if err != nil {
		return false, fmt.Errorf("note api token %s address: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ListAPITokens lists API tokens of a user ("" = all users), newest first.
func (s *Store) ListAPITokens(ctx context.Context, userID string) ([]APIToken, error) {
	query := `SELECT ` + apiTokenCols + ` FROM api_tokens t`
	var args []any
	if userID != "" {
		query += ` WHERE t.user_id = ?`
		args = append(args, userID)
	}
	query += ` ORDER BY t.created_at DESC, t.id`
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		t, err := scanAPIToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list api tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	return out, nil
}

// RevokeAPIToken revokes an API token. ErrNotFound for an unknown id.
// Revoking again keeps the first revocation time.
func (s *Store) RevokeAPIToken(ctx context.Context, id string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`), at.UnixNano(), id)
	if err != nil {
		return fmt.Errorf("revoke api token %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("revoke api token %s: %w", id, ErrNotFound)
	}
	return nil
}

// ErrLastAdmin refuses a change that would leave no enabled admin.
var ErrLastAdmin = errors.New("this is the last enabled admin; make another user admin first")

// SetUserRole changes a user's role. ErrNotFound for an unknown id,
// ErrLastAdmin when it would demote the last enabled admin.
func (s *Store) SetUserRole(ctx context.Context, id string, role Role) error {
	if !role.Valid() {
		return fmt.Errorf("set role of %s: unknown role %q", id, role)
	}
	return s.changeUser(ctx, "set role of", id, role != RoleAdmin, false, `UPDATE users SET role = ? WHERE id = ?`, string(role))
}

// SetUserDisabled disables (at) or enables (a zero at) a user; a disabled
// user's API tokens stop working and their console sessions end (so
// enabling the user again does not bring an old session back).
// ErrNotFound for an unknown id, ErrLastAdmin when it would disable the
// last enabled admin.
func (s *Store) SetUserDisabled(ctx context.Context, id string, at time.Time) error {
	disable := !at.IsZero()
	return s.changeUser(ctx, "disable", id, disable, disable, `UPDATE users SET disabled_at = ? WHERE id = ?`, ns(at))
}

// changeUser runs update (whose arguments are value, then the user's id)
// in a transaction; when mayLoseAdmin, only if another enabled admin
// remains; when endSessions, the user's console sessions end with it.
func (s *Store) changeUser(ctx context.Context, what, id string, mayLoseAdmin, endSessions bool, update string, value any) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if mayLoseAdmin {
			if err := s.keepAnAdmin(ctx, tx, id); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, s.q(update), value, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if endSessions {
			_, err = tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE user_id = ?`), id)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("%s user %s: %w", what, id, err)
	}
	return nil
}

// keepAnAdmin fails with ErrLastAdmin when user id is an enabled admin and
// no other enabled admin exists. On PostgreSQL it locks the admins' rows so
// that two concurrent demotions cannot both pass.
func (s *Store) keepAnAdmin(ctx context.Context, tx *sql.Tx, id string) error {
	lock := ""
	if s.dialect == DialectPostgres {
		lock = " FOR UPDATE"
	}
	rows, err := tx.QueryContext(ctx, s.q(`SELECT id FROM users WHERE role = ? AND disabled_at IS NULL`+lock), string(RoleAdmin))
	if err != nil {
		return err
	}
	defer rows.Close()
	self, others := false, 0
	for rows.Next() {
		var uid string
		if err := rows.Scan(&uid); err != nil {
			return err
		}
		if uid == id {
			self = true
		} else {
			others++
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if self && others == 0 {
		return ErrLastAdmin
	}
	return nil
}

// SetUserPassword replaces a user's password hash (argon2id, PHC format)
// and, in the same transaction, ends the user's console sessions (a
// session opened with the old password, perhaps by whoever knew it, must
// not outlive it) and forgets the name's failed logins (a reset is how a
// locked-out user gets back in). ErrNotFound for an unknown id.
func (s *Store) SetUserPassword(ctx context.Context, id, hash string) error {
	if hash == "" {
		return fmt.Errorf("set password of user %s: empty hash", id)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var name string
		if err := tx.QueryRowContext(ctx, s.q(`SELECT name FROM users WHERE id = ?`), id).Scan(&name); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE users SET password_hash = ? WHERE id = ?`), hash, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE user_id = ?`), id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`DELETE FROM login_failures WHERE name = ?`), loginKey(name))
		return err
	})
	if err != nil {
		return fmt.Errorf("set password of user %s: %w", id, err)
	}
	return nil
}
