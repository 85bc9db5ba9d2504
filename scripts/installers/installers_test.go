package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeAgent stands in for tierline-agent in the Linux packages: it records
// how the maintainer scripts call it and "enrolls" by writing identity.json.
const fakeAgent = `#!/bin/sh
echo "$@" >> "${DPKG_ROOT:-}/var/log/fake-agent.log"
if [ "$1" = enroll ]; then
	while [ $# -gt 0 ]; do [ "$1" = --state ] && state="$2"; shift; done
	echo '{"device_id":"fake"}' > "$state/identity.json"
fi
`

// fakeTray stands in for tierline-tray.
const fakeTray = "#!/bin/sh\necho tray stand-in\n"

var (
	buildOnce sync.Once
	built     []string
	buildErr  error
	outDir    string
)

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install wixl msitools rpm osslsigncode dpkg; .ci/run does)", tool)
		}
	}
}

// packages builds every package once per test binary, from small stand-in
// binaries so it stays quick.
func packages(t *testing.T) []string {
	t.Helper()
	need(t, "wixl", "osslsigncode")
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tierline-installers-")
		if err != nil {
			buildErr = err
			return
		}
		outDir = filepath.Join(dir, "dist")
		bins := filepath.Join(dir, "bin")
		os.MkdirAll(bins, 0o755)
		for _, arch := range []string{"amd64", "arm64"} {
			os.WriteFile(filepath.Join(bins, "tierline-agent-linux-"+arch), []byte(fakeAgent), 0o755)
			os.WriteFile(filepath.Join(bins, "tierline-hub-linux-"+arch), []byte("#!/bin/sh\n"), 0o755)
			os.WriteFile(filepath.Join(bins, "tierline-tray-linux-"+arch), []byte(fakeTray), 0o755)
			os.WriteFile(filepath.Join(bins, "tierline-agent-darwin-"+arch), []byte("mach-o stand-in"), 0o755)
			os.WriteFile(filepath.Join(bins, "tierline-tray-darwin-"+arch), []byte("mach-o tray stand-in"), 0o755)
		}
		for _, name := range []string{"tierline-agent", "tierline-tray"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(bins, name+"-windows-amd64.exe"), "./testdata/tiny")
			cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = err
				built = []string{string(out)}
				return
			}
		}
		built, buildErr = Build(Options{Version: "v1.4.2", Out: outDir, Repo: "../..", BinDir: bins})
	})
	if buildErr != nil {
		t.Fatalf("build packages: %v %v", buildErr, built)
	}
	return built
}

func TestMain(m *testing.M) {
	code := m.Run()
	if outDir != "" {
		os.RemoveAll(filepath.Dir(outDir))
	}
	os.Exit(code)
}

func find(t *testing.T, suffix string) string {
	t.Helper()
	for _, p := range packages(t) {
		if strings.HasSuffix(p, suffix) {
			return p
		}
	}
	t.Fatalf("no package *%s in %v", suffix, packages(t))
	return ""
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func wantAll(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

func TestPackageVersion(t *testing.T) {
	for in, want := range map[string][2]string{
		"v1.4.2": {"1.4.2", "1.4.2"}, "2.0.0-rc.1": {"2.0.0-rc.1", "2.0.0"}, "8546e09-dirty": {"0.0.0~dev.8546e09.dirty", "0.0.0"},
	} {
		p, m := PackageVersion(in)
		if p != want[0] || m != want[1] {
			t.Errorf("PackageVersion(%q) = %q, %q", in, p, m)
		}
	}
}

func TestDebPackages(t *testing.T) {
	need(t, "dpkg-deb")
	agent := find(t, "tierline-agent_1.4.2_amd64.deb")
	wantAll(t, "agent deb info", run(t, "dpkg-deb", "--info", agent),
		"Package: tierline-agent", "Version: 1.4.2", "Architecture: amd64", "postinst", "prerm", "postrm")
	wantAll(t, "agent deb contents", run(t, "dpkg-deb", "--contents", agent),
		"./usr/bin/tierline-agent", "./usr/bin/tierline-tray", "./usr/lib/systemd/system/tierline-agent.service", "./etc/xdg/autostart/tierline-tray.desktop")
	wantAll(t, "arm64 agent deb", run(t, "dpkg-deb", "--info", find(t, "tierline-agent_1.4.2_arm64.deb")), "Architecture: arm64")
	hub := find(t, "tierline-hub_1.4.2_amd64.deb")
	wantAll(t, "hub deb contents", run(t, "dpkg-deb", "--contents", hub),
		"./usr/bin/tierline-hub", "./usr/lib/systemd/system/tierline-hub.service", "./etc/tierline/hub.env")
	dir := t.TempDir()
	run(t, "dpkg-deb", "-x", hub, dir)
	unit, _ := os.ReadFile(filepath.Join(dir, "usr/lib/systemd/system/tierline-hub.service"))
	wantAll(t, "hub unit", string(unit), "DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes")
}

func TestRPMPackages(t *testing.T) {
	need(t, "rpm")
	for _, arch := range []string{"x86_64", "aarch64"} {
		p := find(t, "tierline-agent-1.4.2-1."+arch+".rpm")
		wantAll(t, "rpm -qip", run(t, "rpm", "-qip", p), "Name        : tierline-agent", "Version     : 1.4.2", "Architecture: "+arch)
		wantAll(t, "rpm -qlp", run(t, "rpm", "-qlp", p), "/usr/bin/tierline-agent", "/usr/bin/tierline-tray",
			"/usr/lib/systemd/system/tierline-agent.service", "/etc/xdg/autostart/tierline-tray.desktop")
		wantAll(t, "rpm scripts", run(t, "rpm", "-qp", "--scripts", p), "postinstall scriptlet", "identity.json")
	}
	wantAll(t, "hub rpm", run(t, "rpm", "-qlp", find(t, "tierline-hub-1.4.2-1.x86_64.rpm")), "/usr/bin/tierline-hub", "/etc/tierline/hub.env")
}

func TestMSI(t *testing.T) {
	need(t, "msiinfo", "osslsigncode")
	msi := find(t, "tierline-agent-1.4.2-x64.msi")
	wantAll(t, "msiinfo tables", run(t, "msiinfo", "tables", msi), "ServiceInstall", "ServiceControl", "Property", "Registry", "Upgrade")
	wantAll(t, "Property table", run(t, "msiinfo", "export", msi, "Property"), "TOKEN", "RECIPE_KEY", "ProductVersion\t1.4.2", "UpgradeCode")
	wantAll(t, "ServiceInstall table", run(t, "msiinfo", "export", msi, "ServiceInstall"), "tierline-agent", "service-run", "[TOKEN]", "--enroll-recipe-key", "[RECIPE_KEY]")
	// At sign-in Windows starts the tray program itself, from the install folder.
	wantAll(t, "Registry table", run(t, "msiinfo", "export", msi, "Registry"), "CurrentVersion\\Run", "TierlineTray", `"[INSTALLDIR]tierline-tray.exe"`)
	wantAll(t, "File table", run(t, "msiinfo", "export", msi, "File"), "tierline-agent.exe", "tierline-tray.exe")
	cert := filepath.Join(outDir, "keys", "codesign-dev.pem")
	wantAll(t, "MSI signature", run(t, "osslsigncode", "verify", "-CAfile", cert, "-in", msi), "Signature verification: ok")
	// The exes inside the MSI are signed too.
	dir := t.TempDir()
	cmd := exec.Command("msiextract", "-C", dir, msi)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("msiextract: %v\n%s", err, out)
	}
	for _, name := range []string{"tierline-agent.exe", "tierline-tray.exe"} {
		var exe string
		filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error {
			if filepath.Base(p) == name {
				exe = p
			}
			return nil
		})
		if exe == "" {
			t.Fatalf("no %s in the MSI", name)
		}
		wantAll(t, name+" signature", run(t, "osslsigncode", "verify", "-CAfile", cert, "-in", exe), "Signature verification: ok")
	}
}

// The Windows exes releases and updates take from dist/bin are signed like
// the ones inside the MSI.
func TestWindowsExesInDistSigned(t *testing.T) {
	need(t, "osslsigncode")
	packages(t)
	cert := filepath.Join(outDir, "keys", "codesign-dev.pem")
	for _, name := range []string{"tierline-agent-windows-amd64.exe", "tierline-tray-windows-amd64.exe"} {
		exe := filepath.Join(outDir, "bin", name)
		if _, err := os.Stat(exe); err != nil {
			t.Fatalf("no %s in dist/bin for releases: %v", name, err)
		}
		wantAll(t, name+" signature", run(t, "osslsigncode", "verify", "-CAfile", cert, "-in", exe), "Signature verification: ok")
	}
}

func TestMacTarball(t *testing.T) {
	p := find(t, "tierline-agent-1.4.2-darwin-arm64.tar.gz")
	list := run(t, "tar", "-tzf", p)
	wantAll(t, "tar.gz", list, "tierline-agent/tierline-agent", "tierline-agent/tierline-tray", "tierline-agent/com.tierline.agent.plist",
		"tierline-agent/install.sh", "tierline-agent/build-pkg.sh")
	// The release binaries are built without cgo, and such a macOS tray
	// cannot show an icon (agent/tray/nocgo_darwin.go is what it builds):
	// nothing starts it at sign-in.
	golist := exec.Command("go", "list", "-f", "{{.GoFiles}}", "../../agent/tray")
	golist.Env = append(os.Environ(), "GOOS=darwin", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := golist.CombinedOutput(); err != nil || !strings.Contains(string(out), "nocgo_darwin.go") {
		t.Fatalf("the macOS tray without cgo no longer builds nocgo_darwin.go (%v: %s): if it can run now, ship its LaunchAgent again", err, out)
	}
	if strings.Contains(list, "com.tierline.tray.plist") {
		t.Errorf("the macOS tar.gz carries the tray's LaunchAgent, for a tray built without cgo that cannot run:\n%s", list)
	}
	// Both install paths put the tray where gethelp finds it, and install
	// the LaunchAgent only beside a tray built on a Mac with cgo
	// (installers/macos's plist, looking where they put it).
	dir := t.TempDir()
	run(t, "tar", "-xzf", p, "-C", dir)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, "tierline-agent", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	plist, err := os.ReadFile("../../installers/macos/com.tierline.tray.plist")
	if err != nil {
		t.Fatal(err)
	}
	wantAll(t, "tray LaunchAgent", string(plist), "<string>/usr/local/bin/tierline-tray</string>", "<string>Aqua</string>")
	wantAll(t, "install.sh", read("install.sh"), `"$here/tierline-tray" /usr/local/bin/tierline-tray`,
		`if [ -f "$here/com.tierline.tray.plist" ]; then`+"\n\tinstall -m 0644 \"$here/com.tierline.tray.plist\" /Library/LaunchAgents/")
	wantAll(t, "build-pkg.sh", read("build-pkg.sh"), `"$here/tierline-tray" "$root/usr/local/bin/"`,
		`if [ -f "$here/com.tierline.tray.plist" ]; then install -m 0644 "$here/com.tierline.tray.plist" "$root/Library/LaunchAgents/"; fi`)
	if got := read("tierline-tray"); got != "mach-o tray stand-in" {
		t.Errorf("tierline-tray in the tar.gz is %q", got)
	}
}

// TestDebInstallInThrowawayRoot installs the agent .deb with dpkg into a
// temporary root with its own dpkg database: the files land, the token in
// /etc/tierline/enroll.token enrolls, an upgrade keeps the state, remove
// keeps it and purge deletes it.
func TestDebInstallInThrowawayRoot(t *testing.T) {
	need(t, "dpkg")
	deb := find(t, "tierline-agent_1.4.2_amd64.deb")
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/log", "etc/tierline"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644)
	os.WriteFile(filepath.Join(root, "etc/tierline/enroll.token"), []byte("tl1.test-token\n"), 0o600)
	const recipeKey = "cmVjaXBlLWtleS1mb3ItdGhlLXRlc3QtMzItYnl0ZXM="
	os.WriteFile(filepath.Join(root, "etc/tierline/recipe-key.pub"), []byte(recipeKey+"\n"), 0o644)
	dpkg := func(args ...string) string {
		return run(t, "dpkg", append([]string{"--root=" + root, "--force-script-chrootless", "--force-not-root", "--log=/dev/null"}, args...)...)
	}
	out := dpkg("-i", deb)
	wantAll(t, "install output", out, "enrolling with the token from /etc/tierline/enroll.token")
	for _, f := range []string{"usr/bin/tierline-agent", "usr/bin/tierline-tray", "usr/lib/systemd/system/tierline-agent.service", "etc/xdg/autostart/tierline-tray.desktop"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("installed file: %v", err)
		}
	}
	// Each user's session starts the tray program at sign-in, and it runs.
	desktop, _ := os.ReadFile(filepath.Join(root, "etc/xdg/autostart/tierline-tray.desktop"))
	wantAll(t, "tray autostart entry", string(desktop), "\nExec=/usr/bin/tierline-tray\n", "\nTryExec=/usr/bin/tierline-tray\n", "\nType=Application\n")
	wantAll(t, "installed tray", run(t, filepath.Join(root, "usr/bin/tierline-tray")), "tray stand-in")
	unit, _ := os.ReadFile(filepath.Join(root, "usr/lib/systemd/system/tierline-agent.service"))
	wantAll(t, "agent unit", string(unit), "ExecStart=/usr/bin/tierline-agent run --state /var/lib/tierline-agent", "Restart=on-failure")
	log, _ := os.ReadFile(filepath.Join(root, "var/log/fake-agent.log"))
	wantAll(t, "agent calls", string(log), "enroll --token tl1.test-token --state "+root+"/var/lib/tierline-agent --recipe-key "+recipeKey)
	identity := filepath.Join(root, "var/lib/tierline-agent/identity.json")
	if _, err := os.Stat(identity); err != nil {
		t.Fatalf("not enrolled: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/tierline/enroll.token")); !os.IsNotExist(err) {
		t.Error("the used enrollment token was left in /etc/tierline")
	}
	if st, _ := os.Stat(filepath.Join(root, "var/lib/tierline-agent")); st == nil || st.Mode().Perm() != 0o700 {
		t.Errorf("state directory mode: %v", st)
	}
	dpkg("-i", deb) // upgrade (reinstall) keeps the state and does not enroll again
	if _, err := os.Stat(identity); err != nil {
		t.Fatalf("upgrade lost the state: %v", err)
	}
	if log2, _ := os.ReadFile(filepath.Join(root, "var/log/fake-agent.log")); strings.Count(string(log2), "enroll") != 1 {
		t.Errorf("enrolled again on upgrade:\n%s", log2)
	}
	dpkg("-r", "tierline-agent")
	if _, err := os.Stat(identity); err != nil {
		t.Fatalf("remove deleted the state: %v", err)
	}
	// The autostart entry is a conffile: it stays until purge, and its
	// TryExec makes sessions skip it while the tray is not installed.
	for _, f := range []string{"usr/bin/tierline-agent", "usr/bin/tierline-tray"} {
		if _, err := os.Stat(filepath.Join(root, f)); !os.IsNotExist(err) {
			t.Errorf("remove left %s", f)
		}
	}
	dpkg("-P", "tierline-agent")
	if _, err := os.Stat(filepath.Join(root, "var/lib/tierline-agent")); !os.IsNotExist(err) {
		t.Errorf("purge kept the state: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/xdg/autostart/tierline-tray.desktop")); !os.IsNotExist(err) {
		t.Errorf("purge kept the tray's autostart entry: %v", err)
	}
}

// TestOnlyAmd64Deb: --skip and --arch build only what is asked for (the
// test machine wants the amd64 .deb alone).
func TestOnlyAmd64Deb(t *testing.T) {
	dir := t.TempDir()
	bins := filepath.Join(dir, "bin")
	os.MkdirAll(bins, 0o755)
	os.WriteFile(filepath.Join(bins, "tierline-agent-linux-amd64"), []byte(fakeAgent), 0o755)
	os.WriteFile(filepath.Join(bins, "tierline-tray-linux-amd64"), []byte(fakeTray), 0o755)
	os.WriteFile(filepath.Join(bins, "tierline-hub-linux-amd64"), []byte("#!/bin/sh\n"), 0o755)
	out := filepath.Join(dir, "dist")
	built, err := Build(Options{Version: "v1.4.2", Out: out, Repo: "../..", BinDir: bins,
		Skip: map[string]bool{"rpm": true, "msi": true, "tar": true}, Arches: []string{"amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(out, "tierline-agent_1.4.2_amd64.deb"), filepath.Join(out, "tierline-hub_1.4.2_amd64.deb")}
	if d := cmp.Diff(want, built); d != "" {
		t.Fatalf("built (-want +got):\n%s", d)
	}
}

// TestBuildFlags: the agent service is built without HTTP/2 and without
// inlining outside the runtime (smaller binary, smaller resident memory),
// the Windows tray as a GUI program.
func TestBuildFlags(t *testing.T) {
	noInline := []string{"-gcflags=all=-l", "-gcflags=runtime=", "-gcflags=internal/...=", "-gcflags=sync/...="}
	agent := append(append([]string{"-tags", "nethttpomithttp2"}, noInline...), "-ldflags", "-s -w")
	for _, tc := range []struct {
		name, goos string
		want       []string
	}{
		{"tierline-agent", "linux", agent},
		{"tierline-agent", "windows", agent},
		{"tierline-tray", "windows", []string{"-ldflags", "-s -w -H=windowsgui"}},
		{"tierline-tray", "linux", []string{"-ldflags", "-s -w"}},
		{"tierline-hub", "linux", []string{"-ldflags", "-s -w"}},
	} {
		if d := cmp.Diff(tc.want, buildFlags(tc.name, tc.goos, "-s -w")); d != "" {
			t.Errorf("%s for %s (-want +got):\n%s", tc.name, tc.goos, d)
		}
	}
}
