package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// OSUpdates is the OS update status a device last reported.
type OSUpdates struct {
	DeviceID       string    `json:"device_id"`
	Hostname       string    `json:"hostname,omitempty"`
	Online         bool      `json:"online"`
	Manager        string    `json:"manager"`
	Pending        int       `json:"pending"`
	Security       int       `json:"security"`
	OldestPending  time.Time `json:"oldest_pending,omitzero"`
	OldestSecurity time.Time `json:"oldest_security,omitzero"`
	LastSuccess    time.Time `json:"last_success,omitzero"`
	LastCheck      time.Time `json:"last_check,omitzero"`
	Automatic      string    `json:"automatic,omitempty"`
	ReportedAt     time.Time `json:"reported_at"`
}

// OSUpdatesFilter selects devices by their OS update status.
type OSUpdatesFilter struct {
	// Security keeps devices with pending security updates; otherwise
	// devices with any pending update.
	Security bool
	Limit    int // 0: 1000, at most 10000
	Offset   int
}

// applyOSUpdates stores the update status of an inventory; an inventory
// without one (the agent could not read it) leaves the last one in place.
func (s *Store) applyOSUpdates(ctx context.Context, tx *sql.Tx, deviceID string, u *diag.UpdateStatus, at time.Time) error {
	if u == nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO device_os_updates (device_id, manager, pending, security,
		oldest_pending, oldest_security, last_success, last_check, automatic, reported_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (device_id) DO UPDATE SET manager = excluded.manager, pending = excluded.pending,
		security = excluded.security, oldest_pending = excluded.oldest_pending, oldest_security = excluded.oldest_security,
		last_success = excluded.last_success, last_check = excluded.last_check, automatic = excluded.automatic,
		reported_at = excluded.reported_at`),
		deviceID, u.Manager, u.Pending, u.Security, ns(u.OldestPending), ns(u.OldestSecurity), ns(u.LastSuccess),
		ns(u.LastCheck), u.Automatic, at.UnixNano()); err != nil {
		return fmt.Errorf("device %s: store update status: %w", deviceID, err)
	}
	return nil
}

const osUpdatesCols = `u.device_id, d.hostname, d.online, u.manager, u.pending, u.security, u.oldest_pending,
	u.oldest_security, u.last_success, u.last_check, u.automatic, u.reported_at`

func scanOSUpdates(sc rowScanner) (OSUpdates, error) {
	var u OSUpdates
	var op, os, ls, lc sql.NullInt64
	var rep int64
	err := sc.Scan(&u.DeviceID, &u.Hostname, &u.Online, &u.Manager, &u.Pending, &u.Security, &op, &os, &ls, &lc, &u.Automatic, &rep)
	u.OldestPending, u.OldestSecurity, u.LastSuccess, u.LastCheck = nullTime(op), nullTime(os), nullTime(ls), nullTime(lc)
	u.ReportedAt = fromNS(rep)
	return u, err
}

// DeviceOSUpdates returns the update status a device last reported, or
// ErrNotFound when it never did.
func (s *Store) DeviceOSUpdates(ctx context.Context, deviceID string) (OSUpdates, error) {
	u, err := scanOSUpdates(s.r.QueryRowContext(ctx, s.q(`SELECT `+osUpdatesCols+`
		FROM device_os_updates u JOIN devices d ON d.id = u.device_id WHERE u.device_id = ?`), deviceID))
	if err == sql.ErrNoRows {
		return OSUpdates{}, fmt.Errorf("update status of device %s: %w", deviceID, ErrNotFound)
	}
	if err != nil {
		return OSUpdates{}, fmt.Errorf("update status of device %s: %w", deviceID, err)
	}
	return u, nil
}

// ListOSUpdates lists the devices (not revoked) with pending updates
// (security ones with f.Security), those waiting longest first, and
// whether more follow.
func (s *Store) ListOSUpdates(ctx context.Context, f OSUpdatesFilter) ([]OSUpdates, bool, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	limit = min(limit, 10000)
	cond, order := "u.pending > 0", "COALESCE(u.oldest_pending, u.reported_at)"
	if f.Security {
		cond, order = "u.security > 0", "COALESCE(u.oldest_security, u.reported_at)"
	}
	inSite, siteArgs := siteSuffix(ctx, "d.site")
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+osUpdatesCols+`
		FROM device_os_updates u JOIN devices d ON d.id = u.device_id
		WHERE d.revoked_at IS NULL AND `+cond+inSite+` ORDER BY `+order+`, d.hostname, d.id LIMIT ? OFFSET ?`), append(siteArgs, limit+1, max(f.Offset, 0))...)
	if err != nil {
		return nil, false, fmt.Errorf("list update status: %w", err)
	}
	defer rows.Close()
	out := []OSUpdates{}
	for rows.Next() {
		u, err := scanOSUpdates(rows)
		if err != nil {
			return nil, false, fmt.Errorf("list update status: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("list update status: %w", err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}
