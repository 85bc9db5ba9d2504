package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/orgdoc"
)

// tracedAgent runs the agent under `strace -f -e trace=execve`, so the
// test sees every program the agent and its children start.
type tracedAgent struct {
	t     *testing.T
	a     *agent
	trace string
	proc  *proc
}

func (a *agent) runTraced(trace string, flags ...string) *tracedAgent {
	a.t.Helper()
	args := append([]string{"-f", "-qq", "-e", "trace=execve", "-o", trace, filepath.Join(binDir, "tierline-agent"),
		"run", "--state", a.state, "--interval", "200ms", "--backoff-base", "100ms", "--backoff-max", "1s", "--log-level", "debug"}, flags...)
	ta := &tracedAgent{t: a.t, a: a, trace: trace}
	ta.proc = start(a.t, "/usr/bin/strace", args...)
	a.t.Cleanup(func() {
		select {
		case <-ta.proc.done: // the agent is gone with its strace
		default:
			if pid := ta.pid(); pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL) // the agent this test started, still traced
			}
		}
	})
	return ta
}

// pid is the agent's process id: the first execve strace records.
func (ta *tracedAgent) pid() int {
	raw, _ := os.ReadFile(ta.trace)
	line, _, _ := strings.Cut(string(raw), " ")
	pid, _ := strconv.Atoi(line)
	return pid
}

// stop ends the agent with SIGTERM; strace exits with it.
func (ta *tracedAgent) stop() {
	ta.t.Helper()
	eventually(ta.t, "the traced agent's pid", 10*time.Second, func() bool { return ta.pid() > 0 })
	syscall.Kill(ta.pid(), syscall.SIGTERM)
	ta.proc.wait(30 * time.Second)
}

// execs returns the programs started, as strace saw them, whose path
// match accepts.
func execs(t *testing.T, match func(path string) bool, traces ...string) []string {
	t.Helper()
	var out []string
	re := regexp.MustCompile(`execve\("([^"]*)", \[(.*?)\]`)
	for _, tr := range traces {
		raw, err := os.ReadFile(tr)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(raw), -1) {
			if match(m[1]) {
				out = append(out, m[1]+" "+m[2])
			}
		}
	}
	return out
}

type recipeListing struct {
	Recipes []struct {
		ID       string `json:"id"`
		Version  int64  `json:"version"`
		Signer   string `json:"signer"`
		Accepted int    `json:"accepted"`
		Failing  []struct {
			Device, Reason string
		} `json:"failing"`
	} `json:"recipes"`
}

func (l recipeListing) find(id string) (accepted int, failing string) {
	for _, r := range l.Recipes {
		if r.ID == id {
			for _, f := range r.Failing {
				failing += f.Reason
			}
			return r.Accepted, failing
		}
	}
	return -1, ""
}

// signRecipe writes a recipe as JSON and signs it with the CLI.
func signRecipe(t *testing.T, dir, key, name, body string) []byte {
	t.Helper()
	f := filepath.Join(dir, name+".json")
	if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, "", "tierline-hub", "recipe", "sign", "--key", key, f)
	raw, err := os.ReadFile(filepath.Join(dir, name+".signed.json"))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(raw)
}

func (h *hub) publishRecipe(doc []byte, groups ...string) (int, string) {
	h.t.Helper()
	body, _ := json.Marshal(map[string]any{"doc": json.RawMessage(doc), "groups": groups})
	var resp struct {
		Error string `json:"error"`
	}
	code := h.do("POST", "/api/v1/recipes", h.token, bytes.NewReader(body), &resp)
	return code, resp.Error
}

// TestRecipesHostileHub publishes the organisation's signed recipes
// through the real hub to a real agent, which pins the organisation's key
// from its enrollment token, and runs one end to end (API → agent → fixed,
// verified by the checks before and after). Then the hub plays hostile:
// a recipe signed by another key, a tampered recipe, a key change not
// signed by the pinned key, runs with values that try injection written
// straight into the hub's database past the API's own checks, and an older
// version of a recipe replayed. Each is refused with its reason, and
// strace shows that none of it started a program.
func TestRecipesHostileHub(t *testing.T) {
	if _, err := exec.LookPath("strace"); err != nil {
		t.Skip("strace is not installed")
	}
	h := startHub(t)
	keys, work := t.TempDir(), t.TempDir()
	org, evil := filepath.Join(keys, "org"), filepath.Join(keys, "evil")
	must(t, "", "tierline-hub", "recipe", "keygen", "--out", org)
	must(t, "", "tierline-hub", "recipe", "keygen", "--out", evil)
	if fi, err := os.Stat(filepath.Join(org, orgdoc.PrivateKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key file: %v %v", fi.Mode(), err)
	}
	orgKey, evilKey := filepath.Join(org, orgdoc.PrivateKeyFile), filepath.Join(evil, orgdoc.PrivateKeyFile)
	orgPub, err := orgdoc.ReadPublicKey(filepath.Join(org, orgdoc.PublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	orgID := orgdoc.KeyID(orgPub)

	a := enroll(t, h.tokenCreate("--recipe-key", filepath.Join(org, orgdoc.PublicKeyFile)))
	if out := must(t, "", "tierline-agent", "recipes", "--state", a.state, "key"); !strings.Contains(out, orgID) || !strings.Contains(out, "enrollment") {
		t.Fatalf("pinned key after enrollment: %s", out)
	}

	// The machine: a broken resolver configuration the first recipe
	// repairs (nothing listens on the address it names), and a probe
	// program that logs each start.
	good, err := os.ReadFile(os.Getenv("TIERLINE_RESOLV_CONF"))
	if err != nil {
		t.Fatal(err)
	}
	goodConf, resolv := filepath.Join(work, "good.conf"), filepath.Join(work, "resolv.conf")
	os.WriteFile(goodConf, good, 0o644)
	os.WriteFile(resolv, []byte("nameserver 127.254.253.1\noptions timeout:1 attempts:1\n"), 0o644)
	probe, probeLog := filepath.Join(work, "probe"), filepath.Join(work, "probe.log")
	os.WriteFile(probe, []byte("#!/bin/sh\nprintf '%s\\n' \"$*\" >> "+probeLog+"\n"), 0o755)

	restore := signRecipe(t, work, orgKey, "restore", fmt.Sprintf(`{"id":"restore-resolver-config","version":1,
		"title":"Restore the resolver configuration","tier":1,"oses":["linux"],"timeout_sec":30,"verify":["dns-resolution"],
		"steps":[{"argv":["/bin/cp","--",%q,%q]}]}`, goodConf, resolv))
	probeRecipe := func(version int, name string) string {
		return fmt.Sprintf(`{"id":%q,"version":%d,"title":"Probe","tier":1,"oses":["linux"],"timeout_sec":30,
			"params":[{"name":"name","title":"Name","kind":"string","required":true,"pattern":"[A-Za-z0-9._/;-]{1,64}"}],
			"steps":[{"argv":[%q,"{name}"]}]}`, name, version, probe)
	}
	probeV2 := signRecipe(t, work, orgKey, "probe2", probeRecipe(2, "probe"))
	probeV1 := signRecipe(t, work, orgKey, "probe1", probeRecipe(1, "probe"))
	foreign := signRecipe(t, work, evilKey, "foreign", probeRecipe(1, "foreign"))
	tampered := func() []byte {
		doc, err := orgdoc.Decode(signRecipe(t, work, orgKey, "tampered", probeRecipe(1, "tampered")))
		if err != nil {
			t.Fatal(err)
		}
		doc.Body = bytes.Replace(doc.Body, []byte(`"tier":1`), []byte(`"tier":0`), 1) // let the user run it
		raw, _ := doc.Encode()
		return raw
	}()
	must(t, "", "tierline-hub", "recipe", "rotate", "--key", evilKey, "--new-key", filepath.Join(evil, orgdoc.PublicKeyFile),
		"--serial", "1", "--out", filepath.Join(work, "evil-change.json"))
	evilChange, _ := os.ReadFile(filepath.Join(work, "evil-change.json"))

	// The hub checks form only; it holds no key, so it stores all of it.
	for name, doc := range map[string][]byte{"restore": restore, "probe": probeV2, "foreign": foreign, "tampered": tampered} {
		if code, msg := h.publishRecipe(doc, "default"); code != http.StatusCreated {
			t.Fatalf("publish %s: %d %s", name, code, msg)
		}
	}
	if code, msg := h.publishRecipe(bytes.TrimSpace(evilChange)); code != http.StatusCreated {
		t.Fatalf("publish the key change: %d %s", code, msg)
	}
	if code, msg := h.publishRecipe(probeV1, "default"); code != http.StatusConflict || !strings.Contains(msg, "older") {
		t.Fatalf("publishing an older version through the API: %d %s", code, msg)
	}
	if code, _ := h.publishRecipe([]byte(`{"kind":"recipe","body":{},"key":"x","sig":""}`), "default"); code != http.StatusBadRequest {
		t.Fatalf("a malformed document: %d", code)
	}

	trace1 := filepath.Join(work, "trace1")
	ta := a.runTraced(trace1, "--resolv-conf", resolv)
	var list recipeListing
	eventually(t, "the agent's report on its recipes", 60*time.Second, func() bool {
		h.get("/api/v1/recipes", &list)
		n1, _ := list.find("restore-resolver-config")
		n2, _ := list.find("probe")
		_, f1 := list.find("foreign")
		_, f2 := list.find("tampered")
		return n1 == 1 && n2 == 1 && f1 != "" && f2 != ""
	})
	if _, why := list.find("foreign"); !strings.Contains(why, "not by the key pinned on this device ("+orgID+")") {
		t.Errorf("foreign recipe's refusal: %q", why)
	}
	if _, why := list.find("tampered"); !strings.Contains(why, "changed after it was signed") {
		t.Errorf("tampered recipe's refusal: %q", why)
	}
	out := must(t, "", "tierline-agent", "recipes", "--state", a.state)
	if !strings.Contains(out, "refused key-change") || !strings.Contains(out, "key change refused") || !strings.Contains(out, "restore-resolver-config") {
		t.Errorf("tierline-agent recipes:\n%s", out)
	}
	if out := must(t, "", "tierline-agent", "recipes", "--state", a.state, "key"); !strings.Contains(out, orgID) {
		t.Fatalf("the forged key change moved the pinned key: %s", out)
	}

	// The device's catalog offers the accepted recipes with their signer.
	var cat struct {
		Fixes []struct {
			ID      string `json:"id"`
			Allowed bool   `json:"allowed"`
			Refusal string `json:"refusal"`
			Recipe  *struct {
				Version int64  `json:"version"`
				Signer  string `json:"signer"`
			} `json:"recipe"`
		} `json:"fixes"`
	}
	h.get("/api/v1/catalog?device="+a.id, &cat)
	offered := map[string]string{}
	for _, f := range cat.Fixes {
		if f.Recipe != nil {
			offered[f.ID] = fmt.Sprintf("%v %s %s", f.Allowed, f.Recipe.Signer, f.Refusal)
		}
	}
	if !strings.HasPrefix(offered["restore-resolver-config"], "true "+orgID) || !strings.HasPrefix(offered["foreign"], "false") {
		t.Fatalf("device catalog recipes: %v", offered)
	}

	// End to end: the API asks, the agent runs the signed recipe, the
	// checks before and after show it fixed.
	eventually(t, "dns-resolution failing with the broken configuration", 60*time.Second, func() bool {
		var d device
		h.get("/api/v1/devices/"+a.id, &d)
		return d.check("dns-resolution") == "failing" || d.check("dns-resolution") == "warning"
	})
	code, run := h.requestRun(h.token, a.id, `{"fix":"restore-resolver-config"}`)
	if code != http.StatusAccepted {
		t.Fatalf("run restore-resolver-config: %d %s", code, run.Reason)
	}
	done := h.waitRun(h.token, run.ID)
	t.Logf("restore-resolver-config: %s: %s", done.Outcome, done.Reason)
	if done.Outcome != "fixed" || done.Result == nil || len(done.Result.Before) == 0 || done.Result.Before[0].Status == "ok" ||
		done.Result.After[0].Status != "ok" || !strings.Contains(done.Reason, "recipe restore-resolver-config version 1") {
		t.Fatalf("restore run: %+v", done)
	}
	code, run = h.requestRun(h.token, a.id, `{"fix":"probe","params":{"name":"hello"}}`)
	if code != http.StatusAccepted {
		t.Fatalf("run probe: %d %s", code, run.Reason)
	}
	if done := h.waitRun(h.token, run.ID); done.Outcome != "succeeded" {
		t.Fatalf("probe run: %+v", done)
	}

	// The hub's own API refuses what the agent would.
	for _, c := range []struct{ body, want string }{
		{`{"fix":"probe","params":{"name":"--foo"}}`, "looks like an option"},
		{`{"fix":"probe","params":{"name":"../../etc/passwd"}}`, `".." path element`},
		{`{"fix":"probe","params":{"name":"$(id)"}}`, "does not match"},
		{`{"fix":"foreign","params":{"name":"x"}}`, "not by the key pinned"},
	} {
		if code, r := h.requestRun(h.token, a.id, c.body); code < 400 || !strings.Contains(r.Reason, c.want) {
			t.Errorf("API run %s: %d %q, want a refusal saying %q", c.body, code, r.Reason, c.want)
		}
	}

	// A hostile hub owner writes runs straight into the database, past
	// the API; the agent gets them at its next connection.
	st, err := store.Open(context.Background(), filepath.Join(h.data, "tierline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	hostile := map[string]struct {
		fix    string
		params map[string]string
		tier   int
		code   string
		why    string
	}{
		"hostile-option":   {"probe", map[string]string{"name": "--foo"}, 3, "bad_params", "looks like an option"},
		"hostile-dotdot":   {"probe", map[string]string{"name": "../../etc/passwd"}, 3, "bad_params", `".." path element`},
		"hostile-shell":    {"probe", map[string]string{"name": "x;reboot"}, 3, "bad_params", ""}, // the pattern allows ';': one argv element, no shell
		"hostile-foreign":  {"foreign", map[string]string{"name": "x"}, 3, "unknown_fix", "signed by the organisation's pinned key"},
		"hostile-tampered": {"tampered", map[string]string{"name": "x"}, 3, "unknown_fix", "signed by the organisation's pinned key"},
		"hostile-tier":     {"probe", map[string]string{"name": "x"}, 0, "tier", "needs tier 1"},
	}
	var runs []store.Run
	for id, c := range hostile {
		runs = append(runs, store.Run{ID: id, DeviceID: a.id, Fix: c.fix, Params: c.params, RequestedBy: "mallory", RequesterRole: store.RoleAdmin,
			Tier: c.tier, State: store.RunQueued, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	}
	if err := st.CreateRuns(context.Background(), nil, runs); err != nil {
		t.Fatal(err)
	}
	ta.stop()
	trace2 := filepath.Join(work, "trace2")
	ta = a.runTraced(trace2, "--resolv-conf", resolv)
	for id, c := range hostile {
		r := h.waitRun(h.token, id)
		if id == "hostile-shell" {
			// A value the recipe's pattern allows is one argv element: the
			// probe gets "x;reboot" as its argument and no shell sees it.
			if r.Outcome != "succeeded" {
				t.Errorf("%s: %s %s %s", id, r.Outcome, r.Code, r.Reason)
			}
			continue
		}
		t.Logf("%s: %s %s: %s", id, r.Outcome, r.Code, r.Reason)
		if r.Outcome != "refused" || r.Code != c.code || !strings.Contains(r.Reason, c.why) {
			t.Errorf("%s: %s %s %q, want refused %s %q", id, r.Outcome, r.Code, r.Reason, c.code, c.why)
		}
	}

	// An older version replayed by the hub's owner, straight into the
	// database (the API refused it above).
	if err := st.DeleteRecipe(context.Background(), "probe"); err != nil {
		t.Fatal(err)
	}
	doc, _ := orgdoc.Decode(probeV1)
	raw, _ := doc.Encode()
	if err := st.PutRecipe(context.Background(), store.Recipe{ID: "probe", Version: 1, Signer: doc.Key, Title: "Probe", Tier: 1, Doc: raw,
		Groups: []string{"default"}, AddedBy: "mallory", AddedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the agent refusing the replayed version", 30*time.Second, func() bool {
		h.get("/api/v1/recipes", &list)
		_, why := list.find("probe")
		return strings.Contains(why, "older than version 2")
	})
	if err := st.CreateRuns(context.Background(), nil, []store.Run{{ID: "hostile-replayed", DeviceID: a.id, Fix: "probe",
		Params: map[string]string{"name": "replayed"}, RequestedBy: "mallory", RequesterRole: store.RoleAdmin, Tier: 3,
		State: store.RunQueued, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	ta.stop()
	ta = a.runTraced(filepath.Join(work, "trace3"), "--resolv-conf", resolv)
	if r := h.waitRun(h.token, "hostile-replayed"); r.Outcome != "refused" || r.Code != "unknown_fix" {
		t.Errorf("a run of the replayed version: %s %s %s", r.Outcome, r.Code, r.Reason)
	}

	// The organisation rotates its key the one way the hub can carry: a
	// change signed by the old key. The device moves to the new key and
	// takes the recipe the new key signed.
	org2 := filepath.Join(keys, "org2")
	must(t, "", "tierline-hub", "recipe", "keygen", "--out", org2)
	org2Pub, _ := orgdoc.ReadPublicKey(filepath.Join(org2, orgdoc.PublicKeyFile))
	must(t, "", "tierline-hub", "recipe", "rotate", "--key", orgKey, "--new-key", filepath.Join(org2, orgdoc.PublicKeyFile),
		"--serial", "2", "--out", filepath.Join(work, "change.json"))
	h.cli("recipe", "add", filepath.Join(work, "change.json"))
	rotated := signRecipe(t, work, filepath.Join(org2, orgdoc.PrivateKeyFile), "rotated", probeRecipe(1, "rotated"))
	if code, msg := h.publishRecipe(rotated, "*"); code != http.StatusCreated {
		t.Fatalf("publish the recipe signed by the new key: %d %s", code, msg)
	}
	eventually(t, "the device taking the recipe the new key signed", 30*time.Second, func() bool {
		h.get("/api/v1/recipes", &list)
		n, _ := list.find("rotated")
		return n == 1
	})
	if out := must(t, "", "tierline-agent", "recipes", "--state", a.state, "key"); !strings.Contains(out, orgdoc.KeyID(org2Pub)) || !strings.Contains(out, "key-change") {
		t.Errorf("pinned key after the rotation: %s", out)
	}
	if _, why := list.find("restore-resolver-config"); !strings.Contains(why, "not by the key pinned on this device ("+orgdoc.KeyID(org2Pub)+")") {
		t.Errorf("a recipe of the retired key after the rotation: %q", why)
	}
	ta.stop()

	// What ran: the restore's cp once, the probe for "hello" and for the
	// one-element "x;reboot", and nothing else.
	traces := []string{trace1, trace2, filepath.Join(work, "trace3")}
	is := func(p string) func(string) bool { return func(s string) bool { return s == p } }
	if got := execs(t, is(probe), traces...); len(got) != 2 || !strings.Contains(got[0], `"hello"`) || !strings.Contains(got[1], `"x;reboot"`) {
		t.Errorf("probe started %d times: %q", len(got), got)
	}
	if got := execs(t, is("/bin/cp"), traces...); len(got) != 1 {
		t.Errorf("cp started %d times: %q", len(got), got)
	}
	if got := execs(t, func(s string) bool { return strings.HasSuffix(s, "/reboot") }, traces...); len(got) != 0 {
		t.Errorf("reboot started: %q", got)
	}
	t.Logf("the agent started (strace): probe %q; cp %q", execs(t, is(probe), traces...), execs(t, is("/bin/cp"), traces...))
	logged, _ := os.ReadFile(probeLog)
	if string(logged) != "hello\nx;reboot\n" {
		t.Errorf("probe log %q", logged)
	}
}
