package health

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// proxy-unreachable finds the proxies this machine is told to use and
// connects to each once: a proxy setting left behind by an old network
// (a refused port, a name that no longer exists) breaks every program that
// honours it while the network itself is fine. Sources: the agent's own
// environment (the service's), /etc/environment, /etc/profile.d and apt on
// Linux; WinHTTP on Windows; scutil --proxy on macOS (proxy_windows.go,
// proxy_darwin.go).

// proxySetting is one proxy found in one place.
type proxySetting struct {
	Source string // where it was found
	Var    string // which setting
	Addr   string // host:port
}

// proxyVars are the environment variables programs read a proxy from.
var proxyVars = []string{"http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"}

// proxyAddr turns a proxy value ("http://user:pw@proxy:3128/", "proxy:8080",
// "socks5://10.0.0.1") into host:port, without the credentials. ok is
// false for values that name no proxy.
func proxyAddr(v string) (string, bool) {
	v = strings.Trim(strings.TrimSpace(v), `"'`)
	if v == "" || strings.EqualFold(v, "DIRECT") || strings.EqualFold(v, "false") {
		return "", false
	}
	if !strings.Contains(v, "://") {
		v = "http://" + v
	}
	u, err := url.Parse(v)
	if err != nil || u.Hostname() == "" {
		return "", false
	}
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			port = "443"
		case "socks", "socks4", "socks4a", "socks5", "socks5h":
			port = "1080"
		default:
			port = "80"
		}
	}
	return net.JoinHostPort(u.Hostname(), port), true
}

// parseEnvProxies reads proxy variables from KEY=VALUE lines
// (/etc/environment) and shell "export KEY=VALUE" lines (profile.d).
func parseEnvProxies(source string, b []byte) []proxySetting {
	var out []proxySetting
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimSpace(strings.TrimPrefix(line, "export "))
		k, v, found := strings.Cut(line, "=")
		if !found || !slices.Contains(proxyVars, k) {
			continue
		}
		if a, ok := proxyAddr(v); ok {
			out = append(out, proxySetting{Source: source, Var: k, Addr: a})
		}
	}
	return out
}

// parseAptProxies reads `Acquire::http::Proxy "http://proxy:3142/";` lines.
func parseAptProxies(source string, b []byte) []proxySetting {
	var out []proxySetting
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "//") || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(strings.TrimSuffix(line, ";"))
		if len(f) != 2 || !strings.HasPrefix(f[0], "Acquire::") || !strings.HasSuffix(strings.ToLower(f[0]), "::proxy") {
			continue
		}
		if a, ok := proxyAddr(f[1]); ok {
			out = append(out, proxySetting{Source: source, Var: f[0], Addr: a})
		}
	}
	return out
}

// parseWinHTTPProxy parses `netsh winhttp show proxy`: "Proxy Server(s) :
// proxy:8080" or "http=a:80;https=b:443"; "Direct access" means none.
func parseWinHTTPProxy(out string) []proxySetting {
	var res []proxySetting
	for _, p := range keyValues(out) {
		if !strings.HasPrefix(p[0], "Proxy Server") {
			continue
		}
		for _, item := range strings.Split(p[1], ";") {
			name := "proxy"
			if k, v, found := strings.Cut(item, "="); found {
				name, item = k, v
			}
			if a, ok := proxyAddr(item); ok {
				res = append(res, proxySetting{Source: "WinHTTP", Var: name, Addr: a})
			}
		}
	}
	return res
}

// parseScutilProxy parses `scutil --proxy`: HTTPEnable/HTTPProxy/HTTPPort
// and the same for HTTPS and SOCKS.
func parseScutilProxy(out string) []proxySetting {
	kv := map[string]string{}
	for _, p := range keyValues(out) {
		kv[p[0]] = p[1]
	}
	var res []proxySetting
	for _, kind := range []string{"HTTP", "HTTPS", "SOCKS"} {
		if kv[kind+"Enable"] != "1" || kv[kind+"Proxy"] == "" {
			continue
		}
		port := kv[kind+"Port"]
		if port == "" {
			port = map[string]string{"HTTP": "80", "HTTPS": "443", "SOCKS": "1080"}[kind]
		}
		res = append(res, proxySetting{Source: "system proxy settings", Var: kind + "Proxy", Addr: net.JoinHostPort(kv[kind+"Proxy"], port)})
	}
	return res
}

// keyValues parses "Key : Value" lines, in order.
func keyValues(out string) [][2]string {
	var kv [][2]string
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kv = append(kv, [2]string{strings.TrimSpace(k), strings.TrimSpace(strings.TrimRight(v, "\r"))})
	}
	return kv
}

// unixProxySettings reads the Linux places under c.Root: bounded, a few
// small files, each read again only when it changed (pf).
func unixProxySettings(c *Config, getenv func(string) string, pf *proxyFiles) []proxySetting {
	var out []proxySetting
	for _, k := range proxyVars {
		if a, ok := proxyAddr(getenv(k)); ok {
			out = append(out, proxySetting{Source: "the agent's environment", Var: k, Addr: a})
		}
	}
	pf.mu.Lock()
	defer pf.mu.Unlock()
	seen := map[string]proxyFile{}
	for _, pat := range []string{"/etc/environment", "/etc/profile.d/*.sh", "/etc/apt/apt.conf", "/etc/apt/apt.conf.d/*"} {
		for _, f := range limit(pf.glob(c.path(pat)), 64) {
			rel := "/" + strings.TrimPrefix(filepath.ToSlash(strings.TrimPrefix(f, filepath.Clean(c.Root))), "/")
			parse := parseEnvProxies
			if strings.Contains(pat, "apt") {
				parse = parseAptProxies
			}
			pf.read(f, rel, parse, seen)
			out = append(out, seen[f].settings...)
		}
	}
	pf.files = seen // files gone are forgotten
	return out
}

// proxyFiles remembers what each proxy file said while its size and
// modification time stay the same, and the files a pattern matched while
// their folder's modification time does: the check runs each minute, and
// a stat is one system call where reading and parsing a file is several.
type proxyFiles struct {
	mu    sync.Mutex
	files map[string]proxyFile
	globs map[string]proxyGlob
}

type proxyFile struct {
	stamp    stamp
	settings []proxySetting
}

type proxyGlob struct {
	dir   stamp
	files []string
}

// glob is filepath.Glob for a pattern whose wildcards are in its last
// element, again only when the folder changed.
func (pf *proxyFiles) glob(pat string) []string {
	fi, err := os.Stat(filepath.Dir(pat))
	if err != nil {
		delete(pf.globs, pat)
		return nil
	}
	if g, ok := pf.globs[pat]; ok && g.dir.same(stampOf(fi)) {
		return g.files
	}
	files, _ := filepath.Glob(pat)
	if pf.globs == nil {
		pf.globs = map[string]proxyGlob{}
	}
	pf.globs[pat] = proxyGlob{dir: stampOf(fi), files: files}
	return files
}

// read puts what file f (shown as rel) says into seen, parsed again only
// when it changed; a file that cannot be read says nothing.
func (pf *proxyFiles) read(f, rel string, parse func(source string, b []byte) []proxySetting, seen map[string]proxyFile) {
	fi, err := os.Stat(f)
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	if e, ok := pf.files[f]; ok && e.stamp.same(stampOf(fi)) {
		seen[f] = e
		return
	}
	b, err := readBounded(f, 64<<10)
	if err != nil {
		return
	}
	seen[f] = proxyFile{stamp: stampOf(fi), settings: parse(rel, b)}
}

func checkProxies(ctx context.Context, c *Config, env Env, pf *proxyFiles) diag.CheckResult {
	getenv := env.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	settings, err := proxySettings(ctx, c, getenv, pf)
	if err != nil && len(settings) == 0 {
		return unknown("Could not read the proxy settings.", ev("error", "%v", err))
	}
	settings = dedupeProxies(settings)
	addrs := map[string]error{}
	for _, s := range settings {
		addrs[s.Addr] = nil
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var d net.Dialer
	for a := range limitMap(addrs, 8) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dctx, cancel := context.WithTimeout(ctx, min(c.DialTimeout, 3*time.Second))
			defer cancel()
			conn, err := d.DialContext(dctx, "tcp", a)
			if err == nil {
				conn.Close()
			}
			mu.Lock()
			addrs[a] = err
			mu.Unlock()
		}()
	}
	wg.Wait()
	return gradeProxies(settings, addrs)
}

func limitMap(m map[string]error, n int) map[string]error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[string]error{}
	for _, k := range limit(keys, n) {
		out[k] = nil
	}
	return out
}

// gradeProxies is the pure part of proxy-unreachable: dials holds the
// connect result of each proxy address.
func gradeProxies(settings []proxySetting, dials map[string]error) diag.CheckResult {
	if len(settings) == 0 {
		return ok("No proxy is set.")
	}
	var evidence []diag.Evidence
	var dead []string
	for _, s := range settings {
		err, tried := dials[s.Addr]
		label := fmt.Sprintf("%s in %s", s.Var, s.Source)
		switch {
		case !tried:
			evidence = append(evidence, ev(label, "%s (not tried)", s.Addr))
		case err != nil:
			evidence = append(evidence, ev(label, "%s: %s", s.Addr, proxyFailure(err)))
			if !slices.Contains(dead, s.Addr) {
				dead = append(dead, s.Addr)
			}
		default:
			evidence = append(evidence, ev(label, "%s: answers", s.Addr))
		}
	}
	if len(dead) > 0 {
		return result(diag.StatusFailing, "", "The proxy "+strings.Join(dead, ", ")+" this computer is set to use does not answer: "+
			"programs that use it cannot reach the internet, although the network itself may be fine.", evidence...)
	}
	return ok("Every proxy that is set answers.", evidence...)
}

func proxyFailure(err error) string {
	var de *net.DNSError
	switch {
	case refused(err):
		return "nothing listens there (connection refused)"
	case errors.As(err, &de) && de.IsNotFound:
		return "no such name"
	case errors.As(err, &de):
		return "its name cannot be looked up: " + de.Err
	}
	return "does not answer: " + netReason(err).Error()
}

// dedupeProxies drops a setting seen before in the same place (Windows
// reads http_proxy and HTTP_PROXY as one variable).
func dedupeProxies(in []proxySetting) []proxySetting {
	seen := map[string]bool{}
	var out []proxySetting
	for _, s := range in {
		k := s.Source + "\x00" + strings.ToLower(s.Var) + "\x00" + s.Addr
		if !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}
