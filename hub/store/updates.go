package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"
)

// DefaultGroup names the devices that have no group in rollouts.
const DefaultGroup = "default"

// Release is one uploaded agent release binary with its signed manifest.
// The hub does not hold the release key: agents check the signature.
type Release struct {
	Version   string    `json:"version"`
	OS        string    `json:"os"`
	Arch      string    `json:"arch"`
	SHA256    string    `json:"sha256"`
	Size      int64     `json:"size"`
	Manifest  []byte    `json:"-"`
	Signature string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// Rollout says which version the devices of a group should run, and for
// what percent of them (waves: raise Percent to widen).
type Rollout struct {
	Group     string    `json:"group"`
	Version   string    `json:"version"`
	Percent   int       `json:"percent"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by,omitempty"`
}

// UpdateReport is a device's latest update outcome.
type UpdateReport struct {
	DeviceID string    `json:"device_id"`
	From     string    `json:"from"`
	To       string    `json:"to"`
	Outcome  string    `json:"outcome"`
	Error    string    `json:"error,omitempty"`
	Time     time.Time `json:"time"`
}

// DeviceUpdate is a device's version and latest update outcome.
type DeviceUpdate struct {
	DeviceID     string        `json:"device_id"`
	Hostname     string        `json:"hostname"`
	Group        string        `json:"group"`
	OS           string        `json:"os"`
	Arch         string        `json:"arch"`
	AgentVersion string        `json:"agent_version"`
	Online       bool          `json:"online"`
	Last         *UpdateReport `json:"last_update,omitempty"`
}

// RolloutProgress is a rollout with its group's devices counted by the
// version they run and by their latest update outcome.
type RolloutProgress struct {
	Rollout
	Devices  int            `json:"devices"`
	OnTarget int            `json:"on_target"`
	Versions map[string]int `json:"versions"`
	Outcomes map[string]int `json:"outcomes"`
}

// AddRelease stores a release; ErrExists when that version, os and arch is
// already there.
func (s *Store) AddRelease(ctx context.Context, r Release, content []byte) error {
	if int64(len(content)) != r.Size {
		return fmt.Errorf("release %s %s/%s: content is %d bytes, manifest says %d", r.Version, r.OS, r.Arch, len(content), r.Size)
	}
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO update_releases
		(version, os, arch, sha256, size, manifest, signature, content, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		r.Version, r.OS, r.Arch, r.SHA256, r.Size, r.Manifest, r.Signature, content, ns(r.CreatedAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("release %s %s/%s: %w", r.Version, r.OS, r.Arch, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("add release %s %s/%s: %w", r.Version, r.OS, r.Arch, err)
	}
	return nil
}

const releaseCols = `version, os, arch, sha256, size, manifest, signature, created_at`

func scanRelease(sc rowScanner) (Release, error) {
	var r Release
	var created int64
	if err := sc.Scan(&r.Version, &r.OS, &r.Arch, &r.SHA256, &r.Size, &r.Manifest, &r.Signature, &created); err != nil {
		return r, err
	}
	r.CreatedAt = fromNS(created)
	return r, nil
}

// ListReleases lists releases, newest first.
func (s *Store) ListReleases(ctx context.Context) ([]Release, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+releaseCols+` FROM update_releases ORDER BY created_at DESC, version, os, arch`)
	if err != nil {
		return nil, fmt.Errorf("list releases: %w", err)
	}
	defer rows.Close()
	var out []Release
	for rows.Next() {
		r, err := scanRelease(rows)
		if err != nil {
			return nil, fmt.Errorf("list releases: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// GetRelease returns one release without its content; ErrNotFound.
func (s *Store) GetRelease(ctx context.Context, version, goos, arch string) (Release, error) {
	r, err := scanRelease(s.r.QueryRowContext(ctx, s.q(`SELECT `+releaseCols+` FROM update_releases
		WHERE version = ? AND os = ? AND arch = ?`), version, goos, arch))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("release %s %s/%s: %w", version, goos, arch, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("release %s %s/%s: %w", version, goos, arch, err)
	}
	return r, nil
}

// ReleaseContent returns the binary with this SHA-256; ErrNotFound.
func (s *Store) ReleaseContent(ctx context.Context, sha256 string) ([]byte, error) {
	var b []byte
	err := s.r.QueryRowContext(ctx, s.q(`SELECT content FROM update_releases WHERE sha256 = ? LIMIT 1`), sha256).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("release binary %s: %w", sha256, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("release binary %s: %w", sha256, err)
	}
	return b, nil
}

// DeleteRelease removes a release; ErrNotFound.
func (s *Store) DeleteRelease(ctx context.Context, version, goos, arch string) error {
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM update_releases WHERE version = ? AND os = ? AND arch = ?`), version, goos, arch)
	if err != nil {
		return fmt.Errorf("delete release: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("release %s %s/%s: %w", version, goos, arch, ErrNotFound)
	}
	return nil
}

// SetRollout sets the version a group should run and the percent of its
// devices in the current wave. The version must have been uploaded
// (ErrNotFound otherwise).
func (s *Store) SetRollout(ctx context.Context, r Rollout) error {
	if r.Group == "" {
		r.Group = DefaultGroup
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = time.Now()
	}
	if r.Percent < 0 || r.Percent > 100 {
		return fmt.Errorf("rollout percent %d: want 0 to 100", r.Percent)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM update_releases WHERE version = ?`), r.Version).Scan(&n); err != nil {
			return fmt.Errorf("set rollout: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("release %s has not been uploaded (tierline-hub release add): %w", r.Version, ErrNotFound)
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO update_rollouts (grp, version, percent, updated_at, updated_by)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (grp) DO UPDATE SET version = excluded.version, percent = excluded.percent,
			updated_at = excluded.updated_at, updated_by = excluded.updated_by`),
			r.Group, r.Version, r.Percent, ns(r.UpdatedAt), r.UpdatedBy)
		if err != nil {
			return fmt.Errorf("set rollout: %w", err)
		}
		return nil
	})
}

// DeleteRollout stops rolling out to a group; ErrNotFound.
func (s *Store) DeleteRollout(ctx context.Context, group string) error {
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM update_rollouts WHERE grp = ?`), group)
	if err != nil {
		return fmt.Errorf("delete rollout: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("rollout for group %q: %w", group, ErrNotFound)
	}
	return nil
}

func scanRollout(sc rowScanner) (Rollout, error) {
	var r Rollout
	var at sql.NullInt64
	if err := sc.Scan(&r.Group, &r.Version, &r.Percent, &at, &r.UpdatedBy); err != nil {
		return r, err
	}
	r.UpdatedAt = nullTime(at)
	return r, nil
}

// ListRollouts lists rollouts by group.
func (s *Store) ListRollouts(ctx context.Context) ([]Rollout, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT grp, version, percent, updated_at, updated_by FROM update_rollouts ORDER BY grp`)
	if err != nil {
		return nil, fmt.Errorf("list rollouts: %w", err)
	}
	defer rows.Close()
	var out []Rollout
	for rows.Next() {
		r, err := scanRollout(rows)
		if err != nil {
			return nil, fmt.Errorf("list rollouts: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RolloutFor returns the rollout of a device group ("" is DefaultGroup);
// ErrNotFound when there is none.
func (s *Store) RolloutFor(ctx context.Context, group string) (Rollout, error) {
	if group == "" {
		group = DefaultGroup
	}
	r, err := scanRollout(s.r.QueryRowContext(ctx, s.q(`SELECT grp, version, percent, updated_at, updated_by
		FROM update_rollouts WHERE grp = ?`), group))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("rollout for group %q: %w", group, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("rollout for group %q: %w", group, err)
	}
	return r, nil
}

// RecordUpdateReport keeps a device's latest update outcome.
func (s *Store) RecordUpdateReport(ctx context.Context, r UpdateReport) error {
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO update_reports (device_id, from_version, to_version, outcome, error, at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET from_version = excluded.from_version,
		to_version = excluded.to_version, outcome = excluded.outcome, error = excluded.error, at = excluded.at`),
		r.DeviceID, r.From, r.To, r.Outcome, r.Error, ns(r.Time))
	if err != nil {
		return fmt.Errorf("record update report for %s: %w", r.DeviceID, err)
	}
	return nil
}

// UpdateStatus lists the devices of a group ("" for all groups) that are
// not revoked, with their version and latest update outcome.
func (s *Store) UpdateStatus(ctx context.Context, group string) ([]DeviceUpdate, error) {
	q := `SELECT d.id, d.hostname, d.grp, d.os, d.arch, d.agent_version, d.online,
		r.from_version, r.to_version, r.outcome, r.error, r.at
		FROM devices d LEFT JOIN update_reports r ON r.device_id = d.id WHERE d.revoked_at IS NULL`
	var args []any
	switch group {
	case "":
	case DefaultGroup:
		q += ` AND d.grp IN ('', ?)`
		args = append(args, DefaultGroup)
	default:
		q += ` AND d.grp = ?`
		args = append(args, group)
	}
	inSite, siteArgs := siteSuffix(ctx, "d.site")
	rows, err := s.r.QueryContext(ctx, s.q(q+inSite+` ORDER BY d.hostname, d.id`), append(args, siteArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("update status: %w", err)
	}
	defer rows.Close()
	var out []DeviceUpdate
	for rows.Next() {
		var d DeviceUpdate
		var from, to, outcome, errText sql.NullString
		var at sql.NullInt64
		if err := rows.Scan(&d.DeviceID, &d.Hostname, &d.Group, &d.OS, &d.Arch, &d.AgentVersion, &d.Online,
			&from, &to, &outcome, &errText, &at); err != nil {
			return nil, fmt.Errorf("update status: %w", err)
		}
		if d.Group == "" {
			d.Group = DefaultGroup
		}
		if outcome.Valid {
			d.Last = &UpdateReport{DeviceID: d.DeviceID, From: from.String, To: to.String, Outcome: outcome.String,
				Error: errText.String, Time: nullTime(at)}
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// RolloutProgress counts the devices of each rollout's group by version and
// by latest outcome (outcomes of updates to the rollout's version only).
func (s *Store) RolloutProgress(ctx context.Context) ([]RolloutProgress, error) {
	rs, err := s.ListRollouts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]RolloutProgress, 0, len(rs))
	for _, r := range rs {
		ds, err := s.UpdateStatus(ctx, r.Group)
		if err != nil {
			return nil, err
		}
		p := RolloutProgress{Rollout: r, Versions: map[string]int{}, Outcomes: map[string]int{}}
		for _, d := range ds {
			p.Devices++
			p.Versions[d.AgentVersion]++
			if d.AgentVersion == r.Version {
				p.OnTarget++
			}
			if d.Last != nil && d.Last.To == r.Version {
				p.Outcomes[d.Last.Outcome]++
			}
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out, nil
}
