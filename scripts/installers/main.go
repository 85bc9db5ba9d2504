// Command installers builds Tierline's packages into an output directory
// (`make installers` writes dist/):
//
//   - tierline-agent and tierline-hub .deb and .rpm for amd64 and arm64
//     (github.com/goreleaser/nfpm/v2 as a library)
//   - tierline-agent-VERSION-x64.msi (wixl, from installers/windows), with
//     the Windows binaries and the MSI signed by osslsigncode; the signed
//     binaries stay in OUT/bin, where releases and updates take them
//   - tierline-agent-VERSION-darwin-ARCH.tar.gz (binaries, the agent's
//     launchd plist, install.sh and build-pkg.sh for making a .pkg on a
//     Mac; no tray LaunchAgent: see macTarball)
//
// Every agent package holds two programs: the tierline-agent service and
// tierline-tray, the tray and Get help page started in each user's session.
//
// Code signing uses --sign-cert/--sign-key (PEM; TIERLINE_SIGN_CERT and
// TIERLINE_SIGN_KEY); without them a development certificate is made in
// the output directory's keys/ folder.
package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager
)

// Options says what to build.
type Options struct {
	Version string
	LDFlags string
	Out     string
	// Repo is the repository root (installers/ lives there).
	Repo string
	// BinDir, if set, holds prebuilt binaries named NAME-GOOS-GOARCH[.exe];
	// nothing is compiled.
	BinDir   string
	SignCert string
	SignKey  string
	// Skip lists formats not to build: deb, rpm, msi, tar.
	Skip map[string]bool
	// Arches are the Linux and macOS architectures to build (default
	// amd64 and arm64).
	Arches []string
}

func main() {
	var o Options
	flag.StringVar(&o.Version, "version", "0.0.0", "package version (git describe output is turned into a package version)")
	flag.StringVar(&o.LDFlags, "ldflags", "", "go build -ldflags")
	flag.StringVar(&o.Out, "out", "dist", "output directory")
	flag.StringVar(&o.BinDir, "bin-dir", "", "use prebuilt binaries from this directory")
	flag.StringVar(&o.SignCert, "sign-cert", os.Getenv("TIERLINE_SIGN_CERT"), "code-signing certificate chain (PEM) [TIERLINE_SIGN_CERT]")
	flag.StringVar(&o.SignKey, "sign-key", os.Getenv("TIERLINE_SIGN_KEY"), "its private key (PEM) [TIERLINE_SIGN_KEY]")
	skip := flag.String("skip", "", "comma-separated formats not to build: deb, rpm, msi, tar")
	arches := flag.String("arch", "amd64,arm64", "comma-separated Linux and macOS architectures to build")
	flag.Parse()
	o.Repo = "."
	o.Skip = map[string]bool{}
	for _, f := range strings.Split(*skip, ",") {
		if f != "" {
			o.Skip[f] = true
		}
	}
	o.Arches = strings.Split(*arches, ",")
	outs, err := Build(o)
	for _, p := range outs {
		fmt.Println(p)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "installers: %v\n", err)
		os.Exit(1)
	}
}

var semverRE = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// PackageVersion turns a build version into one deb, rpm and the MSI take:
// a semantic version as is (without v), anything else (a git commit) as
// 0.0.0~dev.COMMIT; MSIVersion is its numeric part.
func PackageVersion(v string) (pkg, msi string) {
	if m := semverRE.FindStringSubmatch(v); m != nil {
		return strings.TrimPrefix(v, "v"), m[1] + "." + m[2] + "." + m[3]
	}
	clean := regexp.MustCompile(`[^0-9A-Za-z.]+`).ReplaceAllString(v, ".")
	return "0.0.0~dev." + strings.Trim(clean, "."), "0.0.0"
}

// Build makes every package and returns their paths.
func Build(o Options) ([]string, error) {
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	pkgVersion, msiVersion := PackageVersion(o.Version)
	bin := func(name, goos, arch string) (string, error) {
		ext := ""
		if goos == "windows" {
			ext = ".exe"
		}
		file := fmt.Sprintf("%s-%s-%s%s", name, goos, arch, ext)
		if o.BinDir != "" {
			p := filepath.Join(o.BinDir, file)
			_, err := os.Stat(p)
			return p, err
		}
		p := filepath.Join(o.Out, "bin", file)
		cmd := exec.Command("go", append(append([]string{"build", "-trimpath"}, buildFlags(name, goos, o.LDFlags)...),
			"-o", p, "./"+filepath.Join(product(name), "cmd", name))...)
		cmd.Dir = o.Repo
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+arch, "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("build %s %s/%s: %w\n%s", name, goos, arch, err, out)
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(o.Repo, p)
		}
		return p, nil
	}
	// The agent packages' two programs.
	agentBins := func(goos, arch string) (agent, tray string, err error) {
		if agent, err = bin("tierline-agent", goos, arch); err != nil {
			return "", "", err
		}
		tray, err = bin("tierline-tray", goos, arch)
		return agent, tray, err
	}
	arches := o.Arches
	if len(arches) == 0 {
		arches = []string{"amd64", "arm64"}
	}
	var outs []string
	for _, arch := range arches {
		if o.Skip["deb"] && o.Skip["rpm"] {
			break
		}
		agent, tray, err := agentBins("linux", arch)
		if err != nil {
			return outs, err
		}
		hub, err := bin("tierline-hub", "linux", arch)
		if err != nil {
			return outs, err
		}
		for _, format := range []string{"deb", "rpm"} {
			if o.Skip[format] {
				continue
			}
			for _, info := range []*nfpm.Info{agentInfo(o.Repo, agent, tray, arch, pkgVersion), hubInfo(o.Repo, hub, arch, pkgVersion)} {
				p, err := nfpmPackage(info, format, o.Out)
				if err != nil {
					return outs, err
				}
				outs = append(outs, p)
			}
		}
	}
	if !o.Skip["msi"] {
		exe, trayExe, err := agentBins("windows", "amd64")
		if err != nil {
			return outs, err
		}
		// Releases and updates take the exes from OUT/bin: they are signed
		// there, the same files the MSI then carries.
		if exe, trayExe, err = signWindows(o, exe, trayExe); err != nil {
			return outs, err
		}
		outs = append(outs, exe, trayExe)
		p, err := buildMSI(o, exe, trayExe, pkgVersion, msiVersion)
		if err != nil {
			return outs, err
		}
		outs = append(outs, p)
	}
	if !o.Skip["tar"] {
		for _, arch := range arches {
			b, tray, err := agentBins("darwin", arch)
			if err != nil {
				return outs, err
			}
			p := filepath.Join(o.Out, fmt.Sprintf("tierline-agent-%s-darwin-%s.tar.gz", pkgVersion, arch))
			if err := macTarball(p, b, tray, filepath.Join(o.Repo, "installers", "macos")); err != nil {
				return outs, err
			}
			outs = append(outs, p)
		}
	}
	return outs, nil
}

// product is the top-level folder of a program: agent or hub.
func product(name string) string {
	if name == "tierline-hub" {
		return "hub"
	}
	return "agent"
}

// buildFlags are go build's flags for a program. The agent service leaves
// out net/http's HTTP/2 (it speaks HTTP/1.1 to the hub: the WebSocket and
// update downloads) and inlining outside the Go runtime, which keeps its
// binary, and so its resident memory, smaller (docs/benchmarks.md). The
// Windows tray is a GUI program, so signing in opens no console window for
// it.
func buildFlags(name, goos, ldflags string) []string {
	switch {
	case name == "tierline-agent":
		return append(append([]string{"-tags", AgentTags}, AgentGCFlags...), "-ldflags", ldflags)
	case name == "tierline-tray" && goos == "windows":
		return []string{"-ldflags", strings.TrimSpace(ldflags + " -H=windowsgui")}
	}
	return []string{"-ldflags", ldflags}
}

// AgentTags are the build tags of the agent service (also in the Makefile).
const AgentTags = "nethttpomithttp2"

// AgentGCFlags turn inlining off for the agent service except in the Go
// runtime (the Makefile's AGENT_GCFLAGS; a later -gcflags wins for the
// packages it names).
var AgentGCFlags = []string{"-gcflags=all=-l", "-gcflags=runtime=", "-gcflags=internal/...=", "-gcflags=sync/...="}

func content(src, dst string, mode os.FileMode, typ string) *files.Content {
	return &files.Content{Source: src, Destination: dst, Type: typ, FileInfo: &files.ContentFileInfo{Mode: mode}}
}

func agentInfo(repo, binary, tray, arch, version string) *nfpm.Info {
	in := func(p string) string { return filepath.Join(repo, "installers", p) }
	return &nfpm.Info{
		Name: "tierline-agent", Arch: arch, Platform: "linux", Version: version, VersionSchema: "none",
		Section: "admin", Priority: "optional", Maintainer: "Tierline <support@tierline.invalid>",
		Description: "Tierline device agent: diagnostics, health checks and approved fixes for tiered IT support",
		Vendor:      "Tierline", Homepage: "https://github.com/tierline/tierline", License: "Proprietary",
		Overridables: nfpm.Overridables{
			Contents: files.Contents{
				content(binary, "/usr/bin/tierline-agent", 0o755, ""),
				content(tray, "/usr/bin/tierline-tray", 0o755, ""),
				content(in("systemd/tierline-agent.service"), "/usr/lib/systemd/system/tierline-agent.service", 0o644, ""),
				content(in("linux/tierline-tray.desktop"), "/etc/xdg/autostart/tierline-tray.desktop", 0o644, files.TypeConfig),
				{Destination: "/etc/tierline", Type: files.TypeDir, FileInfo: &files.ContentFileInfo{Mode: 0o755}},
			},
			Scripts: nfpm.Scripts{
				PostInstall: in("linux/agent-postinstall.sh"),
				PreRemove:   in("linux/agent-preremove.sh"),
				PostRemove:  in("linux/agent-postremove.sh"),
			},
		},
	}
}

func hubInfo(repo, binary, arch, version string) *nfpm.Info {
	in := func(p string) string { return filepath.Join(repo, "installers", p) }
	return &nfpm.Info{
		Name: "tierline-hub", Arch: arch, Platform: "linux", Version: version, VersionSchema: "none",
		Section: "admin", Priority: "optional", Maintainer: "Tierline <support@tierline.invalid>",
		Description: "Tierline hub: agent gateway, API and metrics for tiered IT support",
		Vendor:      "Tierline", Homepage: "https://github.com/tierline/tierline", License: "Proprietary",
		Overridables: nfpm.Overridables{
			Contents: files.Contents{
				content(binary, "/usr/bin/tierline-hub", 0o755, ""),
				content(in("systemd/tierline-hub.service"), "/usr/lib/systemd/system/tierline-hub.service", 0o644, ""),
				content(in("linux/hub.env"), "/etc/tierline/hub.env", 0o640, files.TypeConfigNoReplace),
			},
			Scripts: nfpm.Scripts{PostInstall: in("linux/hub-postinstall.sh")},
		},
	}
}

func nfpmPackage(info *nfpm.Info, format, out string) (string, error) {
	info = nfpm.WithDefaults(info)
	if err := nfpm.PrepareForPackager(info, format); err != nil {
		return "", fmt.Errorf("%s %s: %w", info.Name, format, err)
	}
	pkgr, err := nfpm.Get(format)
	if err != nil {
		return "", err
	}
	p := filepath.Join(out, pkgr.ConventionalFileName(info))
	f, err := os.Create(p)
	if err != nil {
		return "", err
	}
	info.Target = p
	if err := pkgr.Package(info, f); err != nil {
		f.Close()
		os.Remove(p)
		return "", fmt.Errorf("package %s %s %s: %w", info.Name, format, info.Arch, err)
	}
	return p, f.Close()
}

// signingKey returns the code-signing certificate and key, making a
// development pair in OUT/keys when none is configured.
func signingKey(o Options) (cert, key string, err error) {
	if o.SignCert != "" || o.SignKey != "" {
		if o.SignCert == "" || o.SignKey == "" {
			return "", "", errors.New("--sign-cert and --sign-key go together")
		}
		return o.SignCert, o.SignKey, nil
	}
	dir := filepath.Join(o.Out, "keys")
	cert, key = filepath.Join(dir, "codesign-dev.pem"), filepath.Join(dir, "codesign-dev.key")
	if _, err := os.Stat(cert); err == nil {
		return cert, key, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "Tierline development code signing", Organization: []string{"Tierline (development)"}},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(3, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return "", "", err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return "", "", err
	}
	return cert, key, os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// Sign signs a PE file or an MSI in place with osslsigncode.
func Sign(cert, key, path, description string) error {
	tmp := path + ".signed"
	cmd := exec.Command("osslsigncode", "sign", "-certs", cert, "-key", key, "-h", "sha256",
		"-n", description, "-i", "https://github.com/tierline/tierline", "-in", path, "-out", tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("osslsigncode sign %s (install it: apt-get install osslsigncode): %w\n%s", path, err, out)
	}
	return os.Rename(tmp, path)
}

// signWindows signs the Windows agent and tray in OUT/bin (copied there
// first when they were prebuilt elsewhere) and returns their paths there.
func signWindows(o Options, exe, trayExe string) (signedExe, signedTray string, err error) {
	cert, key, err := signingKey(o)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(filepath.Join(o.Out, "bin"), 0o755); err != nil {
		return "", "", err
	}
	var out []string
	for _, b := range []struct{ path, description string }{{exe, "Tierline agent"}, {trayExe, "Tierline tray"}} {
		dst, err := filepath.Abs(filepath.Join(o.Out, "bin", filepath.Base(b.path)))
		if err != nil {
			return "", "", err
		}
		if src, err := filepath.Abs(b.path); err != nil || src != dst {
			if err := copyFile(b.path, dst); err != nil {
				return "", "", err
			}
		}
		if err := Sign(cert, key, dst, b.description); err != nil {
			return "", "", err
		}
		out = append(out, dst)
	}
	return out[0], out[1], nil
}

// buildMSI packs the signed exes into the MSI and signs it.
func buildMSI(o Options, exe, trayExe, pkgVersion, msiVersion string) (string, error) {
	cert, key, err := signingKey(o)
	if err != nil {
		return "", err
	}
	work, err := os.MkdirTemp("", "tierline-msi-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	if err := copyFile(exe, filepath.Join(work, "tierline-agent.exe")); err != nil {
		return "", err
	}
	if err := copyFile(trayExe, filepath.Join(work, "tierline-tray.exe")); err != nil {
		return "", err
	}
	src, err := os.ReadFile(filepath.Join(o.Repo, "installers", "windows", "tierline-agent.wxs"))
	if err != nil {
		return "", err
	}
	wxs := strings.NewReplacer("@VERSION@", msiVersion, "@AGENT_EXE@", "tierline-agent.exe", "@TRAY_EXE@", "tierline-tray.exe").Replace(string(src))
	wxsPath := filepath.Join(work, "tierline-agent.wxs")
	if err := os.WriteFile(wxsPath, []byte(wxs), 0o644); err != nil {
		return "", err
	}
	out, err := filepath.Abs(filepath.Join(o.Out, "tierline-agent-"+pkgVersion+"-x64.msi"))
	if err != nil {
		return "", err
	}
	cmd := exec.Command("wixl", "-a", "x64", "-o", out, wxsPath)
	cmd.Dir = work // wixl takes File sources relative to its directory
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("wixl (install it: apt-get install wixl): %w\n%s", err, b)
	}
	return out, Sign(cert, key, out, "Tierline agent installer")
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// macTarball packs the darwin binaries with the launchd plists and scripts.
// The tray's LaunchAgent is left out: these binaries are built without cgo,
// and without cgo the macOS tray has no icon to show (it says so and
// exits), so starting it at every sign-in would only fail. tierline-tray
// ships for the Get help page, which works in every build; installers/macos
// says how to add a cgo tray and its LaunchAgent on a Mac.
func macTarball(path, binary, tray, macDir string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	add := func(src, name string, mode int64) error {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: "tierline-agent/" + name, Mode: mode, Size: int64(len(b)), ModTime: time.Now(), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	}
	err = errors.Join(
		add(binary, "tierline-agent", 0o755),
		add(tray, "tierline-tray", 0o755),
		add(filepath.Join(macDir, "com.tierline.agent.plist"), "com.tierline.agent.plist", 0o644),
		add(filepath.Join(macDir, "install.sh"), "install.sh", 0o755),
		add(filepath.Join(macDir, "build-pkg.sh"), "build-pkg.sh", 0o755),
	)
	if cerr := errors.Join(tw.Close(), gz.Close(), f.Close()); err == nil {
		err = cerr
	}
	return err
}
