//go:build linux

// Package nspawn boots a real Debian machine with systemd for end-to-end
// tests: a debootstrap'd root cached on disk, booted with systemd-nspawn
// on a private network joined by a veth pair to a network namespace that
// holds the test's side (a hub, a DNS server). Boot, Exec, CopyIn and Stop
// drive one machine; EnsureRoot builds the root when it is missing.
package nspawn

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Recipe names the root's recipe: Suite, Packages and the setup in
// configure. Change it whenever any of them changes; a cached root with
// another recipe is rebuilt.
const Recipe = "bookworm-2"

// Suite is the Debian release of the machine.
const Suite = "bookworm"

// Packages are installed into the root besides the minimal base.
var Packages = []string{
	"systemd", "systemd-sysv", "dbus", "systemd-resolved", "systemd-timesyncd",
	"cups", "cups-client", "iproute2", "procps",
}

// The machine's network: the test namespace's end of the veth pair has
// HubIP, the machine's end MachineIP (systemd-networkd in the machine
// configures it from the root's .network file).
const (
	HubIP     = "10.77.0.1"
	MachineIP = "10.77.0.2"
	Prefix    = 24
	// Hostname is the machine's host name.
	Hostname = "testpc"
)

// DefaultCacheDir is where roots are kept between runs:
// $TIERLINE_TESTMACHINE_CACHE or /var/cache/tierline/testmachine.
func DefaultCacheDir() string {
	if d := os.Getenv("TIERLINE_TESTMACHINE_CACHE"); d != "" {
		return d
	}
	return "/var/cache/tierline/testmachine"
}

// Unavailable says why machines cannot be booted here, or "" when they
// can: not root, or a tool missing.
func Unavailable() string {
	if os.Geteuid() != 0 {
		return "the test machine needs root (systemd-nspawn, debootstrap, ip netns)"
	}
	var missing []string
	for _, tool := range []string{"systemd-nspawn", "debootstrap", "ip", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("%s not installed (apt-get install systemd-container debootstrap iproute2 util-linux; .ci/run does)",
			strings.Join(missing, ", "))
	}
	return ""
}

// Mirror is the Debian mirror debootstrap uses: $TIERLINE_TESTMACHINE_MIRROR,
// else the first URI of /etc/apt/sources.list.d/debian.sources, else
// deb.debian.org.
func Mirror() string {
	if m := os.Getenv("TIERLINE_TESTMACHINE_MIRROR"); m != "" {
		return m
	}
	if f, err := os.Open("/etc/apt/sources.list.d/debian.sources"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "URIs:"); ok {
				if fields := strings.Fields(v); len(fields) > 0 && !strings.Contains(fields[0], "security") {
					return fields[0]
				}
			}
		}
	}
	return "http://deb.debian.org/debian"
}

// EnsureRoot returns the machine's root directory under cacheDir,
// building it first when it is missing or was built from another Recipe.
// A build goes into a temporary directory renamed into place when
// complete, under a lock, so an interrupted build leaves nothing used.
func EnsureRoot(ctx context.Context, cacheDir string, log io.Writer) (string, error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(cacheDir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", cacheDir, err)
	}
	dir := filepath.Join(cacheDir, Suite)
	root := filepath.Join(dir, "root")
	if b, err := os.ReadFile(filepath.Join(dir, "recipe")); err == nil && strings.TrimSpace(string(b)) == Recipe {
		return root, nil
	}
	// Leftovers of interrupted builds.
	old, _ := filepath.Glob(filepath.Join(cacheDir, Suite+".tmp-*"))
	for _, o := range old {
		os.RemoveAll(o)
	}
	tmp, err := os.MkdirTemp(cacheDir, Suite+".tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	start := time.Now()
	fmt.Fprintf(log, "testmachine: building the %s root (recipe %s) in %s from %s\n", Suite, Recipe, dir, Mirror())
	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", "--include="+strings.Join(Packages, ","),
		Suite, filepath.Join(tmp, "root"), Mirror())
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("debootstrap: %w\n%s", err, tail(string(out), 4000))
	}
	if err := configure(ctx, filepath.Join(tmp, "root")); err != nil {
		return "", fmt.Errorf("configure the root: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "recipe"), []byte(Recipe+"\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	fmt.Fprintf(log, "testmachine: root built in %s\n", time.Since(start).Round(time.Second))
	return root, nil
}

// configure sets the root up as the test machine: its name, its network
// (systemd-networkd with a static address on the test's veth) and the
// services enabled at boot.
func configure(ctx context.Context, root string) error {
	files := map[string]string{
		"etc/hostname": Hostname + "\n",
		"etc/hosts":    "127.0.0.1 localhost\n127.0.1.1 " + Hostname + "\n",
		"etc/systemd/network/20-tierline-test.network": fmt.Sprintf(
			"# The test's veth (tlm-NAME), moved into the machine after boot. IPv4 only,\n"+
				"# so the link is configured (network-online.target) as soon as it is up.\n"+
				"[Match]\nName=tlm*\n\n[Network]\nAddress=%s/%d\nGateway=%s\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n",
			MachineIP, Prefix, HubIP),
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	out, err := exec.CommandContext(ctx, "chroot", root, "systemctl", "enable", "systemd-networkd", "systemd-resolved", "cups").CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemctl enable: %w\n%s", err, out)
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

var errStopped = errors.New("the machine stopped")
