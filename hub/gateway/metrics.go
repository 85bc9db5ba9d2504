package gateway

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/wire"
)

type metrics struct {
	connected   prometheus.Gauge
	handshakes  *prometheus.CounterVec
	enrollments *prometheus.CounterVec
	messages    *prometheus.CounterVec
	frameErrors *prometheus.CounterVec
	batchSize   prometheus.Histogram
	commit      prometheus.Histogram
	runs        *prometheus.CounterVec
	runSeconds  prometheus.Histogram

	// budgetRefusals counts messages refused because their device was over
	// its budget for the type (budget.go).
	budgetRefusals *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tierline_agents_connected", Help: "Agents with an authenticated connection to this hub."}),
		handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tierline_agent_handshakes_total", Help: "Agent connection attempts by outcome."}, []string{"outcome"}),
		enrollments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tierline_enrollments_total", Help: "Enrollment attempts by outcome."}, []string{"outcome"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tierline_ingest_messages_total", Help: "Sequenced agent messages by type and outcome (stored, duplicate, rejected)."}, []string{"type", "outcome"}),
		frameErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tierline_agent_frame_errors_total", Help: "Refused agent frames by error code."}, []string{"code"}),
		budgetRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tierline_agent_budget_refusals_total", Help: "Agent messages refused because their device was over its budget for the type (--device-budgets)."}, []string{"type"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tierline_ingest_batch_size", Help: "Messages per ingest transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11)}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tierline_ingest_commit_seconds", Help: "Duration of one ingest transaction.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tierline_fix_runs_total", Help: "Finished fix runs by fix and outcome (expired runs have an empty fix)."}, []string{"fix", "outcome"}),
		runSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tierline_fix_run_seconds", Help: "Time from a fix run's request to its stored result.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 16)}),
	}
	// Series for the label values known from the start, at zero, so that
	// dashboards and alerts see them before the first event.
	m.handshakes.WithLabelValues("ok")
	m.enrollments.WithLabelValues("ok")
	for _, typ := range []wire.Type{wire.TypeTelemetry, wire.TypeInventory, wire.TypeHealth, wire.TypeRunResult} {
		for _, outcome := range []string{"stored", "duplicate", "rejected", "error"} {
			m.messages.WithLabelValues(string(typ), outcome)
		}
	}
	for _, f := range catalog.All() {
		for _, outcome := range []string{wire.OutcomeFixed, wire.OutcomeNotFixed, wire.OutcomeSucceeded, wire.OutcomeFailed,
			wire.OutcomeNotApplicable, wire.OutcomeRefused} {
			m.runs.WithLabelValues(f.ID, outcome)
		}
	}
	m.runs.WithLabelValues("", store.RunExpired)
	if reg != nil {
		reg.MustRegister(m.connected, m.handshakes, m.enrollments, m.messages, m.frameErrors, m.budgetRefusals, m.batchSize, m.commit, m.runs, m.runSeconds)
	}
	for t := range DefaultBudgets {
		m.budgetRefusals.WithLabelValues(string(t)) // exported at 0 from the start
	}
	return m
}
