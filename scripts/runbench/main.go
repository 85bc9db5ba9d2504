// Command runbench measures the fix round trip: from the API call that
// asks for a fix run to the agent's result being stored on the hub, with
// whatever fleet is connected (make bench connects 10,000 simulated agents
// with scripts/fleetsim, which answer every run at once).
//
//	runbench --hub https://127.0.0.1:18643 --ca DATA/ca.pem --token-file TOKEN --runs 2000 --concurrency 8
//
// It prints a JSON report: client round trip (one POST ?wait that answers
// with the result) and the hub's own record (created_at to finished_at).
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tierline/tierline/hub/store"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

func summarize(ms []float64) latency {
	if len(ms) == 0 {
		return latency{}
	}
	slices.Sort(ms)
	at := func(q float64) float64 { return ms[min(len(ms)-1, int(q*float64(len(ms))))] }
	return latency{Count: len(ms), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ms[len(ms)-1]}
}

type report struct {
	Devices     int            `json:"devices_online"`
	Runs        int            `json:"runs"`
	Concurrency int            `json:"concurrency"`
	Errors      int            `json:"errors"`
	Outcomes    map[string]int `json:"outcomes"`
	ClientMS    latency        `json:"client_round_trip_ms"`
	HubMS       latency        `json:"hub_request_to_result_ms"`
	Seconds     float64        `json:"seconds"`
	FirstError  string         `json:"first_error,omitempty"`
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("runbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hub := fs.String("hub", "https://127.0.0.1:18643", "hub URL")
	caFile := fs.String("ca", "", "the hub's CA certificate (DATA/ca.pem)")
	tokenFile := fs.String("token-file", "", "file holding an API token of a tier1 or higher user")
	runs := fs.Int("runs", 1000, "fix runs to request")
	conc := fs.Int("concurrency", 8, "requests in flight at once")
	fix := fs.String("fix", "flush-dns", "catalog fix to run")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	tok, err := os.ReadFile(*tokenFile)
	if err != nil {
		fmt.Fprintf(stderr, "runbench: %v\n", err)
		return 2
	}
	pool := x509.NewCertPool()
	if pem, err := os.ReadFile(*caFile); err != nil || !pool.AppendCertsFromPEM(pem) {
		fmt.Fprintf(stderr, "runbench: read the hub CA from --ca %q: %v\n", *caFile, err)
		return 2
	}
	c := &client{base: strings.TrimRight(*hub, "/"), token: strings.TrimSpace(string(tok)),
		http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: *conc}}}

	var devs struct{ Devices []store.Device }
	if err := c.do("GET", "/api/v1/devices?online=true", nil, &devs); err != nil {
		fmt.Fprintf(stderr, "runbench: list devices: %v\n", err)
		return 1
	}
	if len(devs.Devices) == 0 {
		fmt.Fprintln(stderr, "runbench: no device is online")
		return 1
	}
	rep := report{Devices: len(devs.Devices), Runs: *runs, Concurrency: *conc, Outcomes: map[string]int{}}
	var mu sync.Mutex
	var clientMS, hubMS []float64
	jobs := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				d := devs.Devices[(i*7919)%len(devs.Devices)]
				t0 := time.Now()
				r, err := c.roundTrip(d.ID, *fix)
				el := float64(time.Since(t0).Microseconds()) / 1000
				mu.Lock()
				if err != nil {
					rep.Errors++
					if rep.FirstError == "" {
						rep.FirstError = err.Error()
					}
				} else {
					clientMS = append(clientMS, el)
					if r.FinishedAt != nil {
						hubMS = append(hubMS, float64(r.FinishedAt.Sub(r.CreatedAt).Microseconds())/1000)
					}
					rep.Outcomes[r.Outcome]++
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < *runs; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	rep.Seconds = time.Since(start).Seconds()
	rep.ClientMS, rep.HubMS = summarize(clientMS), summarize(hubMS)
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.Encode(rep)
	if rep.Errors > 0 {
		return 1
	}
	return 0
}

type client struct {
	base, token string
	http        *http.Client
}

func (c *client) do(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, out)
}

func (c *client) roundTrip(device, fix string) (store.Run, error) {
	// One request asks for the run and waits for its result; a wait that
	// runs out goes on with the run's own long poll.
	var created struct{ Run store.Run }
	if err := c.do("POST", "/api/v1/devices/"+device+"/runs?wait=20s", map[string]any{"fix": fix}, &created); err != nil {
		return store.Run{}, err
	}
	r := created.Run
	for range 2 {
		if r.State == store.RunDone {
			return r, nil
		}
		if err := c.do("GET", "/api/v1/runs/"+r.ID+"?wait=20s", nil, &r); err != nil {
			return r, err
		}
	}
	if r.State == store.RunDone {
		return r, nil
	}
	return r, errors.New("run " + r.ID + " has no result after 60 s (state " + r.State + ")")
}
