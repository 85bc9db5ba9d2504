package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Replica is one hub process sharing the database, with the lease it
// renews while it runs.
type Replica struct {
	ID         string    `json:"id"`
	Address    string    `json:"address"`
	StartedAt  time.Time `json:"started_at"`
	LeaseUntil time.Time `json:"lease_until"`
}

// SetReplica names the replica this store serves: connections recorded by
// SetPresence name it, and a disconnect it records clears only a
// connection it holds (the device may be on another replica by then).
// Call it before the gateway starts.
func (s *Store) SetReplica(id string) { s.replica = id }

// Replica is the id given to SetReplica.
func (s *Store) Replica() string { return s.replica }

// RegisterReplica records (or re-records, after a restart) a replica and
// its lease.
func (s *Store) RegisterReplica(ctx context.Context, r Replica) error {
	if r.ID == "" {
		return errors.New("register replica: empty id")
	}
	_, err := s.lease.ExecContext(ctx, s.q(`INSERT INTO hub_replicas (id, address, started_at, lease_until) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET address = excluded.address, started_at = excluded.started_at, lease_until = excluded.lease_until`),
		r.ID, r.Address, r.StartedAt.UnixNano(), r.LeaseUntil.UnixNano())
	if err != nil {
		return fmt.Errorf("register replica %s: %w", r.ID, err)
	}
	return nil
}

// RenewReplica extends a replica's lease to until. It reports false when
// the replica's row is gone (removed as dead by another replica): the
// caller registers again.
func (s *Store) RenewReplica(ctx context.Context, id string, until time.Time) (bool, error) {
	res, err := s.lease.ExecContext(ctx, s.q(`UPDATE hub_replicas SET lease_until = ? WHERE id = ?`), until.UnixNano(), id)
	if err != nil {
		return false, fmt.Errorf("renew the lease of replica %s: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// RemoveReplica deletes a replica's row and marks its devices offline, for
// a clean shutdown.
func (s *Store) RemoveReplica(ctx context.Context, id string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE devices SET online = ?, last_seen = ? WHERE `+s.devicesInIDOrder(`online = ? AND replica = ?`)),
			false, at.UnixNano(), true, id); err != nil {
			return fmt.Errorf("remove replica %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM hub_replicas WHERE id = ?`), id); err != nil {
			return fmt.Errorf("remove replica %s: %w", id, err)
		}
		return nil
	})
}

// Replicas lists the registered replicas, oldest first.
func (s *Store) Replicas(ctx context.Context) ([]Replica, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, address, started_at, lease_until FROM hub_replicas ORDER BY started_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list replicas: %w", err)
	}
	defer rows.Close()
	var out []Replica
	for rows.Next() {
		var r Replica
		var started, until int64
		if err := rows.Scan(&r.ID, &r.Address, &started, &until); err != nil {
			return nil, fmt.Errorf("list replicas: %w", err)
		}
		r.StartedAt, r.LeaseUntil = fromNS(started), fromNS(until)
		out = append(out, r)
	}
	return out, rows.Err()
}

// devicesInIDOrder turns a condition on devices into one that, on
// PostgreSQL, first locks the rows it matches in id order, as ingest and
// presence batches lock them: a bulk update locking them in the table's
// order deadlocked with those in reconnect storms.
func (s *Store) devicesInIDOrder(cond string) string {
	if s.dialect != DialectPostgres {
		return cond
	}
	return `id IN (SELECT id FROM devices WHERE ` + cond + ` ORDER BY id FOR UPDATE)`
}

// ReapReplicas marks offline the devices held by replicas whose lease
// lapsed before now (and those naming a replica that is not registered),
// and removes those replicas. It returns the ids of the devices it marked
// offline and of the replicas it removed.
func (s *Store) ReapReplicas(ctx context.Context, now time.Time) (devices, replicas []string, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		devices, replicas = nil, nil
		var err error
		if replicas, err = readIDs(tx.QueryContext(ctx, s.q(`SELECT id FROM hub_replicas WHERE lease_until < ?`), now.UnixNano())); err != nil {
			return err
		}
		if devices, err = readIDs(tx.QueryContext(ctx, s.q(`UPDATE devices SET online = ? WHERE `+
			s.devicesInIDOrder(`online = ? AND replica NOT IN (SELECT id FROM hub_replicas WHERE lease_until >= ?)`)+` RETURNING id`),
			false, true, now.UnixNano())); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`DELETE FROM hub_replicas WHERE lease_until < ?`), now.UnixNano())
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("mark the devices of lapsed replicas offline: %w", err)
	}
	return devices, replicas, nil
}

// ResetPresence marks offline, at a hub's start, the devices the previous
// run of this replica held. On SQLite, whose database one hub owns, that is
// every device; on PostgreSQL only those naming this replica (SetReplica)
// or none (recorded before replicas were named), so a replica starting
// never touches the devices its siblings hold.
func (s *Store) ResetPresence(ctx context.Context) error {
	if s.dialect != DialectPostgres {
		return s.MarkAllOffline(ctx)
	}
	if _, err := s.w.ExecContext(ctx, s.q(`UPDATE devices SET online = ? WHERE `+s.devicesInIDOrder(`online = ? AND (replica = ? OR replica = '')`)),
		false, true, s.replica); err != nil {
		return fmt.Errorf("reset the presence of replica %s's devices: %w", s.replica, err)
	}
	return nil
}

// ClaimDevices marks the devices online on this replica (SetReplica): a
// replica whose lease lapsed while it still held them (it was cut off from
// the database) takes them back once it renews.
func (s *Store) ClaimDevices(ctx context.Context, ids []string) error {
	const batch = 500
	for len(ids) > 0 {
		n := min(batch, len(ids))
		args := []any{true, s.replica}
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		ids = ids[n:]
		query := `UPDATE devices SET online = ?, replica = ? WHERE ` + s.devicesInIDOrder(`revoked_at IS NULL AND id IN (?`+strings.Repeat(", ?", n-1)+`)`)
		if _, err := s.w.ExecContext(ctx, s.q(query), args...); err != nil {
			return fmt.Errorf("claim devices for replica %s: %w", s.replica, err)
		}
	}
	return nil
}

// Notify sends payload on a PostgreSQL notification channel (NOTIFY), to
// the replicas listening there; the store's other tables are the record,
// a notification only says where to look. There is no such thing on
// SQLite.
func (s *Store) Notify(ctx context.Context, channel, payload string) error {
	if s.dialect != DialectPostgres {
		return errors.New("notify: only PostgreSQL carries notifications between replicas")
	}
	if _, err := s.w.ExecContext(ctx, `SELECT pg_notify($1, $2)`, channel, payload); err != nil {
		return fmt.Errorf("notify %s: %w", channel, err)
	}
	return nil
}

// HolderNote is a notification for the replica holding a device.
type HolderNote struct {
	Device string
	// ChannelPrefix followed by the holder's id names its channel.
	ChannelPrefix string
	Payload       string
	// From is the sending replica: a device it holds gets nothing.
	From string
}

// NotifyHolder sends n.Payload on the channel of the replica holding
// n.Device's connection, looked up and sent in one statement (one round
// trip where a look-up and a notification took two). It returns that
// replica, or "" when the device is offline or held by n.From: then
// nothing is sent.
func (s *Store) NotifyHolder(ctx context.Context, n HolderNote) (string, error) {
	if s.dialect != DialectPostgres {
		return "", errors.New("notify: only PostgreSQL carries notifications between replicas")
	}
	var rep, sent string
	err := s.w.QueryRowContext(ctx, `SELECT replica, pg_notify($1 || replica, $2)::text FROM devices
		WHERE id = $3 AND online AND replica <> '' AND replica <> $4`, n.ChannelPrefix, n.Payload, n.Device, n.From).Scan(&rep, &sent)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("notify the replica holding device %s: %w", n.Device, err)
	}
	return rep, nil
}

// readIDs collects the single string column of rows.
func readIDs(rows *sql.Rows, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
