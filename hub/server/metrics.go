package server

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tierline/tierline/hub/store"
)

// fleetCollector reports fleet gauges from the store at scrape time.
type fleetCollector struct {
	st      *store.Store
	devices *prometheus.Desc
}

func newFleetCollector(st *store.Store) *fleetCollector {
	return &fleetCollector{st: st, devices: prometheus.NewDesc("tierline_devices",
		"Enrolled (not revoked) devices by presence.", []string{"state"}, nil)}
}

func (c *fleetCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.devices; ch <- ticketsDesc }

var ticketsDesc = prometheus.NewDesc("tierline_tickets", "Tickets by tier and state.", []string{"tier", "state"}, nil)

// ticketEvents counts ticket events as they are stored: escalations,
// SLA warnings and breaches, resolutions, survey answers, ...
var ticketEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "tierline_ticket_events_total", Help: "Ticket events stored by this hub, by kind (escalated, sla_breach, resolved, ...)."}, []string{"kind"})

func (c *fleetCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	total, online, err := c.st.CountDevices(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.devices, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.devices, prometheus.GaugeValue, float64(online), "online")
	ch <- prometheus.MustNewConstMetric(c.devices, prometheus.GaugeValue, float64(total-online), "offline")
	counts, err := c.st.CountTickets(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(ticketsDesc, err)
		return
	}
	for tier, states := range counts {
		for state, n := range states {
			ch <- prometheus.MustNewConstMetric(ticketsDesc, prometheus.GaugeValue, float64(n), strconv.Itoa(tier), state)
		}
	}
}
