package server

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/shared/diag"
)

// On a fresh hub every support counter and histogram, the tickets gauge
// and the health checks gauge have their series for the known label
// values, at zero; a failing check then counts its devices.
func TestMetricsStartAtZero(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	reg := prometheus.NewRegistry()
	reg.MustRegister(newFleetCollector(st), newSupportMetrics())
	type lv = map[string]string
	for _, c := range []struct {
		name   string
		labels lv
	}{
		{"tierline_sla_breaches_total", lv{"tier": "1", "clock": "resolution"}},
		{"tierline_sla_breaches_total", lv{"tier": "3", "clock": "response"}},
		{"tierline_ticket_escalations_total", lv{"from_tier": "2", "reason": "sla"}},
		{"tierline_tickets_resolved_total", lv{"tier": "1", "first_contact": "true"}},
		{"tierline_ticket_events_total", lv{"kind": "filed"}},
		{"tierline_ticket_events_total", lv{"kind": "sla_breach"}},
		{"tierline_tickets_filed_total", lv{"channel": "agent", "type": "incident"}},
		{"tierline_ticket_first_response_seconds", lv{"tier": "2"}},
		{"tierline_ticket_resolve_seconds", lv{"tier": "3"}},
		{"tierline_tickets", lv{"tier": "1", "state": "new"}},
		{"tierline_health_checks", lv{"check": "dns-resolution", "status": "failing"}},
		{"tierline_health_checks", lv{"check": "disk-almost-full", "status": "warning"}},
	} {
		if v, _, ok := metricValue(t, reg, c.name, c.labels); !ok || v != 0 {
			t.Errorf("fresh hub: %s%v = %v (present %v), want a series at 0", c.name, c.labels, v, ok)
		}
	}

	now := time.Now()
	for i, id := range []string{"d1", "d2"} {
		tok := store.Token{ID: "tok" + id, MaxUses: 1, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		secret := "secret-" + id
		if err := st.CreateToken(ctx, tok, auth.HashSecret(secret)); err != nil {
			t.Fatal(err)
		}
		if _, err := st.EnrollDevice(ctx, auth.HashSecret(secret), store.Device{ID: id, PublicKey: make([]byte, 32), Hostname: id, OS: "linux"}, now); err != nil {
			t.Fatal(err)
		}
		status := diag.StatusFailing
		if i == 1 {
			status = diag.StatusWarning
		}
		if _, err := st.Ingest(ctx, []store.IngestItem{{DeviceID: id, Seq: 1, Kind: store.KindHealth, Received: now,
			Checks: []diag.CheckResult{{Name: "dns-resolution", Status: status, Time: now}, {Name: "disk-almost-full", Status: diag.StatusOK, Time: now}}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		labels lv
		want   float64
	}{
		{lv{"check": "dns-resolution", "status": "failing"}, 1},
		{lv{"check": "dns-resolution", "status": "warning"}, 1},
		{lv{"check": "disk-almost-full", "status": "failing"}, 0},
	} {
		if v, _, ok := metricValue(t, reg, "tierline_health_checks", c.labels); !ok || v != c.want {
			t.Errorf("tierline_health_checks%v = %v (present %v), want %v", c.labels, v, ok, c.want)
		}
	}
}
