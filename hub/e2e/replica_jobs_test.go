//go:build linux

package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/server"
	"github.com/tierline/tierline/hub/store"
)

// TestReplicaJobsSingleRunner: every background job listed in
// server.SingleRunnerJobs (the SLA pass, vendor, notification and mail
// deliveries, email intake polling, telemetry retention and rollups) runs
// on two replicas sharing a database under its advisory lock: while
// someone else holds a job's lock, no replica runs it, each only counts
// the pass it skipped; once the lock is free one runs it again; and when
// the replica that ran it is killed, the other takes it over.
func TestReplicaJobsSingleRunner(t *testing.T) {
	needReplicas(t)
	dc := startDovecot(t)
	smtpAddr := freePort(t) // no mail server: the outbox only tries
	rs := startReplicas(t, 2, "--mail-imap-addr", dc.Addr, "--mail-imap-user", dc.User, "--mail-imap-password-file", dc.PasswordFile,
		"--mail-imap-ca-file", dc.CAFile, "--mail-address", "helpdesk@support.test", "--mail-poll", "1s",
		"--smtp-addr", smtpAddr, "--smtp-from", "hub@support.test", "--vendor-retry", "500ms", "--retention-every", "500ms")
	count := func(h *hub, job, outcome string) float64 {
		return metric(t, h, fmt.Sprintf(`tierline_job_passes_total{job=%q,outcome=%q}`, job, outcome))
	}
	ran := func(job string) (total float64, by []float64) {
		for _, h := range rs.live() {
			n := count(h, job, "ran")
			by = append(by, n)
			total += n
		}
		return total, by
	}
	for _, job := range server.SingleRunnerJobs {
		eventually(t, "job "+job+" running on a replica", 60*time.Second, func() bool { n, _ := ran(job); return n > 0 })
	}

	// Hold every job's lock from here: no replica runs any of them.
	db, err := sql.Open("pgx", rs.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, job := range server.SingleRunnerJobs {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, store.JobLockKey(job)); err != nil {
			t.Fatalf("lock %s: %v", job, err)
		}
	}
	held := map[string]float64{}
	for _, job := range server.SingleRunnerJobs {
		held[job], _ = ran(job)
	}
	for _, job := range server.SingleRunnerJobs {
		for i, h := range rs.hubs {
			before := count(h, job, "skipped")
			eventually(t, fmt.Sprintf("replica %d skipping job %s twice", i, job), 60*time.Second, func() bool {
				return count(h, job, "skipped") >= before+2
			})
		}
		if n, by := ran(job); n != held[job] {
			t.Errorf("job %s ran %v more times (by replica: %v) while its lock was held elsewhere", job, n-held[job], by)
		}
	}
	for _, job := range server.SingleRunnerJobs {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, store.JobLockKey(job)); err != nil {
			t.Fatalf("unlock %s: %v", job, err)
		}
	}
	for _, job := range server.SingleRunnerJobs {
		eventually(t, "job "+job+" running again once its lock is free", 60*time.Second, func() bool { n, _ := ran(job); return n > held[job] })
	}

	// Kill the first replica: the second runs every job.
	rs.hubs[0].proc.signal(syscall.SIGKILL)
	rs.hubs[0].proc.wait(30 * time.Second)
	survivor := rs.hubs[1]
	for _, job := range server.SingleRunnerJobs {
		before := count(survivor, job, "ran")
		eventually(t, "job "+job+" running on the surviving replica", 60*time.Second, func() bool {
			return count(survivor, job, "ran") >= before+2
		})
	}
}

// live lists the hubs whose process runs.
func (rs *replicaSet) live() []*hub {
	var out []*hub
	for _, h := range rs.hubs {
		select {
		case <-h.proc.done:
		default:
			out = append(out, h)
		}
	}
	return out
}
