package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tierline/tierline/hub/store/storetest"
)

// TestMetricsServedWhenTheStoreCannotBeRead: when the fleet gauges
// cannot read the store, /metrics still answers with every other family
// and counts the failure, so a scrape during a storm or an outage of the
// database still shows the hub's own state.
func TestMetricsServedWhenTheStoreCannotBeRead(t *testing.T) {
	st := storetest.Open(t)
	reg := prometheus.NewRegistry()
	reg.MustRegister(newFleetCollector(st), collectors.NewGoCollector())
	srv := httptest.NewServer(metricsHandler(reg))
	defer srv.Close()
	scrape := func() string {
		t.Helper()
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/metrics answered %s: %s", resp.Status, b)
		}
		return string(b)
	}
	if body := scrape(); !strings.Contains(body, `tierline_devices{state="online"} 0`) {
		t.Fatalf("with the store readable, no device gauge in:\n%.400s", body)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	body := scrape()
	if strings.Contains(body, "tierline_devices{") || !strings.Contains(body, "go_goroutines ") {
		t.Fatalf("with the store closed: want the Go runtime's families without the device gauge, got:\n%.600s", body)
	}
	// Each scrape shows the failures counted before it.
	if body := scrape(); !strings.Contains(body, `promhttp_metric_handler_errors_total{cause="gathering"} 1`) {
		t.Fatalf("the failed gather is not counted:\n%s", body)
	}
}
