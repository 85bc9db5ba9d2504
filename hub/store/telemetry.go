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

// TelemetrySeries returns a device's telemetry in [since, until] averaged
// into buckets of width step (bucket times are since + k*step), time
// ascending, with the maxima of each bucket. Raw points and rollups of
// pruned points both feed the buckets, weighted by their counts, so a 30-day
// chart costs as many points as a 1-hour one. Both reads use the
// (device_id, time) indexes.
func (s *Store) TelemetrySeries(ctx context.Context, deviceID string, since, until time.Time, step time.Duration) ([]TelemetryPoint, error) {
	if step <= 0 || !since.Before(until) {
		return nil, errors.New("telemetry series: need since before until and a positive step")
	}
	if until.Sub(since)/step > 5000 {
		return nil, errors.New("telemetry series: at most 5000 buckets; use a larger step")
	}
	type acc struct {
		n        int64
		sum, max diag.Summary
	}
	buckets := map[int64]*acc{}
	add := func(b, n int64, avg, mx diag.Summary) {
		a := buckets[b]
		if a == nil {
			a = &acc{max: mx}
			buckets[b] = a
		}
		f := float64(n)
		a.sum.CPUPct += avg.CPUPct * f
		a.sum.MemPct += avg.MemPct * f
		a.sum.DiskPct += avg.DiskPct * f
		a.sum.Load1 += avg.Load1 * f
		a.sum.RxBps += avg.RxBps * f
		a.sum.TxBps += avg.TxBps * f
		a.max.CPUPct = max(a.max.CPUPct, mx.CPUPct)
		a.max.MemPct = max(a.max.MemPct, mx.MemPct)
		a.max.DiskPct = max(a.max.DiskPct, mx.DiskPct)
		a.max.Load1 = max(a.max.Load1, mx.Load1)
		a.max.RxBps = max(a.max.RxBps, mx.RxBps)
		a.max.TxBps = max(a.max.TxBps, mx.TxBps)
		a.n += n
	}
	from, to, w := since.UnixNano(), until.UnixNano(), int64(step)
	read := func(query string) error {
		rows, err := s.r.QueryContext(ctx, s.q(query), from, w, deviceID, from, to)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var b, n int64
			var avg, mx diag.Summary
			if err := rows.Scan(&b, &n, &avg.CPUPct, &avg.MemPct, &avg.DiskPct, &avg.Load1, &avg.RxBps, &avg.TxBps,
				&mx.CPUPct, &mx.MemPct, &mx.DiskPct, &mx.Load1, &mx.RxBps, &mx.TxBps); err != nil {
				return err
			}
			add(b, n, avg, mx)
		}
		return rows.Err()
	}
	if err := read(`SELECT (ts - CAST(? AS BIGINT)) / CAST(? AS BIGINT), COUNT(*),
		AVG(cpu_pct), AVG(mem_pct), AVG(disk_pct), AVG(load1), AVG(rx_bps), AVG(tx_bps),
		MAX(cpu_pct), MAX(mem_pct), MAX(disk_pct), MAX(load1), MAX(rx_bps), MAX(tx_bps)
		FROM telemetry WHERE device_id = ? AND ts >= ? AND ts <= ? GROUP BY 1`); err != nil {
		return nil, fmt.Errorf("telemetry series %s: %w", deviceID, err)
	}
	if err := read(`SELECT (bucket - CAST(? AS BIGINT)) / CAST(? AS BIGINT), SUM(count),
		SUM(cpu_pct * count) / SUM(count), SUM(mem_pct * count) / SUM(count), SUM(disk_pct * count) / SUM(count),
		SUM(load1 * count) / SUM(count), SUM(rx_bps * count) / SUM(count), SUM(tx_bps * count) / SUM(count),
		MAX(max_cpu_pct), MAX(max_mem_pct), MAX(max_disk_pct), MAX(max_load1), MAX(max_rx_bps), MAX(max_tx_bps)
		FROM telemetry_rollup WHERE device_id = ? AND bucket >= ? AND bucket <= ? GROUP BY 1`); err != nil {
		return nil, fmt.Errorf("telemetry series %s: rollups: %w", deviceID, err)
	}
	keys := make([]int64, 0, len(buckets))
	for k := range buckets {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	out := make([]TelemetryPoint, 0, len(keys))
	for _, k := range keys {
		a := buckets[k]
		f := float64(a.n)
		mx := a.max
		out = append(out, TelemetryPoint{
			Time:   fromNS(from + k*w),
			Rollup: a.n > 1,
			Count:  int(a.n),
			Summary: diag.Summary{CPUPct: a.sum.CPUPct / f, MemPct: a.sum.MemPct / f, DiskPct: a.sum.DiskPct / f,
				Load1: a.sum.Load1 / f, RxBps: a.sum.RxBps / f, TxBps: a.sum.TxBps / f},
			Max: &mx,
		})
	}
	return out, nil
}
