package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tierline/tierline/hub/eventbus"
	"github.com/tierline/tierline/hub/notify"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/hub/vendors"
)

// startNotify builds the technicians' notifier: it hears ticket changes
// on the bus (a change dropped for a full queue is a notification lost,
// counted in tierline_ticket_changes_dropped_total{subscriber="notify"}),
// rings the console's bell and sends email through the hub's mail server
// and webhooks through the vendor webhook client; notified rings the bells
// (on every replica's pages). Its metrics go to reg.
func startNotify(cfg Config, st *store.Store, sender *vendors.Sender, notified func(store.User, store.Notification, int), changes *eventbus.Bus[tickets.Change],
	reg prometheus.Registerer, dropped func(string, func()) func(tickets.Change), log *slog.Logger) (*notify.Notifier, error) {
	n, err := notify.New(notify.Config{Store: st, Sender: sender, From: sender.From(), HubURL: cfg.URL,
		Limit: cfg.NotifyLimit, Window: cfg.NotifyWindow, OfflineAfter: cfg.NotifyOfflineAfter, RetryBase: cfg.VendorRetry,
		Notified: notified, Logger: log})
	if err != nil {
		return nil, err
	}
	changes.Subscribe(eventbus.Subscriber[tickets.Change]{Name: "notify", Queue: 1024, Handle: n.Handle, Dropped: dropped("notify", nil)})
	stat := func(f func(notify.Stats) int64) func() float64 {
		return func() float64 { return float64(f(n.Stats())) }
	}
	outbox := func(failing bool) func() float64 {
		return func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			p, f, err := st.NotifyOutboxCounts(ctx)
			if err != nil {
				return 0
			}
			if failing {
				return float64(f)
			}
			return float64(p)
		}
	}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tierline_notifications_total",
			Help: "Notifications made for technicians since the hub started (each is listed in its user's bell)."}, stat(func(s notify.Stats) int64 { return s.Created })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tierline_notification_deliveries_sent_total",
			Help: "Notification emails and webhooks delivered since the hub started."}, stat(func(s notify.Stats) int64 { return s.Sent })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tierline_notification_delivery_failures_total",
			Help: "Failed attempts to deliver a notification email or webhook (each is retried) since the hub started."}, stat(func(s notify.Stats) int64 { return s.Failed })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tierline_notification_deliveries_held_total",
			Help: "Times a notification delivery waited because its user reached the rate limit (--notify-limit)."}, stat(func(s notify.Stats) int64 { return s.Held })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tierline_notification_outbox_pending",
			Help: "Notification deliveries waiting: for quiet hours to end, a retry or room in the rate limit."}, outbox(false)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tierline_notification_outbox_failing",
			Help: "Waiting notification deliveries that failed at least once."}, outbox(true)),
	)
	return n, nil
}
