package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// ErrSeqJump: an ingested sequence number is more than wire.MaxSeqJump
// above the device's last, or above wire.MaxSeq.
var ErrSeqJump = fmt.Errorf("sequence number more than %d above the device's last", wire.MaxSeqJump)

// ingestDevice is the state of one device while a batch is applied; the
// device row is written once at the end of the batch.
type ingestDevice struct {
	lastSeq      uint64
	advanced     bool
	lastSeen     int64
	spoolDropped uint64
	dropSet      bool
	latest       []byte // sample JSON
	summary      []byte
	latestAt     int64
	inventory    []byte
}

// Ingest applies items in one transaction (group commit) and returns one
// result per item, in order. An item whose Seq is at or below the device's
// last stored seq is a Duplicate and not applied again. An item that cannot
// be applied (unknown device, missing body) gets a result with Err set and
// has no effect; the other items are still applied. The results are durable
// when Ingest returns without error.
func (s *Store) Ingest(ctx context.Context, items []IngestItem) ([]IngestResult, error) {
	results := make([]IngestResult, len(items))
	if len(items) == 0 {
		return results, nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for i := range results {
			results[i] = IngestResult{}
		}
		devs, err := s.lockIngestDevices(ctx, tx, items)
		if err != nil {
			return err
		}
		// Telemetry rows go in one statement at the end on PostgreSQL, one
		// at a time on SQLite.
		var telemetry *telemetryRows
		var insTelemetry hot
		if s.dialect == DialectPostgres {
			telemetry = &telemetryRows{}
		} else {
			insTelemetry = s.txHot(ctx, tx, telemetryInsert)
		}
		for i := range items {
			it := &items[i]
			res := &results[i]
			dev := devs[it.DeviceID]
			if dev == nil {
				res.Err = fmt.Errorf("device %s: %w", it.DeviceID, ErrNotFound)
				continue
			}
			if it.Seq <= dev.lastSeq {
				res.Duplicate = true
				continue
			}
			if it.Seq-dev.lastSeq > wire.MaxSeqJump || it.Seq > wire.MaxSeq {
				// The gateway refuses these first; never store one, or
				// every later message would be a duplicate.
				res.Err = fmt.Errorf("device %s seq %d: %w (last %d)", it.DeviceID, it.Seq, ErrSeqJump, dev.lastSeq)
				continue
			}
			received := it.Received
			if received.IsZero() {
				received = time.Now()
			}
			switch it.Kind {
			case KindTelemetry:
				if it.Sample == nil {
					res.Err = fmt.Errorf("device %s seq %d: telemetry without sample", it.DeviceID, it.Seq)
					continue
				}
				sample, err := json.Marshal(it.Sample)
				if err != nil {
					res.Err = fmt.Errorf("device %s seq %d: encode sample: %w", it.DeviceID, it.Seq, err)
					continue
				}
				sum := it.Sample.Summarize()
				sumJSON, _ := json.Marshal(sum)
				ts := it.Sample.Time
				if ts.IsZero() {
					ts = received
				}
				if telemetry != nil {
					telemetry.add(it.DeviceID, int64(it.Seq), ts.UnixNano(), sum, string(sample))
				} else if _, err := insTelemetry.ExecContext(ctx, it.DeviceID, int64(it.Seq), ts.UnixNano(),
					sum.CPUPct, sum.MemPct, sum.DiskPct, sum.Load1, sum.RxBps, sum.TxBps, string(sample)); err != nil {
					return fmt.Errorf("device %s seq %d: insert telemetry: %w", it.DeviceID, it.Seq, err)
				}
				if dev.latest == nil || ts.UnixNano() >= dev.latestAt {
					dev.latest, dev.summary, dev.latestAt = sample, sumJSON, ts.UnixNano()
				}
				if len(it.Checks) > 0 {
					tr, err := s.applyChecks(ctx, tx, it.DeviceID, it.Checks, received)
					if err != nil {
						return err
					}
					res.Transitions = tr
				}
			case KindInventory:
				if it.Inventory == nil {
					res.Err = fmt.Errorf("device %s seq %d: inventory without body", it.DeviceID, it.Seq)
					continue
				}
				inv, err := json.Marshal(it.Inventory)
				if err != nil {
					res.Err = fmt.Errorf("device %s seq %d: encode inventory: %w", it.DeviceID, it.Seq, err)
					continue
				}
				at := it.Inventory.Time
				if at.IsZero() {
					at = received
				}
				if err := s.applySoftware(ctx, tx, it.DeviceID, it.Inventory, at); err != nil {
					return err
				}
				if err := s.applyOSUpdates(ctx, tx, it.DeviceID, it.Inventory.Updates, at); err != nil {
					return err
				}
				dev.inventory = inv
			case KindHealth:
				tr, err := s.applyChecks(ctx, tx, it.DeviceID, it.Checks, received)
				if err != nil {
					return err
				}
				res.Transitions = tr
			case KindRunResult:
				if it.RunResult == nil {
					res.Err = fmt.Errorf("device %s seq %d: run result without body", it.DeviceID, it.Seq)
					continue
				}
				r, done, err := s.applyRunResult(ctx, tx, it.DeviceID, it.RunResult, received)
				if err != nil {
					return err
				}
				if done {
					res.RunDone = &r
				}
			case KindRejected, KindHandled:
				// Only the sequence number advances.
			default:
				res.Err = fmt.Errorf("device %s seq %d: unknown ingest kind %q", it.DeviceID, it.Seq, it.Kind)
				continue
			}
			dev.lastSeq = it.Seq
			dev.advanced = true
			if n := received.UnixNano(); n > dev.lastSeen {
				dev.lastSeen = n
			}
			if it.SpoolDropped > 0 || dev.dropSet {
				dev.spoolDropped, dev.dropSet = it.SpoolDropped, true
			}
		}
		if telemetry != nil && len(telemetry.device) > 0 {
			if _, err := tx.ExecContext(ctx, telemetryInsertPostgres, telemetry.device, telemetry.seq, telemetry.ts, telemetry.cpu,
				telemetry.mem, telemetry.disk, telemetry.load1, telemetry.rx, telemetry.tx, telemetry.sample); err != nil {
				return fmt.Errorf("insert %d telemetry samples: %w", len(telemetry.device), err)
			}
		}
		if s.dialect == DialectPostgres {
			return s.flushIngestDevicesPostgres(ctx, tx, devs)
		}
		for id, dev := range devs {
			if !dev.advanced {
				continue
			}
			if err := s.flushIngestDevice(ctx, tx, id, dev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	return results, nil
}

// lockIngestDevices reads the last seq of every device the items name, in
// id order. On PostgreSQL the rows are locked (FOR UPDATE) so concurrent
// batches from several hub replicas serialize per device without deadlock;
// on SQLite the write transaction already excludes other writers.
func (s *Store) lockIngestDevices(ctx context.Context, tx *sql.Tx, items []IngestItem) (map[string]*ingestDevice, error) {
	seen := map[string]bool{}
	var ids []string
	for _, it := range items {
		if !seen[it.DeviceID] {
			seen[it.DeviceID] = true
			ids = append(ids, it.DeviceID)
		}
	}
	sort.Strings(ids)
	devs := make(map[string]*ingestDevice, len(ids))
	for len(ids) > 0 {
		n := min(lockWidths[len(lockWidths)-1], len(ids))
		// The list is padded with its last id to one of a few lengths, so
		// a few prepared statements serve every batch.
		var width int
		for _, width = range lockWidths {
			if n <= width {
				break
			}
		}
		args := make([]any, width)
		for i := range args {
			args[i] = ids[min(i, n-1)]
		}
		ids = ids[n:]
		rows, err := s.txHot(ctx, tx, s.lockDevicesQuery(width)).QueryContext(ctx, args...)
		if err != nil {
			return nil, fmt.Errorf("read devices: %w", err)
		}
		for rows.Next() {
			var id string
			var lastSeq int64
			if err := rows.Scan(&id, &lastSeq); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read devices: %w", err)
			}
			devs[id] = &ingestDevice{lastSeq: uint64(lastSeq)}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read devices: %w", err)
		}
	}
	return devs, nil
}

// The statements of Ingest (prepared once: prepared.go).
const telemetryInsert = `INSERT INTO telemetry
	(device_id, seq, ts, cpu_pct, mem_pct, disk_pct, load1, rx_bps, tx_bps, sample)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, seq) DO NOTHING`

// telemetryRows gathers a batch's telemetry samples for one INSERT on
// PostgreSQL, where a row at a time costs a round trip each while the
// batch holds its devices' rows locked. (SQLite inserts each as it comes.)
type telemetryRows struct {
	device                        []string
	seq, ts                       []int64
	cpu, mem, disk, load1, rx, tx []float64
	sample                        []string
}

func (t *telemetryRows) add(device string, seq, ts int64, sum diag.Summary, sample string) {
	t.device, t.seq, t.ts = append(t.device, device), append(t.seq, seq), append(t.ts, ts)
	t.cpu, t.mem, t.disk = append(t.cpu, sum.CPUPct), append(t.mem, sum.MemPct), append(t.disk, sum.DiskPct)
	t.load1, t.rx, t.tx = append(t.load1, sum.Load1), append(t.rx, sum.RxBps), append(t.tx, sum.TxBps)
	t.sample = append(t.sample, sample)
}

const telemetryInsertPostgres = `INSERT INTO telemetry
	(device_id, seq, ts, cpu_pct, mem_pct, disk_pct, load1, rx_bps, tx_bps, sample)
	SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::float8[], $5::float8[], $6::float8[], $7::float8[],
		$8::float8[], $9::float8[], $10::text[])
	ON CONFLICT (device_id, seq) DO NOTHING`

// lockWidths are the lengths of lockIngestDevices' id lists; the last is
// the most one statement reads.
var lockWidths = []int{1, 8, 64, 500}

func (s *Store) lockDevicesQuery(width int) string {
	lock := ""
	if s.dialect == DialectPostgres {
		lock = " FOR UPDATE"
	}
	return `SELECT id, last_seq FROM devices WHERE id IN (?` + strings.Repeat(", ?", width-1) + `) ORDER BY id` + lock
}

func flushDeviceQuery(dropped, latest, inventory bool) string {
	set := `last_seq = ?, last_seen = CASE WHEN last_seen IS NULL OR last_seen < ? THEN ? ELSE last_seen END`
	if dropped {
		set += `, spool_dropped = ?`
	}
	if latest {
		set += `, latest = CASE WHEN latest_at IS NULL OR latest_at <= ? THEN ? ELSE latest END,
			summary = CASE WHEN latest_at IS NULL OR latest_at <= ? THEN ? ELSE summary END,
			latest_at = CASE WHEN latest_at IS NULL OR latest_at <= ? THEN ? ELSE latest_at END`
	}
	if inventory {
		set += `, inventory = ?`
	}
	return `UPDATE devices SET ` + set + ` WHERE id = ?`
}

func (s *Store) flushIngestDevice(ctx context.Context, tx *sql.Tx, id string, dev *ingestDevice) error {
	args := []any{int64(dev.lastSeq), dev.lastSeen, dev.lastSeen}
	if dev.dropSet {
		args = append(args, int64(dev.spoolDropped))
	}
	if dev.latest != nil {
		args = append(args, dev.latestAt, string(dev.latest), dev.latestAt, string(dev.summary), dev.latestAt, dev.latestAt)
	}
	if dev.inventory != nil {
		args = append(args, string(dev.inventory))
	}
	args = append(args, id)
	st := s.txHot(ctx, tx, flushDeviceQuery(dev.dropSet, dev.latest != nil, dev.inventory != nil))
	if _, err := st.ExecContext(ctx, args...); err != nil {
		return fmt.Errorf("device %s: update: %w", id, err)
	}
	return nil
}

// flushIngestDevicesPostgres is flushIngestDevice for every advanced
// device of a batch in one UPDATE from arrays: a statement per device cost
// a round trip each while the batch held its rows locked, and in a storm
// the agents' readers then waited on a full ingest queue.
func (s *Store) flushIngestDevicesPostgres(ctx context.Context, tx *sql.Tx, devs map[string]*ingestDevice) error {
	var ids, latest, summary, inventory []string
	var lastSeq, seen, dropped, latestAt []int64
	var dropSet, hasLatest, hasInventory []bool
	for id, dev := range devs {
		if !dev.advanced {
			continue
		}
		ids, lastSeq, seen = append(ids, id), append(lastSeq, int64(dev.lastSeq)), append(seen, dev.lastSeen)
		dropSet, dropped = append(dropSet, dev.dropSet), append(dropped, int64(dev.spoolDropped))
		hasLatest, latestAt = append(hasLatest, dev.latest != nil), append(latestAt, dev.latestAt)
		latest, summary = append(latest, string(dev.latest)), append(summary, string(dev.summary))
		hasInventory, inventory = append(hasInventory, dev.inventory != nil), append(inventory, string(dev.inventory))
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, flushDevicesPostgres, ids, lastSeq, seen, dropSet, dropped, hasLatest, latest, summary,
		latestAt, hasInventory, inventory); err != nil {
		return fmt.Errorf("update %d devices: %w", len(ids), err)
	}
	return nil
}

// flushDevicesPostgres is flushDeviceQuery for many devices; each CASE
// reads the row as it was, as there.
const flushDevicesPostgres = `UPDATE devices AS d SET last_seq = v.last_seq,
	last_seen = CASE WHEN d.last_seen IS NULL OR d.last_seen < v.seen THEN v.seen ELSE d.last_seen END,
	spool_dropped = CASE WHEN v.drop_set THEN v.dropped ELSE d.spool_dropped END,
	latest = CASE WHEN v.has_latest AND (d.latest_at IS NULL OR d.latest_at <= v.latest_at) THEN v.latest ELSE d.latest END,
	summary = CASE WHEN v.has_latest AND (d.latest_at IS NULL OR d.latest_at <= v.latest_at) THEN v.summary ELSE d.summary END,
	latest_at = CASE WHEN v.has_latest AND (d.latest_at IS NULL OR d.latest_at <= v.latest_at) THEN v.latest_at ELSE d.latest_at END,
	inventory = CASE WHEN v.has_inventory THEN v.inventory ELSE d.inventory END
FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::boolean[], $5::bigint[], $6::boolean[], $7::text[], $8::text[],
	$9::bigint[], $10::boolean[], $11::text[])
	AS v(id, last_seq, seen, drop_set, dropped, has_latest, latest, summary, latest_at, has_inventory, inventory)
WHERE d.id = v.id`

// applyChecks upserts the current state of each check and records a
// transition when a check is new or its status changed.
func (s *Store) applyChecks(ctx context.Context, tx *sql.Tx, deviceID string, checks []diag.CheckResult, received time.Time) ([]CheckTransition, error) {
	var out []CheckTransition
	for _, c := range checks {
		if c.Name == "" {
			continue
		}
		t := c.Time
		if t.IsZero() {
			t = received
		}
		var prev string
		err := tx.QueryRowContext(ctx, s.q(`SELECT status FROM check_state WHERE device_id = ? AND name = ?`), deviceID, c.Name).Scan(&prev)
		first := errors.Is(err, sql.ErrNoRows)
		if err != nil && !first {
			return nil, fmt.Errorf("device %s check %s: %w", deviceID, c.Name, err)
		}
		var evidence any
		if len(c.Evidence) > 0 {
			b, err := json.Marshal(c.Evidence)
			if err != nil {
				return nil, fmt.Errorf("device %s check %s: encode evidence: %w", deviceID, c.Name, err)
			}
			evidence = string(b)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO check_state (device_id, name, status, summary, evidence, fix, micros, time)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (device_id, name) DO UPDATE SET status = excluded.status, summary = excluded.summary,
			evidence = excluded.evidence, fix = excluded.fix, micros = excluded.micros, time = excluded.time`),
			deviceID, c.Name, string(c.Status), c.Summary, evidence, c.Fix, c.Micros, t.UnixNano()); err != nil {
			return nil, fmt.Errorf("device %s check %s: upsert: %w", deviceID, c.Name, err)
		}
		if !first && prev == string(c.Status) {
			continue
		}
		tr := CheckTransition{DeviceID: deviceID, Name: c.Name, From: diag.Status(prev), To: c.Status, Time: fromNS(t.UnixNano()), Summary: c.Summary}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO check_transitions (device_id, name, from_status, to_status, time, summary)
			VALUES (?, ?, ?, ?, ?, ?)`), deviceID, c.Name, prev, string(c.Status), t.UnixNano(), c.Summary); err != nil {
			return nil, fmt.Errorf("device %s check %s: transition: %w", deviceID, c.Name, err)
		}
		out = append(out, tr)
	}
	return out, nil
}
