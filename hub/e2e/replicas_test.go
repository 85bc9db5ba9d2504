//go:build linux

package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/tierline/tierline/hub/pki"
)

// replicaSet is several tierline-hub replicas on one fresh PostgreSQL
// database, each with its own data directory (and the first one's CA),
// behind an HAProxy the test starts on loopback.
type replicaSet struct {
	t    *testing.T
	dsn  string
	hubs []*hub
	ids  []string // replica id of each hub
	// health is each hub's --health-listen address, where the balancer
	// checks it.
	health []string
	lb     *hub // the balancer's address, with the admin token
	proxy  *proc
	extra  []string
}

// needReplicas skips a test without PostgreSQL or HAProxy.
func needReplicas(t *testing.T) string {
	t.Helper()
	server := os.Getenv("TIERLINE_TEST_POSTGRES")
	if server == "" {
		t.Skip("TIERLINE_TEST_POSTGRES is not set: the replica tests need a PostgreSQL server (CI sets it)")
	}
	if _, err := exec.LookPath("haproxy"); err != nil {
		t.Skip("haproxy is not installed (apt-get install haproxy; .ci/run does): the replica tests put the hubs behind it")
	}
	return server
}

// freshDatabase creates a database for the test on the server and drops it
// when the test ends (after its hubs, which t.Cleanup stops first).
func freshDatabase(t *testing.T, server string) string {
	t.Helper()
	admin, err := sql.Open("pgx", server)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "tierline_replicas_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		admin.Close()
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// startReplicas starts n hubs on a fresh database behind HAProxy.
func startReplicas(t *testing.T, n int, extra ...string) *replicaSet {
	t.Helper()
	server := needReplicas(t)
	rs := &replicaSet{t: t, dsn: freshDatabase(t, server), extra: extra}
	lbAddr := freePort(t)
	for i := 0; i < n; i++ {
		h := &hub{t: t, data: t.TempDir(), addr: freePort(t)}
		health := freePort(t)
		h.extra = append([]string{"--db", rs.dsn, "--url", "https://" + lbAddr, "--health-listen", health}, extra...)
		if i > 0 {
			// Every replica serves with the same CA: agents pin it.
			for _, f := range []string{pki.CAFile, pki.CAKeyFile} {
				raw, err := os.ReadFile(filepath.Join(rs.hubs[0].data, f))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(h.data, f), raw, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
		h.start()
		id, err := os.ReadFile(filepath.Join(h.data, "replica-id"))
		if err != nil {
			t.Fatalf("replica %d has no replica-id: %v", i, err)
		}
		rs.hubs = append(rs.hubs, h)
		rs.ids = append(rs.ids, strings.TrimSpace(string(id)))
		rs.health = append(rs.health, health)
	}
	token := must(t, "", "tierline-hub", "apitoken", "create", "--data", rs.hubs[0].data, "--db", rs.dsn, "--user", "admin")
	for _, h := range rs.hubs {
		h.token = token
	}
	rs.lb = &hub{t: t, data: rs.hubs[0].data, addr: lbAddr, token: token, client: rs.hubs[0].client}
	rs.startProxy(lbAddr)
	return rs
}

// startProxy runs HAProxy in TCP mode on lbAddr in front of the replicas,
// checking each one's /readyz on its --health-listen address. All agents
// on this machine come from 127.0.0.1, so "balance source" puts them on
// one replica, and on another when that one is down.
func (rs *replicaSet) startProxy(lbAddr string) {
	t := rs.t
	var b strings.Builder
	fmt.Fprintf(&b, `global
	maxconn 2000
defaults
	mode tcp
	timeout connect 2s
	timeout client 10m
	timeout server 10m
	timeout check 2s
	retries 3
	option redispatch
frontend hubs
	bind %s
	default_backend replicas
backend replicas
	balance source
	hash-type consistent
	option httpchk
	http-check send meth GET uri /readyz
	http-check expect status 200
	default-server check inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
`, lbAddr)
	for i, h := range rs.hubs {
		_, port, _ := net.SplitHostPort(rs.health[i])
		fmt.Fprintf(&b, "\tserver r%d %s port %s\n", i, h.addr, port)
	}
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("haproxy", "-c", "-f", cfg).CombinedOutput(); err != nil {
		t.Fatalf("haproxy refuses its configuration: %v\n%s\n%s", err, out, b.String())
	}
	haproxy, _ := exec.LookPath("haproxy")
	rs.proxy = start(t, haproxy, "-db", "-f", cfg)
	eventually(t, "the balancer answering", 30*time.Second, func() bool {
		req, _ := http.NewRequest("GET", rs.lb.url()+"/readyz", nil)
		resp, err := rs.lb.client.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// replicaDevice is a device as the API shows it, with its replica.
type replicaDevice struct {
	ID        string     `json:"id"`
	Online    bool       `json:"online"`
	Replica   string     `json:"replica"`
	RevokedAt *time.Time `json:"revoked_at"`
}

func (rs *replicaSet) device(via *hub, id string) replicaDevice {
	rs.t.Helper()
	var d replicaDevice
	if code := via.get("/api/v1/devices/"+id, &d); code != http.StatusOK {
		rs.t.Fatalf("GET device %s from %s: %d", id, via.addr, code)
	}
	return d
}

// holder is the index of the hub holding the device's connection, -1 when
// none does.
func (rs *replicaSet) holder(d replicaDevice) int {
	if !d.Online {
		return -1
	}
	for i, id := range rs.ids {
		if id == d.Replica {
			return i
		}
	}
	return -1
}

// other is a live hub other than those given.
func (rs *replicaSet) other(not ...int) int {
	for i := range rs.hubs {
		skip := false
		for _, n := range not {
			skip = skip || n == i
		}
		if !skip && rs.hubs[i].proc != nil {
			select {
			case <-rs.hubs[i].proc.done:
				continue
			default:
			}
			return i
		}
	}
	rs.t.Fatal("no live replica left")
	return -1
}

// metric sums a counter on a hub's /metrics whose name and labels start
// with prefix.
func metric(t *testing.T, h *hub, prefix string) float64 {
	t.Helper()
	req, _ := http.NewRequest("GET", h.url()+"/metrics", nil)
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatalf("metrics of %s: %v", h.addr, err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

// watchOffline records every moment the device shows offline through via
// until stop is called.
func watchOffline(rs *replicaSet, via *hub, id string) (stop func() int) {
	var mu sync.Mutex
	offline := 0
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			default:
			}
			var d replicaDevice
			req, _ := http.NewRequest("GET", via.url()+"/api/v1/devices/"+id, nil)
			req.Header.Set("Authorization", "Bearer "+via.token)
			if resp, err := via.client.Do(req); err == nil {
				if resp.StatusCode == http.StatusOK {
					_ = json.NewDecoder(resp.Body).Decode(&d)
					if !d.Online {
						mu.Lock()
						offline++
						mu.Unlock()
					}
				}
				resp.Body.Close()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return func() int {
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		return offline
	}
}

// TestReplicasBehindHAProxy runs three replicas on one PostgreSQL database
// behind HAProxy: an agent enrolls and connects through the balancer; a
// fix asked through a replica that does not hold it completes; a ticket
// filed through one replica appears live in the queue page another
// serves; a replica started or stopped leaves the others' devices online;
// SIGKILL of the replica holding the agent brings it back online through
// another, with every message it spooled meanwhile stored once, while a
// device that died with that replica goes offline once its lease lapses;
// the SLA escalates a ticket once however many replicas run the loop; and
// revoking the device through a replica that does not hold it cuts its
// connection.
func TestReplicasBehindHAProxy(t *testing.T) {
	rs := startReplicas(t, 3, "--tier-limits", "1=15s,2=4h,3=2d", "--replica-lease", "5s")
	lb := rs.lb

	// Two agents through the balancer; "balance source" puts both on the
	// same replica.
	a := enroll(t, lb.tokenCreateDB(rs))
	a.run()
	doomed := enroll(t, lb.tokenCreateDB(rs))
	doomedProc := doomed.run()
	var hold int
	eventually(t, "both agents online through the balancer", 60*time.Second, func() bool {
		d1, d2 := rs.device(lb, a.id), rs.device(lb, doomed.id)
		hold = rs.holder(d1)
		return hold >= 0 && rs.holder(d2) == hold
	})
	t.Logf("the agents are on replica %d (%s)", hold, rs.ids[hold])

	// A fix asked through another replica reaches the agent and completes.
	via := rs.hubs[rs.other(hold)]
	victim := exec.Command("sleep", "600")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	victimDone := make(chan struct{})
	go func() { _ = victim.Wait(); close(victimDone) }()
	t.Cleanup(func() { _ = victim.Process.Kill(); <-victimDone })
	// The request waits for the result: the holder's result wakes it here.
	var asked struct {
		Run runView `json:"run"`
	}
	code := via.do("POST", "/api/v1/devices/"+a.id+"/runs?wait=30s", via.token,
		strings.NewReader(fmt.Sprintf(`{"fix":"end-process","params":{"pid":%d},"consent_obtained":true}`, victim.Process.Pid)), &asked)
	if got := asked.Run; code != http.StatusOK || got.State != "done" || got.Outcome != "succeeded" {
		t.Fatalf("run through replica %s, waiting for its result: %d %+v", via.addr, code, got)
	}
	select {
	case <-victimDone:
	case <-time.After(30 * time.Second):
		t.Fatal("the run says done but its process still runs")
	}

	// A technician files a ticket for the device through a replica that
	// does not hold it: the device's checks run now, through its replica,
	// and the ticket carries them.
	var phoned struct {
		Ticket ticketJSON `json:"ticket"`
	}
	body := `{"device":"` + a.id + `","requester":"maria","text":"Outlook keeps asking for my password","category":"sign-in","channel":"phone"}`
	if code := via.do("POST", "/api/v1/tickets", via.token, strings.NewReader(body), &phoned); code != http.StatusCreated {
		t.Fatalf("file for the caller through another replica: status %d", code)
	}
	if s := phoned.Ticket.Snapshot; s == nil || len(s.Checks) == 0 {
		t.Fatalf("a ticket filed through a replica that does not hold the online device has no fresh checks: %+v", phoned.Ticket)
	}

	// A ticket filed through one replica appears live on a page another
	// serves.
	b := newConsoleBrowser(t)
	page, filer := rs.hubs[rs.other(hold)], rs.hubs[hold]
	must(t, "tier one secret\n", "tierline-hub", "user", "add", "--data", rs.hubs[0].data, "--db", rs.dsn, "--name", "tess", "--role", "tier1")
	b.login(page, "tess", "tier one secret")
	b.open(page, "/queue?tier=1", "#queue")
	b.eval(`window.__sameDocument = "yes"; "ok"`)
	var filed struct {
		Ticket struct {
			ID string `json:"id"`
		} `json:"ticket"`
	}
	if code := filer.do("POST", "/api/v1/tickets", filer.token, strings.NewReader(`{"requester":"Ines Ek","text":"Printer on floor 3 jams","channel":"walk-in"}`), &filed); code != http.StatusCreated {
		t.Fatalf("file a ticket through replica %d: %d", hold, code)
	}
	b.waitJS("the ticket filed through another replica in the queue", fmt.Sprintf(`!!document.querySelector('#queue-rows tr[data-id=%q]')`, filed.Ticket.ID))
	if b.eval(`String(window.__sameDocument)`) != "yes" {
		t.Fatal("the queue page reloaded; the ticket must arrive live")
	}

	// The SLA escalates it from Tier 1 once, though three replicas run
	// the loop.
	var det ticketDetail
	eventually(t, "the SLA escalating the ticket", 60*time.Second, func() bool {
		lb.get("/api/v1/tickets/"+filed.Ticket.ID, &det)
		return det.Ticket.Tier == 2
	})
	passes := func() float64 {
		s := 0.0
		for _, h := range rs.hubs {
			s += metric(t, h, `tierline_job_passes_total{job="sla",outcome="ran"}`)
		}
		return s
	}
	after := passes()
	eventually(t, "five more SLA passes on the replicas", 60*time.Second, func() bool { return passes() >= after+5 })
	lb.get("/api/v1/tickets/"+filed.Ticket.ID, &det)
	escalations := 0
	for _, e := range det.Timeline {
		if e.Kind == "escalated" {
			escalations++
		}
	}
	if escalations != 1 || det.Ticket.Tier != 2 {
		t.Fatalf("the ticket shows %d escalations and tier %d; want one, to Tier 2: %v", escalations, det.Ticket.Tier, det.kinds())
	}

	// The technician's console session works on every replica (the
	// browser sends the same cookie to each port of 127.0.0.1).
	for i, h := range rs.hubs {
		b.open(h, "/queue?tier=1", "#queue")
		if got := b.text(".who"); !strings.Contains(got, "tess") {
			t.Fatalf("replica %d's queue page does not show the technician logged in on replica %d: %q", i, rs.other(hold), got)
		}
	}
	// SLA settings saved through one replica are in force on the others.
	if code := filer.do("PUT", "/api/v1/settings/sla", filer.token, strings.NewReader(`{"response_limits":"1=30m"}`), nil); code != http.StatusOK {
		t.Fatalf("save SLA settings through replica %d: %d", hold, code)
	}
	for i, h := range rs.hubs {
		var v struct {
			ResponseLimits string `json:"response_limits"`
			Source         string `json:"response_limits_source"`
		}
		deadline := time.Now().Add(30 * time.Second)
		for h.get("/api/v1/settings/sla", &v) != http.StatusOK || v.ResponseLimits != "1=30 min" || v.Source != "setting" {
			if time.Now().After(deadline) {
				t.Fatalf("replica %d does not apply the SLA settings saved through replica %d: it shows %+v", i, hold, v)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// A replica that does not hold the agent stops and starts again: the
	// agent stays online throughout.
	idle := rs.other(hold)
	stop := watchOffline(rs, rs.hubs[hold], a.id)
	if code := rs.hubs[idle].proc.stop(); code != 0 {
		t.Fatalf("replica %d stopped with exit code %d", idle, code)
	}
	rs.hubs[idle].start()
	if n := stop(); n > 0 {
		t.Fatalf("the agent on replica %d showed offline %d times while replica %d stopped and started", hold, n, idle)
	}

	// SIGKILL the replica holding the agents, and one agent with it.
	via = rs.hubs[rs.other(hold)]
	killed := time.Now()
	rs.hubs[hold].proc.signal(syscall.SIGKILL)
	doomedProc.signal(syscall.SIGKILL)
	backAfter := timeUntil(via, a.id, func(d replicaDevice) bool { return d.Online && d.Replica != rs.ids[hold] && d.Replica != "" })
	// Messages the agent spools while it has no hub arrive once.
	var titles []string
	spooled := 0
	for i := range 3 {
		title := fmt.Sprintf("Spooled while the hub was gone %d", i)
		titles = append(titles, title)
		out := must(t, "", "tierline-agent", "help", "--state", a.state, "--json", "--wait", "1s", "--category", "application", title)
		var ans struct {
			Connected bool  `json:"connected"`
			Number    int64 `json:"number"`
		}
		if err := json.Unmarshal([]byte(out), &ans); err != nil {
			t.Fatalf("help answer is not JSON: %v\n%s", err, out)
		}
		if !ans.Connected || ans.Number == 0 {
			spooled++
		}
	}
	t.Logf("%d of %d help requests were spooled without an answer while the agent had no hub", spooled, len(titles))
	var back replicaDevice
	eventually(t, "the agent online through another replica", 60*time.Second, func() bool {
		back = rs.device(via, a.id)
		return back.Online && back.Replica != rs.ids[hold] && back.Replica != ""
	})
	t.Logf("measured: the agent was back online through replica %s %s after its replica was killed", back.Replica, (<-backAfter).Round(10*time.Millisecond))
	eventually(t, "the device that died with its replica offline once the lease lapsed", 60*time.Second, func() bool {
		return !rs.device(via, doomed.id).Online
	})
	t.Logf("measured: the device that died with its replica showed offline %s after the kill (lease 5s)", time.Since(killed).Round(10*time.Millisecond))
	var list struct {
		Tickets []struct {
			Title string `json:"title"`
		} `json:"tickets"`
	}
	eventually(t, "the spooled help requests stored", 60*time.Second, func() bool {
		via.get("/api/v1/tickets?limit=200", &list)
		n := 0
		for _, tk := range list.Tickets {
			for _, want := range titles {
				if strings.Contains(tk.Title, want) {
					n++
				}
			}
		}
		return n >= len(titles)
	})
	for _, want := range titles {
		n := 0
		for _, tk := range list.Tickets {
			if strings.Contains(tk.Title, want) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%q stored %d times, want once", want, n)
		}
	}

	// Revoking the device through a replica that does not hold it cuts
	// its connection.
	holder := rs.holder(back)
	revoker := rs.hubs[rs.other(hold, holder)]
	revoked := time.Now()
	if code := revoker.do("POST", "/api/v1/devices/"+a.id+"/revoke", revoker.token, nil, nil); code != http.StatusOK && code != http.StatusNoContent {
		t.Fatalf("revoke through replica %s: %d", revoker.addr, code)
	}
	if code := a.proc.wait(30 * time.Second); code != 3 {
		t.Errorf("revoked agent exit code %d, want 3", code)
	}
	t.Logf("measured: the agent held by replica %d was cut off %s after its revocation through replica %s", holder, time.Since(revoked).Round(10*time.Millisecond), revoker.addr)
	if out := a.proc.output(); !strings.Contains(out, "revoked") {
		t.Errorf("the revoked agent did not say why:\n%s", tail(out, 2000))
	}
}

// timeUntil polls the device through via from now until cond holds (for at
// most a minute) and sends how long that took; it measures, the test
// waits with eventually.
func timeUntil(via *hub, id string, cond func(replicaDevice) bool) <-chan time.Duration {
	began := time.Now()
	out := make(chan time.Duration, 1)
	go func() {
		for time.Since(began) < time.Minute {
			req, _ := http.NewRequest("GET", via.url()+"/api/v1/devices/"+id, nil)
			req.Header.Set("Authorization", "Bearer "+via.token)
			if resp, err := via.client.Do(req); err == nil {
				var d replicaDevice
				ok := resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&d) == nil && cond(d)
				resp.Body.Close()
				if ok {
					out <- time.Since(began)
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		out <- time.Minute
	}()
	return out
}

// tokenCreateDB prints an enrollment token from the replicas' database.
func (h *hub) tokenCreateDB(rs *replicaSet) string {
	h.t.Helper()
	return must(h.t, "", "tierline-hub", "token", "create", "--data", rs.hubs[0].data, "--db", rs.dsn)
}
