package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tierline/tierline/hub/console"
	"github.com/tierline/tierline/hub/gateway"
	"github.com/tierline/tierline/hub/replicas"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/wire"
)

// jobPasses counts the passes of the jobs one replica at a time runs
// (store.WithJobLock): ran here, or skipped because another replica held
// the job. On the embedded store every pass runs.
var jobPasses = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "tierline_job_passes_total",
	Help: "Passes of single-runner background jobs by job and outcome (ran: this replica ran it; skipped: another replica held it).",
}, []string{"job", "outcome"})

// SingleRunnerJobs are the background jobs that run on one replica at a
// time under a PostgreSQL advisory lock (store.WithJobLock), by the name
// the lock and tierline_job_passes_total use.
var SingleRunnerJobs = []string{"sla", "vendor-deliveries", "notify-outbox", "mail-outbox", "mail-collector", "retention"}

func observeJobs(st *store.Store) {
	for _, j := range SingleRunnerJobs {
		jobPasses.WithLabelValues(j, "ran")
		jobPasses.WithLabelValues(j, "skipped")
	}
	st.OnJob(func(job string, ran bool) {
		outcome := "skipped"
		if ran {
			outcome = "ran"
		}
		jobPasses.WithLabelValues(job, outcome).Inc()
	})
}

// deviceRoutes are what the API, the tickets and the console ask of
// devices. A single hub serves them from its gateway; a replica on
// PostgreSQL through hub/replicas, which reaches devices held by the
// others.
type deviceRoutes struct {
	dispatchRun   func(ctx context.Context, r store.Run) (bool, error)
	notify        func(ctx context.Context, deviceID string, body wire.Body) error
	requestChecks func(ctx context.Context, id string, names []string) (string, error)
	policyChanged func(ctx context.Context, group string)
	groupChanged  func(ctx context.Context, id, group string)
	revoked       func(id string)
	isConnected   func(d store.Device) bool
	diagnose      tickets.Diagnoser
	// runFinished and runProgress tell the other replicas (nil: one hub).
	runFinished func(store.Run)
	runProgress func(runID string)
	// notified and notificationsRead set the technicians' bells.
	notified          func(u store.User, n store.Notification, unread int)
	notificationsRead func(user string, unread int)
}

func localRoutes(gw *gateway.Gateway, con *console.Console) deviceRoutes {
	return deviceRoutes{dispatchRun: gw.DispatchRun, notify: gw.Notify, requestChecks: gw.RequestChecks,
		policyChanged: gw.PolicyChanged, groupChanged: gw.DeviceGroupChanged, revoked: gw.Revoked,
		isConnected: func(d store.Device) bool { return gw.IsConnected(d.ID) },
		diagnose:    gw, notified: con.PublishNotification, notificationsRead: con.PublishUnread}
}

func replicaRoutes(rep *replicas.Replicas) deviceRoutes {
	return deviceRoutes{dispatchRun: rep.DispatchRun, notify: rep.NotifyDevice, requestChecks: rep.RequestChecks,
		policyChanged: rep.PolicyChanged, groupChanged: rep.GroupChanged, revoked: rep.Revoked, isConnected: rep.IsConnected,
		diagnose: rep, runFinished: rep.RunFinished, runProgress: rep.RunProgress, notified: rep.Notified, notificationsRead: rep.NotificationsRead}
}

// newReplicas makes this hub a replica among those sharing the PostgreSQL
// database cfg.DB; nil on the embedded store.
func newReplicas(cfg Config, st *store.Store, gw *gateway.Gateway, con *console.Console, log *slog.Logger) (*replicas.Replicas, error) {
	if cfg.DB == "" {
		return nil, nil
	}
	rep, err := replicas.New(replicas.Config{Store: st, Gateway: gw, Console: con, DSN: cfg.DB, ID: st.Replica(),
		Address: cfg.URL, Lease: cfg.ReplicaLease, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("replicas: %w", err)
	}
	return rep, nil
}

// nameReplica gives the store this replica's id (kept in the data
// directory) before presence is reset, on PostgreSQL.
func nameReplica(cfg Config, st *store.Store) error {
	if cfg.DB == "" {
		return nil
	}
	id, err := replicas.LoadID(cfg.DataDir)
	if err != nil {
		return err
	}
	st.SetReplica(id)
	return nil
}

// registerReplica records the replica with the address it listens on.
func registerReplica(ctx context.Context, rep *replicas.Replicas, addr net.Addr) error {
	if rep == nil {
		return nil
	}
	if err := rep.Register(ctx); err != nil {
		return fmt.Errorf("register this replica (listening on %s): %w", addr, err)
	}
	return nil
}
