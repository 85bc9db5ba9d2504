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
	"github.com/tierline/tierline/shared/policy"
)

// Policy is one version of a device group's policy, shared by the
// group's devices of every site (Site "") or kept to its devices of Site.
type Policy struct {
	Group     string          `json:"group"`
	Site      string          `json:"site"`
	Version   int64           `json:"version"`
	Doc       policy.Document `json:"policy"`
	CreatedAt time.Time       `json:"created_at"`
	CreatedBy string          `json:"created_by,omitempty"`
}

// DevicePolicy is the policy a device last reported applying.
type DevicePolicy struct {
	Group   string `json:"group"`
	Version int64  `json:"version"`
	// Error says why the device refused the last version it was sent.
	Error string `json:"error,omitempty"`
	// Narrowed is what the device's local policy file took away.
	Narrowed []string `json:"narrowed"`
	// Checks are the declarative checks the device runs under it.
	Checks     []string  `json:"checks"`
	ReportedAt time.Time `json:"reported_at"`
}

// PutPolicy stores doc as the next version of group's policy for site (""
// shared by every site) and returns it. Versions are numbered per group
// across its sites. doc must have been validated. A caller whose ctx is
// limited to some sites may only save a policy kept to one of them
// (ErrNotFound otherwise).
func (s *Store) PutPolicy(ctx context.Context, group, site string, doc policy.Document, by string, at time.Time) (Policy, error) {
	if err := checkRecordSite(ctx, site); err != nil {
		return Policy{}, fmt.Errorf("put policy %s: %w", group, err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return Policy{}, fmt.Errorf("put policy %s: %w", group, err)
	}
	p := Policy{Group: group, Site: site, Doc: doc, CreatedAt: at.UTC(), CreatedBy: by}
	// Two saves at once may pick the same version; the second tries again.
	for try := 0; ; try++ {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			var max sql.NullInt64
			if err := tx.QueryRowContext(ctx, s.q(`SELECT MAX(version) FROM policies WHERE grp = ?`), group).Scan(&max); err != nil {
				return err
			}
			p.Version = max.Int64 + 1
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO policies (grp, site, version, doc, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)`),
				group, nullSite(site), p.Version, string(b), at.UnixNano(), by)
			return err
		})
		if err == nil || !isUniqueViolation(err) || try == 50 {
			break
		}
	}
	if err != nil {
		return Policy{}, fmt.Errorf("put policy %s: %w", group, err)
	}
	return p, nil
}

func scanPolicy(sc rowScanner) (Policy, error) {
	var p Policy
	var doc string
	var site sql.NullString
	var at int64
	if err := sc.Scan(&p.Group, &site, &p.Version, &doc, &at, &p.CreatedBy); err != nil {
		return p, err
	}
	p.Site = site.String
	p.CreatedAt = fromNS(at)
	// Stored documents were valid when saved; decode without validating
	// again, so a policy saved by an older hub still shows.
	if err := json.Unmarshal([]byte(doc), &p.Doc); err != nil {
		return p, fmt.Errorf("decode policy %s v%d: %w", p.Group, p.Version, err)
	}
	return p, nil
}

const policyCols = `grp, site, version, doc, created_at, created_by`

// policySiteCond keeps the policies of site ("" shared).
func policySiteCond(site string) (string, []any) {
	if site == "" {
		return "site IS NULL", nil
	}
	return "site = ?", []any{site}
}

// GetPolicy returns the newest version of group's policy for site (""
// shared), or the group's given version (which names its site); ErrNotFound,
// also for a policy kept to a site outside ctx's.
func (s *Store) GetPolicy(ctx context.Context, group, site string, version int64) (Policy, error) {
	c, args := policySiteCond(site)
	q := `SELECT ` + policyCols + ` FROM policies WHERE grp = ? AND ` + c + ` ORDER BY version DESC LIMIT 1`
	args = append([]any{group}, args...)
	if version > 0 {
		q = `SELECT ` + policyCols + ` FROM policies WHERE grp = ? AND version = ?`
		args = []any{group, version}
	}
	suffix, sargs := sharedSuffix(ctx, "site")
	if version > 0 {
		q += suffix
	} else {
		q = strings.Replace(q, " ORDER BY", suffix+" ORDER BY", 1)
	}
	args = append(args, sargs...)
	p, err := scanPolicy(s.r.QueryRowContext(ctx, s.q(q), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("policy of group %q: %w", group, ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("policy of group %q: %w", group, err)
	}
	return p, nil
}

// PolicyFor returns the policy a device of group at site gets, the first
// there is of: its group's policy kept to its site, its group's shared
// policy, the default group's kept to its site, the default group's
// shared one. ErrNotFound when none of them is.
func (s *Store) PolicyFor(ctx context.Context, group, site string) (Policy, error) {
	type key struct{ group, site string }
	var order []key
	if group != "" && group != DefaultGroup {
		order = append(order, key{group, site}, key{group, ""})
	}
	order = append(order, key{DefaultGroup, site}, key{DefaultGroup, ""})
	for i, k := range order {
		if slices.Contains(order[:i], k) {
			continue
		}
		p, err := s.GetPolicy(ctx, k.group, k.site, 0)
		if !errors.Is(err, ErrNotFound) {
			return p, err
		}
	}
	return Policy{}, fmt.Errorf("policy for group %q at site %q: %w", group, site, ErrNotFound)
}

// PolicyForDevice is PolicyFor the device id of group, at its site.
func (s *Store) PolicyForDevice(ctx context.Context, id, group string) (Policy, error) {
	var site string
	if err := s.r.QueryRowContext(ctx, s.q(`SELECT site FROM devices WHERE id = ?`), id).Scan(&site); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Policy{}, fmt.Errorf("policy for device %s: %w", id, err)
	}
	return s.PolicyFor(ctx, group, site)
}

// ListPolicies returns the newest policy of each group and site (shared
// first), by group, within ctx's sites.
func (s *Store) ListPolicies(ctx context.Context) ([]Policy, error) {
	suffix, args := sharedSuffix(ctx, "site")
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+policyCols+` FROM policies p
		WHERE version = (SELECT MAX(version) FROM policies q WHERE q.grp = p.grp AND COALESCE(q.site, '') = COALESCE(p.site, ''))`+suffix+`
		ORDER BY grp, COALESCE(site, '')`), args...)
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	defer rows.Close()
	var out []Policy
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, fmt.Errorf("list policies: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PolicyVersions lists the versions of group's policy for site ("" shared),
// newest first, without their documents; none for a site outside ctx's.
func (s *Store) PolicyVersions(ctx context.Context, group, site string) ([]Policy, error) {
	if !SeesSite(SitesOf(ctx), site) && site != "" {
		return nil, nil
	}
	c, args := policySiteCond(site)
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT version, created_at, created_by FROM policies WHERE grp = ? AND `+c+` ORDER BY version DESC`),
		append([]any{group}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("policy versions: %w", err)
	}
	defer rows.Close()
	var out []Policy
	for rows.Next() {
		p := Policy{Group: group, Site: site}
		var at int64
		if err := rows.Scan(&p.Version, &at, &p.CreatedBy); err != nil {
			return nil, fmt.Errorf("policy versions: %w", err)
		}
		p.CreatedAt = fromNS(at)
		out = append(out, p)
	}
	return out, rows.Err()
}

// SetDevicePolicy records the policy a device reports applying and the
// fixes it now offers (nil leaves them), and forgets the results of
// declarative checks the device no longer runs.
func (s *Store) SetDevicePolicy(ctx context.Context, id string, dp DevicePolicy, fixes []string) error {
	if dp.Narrowed == nil {
		dp.Narrowed = []string{}
	}
	keep := append(slices.Clone(diag.CheckNames), dp.Checks...)

	notes, err := json.Marshal(dp.Narrowed)
	if err != nil {
		return fmt.Errorf("device policy %s: %w", id, err)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO device_policies (device_id, grp, version, error, narrowed, checks, reported_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET grp = excluded.grp, version = excluded.version,
			error = excluded.error, narrowed = excluded.narrowed, checks = excluded.checks, reported_at = excluded.reported_at`),
			id, dp.Group, dp.Version, dp.Error, string(notes), strings.Join(dp.Checks, ","), dp.ReportedAt.UnixNano())
		if err != nil {
			return fmt.Errorf("device policy %s: %w", id, err)
		}
		args := append([]any{id}, anySlice(keep)...)
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM check_state WHERE device_id = ? AND name NOT IN (?`+strings.Repeat(", ?", len(keep)-1)+`)`), args...); err != nil {
			return fmt.Errorf("device policy %s: forget old checks: %w", id, err)
		}
		if fixes != nil {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE devices SET fixes = ? WHERE id = ?`), strings.Join(fixes, ","), id); err != nil {
				return fmt.Errorf("device policy %s: %w", id, err)
			}
		}
		return nil
	})
}

// GetDevicePolicy returns the policy a device last reported applying;
// ErrNotFound when it never reported one.
func (s *Store) GetDevicePolicy(ctx context.Context, id string) (DevicePolicy, error) {
	var dp DevicePolicy
	var notes, checks string
	var at int64
	err := s.r.QueryRowContext(ctx, s.q(`SELECT grp, version, error, narrowed, checks, reported_at FROM device_policies WHERE device_id = ?`), id).
		Scan(&dp.Group, &dp.Version, &dp.Error, &notes, &checks, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return dp, fmt.Errorf("device policy %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return dp, fmt.Errorf("device policy %s: %w", id, err)
	}
	dp.ReportedAt = fromNS(at)
	dp.Checks = []string{}
	if checks != "" {
		dp.Checks = strings.Split(checks, ",")
	}
	if err := json.Unmarshal([]byte(notes), &dp.Narrowed); err != nil {
		return dp, fmt.Errorf("device policy %s: %w", id, err)
	}
	return dp, nil
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// DevicePolicyState is what a device applies against what its group gets.
type DevicePolicyState struct {
	// Applied is what the device last reported (nil: never).
	Applied *DevicePolicy `json:"applied"`
	// Group, Site and Version name the policy the device should apply
	// (version 0: none; site "": the group's shared policy).
	Group   string `json:"group"`
	Site    string `json:"site"`
	Version int64  `json:"version"`
	// Current: the device applies that version.
	Current bool `json:"current"`
}

// DevicePolicyState compares the policy device id (in group, at its site)
// applies with the one it should.
func (s *Store) DevicePolicyState(ctx context.Context, id, group string) (DevicePolicyState, error) {
	var st DevicePolicyState
	want, err := s.PolicyForDevice(ctx, id, group)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return st, err
	default:
		st.Group, st.Site, st.Version = want.Group, want.Site, want.Version
	}
	have, err := s.GetDevicePolicy(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		st.Current = st.Version == 0
	case err != nil:
		return st, err
	default:
		st.Applied = &have
		st.Current = have.Version == st.Version && (st.Version == 0 || have.Group == st.Group)
	}
	return st, nil
}
