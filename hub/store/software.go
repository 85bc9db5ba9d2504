package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/pkgversion"
)

// Software change kinds recorded in a device's software history.
const (
	SoftwareInstalled  = "installed"
	SoftwareRemoved    = "removed"
	SoftwareUpgraded   = "upgraded"
	SoftwareDowngraded = "downgraded"
)

// InstalledSoftware is one package installed on a device.
type InstalledSoftware struct {
	Name      string    `json:"name"`
	Version   string    `json:"version,omitempty"`
	Source    string    `json:"source,omitempty"`
	Publisher string    `json:"publisher,omitempty"`
	Installed time.Time `json:"installed,omitzero"`
}

// SoftwareMatch is one device that has a package the fleet search asked
// for.
type SoftwareMatch struct {
	DeviceID string `json:"device_id"`
	Hostname string `json:"hostname"`
	Online   bool   `json:"online"`
	InstalledSoftware
}

// SoftwareChange is one package installed, removed, upgraded or downgraded
// on a device, as seen between two of its inventories.
type SoftwareChange struct {
	DeviceID    string    `json:"device_id"`
	Time        time.Time `json:"time"`
	Change      string    `json:"change"`
	Name        string    `json:"name"`
	Source      string    `json:"source,omitempty"`
	FromVersion string    `json:"from_version,omitempty"`
	ToVersion   string    `json:"to_version,omitempty"`
}

// SoftwareSearch asks which devices have a package.
type SoftwareSearch struct {
	// Name is the package name, case-insensitive; a trailing '*' matches
	// every name that starts with the rest.
	Name string
	// Below, when set, keeps only versions older than it (pkgversion order).
	Below string
	Limit int // 0: 1000, at most 10000
}

// MaxSoftwareName bounds SoftwareSearch.Name and device software filters.
const MaxSoftwareName = 200

// SearchSoftware lists the devices (not revoked) that have a package named
// f.Name, older than f.Below when set, by hostname, and whether more
// matched than f.Limit. The name is looked up through the name index; the
// version filter runs here, since versions do not sort as text.
func (s *Store) SearchSoftware(ctx context.Context, f SoftwareSearch) ([]SoftwareMatch, bool, error) {
	key := strings.ToLower(strings.TrimSpace(f.Name))
	if key == "" || key == "*" {
		return nil, false, errors.New("search software: a name is needed")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	limit = min(limit, 10000)
	cond, args := "w.name_key = ?", []any{key}
	if prefix, ok := strings.CutSuffix(key, "*"); ok {
		// A range on the index instead of LIKE: the two dialects escape
		// LIKE patterns differently, and a range needs no escaping.
		cond, args = "w.name_key >= ? AND w.name_key < ?", []any{prefix, prefix + "\U0010FFFF"}
	}
	inSite, siteArgs := siteSuffix(ctx, "d.site")
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT d.id, d.hostname, d.online, w.name, w.version, w.source, w.publisher, w.installed
		FROM device_software w JOIN devices d ON d.id = w.device_id
		WHERE `+cond+` AND d.revoked_at IS NULL`+inSite), append(args, siteArgs...)...)
	if err != nil {
		return nil, false, fmt.Errorf("search software: %w", err)
	}
	defer rows.Close()
	out := []SoftwareMatch{}
	for rows.Next() {
		var m SoftwareMatch
		var inst sql.NullInt64
		if err := rows.Scan(&m.DeviceID, &m.Hostname, &m.Online, &m.Name, &m.Version, &m.Source, &m.Publisher, &inst); err != nil {
			return nil, false, fmt.Errorf("search software: %w", err)
		}
		if f.Below != "" && pkgversion.Compare(m.Version, f.Below) >= 0 {
			continue
		}
		m.Installed = nullTime(inst)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("search software: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Hostname != b.Hostname {
			return a.Hostname < b.Hostname
		}
		if a.DeviceID != b.DeviceID {
			return a.DeviceID < b.DeviceID
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return pkgversion.Less(a.Version, b.Version)
	})
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// DeviceSoftware lists a device's installed software by name; q, when set,
// keeps the packages whose name contains it (case-insensitive).
func (s *Store) DeviceSoftware(ctx context.Context, deviceID, q string) ([]InstalledSoftware, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT name, version, source, publisher, installed, name_key
		FROM device_software WHERE device_id = ? ORDER BY name_key, name, source`), deviceID)
	if err != nil {
		return nil, fmt.Errorf("device software: %w", err)
	}
	defer rows.Close()
	q = strings.ToLower(strings.TrimSpace(q))
	out := []InstalledSoftware{}
	for rows.Next() {
		var sw InstalledSoftware
		var inst sql.NullInt64
		var key string
		if err := rows.Scan(&sw.Name, &sw.Version, &sw.Source, &sw.Publisher, &inst, &key); err != nil {
			return nil, fmt.Errorf("device software: %w", err)
		}
		if q != "" && !strings.Contains(key, q) {
			continue
		}
		sw.Installed = nullTime(inst)
		out = append(out, sw)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("device software: %w", err)
	}
	return out, nil
}

// SoftwareChanges lists a device's software changes in [since, until) (a
// zero until: no end), newest first and one inventory's changes by name, at
// most limit (0: 200).
func (s *Store) SoftwareChanges(ctx context.Context, deviceID string, since, until time.Time, limit int) ([]SoftwareChange, error) {
	if limit <= 0 {
		limit = 200
	}
	if until.IsZero() {
		until = time.Unix(0, 1<<62)
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT device_id, time, change, name, source, from_version, to_version
		FROM software_changes WHERE device_id = ? AND time >= ? AND time < ?
		ORDER BY time DESC, id LIMIT ?`), deviceID, since.UnixNano(), until.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("software changes: %w", err)
	}
	defer rows.Close()
	out := []SoftwareChange{}
	for rows.Next() {
		var c SoftwareChange
		var t int64
		if err := rows.Scan(&c.DeviceID, &t, &c.Change, &c.Name, &c.Source, &c.FromVersion, &c.ToVersion); err != nil {
			return nil, fmt.Errorf("software changes: %w", err)
		}
		c.Time = fromNS(t)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("software changes: %w", err)
	}
	return out, nil
}

type softwareKey struct{ source, name, version string }

// applySoftware brings a device's software rows to what inv lists, writing
// only the difference, and records the changes in its software history.
// The first inventory of a device is its baseline: it records no changes
// (a device that had an inventory before the software table existed is
// compared with that one instead). An inventory whose software part could
// not be collected leaves the rows alone, so a failed read is not taken
// for everything removed.
func (s *Store) applySoftware(ctx context.Context, tx *sql.Tx, deviceID string, inv *diag.Inventory, at time.Time) error {
	if len(inv.Software) == 0 && inv.Unavailable["software"] != "" {
		return nil
	}
	old, err := s.currentSoftware(ctx, tx, deviceID)
	if err != nil {
		return err
	}
	if len(old) > 0 {
		return s.writeSoftware(ctx, tx, deviceID, old, inv, old, at, false)
	}
	var prev sql.NullString
	if err := tx.QueryRowContext(ctx, s.q(`SELECT inventory FROM devices WHERE id = ?`), deviceID).Scan(&prev); err != nil {
		return fmt.Errorf("device %s: read inventory: %w", deviceID, err)
	}
	var pinv diag.Inventory
	if !prev.Valid || json.Unmarshal([]byte(prev.String), &pinv) != nil || len(pinv.Software) == 0 {
		return s.writeSoftware(ctx, tx, deviceID, old, inv, old, at, true)
	}
	// No rows yet but an older inventory: all rows are written, and the
	// changes are taken against that inventory.
	compare := map[softwareKey]InstalledSoftware{}
	for _, sw := range pinv.Software {
		compare[softwareKey{sw.Source, sw.Name, sw.Version}] = InstalledSoftware{}
	}
	return s.writeSoftware(ctx, tx, deviceID, old, inv, compare, at, false)
}

// writeSoftware writes the rows of inv that are not in rows (and deletes
// those of rows not in inv), then records the changes from compare (the
// previous state) to inv unless baseline.
func (s *Store) writeSoftware(ctx context.Context, tx *sql.Tx, deviceID string, rows map[softwareKey]InstalledSoftware,
	inv *diag.Inventory, compare map[softwareKey]InstalledSoftware, at time.Time, baseline bool) error {
	cur := make(map[softwareKey]InstalledSoftware, len(inv.Software))
	for _, sw := range inv.Software {
		if sw.Name == "" {
			continue
		}
		cur[softwareKey{sw.Source, sw.Name, sw.Version}] = InstalledSoftware{Name: sw.Name, Version: sw.Version,
			Source: sw.Source, Publisher: sw.Publisher, Installed: sw.Installed}
	}
	var del, ins, upd *sql.Stmt
	defer func() {
		for _, st := range []*sql.Stmt{del, ins, upd} {
			if st != nil {
				st.Close()
			}
		}
	}()
	for k := range rows {
		if _, ok := cur[k]; ok {
			continue
		}
		if del == nil {
			var err error
			if del, err = tx.PrepareContext(ctx, s.q(`DELETE FROM device_software WHERE name_key = ? AND device_id = ? AND source = ? AND name = ? AND version = ?`)); err != nil {
				return fmt.Errorf("device %s: software: %w", deviceID, err)
			}
		}
		if _, err := del.ExecContext(ctx, strings.ToLower(k.name), deviceID, k.source, k.name, k.version); err != nil {
			return fmt.Errorf("device %s: delete software %s: %w", deviceID, k.name, err)
		}
	}
	for k, sw := range cur {
		was, ok := rows[k]
		switch {
		case !ok:
			if ins == nil {
				var err error
				if ins, err = tx.PrepareContext(ctx, s.q(`INSERT INTO device_software (device_id, source, name, version, name_key, publisher, installed)
					VALUES (?, ?, ?, ?, ?, ?, ?)`)); err != nil {
					return fmt.Errorf("device %s: software: %w", deviceID, err)
				}
			}
			if _, err := ins.ExecContext(ctx, deviceID, k.source, k.name, k.version, strings.ToLower(k.name), sw.Publisher, ns(sw.Installed)); err != nil {
				return fmt.Errorf("device %s: insert software %s: %w", deviceID, k.name, err)
			}
		case was.Publisher != sw.Publisher || !was.Installed.Equal(sw.Installed):
			if upd == nil {
				var err error
				if upd, err = tx.PrepareContext(ctx, s.q(`UPDATE device_software SET publisher = ?, installed = ?
					WHERE name_key = ? AND device_id = ? AND source = ? AND name = ? AND version = ?`)); err != nil {
					return fmt.Errorf("device %s: software: %w", deviceID, err)
				}
			}
			if _, err := upd.ExecContext(ctx, sw.Publisher, ns(sw.Installed), strings.ToLower(k.name), deviceID, k.source, k.name, k.version); err != nil {
				return fmt.Errorf("device %s: update software %s: %w", deviceID, k.name, err)
			}
		}
	}
	if baseline {
		return nil
	}
	for _, c := range diffSoftware(compare, cur) {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO software_changes (device_id, time, change, source, name, from_version, to_version)
			VALUES (?, ?, ?, ?, ?, ?, ?)`), deviceID, at.UnixNano(), c.Change, c.Source, c.Name, c.FromVersion, c.ToVersion); err != nil {
			return fmt.Errorf("device %s: record software change: %w", deviceID, err)
		}
	}
	return nil
}

// currentSoftware reads a device's software rows inside the transaction.
func (s *Store) currentSoftware(ctx context.Context, tx *sql.Tx, deviceID string) (map[softwareKey]InstalledSoftware, error) {
	rows, err := tx.QueryContext(ctx, s.q(`SELECT source, name, version, publisher, installed FROM device_software WHERE device_id = ?`), deviceID)
	if err != nil {
		return nil, fmt.Errorf("device %s: read software: %w", deviceID, err)
	}
	defer rows.Close()
	out := map[softwareKey]InstalledSoftware{}
	for rows.Next() {
		var sw InstalledSoftware
		var inst sql.NullInt64
		if err := rows.Scan(&sw.Source, &sw.Name, &sw.Version, &sw.Publisher, &inst); err != nil {
			return nil, fmt.Errorf("device %s: read software: %w", deviceID, err)
		}
		sw.Installed = nullTime(inst)
		out[softwareKey{sw.Source, sw.Name, sw.Version}] = sw
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("device %s: read software: %w", deviceID, err)
	}
	return out, nil
}

// diffSoftware names the changes from old to cur, by package (source and
// name): one version gone and another come is an upgrade or a downgrade;
// anything else is installs and removals. Sorted by name for a stable
// history.
func diffSoftware(old, cur map[softwareKey]InstalledSoftware) []SoftwareChange {
	type pkg struct{ source, name string }
	gone, came := map[pkg][]string{}, map[pkg][]string{}
	for k := range old {
		if _, ok := cur[k]; !ok {
			p := pkg{k.source, k.name}
			gone[p] = append(gone[p], k.version)
		}
	}
	for k := range cur {
		if _, ok := old[k]; !ok {
			p := pkg{k.source, k.name}
			came[p] = append(came[p], k.version)
		}
	}
	var out []SoftwareChange
	for p, vs := range gone {
		if nv := came[p]; len(vs) == 1 && len(nv) == 1 {
			kind := SoftwareUpgraded
			if pkgversion.Less(nv[0], vs[0]) {
				kind = SoftwareDowngraded
			}
			out = append(out, SoftwareChange{Change: kind, Source: p.source, Name: p.name, FromVersion: vs[0], ToVersion: nv[0]})
			delete(came, p)
			continue
		}
		for _, v := range vs {
			out = append(out, SoftwareChange{Change: SoftwareRemoved, Source: p.source, Name: p.name, FromVersion: v})
		}
	}
	for p, vs := range came {
		for _, v := range vs {
			out = append(out, SoftwareChange{Change: SoftwareInstalled, Source: p.source, Name: p.name, ToVersion: v})
		}
	}
	slices.SortFunc(out, func(a, b SoftwareChange) int {
		return cmpStrings(strings.ToLower(a.Name), strings.ToLower(b.Name), a.Name, b.Name, a.Source, b.Source,
			a.FromVersion+" "+a.ToVersion, b.FromVersion+" "+b.ToVersion)
	})
	return out
}

// cmpStrings compares pairs of strings in turn: (a1, b1), then (a2, b2).
func cmpStrings(pairs ...string) int {
	for i := 0; i+1 < len(pairs); i += 2 {
		if c := strings.Compare(pairs[i], pairs[i+1]); c != 0 {
			return c
		}
	}
	return 0
}
