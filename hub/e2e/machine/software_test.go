//go:build linux

package machine

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/scripts/testmachine/nspawn"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/orgdoc"
	"github.com/tierline/tierline/shared/software"
)

// buildDeb makes a tiny Debian package with dpkg-deb: one file,
// /usr/share/NAME/README.
func buildDeb(t *testing.T, dir, name, version string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), name)
	for _, d := range []string{"DEBIAN", "usr/share/" + name} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	control := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: Tierline tests <tests@tierline.invalid>\n"+
		"Section: misc\nPriority: optional\nDescription: %s, a package the software catalog test serves\n", name, version, name)
	if err := os.WriteFile(filepath.Join(root, "DEBIAN", "control"), []byte(control), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "usr/share", name, "README"), []byte(name+" "+version+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deb := filepath.Join(dir, fmt.Sprintf("%s_%s_all.deb", name, version))
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", root, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, out)
	}
	return deb
}

// writeFlatRepo writes the Packages index and Release file of a flat apt
// repository (deb URL ./) for the .debs in dir, as apt-ftparchive would.
func writeFlatRepo(t *testing.T, dir string, debs []string) {
	t.Helper()
	var idx strings.Builder
	for _, deb := range debs {
		raw, err := os.ReadFile(deb)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("dpkg-deb", "--field", deb).Output()
		if err != nil {
			t.Fatal(err)
		}
		md, sh := md5.Sum(raw), sha256.Sum256(raw)
		fmt.Fprintf(&idx, "%sFilename: ./%s\nSize: %d\nMD5sum: %s\nSHA256: %s\n\n", out, filepath.Base(deb), len(raw),
			hex.EncodeToString(md[:]), hex.EncodeToString(sh[:]))
	}
	pk := []byte(idx.String())
	if err := os.WriteFile(filepath.Join(dir, "Packages"), pk, 0o644); err != nil {
		t.Fatal(err)
	}
	md, sh := md5.Sum(pk), sha256.Sum256(pk)
	rel := fmt.Sprintf("Origin: tierline-test\nLabel: tierline-test\nDate: %s\nMD5Sum:\n %s %d Packages\nSHA256:\n %s %d Packages\n",
		time.Now().UTC().Format(time.RFC1123Z), hex.EncodeToString(md[:]), len(pk), hex.EncodeToString(sh[:]), len(pk))
	if err := os.WriteFile(filepath.Join(dir, "Release"), []byte(rel), 0o644); err != nil {
		t.Fatal(err)
	}
}

// signEntry writes entry as JSON and signs it with `tierline-hub recipe
// sign`, the way an administrator does; it returns the signed file.
func signEntry(t *testing.T, keyDir string, e software.Entry) string {
	t.Helper()
	raw, _ := json.MarshalIndent(e, "", "  ")
	file := filepath.Join(t.TempDir(), e.ID+".json")
	if err := os.WriteFile(file, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(hubBin, "recipe", "sign", "--key", filepath.Join(keyDir, orgdoc.PrivateKeyFile), file).CombinedOutput(); err != nil {
		t.Fatalf("recipe sign: %v\n%s", err, out)
	}
	return strings.TrimSuffix(file, ".json") + ".signed.json"
}

// softwareView is an entry of GET /api/v1/recipes.
type softwareView struct {
	ID       string `json:"id"`
	Version  int64  `json:"version"`
	Kind     string `json:"kind"`
	Accepted int    `json:"accepted"`
	Failing  []struct {
		Reason string `json:"reason"`
	} `json:"failing"`
}

func (p *pc) published(id string) softwareView {
	p.t.Helper()
	var list struct {
		Recipes []softwareView `json:"recipes"`
	}
	if code := p.hub.get("/api/v1/recipes", &list); code != http.StatusOK {
		p.t.Fatalf("GET recipes: %d", code)
	}
	for _, v := range list.Recipes {
		if v.ID == id {
			return v
		}
	}
	return softwareView{}
}

// installedOnMachine is dpkg's word on pkg inside the machine.
func (p *pc) installedOnMachine(pkg string) string {
	out, err := p.try("dpkg-query", "-W", "-f", "${Status} ${Version}", pkg)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// newSoftwarePC boots the machine with the organisation's key pinned,
// alice as a user, and a repository of three packages (tierline-hello
// 1.0-1, tierline-tools 2.1-1, tierline-evil 6.6-6) served from the
// test's namespace as the machine's only apt source. It returns the
// organisation's key directory and another key's.
func newSoftwarePC(t *testing.T) (*pc, string, string) {
	need(t)
	keys, evilKeys := t.TempDir(), t.TempDir()
	for _, d := range []string{keys, evilKeys} {
		if out, err := exec.Command(hubBin, "recipe", "keygen", "--out", d).CombinedOutput(); err != nil {
			t.Fatalf("recipe keygen: %v\n%s", err, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(keys, orgdoc.PublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	writeFlatRepo(t, repo, []string{
		buildDeb(t, repo, "tierline-hello", "1.0-1"),
		buildDeb(t, repo, "tierline-tools", "2.1-1"),
		buildDeb(t, repo, "tierline-evil", "6.6-6"),
	})

	p := newPC(t, pcOptions{Env: agentEnv(), Before: func(p *pc) {
		// The repository, served from the test's namespace where the
		// machine reaches it.
		ln, err := p.net.Listen("tcp", net.JoinHostPort(nspawn.HubIP, "0"))
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.FileServer(http.Dir(repo)), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		// The machine's only apt source is the test's repository (the
		// debootstrap mirror is not reachable from the namespace).
		p.exec("sh", "-c", "rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*")
		p.write("/etc/apt/sources.list.d/tierline-test.list",
			fmt.Sprintf("deb [trusted=yes] http://%s/ ./\n", ln.Addr()), 0o644)
		// The organisation's key, pinned by the package at install.
		p.write("/etc/tierline/recipe-key.pub", string(pub), 0o644)
		p.exec("useradd", "--create-home", "alice")
	}})

	return p, keys, evilKeys
}

// TestSoftwareCatalogApt: the self-service software catalog on the booted
// Debian machine, with apt against a repository the test serves from its
// namespace. The organisation signs entries offline and publishes them
// with `recipe add`; a user (alice, not root) lists the catalog and
// installs an entry with `tierline-agent software install`, which runs
// apt-get through the fix runner; dpkg in the machine has the package;
// the hub shows it in the device's software inventory, and records the
// run and audits it in alice's name. A technician installs another entry
// from the API. A package of the repository that no signed entry names is
// refused with the reason, and a hostile hub (an entry signed by another
// key, an entry changed after signing, a run written straight into its
// database) gets nothing installed: dpkg never sees the package.
func TestSoftwareCatalogApt(t *testing.T) {
	p, keys, evilKeys := newSoftwarePC(t)

	hello := software.Entry{ID: "tierline-hello", Version: 1, Title: "Tierline Hello", Description: "A small test program.",
		Manager: software.Apt, Package: "tierline-hello", MinVersion: "1.0"}
	tools := software.Entry{ID: "tierline-tools", Version: 1, Title: "Tierline Tools", Manager: software.Apt, Package: "tierline-tools", Pin: "2.1-1"}
	p.hub.cli("recipe", "add", "--groups", "*", signEntry(t, keys, hello))
	p.hub.cli("recipe", "add", "--groups", "*", signEntry(t, keys, tools))
	eventually(t, "both entries accepted by the device", 60*time.Second, func() bool {
		return p.published("tierline-hello").Accepted == 1 && p.published("tierline-tools").Accepted == 1
	})
	if v := p.published("tierline-hello"); v.Kind != orgdoc.KindSoftware {
		t.Errorf("GET /api/v1/recipes: tierline-hello kind %q, want software", v.Kind)
	}

	// Alice lists the catalog and installs an entry herself.
	out := p.exec("runuser", "-u", "alice", "--", "tierline-agent", "software")
	if !strings.Contains(out, "tierline-hello") || !strings.Contains(out, "Tierline Hello — not installed") {
		t.Fatalf("alice's catalog:\n%s", out)
	}
	out = p.exec("runuser", "-u", "alice", "--", "tierline-agent", "software", "--json", "install", "tierline-hello")
	var res struct {
		RunID   string `json:"run_id"`
		Outcome string `json:"outcome"`
		Reason  string `json:"reason"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("install output: %v\n%s", err, out)
	}
	if res.Outcome != "succeeded" || !strings.Contains(res.Reason, "Verified: tierline-hello 1.0-1 is installed") {
		t.Fatalf("alice's install: %+v", res)
	}
	if got := p.installedOnMachine("tierline-hello"); got != "install ok installed 1.0-1" {
		t.Fatalf("dpkg in the machine: %q", got)
	}
	// The hub: the package in the device's inventory, the run recorded
	// in alice's name and audited.
	eventually(t, "tierline-hello 1.0-1 in the hub's inventory of the device", 60*time.Second, func() bool {
		var sw struct {
			Software []struct{ Name, Version string } `json:"software"`
		}
		p.hub.get("/api/v1/devices/"+p.id+"/software?q=tierline-hello", &sw)
		for _, s := range sw.Software {
			if s.Name == "tierline-hello" && s.Version == "1.0-1" {
				return true
			}
		}
		return false
	})
	var run struct {
		Fix         string `json:"fix"`
		State       string `json:"state"`
		Outcome     string `json:"outcome"`
		RequestedBy string `json:"requested_by"`
	}
	eventually(t, "alice's install recorded as a run at the hub", 30*time.Second, func() bool {
		return p.hub.get("/api/v1/runs/"+res.RunID, &run) == http.StatusOK && run.State == "done"
	})
	if run.Fix != catalog.InstallSoftware || run.Outcome != "succeeded" || !strings.Contains(run.RequestedBy, "alice") {
		t.Errorf("the hub's record of alice's install: %+v", run)
	}
	var audit struct {
		Events []struct {
			Actor, Action, Target, Outcome string
		} `json:"events"`
	}
	p.hub.get("/api/v1/audit?limit=200", &audit)
	found := false
	for _, e := range audit.Events {
		found = found || e.Action == "run.result" && strings.Contains(e.Actor, "alice") && e.Outcome == "succeeded"
	}
	if !found {
		t.Errorf("no audit event of alice's install: %+v", audit.Events)
	}

	// A technician installs the other entry from the API.
	r := p.run(catalog.InstallSoftware, map[string]string{"entry": "tierline-tools"})
	if r.Outcome != "succeeded" || !strings.Contains(r.Reason, "Verified: tierline-tools 2.1-1 is installed") {
		t.Fatalf("technician's install: %+v", r)
	}
	if got := p.installedOnMachine("tierline-tools"); got != "install ok installed 2.1-1" {
		t.Fatalf("dpkg after the technician's install: %q", got)
	}
	// The run reported progress on its way (the hub keeps the last step).
	var last struct {
		Progress *struct {
			Text string `json:"text"`
		} `json:"progress"`
	}
	if code := p.hub.get("/api/v1/runs/"+r.ID, &last); code != http.StatusOK || last.Progress == nil || last.Progress.Text == "" {
		t.Errorf("the technician's install reported no progress step: %d %+v", code, last.Progress)
	}

	// A package of the repository that no signed entry names.
	out, err := p.try("runuser", "-u", "alice", "--", "tierline-agent", "software", "install", "tierline-evil")
	if err == nil || !strings.Contains(out, "not in this device's signed software catalog") {
		t.Errorf("install of an entry not in the catalog: err %v\n%s", err, out)
	}

	// A hostile hub: an entry signed by another key, and a signed entry
	// whose package was changed after signing, both published.
	evil := software.Entry{ID: "evil", Version: 1, Title: "Evil", Manager: software.Apt, Package: "tierline-evil"}
	p.hub.cli("recipe", "add", "--groups", "*", signEntry(t, evilKeys, evil))
	signed, err := os.ReadFile(signEntry(t, keys, software.Entry{ID: "evil-tampered", Version: 1, Title: "Hello again",
		Manager: software.Apt, Package: "tierline-hello"}))
	if err != nil {
		t.Fatal(err)
	}
	tampered := strings.Replace(string(signed), `"tierline-hello"`, `"tierline-evil"`, 1)
	tamperedFile := filepath.Join(t.TempDir(), "tampered.signed.json")
	if err := os.WriteFile(tamperedFile, []byte(tampered), 0o644); err != nil {
		t.Fatal(err)
	}
	p.hub.cli("recipe", "add", "--groups", "*", tamperedFile)
	eventually(t, "the device's refusals of both hostile entries at the hub", 60*time.Second, func() bool {
		a, b := p.published("evil"), p.published("evil-tampered")
		return len(a.Failing) == 1 && strings.Contains(a.Failing[0].Reason, "not by the key pinned") &&
			len(b.Failing) == 1 && strings.Contains(b.Failing[0].Reason, "changed after it was signed")
	})
	// The hub's API refuses to queue them, with the agent's reason.
	body := `{"fix":"install-software","params":{"entry":"evil"}}`
	var refusal struct {
		Error string `json:"error"`
	}
	if code := p.hub.do("POST", "/api/v1/devices/"+p.id+"/runs", strings.NewReader(body), &refusal); code < 400 ||
		!strings.Contains(refusal.Error, "not by the key pinned") {
		t.Errorf("API install of the foreign entry: %d %q", code, refusal.Error)
	}
	// Its owner writes the runs straight into its database.
	st, err := store.Open(context.Background(), filepath.Join(p.hub.data, "tierline.db"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var runs []store.Run
	for _, id := range []string{"evil", "evil-tampered"} {
		runs = append(runs, store.Run{ID: "hostile-" + id, DeviceID: p.id, Fix: catalog.InstallSoftware, Params: map[string]string{"entry": id},
			RequestedBy: "mallory", RequesterRole: store.RoleAdmin, Tier: 3, State: store.RunQueued, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	}
	err = st.CreateRuns(context.Background(), nil, runs)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	p.exec("systemctl", "restart", "tierline-agent") // queued runs are sent at the next connection
	for _, id := range []string{"hostile-evil", "hostile-evil-tampered"} {
		var v runView
		eventually(t, id+" answered by the agent", 90*time.Second, func() bool {
			return p.hub.get("/api/v1/runs/"+id, &v) == http.StatusOK && v.State == "done"
		})
		if v.Outcome != "refused" || !strings.Contains(v.Reason, "not in this device's signed software catalog") {
			t.Errorf("%s: %s %s %q", id, v.Outcome, v.Code, v.Reason)
		}
	}
	if got := p.installedOnMachine("tierline-evil"); got != "" {
		t.Errorf("tierline-evil is installed: %q", got)
	}
	if hist, _ := p.try("cat", "/var/log/apt/history.log"); strings.Contains(hist, "tierline-evil") {
		t.Errorf("apt was asked for tierline-evil:\n%s", hist)
	}
}
