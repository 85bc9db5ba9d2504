package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"time"
)

// TLSTicketKeys returns the TLS session ticket keys to use now, newest
// first: it adds a new key when the newest is older than rotate (or there
// is none), and deletes keys older than twice rotate. Hubs sharing the
// database share the keys; two adding one at once both keep working.
func (s *Store) TLSTicketKeys(ctx context.Context, now time.Time, rotate time.Duration) ([][32]byte, error) {
	var out [][32]byte
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM tls_ticket_keys WHERE created_at < ?`), now.Add(-2*rotate).UnixNano()); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, s.q(`SELECT secret, created_at FROM tls_ticket_keys ORDER BY created_at DESC, id LIMIT 8`))
		if err != nil {
			return err
		}
		var newest int64
		for rows.Next() {
			var secret []byte
			var created int64
			if err := rows.Scan(&secret, &created); err != nil {
				rows.Close()
				return err
			}
			if len(secret) != 32 {
				continue
			}
			newest = max(newest, created)
			out = append(out, [32]byte(secret))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(out) > 0 && now.Sub(fromNS(newest)) < rotate {
			return nil
		}
		var k [32]byte
		if _, err := rand.Read(k[:]); err != nil {
			return err
		}
		var id [8]byte
		_, _ = rand.Read(id[:])
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO tls_ticket_keys (id, secret, created_at) VALUES (?, ?, ?)`),
			fmt.Sprintf("%x", id), k[:], now.UnixNano()); err != nil {
			return err
		}
		out = append([][32]byte{k}, out...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tls ticket keys: %w", err)
	}
	return out, nil
}
