package server

import (
	"context"
	"crypto/tls"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Session tickets let a returning agent resume its TLS session (about half
// the work of a full handshake on both sides). Their keys live in the store
// (hub/store TLSTicketKeys), so tickets survive a restart and every replica
// on the database takes the others' tickets. TLS 1.3 resumption still runs
// an (EC)DHE exchange, so a leaked ticket key does not open recorded
// traffic.

// ticketKeyRotation is how long a ticket key is the newest; a key takes
// resumptions for twice that.
const ticketKeyRotation = 24 * time.Hour

// ticketKeyStore is the store's side of ticket keys.
type ticketKeyStore interface {
	TLSTicketKeys(ctx context.Context, now time.Time, rotate time.Duration) ([][32]byte, error)
}

// useTicketKeys puts the store's ticket keys in force on c; on failure the
// server keeps its own random keys (resumption then lasts until a restart).
func useTicketKeys(ctx context.Context, st ticketKeyStore, c *tls.Config, log *slog.Logger) {
	keys, err := st.TLSTicketKeys(ctx, time.Now(), ticketKeyRotation)
	if err != nil {
		log.Warn("TLS session ticket keys from the store", "err", err)
		return
	}
	c.SetSessionTicketKeys(keys)
}

// keepTicketKeys refreshes the ticket keys every hour, so a key another
// replica made is taken and rotation happens.
func keepTicketKeys(ctx context.Context, st ticketKeyStore, c *tls.Config, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			useTicketKeys(ctx, st, c, log)
		}
	}
}

// countHandshakes counts finished TLS handshakes by whether they resumed
// a session (tierline_tls_handshakes_total{resumed}).
func countHandshakes(c *tls.Config, reg prometheus.Registerer) {
	n := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tierline_tls_handshakes_total",
		Help: "TLS handshakes the hub finished, by whether they resumed an earlier session."}, []string{"resumed"})
	n.WithLabelValues("true")
	n.WithLabelValues("false")
	reg.MustRegister(n)
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		n.WithLabelValues(strconv.FormatBool(cs.DidResume)).Inc()
		return nil
	}
}
