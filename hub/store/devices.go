package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

const deviceCols = `id, public_key, hostname, os, arch, platform, agent_version, grp, token_id,
	enrolled_at, online, last_seen, revoked_at, last_seq, spool_dropped, summary, latest_at, fixes, replica, site`

type rowScanner interface{ Scan(dest ...any) error }

func scanDevice(sc rowScanner, extra ...any) (Device, error) {
	var d Device
	var enrolled, lastSeq, dropped int64
	var lastSeen, revoked, latestAt sql.NullInt64
	var summary sql.NullString
	var fixes string
	dest := []any{&d.ID, &d.PublicKey, &d.Hostname, &d.OS, &d.Arch, &d.Platform, &d.AgentVersion, &d.Group, &d.TokenID,
		&enrolled, &d.Online, &lastSeen, &revoked, &lastSeq, &dropped, &summary, &latestAt, &fixes, &d.Replica, &d.Site}
	if err := sc.Scan(append(dest, extra...)...); err != nil {
		return Device{}, err
	}
	d.EnrolledAt = fromNS(enrolled)
	d.LastSeen = nullTimePtr(lastSeen)
	d.RevokedAt = nullTimePtr(revoked)
	d.LatestAt = nullTimePtr(latestAt)
	d.LastSeq = uint64(lastSeq)
	d.SpoolDropped = uint64(dropped)
	d.Fixes = []string{}
	if fixes != "" {
		d.Fixes = strings.Split(fixes, ",")
	}
	if summary.Valid && summary.String != "" {
		var sum diag.Summary
		if err := json.Unmarshal([]byte(summary.String), &sum); err != nil {
			return Device{}, fmt.Errorf("decode summary: %w", err)
		}
		d.Summary = &sum
	}
	return d, nil
}

// DeviceAuth returns the device row alone (key, revocation, last sequence
// number, summary) without decoding its latest sample, inventory or
// health: what a connection handshake needs, cheaply, in a reconnect storm.
// ErrNotFound for an unknown id.
func (s *Store) DeviceAuth(ctx context.Context, id string) (Device, error) {
	st, err := s.read(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = ?`)
	if err != nil {
		return Device{}, fmt.Errorf("device %s: %w", id, err)
	}
	d, err := scanDevice(st.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Device{}, fmt.Errorf("device %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Device{}, fmt.Errorf("device %s: %w", id, err)
	}
	return d, nil
}

// GetDevice returns a device with its latest sample, inventory and current
// health check results. ErrNotFound for an unknown id.
func (s *Store) GetDevice(ctx context.Context, id string) (Device, error) {
	var latest, inventory sql.NullString
	inSite, siteArgs := siteSuffix(ctx, "site")
	d, err := scanDevice(s.r.QueryRowContext(ctx, s.q(`SELECT `+deviceCols+`, latest, inventory FROM devices WHERE id = ?`+inSite), append([]any{id}, siteArgs...)...),
		&latest, &inventory)
	if errors.Is(err, sql.ErrNoRows) {
		return Device{}, fmt.Errorf("get device %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Device{}, fmt.Errorf("get device %s: %w", id, err)
	}
	if latest.Valid && latest.String != "" {
		d.Latest = new(diag.Sample)
		if err := json.Unmarshal([]byte(latest.String), d.Latest); err != nil {
			return Device{}, fmt.Errorf("get device %s: decode latest sample: %w", id, err)
		}
	}
	if inventory.Valid && inventory.String != "" {
		d.Inventory = new(diag.Inventory)
		if err := json.Unmarshal([]byte(inventory.String), d.Inventory); err != nil {
			return Device{}, fmt.Errorf("get device %s: decode inventory: %w", id, err)
		}
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT name, status, summary, evidence, fix, micros, time
		FROM check_state WHERE device_id = ? ORDER BY name`), id)
	if err != nil {
		return Device{}, fmt.Errorf("get device %s: health: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c diag.CheckResult
		var status string
		var evidence sql.NullString
		var t int64
		if err := rows.Scan(&c.Name, &status, &c.Summary, &evidence, &c.Fix, &c.Micros, &t); err != nil {
			return Device{}, fmt.Errorf("get device %s: health: %w", id, err)
		}
		c.Status = diag.Status(status)
		c.Time = fromNS(t)
		if evidence.Valid && evidence.String != "" {
			if err := json.Unmarshal([]byte(evidence.String), &c.Evidence); err != nil {
				return Device{}, fmt.Errorf("get device %s: decode evidence: %w", id, err)
			}
		}
		d.Health = append(d.Health, c)
	}
	if err := rows.Err(); err != nil {
		return Device{}, fmt.Errorf("get device %s: health: %w", id, err)
	}
	return d, nil
}

// ListDevices lists devices ordered by hostname, with their telemetry
// summary but without latest sample, inventory or health.
func (s *Store) ListDevices(ctx context.Context, opt ListDevicesOptions) ([]Device, error) {
	var where []string
	var args []any
	if !opt.Revoked {
		where = append(where, "revoked_at IS NULL")
	}
	if opt.Online != nil {
		where = append(where, "online = ?")
		args = append(args, *opt.Online)
	}
	if opt.Group != "" {
		where = append(where, "grp = ?")
		args = append(args, opt.Group)
	}
	where, args = andSite(ctx, where, args, "site")
	query := `SELECT ` + deviceCols + ` FROM devices`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY hostname, id"
	if opt.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, opt.Limit)
	}
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("list devices: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return out, nil
}

// RevokeDevice revokes a device and marks it offline. ErrNotFound for an
// unknown id. Revoking again keeps the first revocation time.
func (s *Store) RevokeDevice(ctx context.Context, id string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE devices SET revoked_at = COALESCE(revoked_at, ?), online = ? WHERE id = ?`),
		at.UnixNano(), false, id)
	if err != nil {
		return fmt.Errorf("revoke device %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("revoke device %s: %w", id, ErrNotFound)
	}
	return nil
}

// DevicesRevokedSince returns the ids of devices revoked after since.
func (s *Store) DevicesRevokedSince(ctx context.Context, since time.Time) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id FROM devices WHERE revoked_at > ? ORDER BY revoked_at, id`), since.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("devices revoked since: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("devices revoked since: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("devices revoked since: %w", err)
	}
	return ids, nil
}

// MarkConnected records that a device connected and what it said about
// itself. ErrNotFound for an unknown id.
func (s *Store) MarkConnected(ctx context.Context, id string, h DeviceHello, at time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE devices SET online = ?, last_seen = ?,
		hostname = ?, os = ?, arch = ?, platform = ?, agent_version = ?, spool_dropped = ?, fixes = ?
		WHERE id = ?`),
		true, at.UnixNano(), h.Hostname, h.OS, h.Arch, h.Platform, h.AgentVersion, int64(h.SpoolDropped), strings.Join(h.Fixes, ","), id)
	if err != nil {
		return fmt.Errorf("mark connected %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("mark connected %s: %w", id, ErrNotFound)
	}
	return nil
}

// MarkDisconnected records that a device disconnected. ErrNotFound for an
// unknown id.
func (s *Store) MarkDisconnected(ctx context.Context, id string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE devices SET online = ?, last_seen = ? WHERE id = ?`), false, at.UnixNano(), id)
	if err != nil {
		return fmt.Errorf("mark disconnected %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("mark disconnected %s: %w", id, ErrNotFound)
	}
	return nil
}

// MarkAllOffline marks every device offline, for hub start.
func (s *Store) MarkAllOffline(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, s.q(`UPDATE devices SET online = ? WHERE online = ?`), false, true); err != nil {
		return fmt.Errorf("mark all offline: %w", err)
	}
	return nil
}

// TouchDevices sets last_seen of many devices, in batches.
func (s *Store) TouchDevices(ctx context.Context, ids []string, at time.Time) error {
	const batch = 500
	for len(ids) > 0 {
		n := min(batch, len(ids))
		chunk := ids[:n]
		ids = ids[n:]
		args := make([]any, 0, n+1)
		args = append(args, at.UnixNano())
		for _, id := range chunk {
			args = append(args, id)
		}
		query := `UPDATE devices SET last_seen = ? WHERE id IN (?` + strings.Repeat(", ?", n-1) + `)`
		if _, err := s.w.ExecContext(ctx, s.q(query), args...); err != nil {
			return fmt.Errorf("touch devices: %w", err)
		}
	}
	return nil
}

// CountDevices counts devices that are not revoked, and those online.
func (s *Store) CountDevices(ctx context.Context) (total, online int, err error) {
	inSite, siteArgs := siteSuffix(ctx, "site")
	err = s.r.QueryRowContext(ctx, s.q(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN online = ? THEN 1 ELSE 0 END), 0)
		FROM devices WHERE revoked_at IS NULL`+inSite), append([]any{true}, siteArgs...)...).Scan(&total, &online)
	if err != nil {
		return 0, 0, fmt.Errorf("count devices: %w", err)
	}
	return total, online, nil
}

// Presence is one connect (Online, with what the device said) or
// disconnect of a device.
type Presence struct {
	ID     string
	Online bool
	Hello  DeviceHello // for connects
	At     time.Time
}

// SetPresence applies connects and disconnects in order, in one
// transaction: a reconnect storm costs one commit per batch, not one per
// device. Unknown device ids are skipped.
func (s *Store) SetPresence(ctx context.Context, events []Presence) error {
	if len(events) == 0 {
		return nil
	}
	rows := collapsePresence(events)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("set presence: %w", err)
	}
	defer tx.Rollback()
	if s.dialect == DialectPostgres {
		err = s.setPresencePostgres(ctx, tx, rows)
	} else {
		err = s.setPresenceRows(ctx, tx, rows)
	}
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("set presence: %w", err)
	}
	return nil
}

// presenceRow is what a batch's events come to for one device: its last
// event's state and time and, when the batch connected it at all, the
// last hello (the row then names this replica).
type presenceRow struct {
	id     string
	online bool
	at     int64
	hello  *DeviceHello
}

// collapsePresence folds a batch's events into one row per device, in
// device id order. Applied in that order, the rows leave each device as
// its events in turn would have.
func collapsePresence(events []Presence) []presenceRow {
	byID := make(map[string]int, len(events))
	var rows []presenceRow
	for _, e := range events {
		i, ok := byID[e.ID]
		if !ok {
			i = len(rows)
			byID[e.ID] = i
			rows = append(rows, presenceRow{id: e.ID})
		}
		r := &rows[i]
		r.online, r.at = e.Online, e.At.UnixNano()
		if e.Online {
			h := e.Hello
			r.hello = &h
		}
	}
	// Rows are locked in device id order, as ingest locks them (ORDER BY
	// id FOR UPDATE): in another order, a replica's presence batch and
	// another's ingest batch deadlocked on PostgreSQL during reconnect
	// storms.
	slices.SortFunc(rows, func(a, b presenceRow) int { return strings.Compare(a.id, b.id) })
	return rows
}

// setPresenceRows updates one device at a time (SQLite: no round trips).
func (s *Store) setPresenceRows(ctx context.Context, tx *sql.Tx, rows []presenceRow) error {
	// A connect names this replica; a disconnect clears only a connection
	// this replica holds: the device may be on another one by now.
	up, down := s.txHot(ctx, tx, presenceUp), s.txHot(ctx, tx, presenceDown)
	for _, r := range rows {
		var err error
		if h := r.hello; h != nil {
			_, err = up.ExecContext(ctx, r.online, r.at, h.Hostname, h.OS, h.Arch, h.Platform, h.AgentVersion, int64(h.SpoolDropped),
				strings.Join(h.Fixes, ","), s.replica, r.id)
		} else {
			_, err = down.ExecContext(ctx, false, r.at, r.id, s.replica)
		}
		if err != nil {
			return fmt.Errorf("set presence of %s: %w", r.id, err)
		}
	}
	return nil
}

// setPresencePostgres updates the whole batch in two statements: the rows
// locked in id order, then one UPDATE from arrays. One at a time, a batch
// of a thousand took a thousand round trips while it held the rows it had
// locked, and in a storm the replicas' presence and ingest batches queued
// behind each other's locks.
func (s *Store) setPresencePostgres(ctx context.Context, tx *sql.Tx, rows []presenceRow) error {
	n := len(rows)
	ids, online, at, up := make([]string, n), make([]bool, n), make([]int64, n), make([]bool, n)
	host, osName, arch, platform, version, fixes := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	dropped := make([]int64, n)
	for i, r := range rows {
		ids[i], online[i], at[i] = r.id, r.online, r.at
		if h := r.hello; h != nil {
			up[i] = true
			host[i], osName[i], arch[i], platform[i], version[i] = h.Hostname, h.OS, h.Arch, h.Platform, h.AgentVersion
			fixes[i], dropped[i] = strings.Join(h.Fixes, ","), int64(h.SpoolDropped)
		}
	}
	if _, err := tx.ExecContext(ctx, presenceLockPostgres, ids); err != nil {
		return fmt.Errorf("set presence: lock devices: %w", err)
	}
	if _, err := tx.ExecContext(ctx, presenceSetPostgres, s.replica, ids, online, at, up, host, osName, arch, platform, version, dropped, fixes); err != nil {
		return fmt.Errorf("set presence: %w", err)
	}
	return nil
}

// The statements of SetPresence (prepared once: prepared.go).
const (
	presenceUp = `UPDATE devices SET online = ?, last_seen = ?,
		hostname = ?, os = ?, arch = ?, platform = ?, agent_version = ?, spool_dropped = ?, fixes = ?, replica = ? WHERE id = ?`
	presenceDown = `UPDATE devices SET online = ?, last_seen = ? WHERE id = ? AND replica = ?`

	presenceLockPostgres = `SELECT id FROM devices WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`
	// A row with up set was connected here in the batch: it takes the
	// hello and names this replica ($1); one without is a disconnect,
	// which clears only a connection this replica holds.
	presenceSetPostgres = `UPDATE devices AS d SET online = v.online, last_seen = v.at,
		hostname = CASE WHEN v.up THEN v.hostname ELSE d.hostname END,
		os = CASE WHEN v.up THEN v.os ELSE d.os END,
		arch = CASE WHEN v.up THEN v.arch ELSE d.arch END,
		platform = CASE WHEN v.up THEN v.platform ELSE d.platform END,
		agent_version = CASE WHEN v.up THEN v.agent_version ELSE d.agent_version END,
		spool_dropped = CASE WHEN v.up THEN v.spool_dropped ELSE d.spool_dropped END,
		fixes = CASE WHEN v.up THEN v.fixes ELSE d.fixes END,
		replica = CASE WHEN v.up THEN $1 ELSE d.replica END
	FROM unnest($2::text[], $3::boolean[], $4::bigint[], $5::boolean[], $6::text[], $7::text[], $8::text[], $9::text[],
		$10::text[], $11::bigint[], $12::text[]) AS v(id, online, at, up, hostname, os, arch, platform, agent_version, spool_dropped, fixes)
	WHERE d.id = v.id AND (v.up OR d.replica = $1)`
)

// ValidateGroup checks a device group name: 1 to 64 of letters, digits,
// '.', '_' and '-'.
func ValidateGroup(g string) error {
	if g == "" || len(g) > 64 {
		return errors.New("group must be 1 to 64 characters")
	}
	for _, r := range g {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return errors.New("group may hold only letters, digits, '.', '_' and '-'")
		}
	}
	return nil
}

// SetDeviceGroup puts a device in a group (update rollouts, batch runs and
// routing rules use groups). ErrNotFound for an unknown device.
func (s *Store) SetDeviceGroup(ctx context.Context, id, group string) error {
	if err := ValidateGroup(group); err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE devices SET grp = ? WHERE id = ?`), group, id)
	if err != nil {
		return fmt.Errorf("set group of %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("device %s: %w", id, ErrNotFound)
	}
	return nil
}

// deviceColsD is deviceCols qualified with the table alias d.
var deviceColsD = "d." + strings.Join(strings.Fields(strings.ReplaceAll(deviceCols, ",", " ")), ", d.")

// DeviceSearch selects devices for the console's device list and the fleet
// page's drill-down. Zero values mean no filter.
type DeviceSearch struct {
	// Q matches a device id prefix, or part of the hostname or group
	// (case-insensitive).
	Q string
	// Check with Status: devices where this health check has this status
	// (Status empty: failing or warning).
	Check, Status string
	Online        *bool
	// Updates keeps devices with pending OS updates: "security" those with
	// pending security updates, "pending" those with any.
	Updates string
	Limit   int // 0: 100, at most 1000
	Offset  int
}

// SearchDevices lists devices that are not revoked matching f, by hostname,
// and whether more follow. A check filter reads check_state for that check;
// the text filter scans the devices table (one row per device).
func (s *Store) SearchDevices(ctx context.Context, f DeviceSearch) ([]Device, bool, error) {
	where := []string{"d.revoked_at IS NULL"}
	var args []any
	if q := strings.TrimSpace(f.Q); q != "" {
		if len(q) > 100 {
			q = q[:100]
		}
		// LIKE wildcards in the text are dropped rather than escaped:
		// the two dialects escape differently.
		q = strings.NewReplacer("%", "", "_", "", "\\", "").Replace(strings.ToLower(q))
		where = append(where, "(d.id LIKE ? OR LOWER(d.hostname) LIKE ? OR LOWER(d.grp) LIKE ?)")
		args = append(args, q+"%", "%"+q+"%", "%"+q+"%")
	}
	if f.Online != nil {
		where = append(where, "d.online = ?")
		args = append(args, *f.Online)
	}
	if f.Check != "" {
		if f.Status != "" {
			where = append(where, "EXISTS (SELECT 1 FROM check_state c WHERE c.device_id = d.id AND c.name = ? AND c.status = ?)")
			args = append(args, f.Check, f.Status)
		} else {
			where = append(where, "EXISTS (SELECT 1 FROM check_state c WHERE c.device_id = d.id AND c.name = ? AND c.status IN (?, ?))")
			args = append(args, f.Check, string(diag.StatusFailing), string(diag.StatusWarning))
		}
	}
	where, args = andSite(ctx, where, args, "d.site")
	switch f.Updates {
	case "security":
		where = append(where, "EXISTS (SELECT 1 FROM device_os_updates u WHERE u.device_id = d.id AND u.security > 0)")
	case "pending":
		where = append(where, "EXISTS (SELECT 1 FROM device_os_updates u WHERE u.device_id = d.id AND u.pending > 0)")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	query := `SELECT ` + deviceColsD + ` FROM devices d WHERE ` + strings.Join(where, " AND ") + ` ORDER BY d.hostname, d.id LIMIT ? OFFSET ?`
	args = append(args, limit+1, max(f.Offset, 0))
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, false, fmt.Errorf("search devices: %w", err)
	}
	defer rows.Close()
	out := []Device{}
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, false, fmt.Errorf("search devices: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("search devices: %w", err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// DeviceGroups lists the device groups in use, for the queue's filter.
func (s *Store) DeviceGroups(ctx context.Context) ([]string, error) {
	inSite, args := siteSuffix(ctx, "site")
	return s.strings(ctx, `SELECT DISTINCT grp FROM devices WHERE grp <> ''`+inSite+` ORDER BY grp`, args...)
}

// DeviceNames maps device ids to hostnames, for lists that show many
// tickets; unknown ids are left out.
func (s *Store) DeviceNames(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	seen := map[string]bool{}
	var uniq []any
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	for len(uniq) > 0 {
		batch := uniq[:min(len(uniq), 500)]
		uniq = uniq[len(batch):]
		inSite, siteArgs := siteSuffix(ctx, "site")
		rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, hostname FROM devices WHERE id IN (?`+strings.Repeat(", ?", len(batch)-1)+`)`+inSite), append(slices.Clone(batch), siteArgs...)...)
		if err != nil {
			return nil, fmt.Errorf("device names: %w", err)
		}
		for rows.Next() {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return nil, fmt.Errorf("device names: %w", err)
			}
			out[id] = name
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("device names: %w", err)
		}
	}
	return out, nil
}
