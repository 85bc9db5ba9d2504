package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/tierline/tierline/agent/svcmgr"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/pkgversion"
	"github.com/tierline/tierline/shared/policy"
)

// Declared makes Checks of the hub policy's declarative checks that apply
// on this OS (shared/policy). They run no programs of their own: they read
// files, the registry, property lists and the process table, ask the
// service manager (agent/svcmgr), the resolver and the inventory, and open
// TCP connections and HTTP HEAD requests. Specs must have been validated.
func Declared(cfg Config, env Env, specs []policy.Check) []Check {
	if env.Now == nil {
		env.Now = time.Now
	}
	c := &cfg
	d := &declared{cfg: c, env: env, slots: make(chan struct{}, declaredAtOnce)}
	var services []string
	for _, s := range specs {
		if s.Service != nil && s.AppliesTo(runtime.GOOS) && !slices.Contains(services, s.Service.Name) {
			services = append(services, s.Service.Name)
		}
	}
	// The checks of one run share one read of the process table and one
	// query of the service manager.
	d.procs = &sharedRead[[]string]{read: processNames}
	if env.ProcessNames != nil {
		d.procs.read = func(context.Context) ([]string, error) {
			pn, ok := env.ProcessNames()
			if !ok {
				return nil, errors.New("no telemetry sample yet")
			}
			return pn.Names, nil
		}
	}
	d.services = &sharedRead[[]svcmgr.Status]{read: func(ctx context.Context) ([]svcmgr.Status, error) {
		return svcmgr.Query(ctx, services)
	}}
	var out []Check
	for _, s := range specs {
		if !s.AppliesTo(runtime.GOOS) {
			continue
		}
		last := &lastResult{every: s.Interval(), now: env.Now}
		run := func(ctx context.Context) diag.CheckResult {
			// A few at a time: fifty checks at once would each grow a
			// stack and hold their buffers together, and the agent's
			// memory is small (docs/benchmarks.md).
			select {
			case d.slots <- struct{}{}:
				defer func() { <-d.slots }()
			case <-ctx.Done():
				return unknown(s.Title + ": the check did not get to run in time.")
			}
			start := env.Now()
			res := d.run(ctx, s)
			if res.Status == diag.StatusWarning || res.Status == diag.StatusFailing {
				res.Fix = s.Fix
			}
			res.Name, res.Time = s.Name, start.UTC()
			res.Micros = env.Now().Sub(start).Microseconds()
			last.set(res)
			return res
		}
		// A process check judges the process list of the latest sample:
		// after a change, RunAfter waits for a sample taken since.
		sampled := s.Process != nil && env.ProcessNames != nil
		out = append(out, declaredCheck{checkFunc: checkFunc{name: s.Name, run: run, sampled: sampled}, last: last})
	}
	return out
}

// lastResult keeps a declarative check's last result for its interval:
// scheduled runs within it report that result (with the time it was
// taken); runs asked for (Fresh) run it.
type lastResult struct {
	every time.Duration
	now   func() time.Time
	mu    sync.Mutex
	res   *diag.CheckResult
}

// declaredCheck is a declarative Check; the Runner takes its last result
// without starting it while its interval lasts.
type declaredCheck struct {
	checkFunc
	last *lastResult
}

func (c declaredCheck) lastResult(ctx context.Context) (diag.CheckResult, bool) {
	return c.last.get(ctx)
}

var _ Check = declaredCheck{}

func (l *lastResult) get(ctx context.Context) (diag.CheckResult, bool) {
	if l.every <= 0 || isFresh(ctx) {
		return diag.CheckResult{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.res == nil || l.now().Sub(l.res.Time) >= l.every {
		return diag.CheckResult{}, false
	}
	return *l.res, true
}

func (l *lastResult) set(res diag.CheckResult) {
	if l.every <= 0 {
		return
	}
	l.mu.Lock()
	l.res = &res
	l.mu.Unlock()
}

// declaredAtOnce is how many declarative checks run at the same time.
const declaredAtOnce = 4

type declared struct {
	slots    chan struct{}
	cfg      *Config
	env      Env
	procs    *sharedRead[[]string]
	services *sharedRead[[]svcmgr.Status]

	// matches remembers, by path and pattern, whether a file's content
	// matched, while its size and modification time stay the same: the
	// pattern is compiled and the file read again only when it changed.
	matchMu sync.Mutex
	matches map[[2]string]contentMatch
}

type contentMatch struct {
	stamp   stamp
	matched bool
}

func (d *declared) run(ctx context.Context, s policy.Check) diag.CheckResult {
	met := func(what string, evidence ...diag.Evidence) diag.CheckResult {
		return ok(s.Title+": "+what+".", evidence...)
	}
	notMet := func(what string, evidence ...diag.Evidence) diag.CheckResult {
		return result(s.NotMet(), "", s.Title+": "+what+".", evidence...)
	}
	cantTell := func(what string, evidence ...diag.Evidence) diag.CheckResult {
		return unknown(s.Title+": "+what+".", evidence...)
	}
	switch s.Kind() {
	case policy.KindFile:
		return d.file(s.File, met, notMet, cantTell)
	case policy.KindRegistry:
		r := s.Registry
		key := ev("key", `HKLM\%s`, r.Key)
		v, found, err := readRegistry(r.Key, r.Value)
		switch {
		case err != nil:
			return cantTell("could not read the registry", key, ev("error", "%v", err))
		case !found:
			return notMet("the value is missing", key, ev("value", "%s", r.Value))
		case r.Equals != nil && v != *r.Equals:
			return notMet("the value differs", key, ev("value", "%s", r.Value), ev("is", "%s", v), ev("expected", "%s", *r.Equals))
		}
		return met("the value is set", key, ev("value", "%s", r.Value), ev("is", "%s", v))
	case policy.KindPlist:
		p := s.Plist
		v, found, err := readPlistKey(d.path(p.Path), p.Key)
		where := ev("file", "%s", p.Path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return notMet("the property list is missing", where)
		case err != nil:
			return cantTell("could not read the property list", where, ev("error", "%v", err))
		case !found:
			return notMet("the key is missing", where, ev("key", "%s", p.Key))
		case p.Equals != nil && v != *p.Equals:
			return notMet("the key differs", where, ev("key", "%s", p.Key), ev("is", "%s", v), ev("expected", "%s", *p.Equals))
		}
		return met("the key is set", where, ev("key", "%s", p.Key), ev("is", "%s", v))
	case policy.KindProcess:
		p := s.Process
		names, err := d.procs.get(ctx)
		if err != nil {
			return cantTell("could not list processes", ev("error", "%v", err))
		}
		n := 0
		for _, have := range names {
			if sameProcess(have, p.Name) {
				n++
			}
		}
		proc := ev("process", "%s", p.Name)
		switch {
		case n > 0 && p.Absent:
			return notMet("it is running and should not be", proc, ev("running", "%d", n))
		case n > 0:
			return met("running", proc, ev("running", "%d", n))
		case p.Absent:
			return met("not running", proc)
		}
		return notMet("not running", proc)
	case policy.KindService:
		sv := s.Service
		want := sv.State
		if want == "" {
			want = "running"
		}
		states, err := d.services.get(ctx)
		if err != nil {
			return cantTell("could not read service states", ev("error", "%v", err))
		}
		i := slices.IndexFunc(states, func(st svcmgr.Status) bool { return st.Name == sv.Name })
		if i < 0 {
			return cantTell("the service manager did not answer for it", ev("service", "%s", sv.Name))
		}
		st := states[i]
		evs := []diag.Evidence{ev("service", "%s", sv.Name), ev("state", "%s", st.State), ev("expected", "%s", want)}
		if strings.HasPrefix(st.State, "unknown") {
			return cantTell("its state could not be read", evs...)
		}
		if st.Running == (want == "running") {
			return met(want, evs...)
		}
		return notMet("the service is "+st.State, evs...)
	case policy.KindDNS:
		n := s.DNS
		lctx, cancel := context.WithTimeout(ctx, timeoutOr(n.Timeout))
		defer cancel()
		start := time.Now()
		addrs, err := net.DefaultResolver.LookupHost(lctx, n.Name)
		took := ev("took", "%s", time.Since(start).Round(time.Millisecond))
		if err != nil {
			return notMet("the name does not resolve", ev("name", "%s", n.Name), ev("error", "%s", dnsError(err)), took)
		}
		return met("the name resolves", ev("name", "%s", n.Name), ev("addresses", "%s", strings.Join(limit(addrs, 4), ", ")), took)
	case policy.KindTCP:
		t := s.TCP
		target := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
		dctx, cancel := context.WithTimeout(ctx, timeoutOr(t.Timeout))
		defer cancel()
		start := time.Now()
		var dl net.Dialer
		conn, err := dl.DialContext(dctx, "tcp", target)
		took := ev("took", "%s", time.Since(start).Round(time.Millisecond))
		if err != nil {
			return notMet("the port does not answer", ev("target", "%s", target), ev("error", "%v", err), took)
		}
		conn.Close()
		return met("the port answers", ev("target", "%s", target), took)
	case policy.KindHTTP:
		return d.http(ctx, s.HTTP, met, notMet)
	case policy.KindPackage:
		return d.pkg(s.Package, met, notMet, cantTell)
	}
	return cantTell("this agent does not know the check's kind")
}

type verdict func(what string, evidence ...diag.Evidence) diag.CheckResult

func (d *declared) path(p string) string {
	if d.cfg.Root == "" || d.cfg.Root == "/" {
		return p
	}
	return filepath.Join(d.cfg.Root, p)
}

func (d *declared) file(f *policy.FileCheck, met, notMet, cantTell verdict) diag.CheckResult {
	where := ev("path", "%s", f.Path)
	st, err := os.Stat(d.path(f.Path))
	switch {
	case errors.Is(err, fs.ErrNotExist) && f.Absent:
		return met("the file is absent", where)
	case errors.Is(err, fs.ErrNotExist):
		return notMet("the file is missing", where)
	case err != nil:
		return cantTell("could not look at the file", where, ev("error", "%v", err))
	case f.Absent:
		return notMet("the file exists and should not", where)
	}
	age := d.env.Now().Sub(st.ModTime())
	evs := []diag.Evidence{where, ev("size", "%d bytes", st.Size()), ev("modified", "%s (%s ago)", st.ModTime().UTC().Format(time.RFC3339), age.Round(time.Second))}
	switch {
	case f.MaxAge != 0 && age > f.MaxAge.D():
		return notMet(fmt.Sprintf("the file is older than %s", f.MaxAge.D()), evs...)
	case f.MinSize != 0 && st.Size() < f.MinSize:
		return notMet(fmt.Sprintf("the file is smaller than %d bytes", f.MinSize), evs...)
	case f.MaxSize != 0 && st.Size() > f.MaxSize:
		return notMet(fmt.Sprintf("the file is larger than %d bytes", f.MaxSize), evs...)
	}
	if f.Match != "" {
		if !st.Mode().IsRegular() {
			// Not a folder, a device or a pipe: reading one could block.
			return notMet("the path is not a regular file; its content cannot match", evs...)
		}
		matched, res, ok := d.contentMatches(f, st, evs, cantTell)
		if !ok {
			return res
		}
		// The evidence says whether the content matched, never what it
		// holds: a policy must not read secrets off the machine.
		if !matched {
			return notMet("the content does not match", append(evs, ev("content", "does not match %s", f.Match))...)
		}
		evs = append(evs, ev("content", "matches %s", f.Match))
	}
	return met("the file is as expected", evs...)
}

// contentMatches tells whether the content of f's file (st) matches its
// pattern, from memory when the file has not changed since; ok false with
// the result to report when that cannot be told.
func (d *declared) contentMatches(f *policy.FileCheck, st fs.FileInfo, evs []diag.Evidence, cantTell verdict) (matched bool, res diag.CheckResult, ok bool) {
	key := [2]string{f.Path, f.Match}
	d.matchMu.Lock()
	m, seen := d.matches[key]
	d.matchMu.Unlock()
	if seen && m.stamp.same(stampOf(st)) {
		return m.matched, diag.CheckResult{}, true
	}
	// Compiled when the file changed, not kept: fifty checks' programs
	// would stay in the heap.
	re, err := regexp.Compile(f.Match)
	if err != nil {
		return false, cantTell("the content pattern does not compile", append(evs, ev("error", "%v", err))...), false
	}
	b, err := readBounded(d.path(f.Path), policy.MaxMatchRead)
	if err != nil {
		return false, cantTell("could not read the file", append(evs, ev("error", "%v", err))...), false
	}
	matched = re.Match(b)
	d.matchMu.Lock()
	if d.matches == nil {
		d.matches = map[[2]string]contentMatch{}
	}
	d.matches[key] = contentMatch{stamp: stampOf(st), matched: matched}
	d.matchMu.Unlock()
	return matched, diag.CheckResult{}, true
}

func (d *declared) http(ctx context.Context, h *policy.HTTPCheck, met, notMet verdict) diag.CheckResult {
	want := h.Status
	if want == 0 {
		want = http.StatusOK
	}
	ctx, cancel := context.WithTimeout(ctx, timeoutOr(h.Timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, h.URL, nil)
	if err != nil {
		return notMet("the URL cannot be asked", ev("url", "%s", h.URL), ev("error", "%v", err))
	}
	req.Header.Set("User-Agent", "tierline-agent health check")
	// One transport a run: no connection is kept between checks (they
	// run minutes apart), each request is bounded by its context.
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment, DisableKeepAlives: true, MaxResponseHeaderBytes: 64 << 10,
		TLSClientConfig: checkTLS(req.URL.Hostname())}
	defer tr.CloseIdleConnections()
	cl := &http.Client{
		// A redirect is the answer: the check says where it points.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     tr,
	}
	start := time.Now()
	resp, err := cl.Do(req)
	took := ev("took", "%s", time.Since(start).Round(time.Millisecond))
	if err != nil {
		return notMet("no answer", ev("url", "%s", h.URL), ev("error", "%v", err), took)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	evs := []diag.Evidence{ev("url", "%s", h.URL), ev("status", "%d", resp.StatusCode), ev("expected", "%d", want), took}
	if loc := resp.Header.Get("Location"); loc != "" {
		evs = append(evs, ev("redirects to", "%s", clipText(loc, 200)))
	}
	if resp.StatusCode != want {
		return notMet(fmt.Sprintf("answered %d, not %d", resp.StatusCode, want), evs...)
	}
	return met(fmt.Sprintf("answered %d", resp.StatusCode), evs...)
}

func (d *declared) pkg(p *policy.PackageCheck, met, notMet, cantTell verdict) diag.CheckResult {
	if d.env.Packages == nil {
		return cantTell("the installed software is not known yet")
	}
	pkgs, known := d.env.Packages()
	if !known {
		return cantTell("the installed software is not known yet (the first inventory is still being read)")
	}
	name := ev("package", "%s", p.Name)
	have, installed := pkgs.Version(p.Name)
	switch {
	case !installed && p.Absent:
		return met("not installed", name)
	case !installed:
		return notMet("not installed", name)
	case p.Absent:
		return notMet("installed and should not be", name, ev("version", "%s", have))
	}
	if p.MinVersion != "" && pkgversion.Less(have, p.MinVersion) {
		return notMet(fmt.Sprintf("version %s is older than %s", have, p.MinVersion), name, ev("version", "%s", have), ev("at least", "%s", p.MinVersion))
	}
	return met("version "+have+" installed", name, ev("version", "%s", have))
}

func timeoutOr(t policy.Duration) time.Duration {
	if t <= 0 {
		return policy.DefaultTimeout
	}
	return t.D()
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// sameProcess compares a listed process name with a wanted one as the OS
// names processes (catalog.SameProcessName); on Linux a listed name of 15
// bytes may be the kernel's cut of a longer one, and matches its start.
func sameProcess(have, want string) bool {
	if catalog.SameProcessName(runtime.GOOS, have, want) {
		return true
	}
	return runtime.GOOS == catalog.Linux && len(have) == linuxCommLen && strings.HasPrefix(want, have)
}

// linuxCommLen is the length at which Linux cuts a process's name (comm).
const linuxCommLen = 15

// processNames lists the names of running processes.
func processNames(ctx context.Context) ([]string, error) {
	ps, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		if n, err := p.NameWithContext(ctx); err == nil {
			out = append(out, n)
		}
	}
	return out, nil
}
