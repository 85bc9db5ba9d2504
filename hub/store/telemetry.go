package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// Telemetry returns a device's telemetry in [q.Since, q.Until], time
// ascending, at most q.Limit points (the earliest ones). Where raw points
// were pruned the rollup buckets (by bucket start) stand in for them; raw
// points carry the full sample only when q.WithSamples.
func (s *Store) Telemetry(ctx context.Context, q TelemetryQuery) ([]TelemetryPoint, error) {
	until := q.Until
	if until.IsZero() {
		until = time.Now()
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 10000
	}
	since := q.Since.UnixNano()
	if q.Since.IsZero() {
		since = 0
	}
	var out []TelemetryPoint

	// Rollups: only buckets pruned raw points were folded into exist, so
	// they never double count a raw point.
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT bucket, count, cpu_pct, mem_pct, disk_pct, load1, rx_bps, tx_bps,
		max_cpu_pct, max_mem_pct, max_disk_pct, max_load1, max_rx_bps, max_tx_bps
		FROM telemetry_rollup WHERE device_id = ? AND bucket >= ? AND bucket <= ? ORDER BY bucket LIMIT ?`),
		q.DeviceID, since, until.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("telemetry %s: rollups: %w", q.DeviceID, err)
	}
	for rows.Next() {
		var p TelemetryPoint
		var bucket int64
		var m diag.Summary
		if err := rows.Scan(&bucket, &p.Count, &p.Summary.CPUPct, &p.Summary.MemPct, &p.Summary.DiskPct, &p.Summary.Load1,
			&p.Summary.RxBps, &p.Summary.TxBps, &m.CPUPct, &m.MemPct, &m.DiskPct, &m.Load1, &m.RxBps, &m.TxBps); err != nil {
			rows.Close()
			return nil, fmt.Errorf("telemetry %s: rollups: %w", q.DeviceID, err)
		}
		p.Time = fromNS(bucket)
		p.Rollup = true
		p.Max = &m
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("telemetry %s: rollups: %w", q.DeviceID, err)
	}

	cols := `seq, ts, cpu_pct, mem_pct, disk_pct, load1, rx_bps, tx_bps`
	if q.WithSamples {
		cols += `, sample`
	}
	rows, err = s.r.QueryContext(ctx, s.q(`SELECT `+cols+` FROM telemetry
		WHERE device_id = ? AND ts >= ? AND ts <= ? ORDER BY ts, seq LIMIT ?`),
		q.DeviceID, since, until.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("telemetry %s: %w", q.DeviceID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var p TelemetryPoint
		var seq, ts int64
		var sample sql.NullString
		dest := []any{&seq, &ts, &p.Summary.CPUPct, &p.Summary.MemPct, &p.Summary.DiskPct, &p.Summary.Load1, &p.Summary.RxBps, &p.Summary.TxBps}
		if q.WithSamples {
			dest = append(dest, &sample)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("telemetry %s: %w", q.DeviceID, err)
		}
		p.Seq = uint64(seq)
		p.Time = fromNS(ts)
		p.Count = 1
		if sample.Valid && sample.String != "" {
			p.Sample = new(diag.Sample)
			if err := json.Unmarshal([]byte(sample.String), p.Sample); err != nil {
				return nil, fmt.Errorf("telemetry %s seq %d: decode sample: %w", q.DeviceID, seq, err)
			}
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("telemetry %s: %w", q.DeviceID, err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// CheckHistory returns a device's health check transitions at or after
// since, newest first, at most limit (0: 100).
func (s *Store) CheckHistory(ctx context.Context, deviceID string, since time.Time, limit int) ([]CheckTransition, error) {
	if limit <= 0 {
		limit = 100
	}
	var from int64
	if !since.IsZero() {
		from = since.UnixNano()
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT name, from_status, to_status, time, summary FROM check_transitions
		WHERE device_id = ? AND time >= ? ORDER BY time DESC, id DESC LIMIT ?`), deviceID, from, limit)
	if err != nil {
		return nil, fmt.Errorf("check history %s: %w", deviceID, err)
	}
	defer rows.Close()
	var out []CheckTransition
	for rows.Next() {
		c := CheckTransition{DeviceID: deviceID}
		var from, to string
		var t int64
		if err := rows.Scan(&c.Name, &from, &to, &t, &c.Summary); err != nil {
			return nil, fmt.Errorf("check history %s: %w", deviceID, err)
		}
		c.From, c.To, c.Time = diag.Status(from), diag.Status(to), fromNS(t)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("check history %s: %w", deviceID, err)
	}
	return out, nil
}

// Prune folds raw telemetry points older than rawBefore into rollup buckets
// of width bucket (averages, maxima and counts, merged into existing buckets
// by weighted average), deletes those raw points and deletes rollup buckets
// starting before rollupBefore. It runs in one transaction.
func (s *Store) Prune(ctx context.Context, rawBefore, rollupBefore time.Time, bucket time.Duration) (PruneResult, error) {
	if bucket <= 0 {
		return PruneResult{}, errors.New("prune: bucket width must be positive")
	}
	var res PruneResult
	w := int64(bucket)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if !rawBefore.IsZero() {
			before := rawBefore.UnixNano()
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM telemetry WHERE ts < ?`), before).Scan(&res.RolledUp); err != nil {
				return fmt.Errorf("count raw: %w", err)
			}
			if res.RolledUp > 0 {
				g := s.greatest()
				merge := func(col string) string {
					return col + ` = (telemetry_rollup.` + col + ` * telemetry_rollup.count + excluded.` + col + ` * excluded.count) / (telemetry_rollup.count + excluded.count)`
				}
				mx := func(col string) string {
					return col + ` = ` + g + `(telemetry_rollup.` + col + `, excluded.` + col + `)`
				}
				// The WHERE clause keeps SQLite's parser from reading ON
				// CONFLICT as a join constraint.
				_, err := tx.ExecContext(ctx, s.q(`INSERT INTO telemetry_rollup (device_id, bucket, width, count,
					cpu_pct, mem_pct, disk_pct, load1, rx_bps, tx_bps,
					max_cpu_pct, max_mem_pct, max_disk_pct, max_load1, max_rx_bps, max_tx_bps)
					SELECT device_id, (ts / CAST(? AS BIGINT)) * CAST(? AS BIGINT) AS b, CAST(? AS BIGINT), COUNT(*),
					AVG(cpu_pct), AVG(mem_pct), AVG(disk_pct), AVG(load1), AVG(rx_bps), AVG(tx_bps),
					MAX(cpu_pct), MAX(mem_pct), MAX(disk_pct), MAX(load1), MAX(rx_bps), MAX(tx_bps)
					FROM telemetry WHERE ts < ? GROUP BY 1, 2
					ON CONFLICT (device_id, bucket) DO UPDATE SET
					`+merge("cpu_pct")+`, `+merge("mem_pct")+`, `+merge("disk_pct")+`, `+merge("load1")+`, `+merge("rx_bps")+`, `+merge("tx_bps")+`,
					`+mx("max_cpu_pct")+`, `+mx("max_mem_pct")+`, `+mx("max_disk_pct")+`, `+mx("max_load1")+`, `+mx("max_rx_bps")+`, `+mx("max_tx_bps")+`,
					count = telemetry_rollup.count + excluded.count`),
					w, w, w, before)
				if err != nil {
					return fmt.Errorf("roll up: %w", err)
				}
				r, err := tx.ExecContext(ctx, s.q(`DELETE FROM telemetry WHERE ts < ?`), before)
				if err != nil {
					return fmt.Errorf("delete raw: %w", err)
				}
				res.RawDeleted, _ = r.RowsAffected()
			}
		}
		if !rollupBefore.IsZero() {
			r, err := tx.ExecContext(ctx, s.q(`DELETE FROM telemetry_rollup WHERE bucket < ?`), rollupBefore.UnixNano())
			if err != nil {
				return fmt.Errorf("delete rollups: %w", err)
			}
			res.RollupsDeleted, _ = r.RowsAffected()
		}
		return nil
	})
	if err != nil {
		return PruneResult{}, fmt.Errorf("prune: %w", err)
	}
	return res, nil
}
