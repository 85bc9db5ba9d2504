package health

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/disk"

	"github.com/tierline/tierline/agent/collect"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// userTmpfs reports whether a memory filesystem mounted at m is one users
// write to and so can fill: /tmp, /var/tmp, /dev/shm, /run and the
// per-user /run/user/UID (collect leaves tmpfs out of telemetry; the disk
// check must not).
func userTmpfs(m string) bool {
	switch m {
	case "/tmp", "/var/tmp", "/dev/shm", "/run", "/run/lock", "/private/tmp":
		return true
	}
	return strings.HasPrefix(m, "/run/user/")
}

func readOnly(opts []string) bool { return slices.Contains(opts, "ro") }

// writableFilesystems lists every filesystem the disk check judges: the
// real filesystems telemetry reports, less read-only ones, plus the
// memory filesystems users write to.
func writableFilesystems(ctx context.Context) ([]diag.Filesystem, error) {
	parts, err := mounts.partitions(ctx)
	if err != nil && len(parts) == 0 {
		return nil, fmt.Errorf("list mounts: %w", err)
	}
	var keep []disk.PartitionStat
	seen := map[string]bool{}
	for _, p := range collect.FilterMounts(parts) {
		if !readOnly(p.Opts) {
			keep, seen[p.Mountpoint] = append(keep, p), true
		}
	}
	for _, p := range parts {
		if p.Fstype == "tmpfs" && userTmpfs(p.Mountpoint) && !readOnly(p.Opts) && !seen[p.Mountpoint] {
			keep, seen[p.Mountpoint] = append(keep, p), true
		}
	}
	sort.Slice(keep, func(i, j int) bool { return keep[i].Mountpoint < keep[j].Mountpoint })
	var out []diag.Filesystem
	var lastErr error
	for _, p := range keep {
		fs, err := collect.Usage(ctx, p.Mountpoint)
		if err != nil {
			lastErr = err
			continue
		}
		fs.Device, fs.FSType = p.Device, p.Fstype
		out = append(out, fs)
	}
	if len(out) == 0 && lastErr != nil {
		return nil, lastErr
	}
	return out, nil
}

// place is a user-writable folder whose largest contents the disk check
// names when the filesystem holding it fills up.
type place struct {
	Path string
	// Temp: clear-temp empties it (its files older than a day).
	Temp bool
	// Home: a user's home folder; its children are the consumers.
	Home bool
	// User owns the home (its account name), for the fix that empties
	// its trash or caches; "" when not known.
	User string
}

// userPlaces lists the user-writable places on this OS: the temporary
// folders clear-temp cleans and each user's home.
func userPlaces(c *Config) []place {
	var out []place
	var temps, homeRoots []string
	switch runtime.GOOS {
	case "windows":
		sys := os.Getenv("SystemRoot")
		if sys == "" {
			sys = `C:\Windows`
		}
		temps = []string{filepath.Join(sys, "Temp")}
		homeRoots = []string{filepath.Join(filepath.VolumeName(sys)+`\`, "Users")}
	case "darwin":
		temps, homeRoots = []string{"/private/tmp", "/private/var/tmp"}, []string{"/Users"}
	default:
		temps, homeRoots = []string{"/tmp", "/var/tmp"}, []string{"/home"}
	}
	if c.TempDirs != nil {
		temps = c.TempDirs
	}
	if c.HomeRoots != nil {
		homeRoots = c.HomeRoots
	}
	for _, t := range temps {
		out = append(out, place{Path: t, Temp: true})
	}
	for _, r := range homeRoots {
		ents, err := os.ReadDir(r)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if e.IsDir() {
				h := filepath.Join(r, e.Name())
				out = append(out, place{Path: h, Home: true, User: homeOwner(h)})
			}
		}
	}
	if runtime.GOOS == "linux" && c.HomeRoots == nil {
		out = append(out, place{Path: "/root", Home: true, User: homeOwner("/root")})
	}
	return out
}

// consumer is one folder or file of a user-writable place, with what it
// holds.
type consumer struct {
	Path  string
	Bytes uint64
	Files int
	Kind  string // "temp", "trash", "cache" or "" (anything else)
	User  string // the home's owner, for trash and caches
}

// walkBudget bounds one walk for consumers.
type walkBudget struct {
	Entries int
	Time    time.Duration
}

// walkResult is what a bounded walk found.
type walkResult struct {
	Consumers []consumer
	Entries   int
	// Partial: the walk stopped at its budget; sizes are lower bounds.
	Partial bool
	Took    time.Duration
}

// consumerKind classifies a home's child (or a path below it).
func consumerKind(p place, rel string) string {
	switch {
	case p.Temp:
		return "temp"
	case rel == ".cache" || rel == filepath.Join("Library", "Caches") || rel == filepath.Join("AppData", "Local", "Temp"):
		return "cache"
	case rel == filepath.Join(".local", "share", "Trash") || rel == ".Trash":
		return "trash"
	}
	return ""
}

// bucketOf is where a path under a place is counted: the place's direct
// child, or the known cache and trash folders deeper in a home.
func bucketOf(p place, rel string) string {
	parts := strings.Split(rel, string(filepath.Separator))
	for _, n := range []int{3, 2} {
		if len(parts) >= n {
			if k := consumerKind(p, filepath.Join(parts[:n]...)); k == "cache" || k == "trash" {
				return filepath.Join(parts[:n]...)
			}
		}
	}
	return parts[0]
}

// walkConsumers walks places (those on device dev, when dev is known)
// breadth first within budget, adding each file's allocated size to its
// bucket, and returns the buckets largest first (by files when byFiles).
func walkConsumers(places []place, dev uint64, haveDev bool, budget walkBudget, byFiles bool, now func() time.Time) walkResult {
	start := now()
	type key struct{ place, bucket string }
	sums := map[key]*consumer{}
	var res walkResult
	type item struct {
		p   place
		dir string
	}
	var queue []item
	for _, p := range places {
		if fi, err := os.Lstat(p.Path); err == nil && fi.IsDir() {
			if d, ok := deviceOf(fi); haveDev && ok && d != dev {
				continue
			}
			queue = append(queue, item{p, p.Path})
		}
	}
walk:
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		ents, err := os.ReadDir(it.dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if res.Entries >= budget.Entries || now().Sub(start) > budget.Time {
				res.Partial = true
				break walk
			}
			res.Entries++
			full := filepath.Join(it.dir, e.Name())
			rel, _ := filepath.Rel(it.p.Path, full)
			b := bucketOf(it.p, rel)
			k := key{it.p.Path, b}
			cs := sums[k]
			if cs == nil {
				cs = &consumer{Path: filepath.Join(it.p.Path, b), Kind: consumerKind(it.p, b), User: it.p.User}
				sums[k] = cs
			}
			fi, err := e.Info()
			if err != nil {
				continue
			}
			if e.IsDir() {
				if d, ok := deviceOf(fi); !haveDev || !ok || d == dev {
					queue = append(queue, item{it.p, full})
				}
				continue
			}
			cs.Files++
			cs.Bytes += allocated(fi)
		}
	}
	for _, cs := range sums {
		if cs.Bytes > 0 || cs.Files > 0 {
			res.Consumers = append(res.Consumers, *cs)
		}
	}
	sort.Slice(res.Consumers, func(i, j int) bool {
		a, b := res.Consumers[i], res.Consumers[j]
		if byFiles && a.Files != b.Files {
			return a.Files > b.Files
		}
		if a.Bytes != b.Bytes {
			return a.Bytes > b.Bytes
		}
		return a.Path < b.Path
	})
	res.Took = now().Sub(start)
	return res
}

// maxConsumers is how many consumers the evidence names per filesystem.
const maxConsumers = 5

// consumerEvidence turns a walk into evidence lines, each with the fix
// that matches the consumer.
func consumerEvidence(mount string, w walkResult, byFiles bool) []diag.Evidence {
	var out []diag.Evidence
	for i, cs := range w.Consumers {
		if i == maxConsumers {
			break
		}
		what := ""
		switch cs.Kind {
		case "temp":
			what = "temporary files: clear-temp removes those older than a day"
		case "cache":
			what = "a user's cache: " + userFix(catalog.ClearUserCaches, cs.User) + " deletes it"
		case "trash":
			what = "a user's trash: " + userFix(catalog.EmptyTrash, cs.User) + " empties it"
		default:
			what = "the user's own files: ask before deleting"
		}
		size := fmt.Sprintf("%s in %d files", diag.HumanBytes(cs.Bytes), cs.Files)
		if byFiles {
			size = fmt.Sprintf("%d files (%s)", cs.Files, diag.HumanBytes(cs.Bytes))
		}
		out = append(out, ev("large on "+mount, "%s: %s; %s", cs.Path, size, what))
	}
	note := fmt.Sprintf("%d entries in %s", w.Entries, w.Took.Round(time.Millisecond))
	if w.Partial {
		note += " (stopped at its budget: sizes are at least these)"
	}
	if len(out) == 0 {
		note += "; nothing large in the user-writable places on it"
	}
	return append(out, ev("searched "+mount, "%s", note))
}

// userFix names a per-user fix with the user it is for.
func userFix(fix, user string) string {
	if user == "" {
		return fix + " (for the user at the screen, or user=NAME)"
	}
	return fix + " user=" + user
}

// consumerCache keeps each filesystem's last walk for a while, so a disk
// that stays full is not walked every minute.
type consumerCache struct {
	mu   sync.Mutex
	byFS map[string]cachedWalk
}

type cachedWalk struct {
	at      time.Time
	used    uint64
	byFiles bool
	ev      []diag.Evidence
	fix     string
}

// consumersTTL is how long a walk's result is reused.
const consumersTTL = 10 * time.Minute

// consumersRewalk is how much a filesystem's use may change (as a share
// of its size) before its last walk no longer describes it: after a fix
// freed space, or as something fills it, the evidence is walked again.
const consumersRewalk = 0.01

// consumers returns the evidence of the largest consumers on filesystem
// f, walking at most once per consumersTTL while its use stays put, and
// the fix for the largest when it is a user's trash or caches.
func (cc *consumerCache) consumers(c *Config, f diag.Filesystem, byFiles bool, now time.Time) ([]diag.Evidence, string) {
	mount := f.Mount
	cc.mu.Lock()
	defer cc.mu.Unlock()
	moved := func(w cachedWalk) bool {
		d := float64(f.Used) - float64(w.used)
		return d > consumersRewalk*float64(f.Total) || -d > consumersRewalk*float64(f.Total)
	}
	if w, ok := cc.byFS[mount]; ok && w.byFiles == byFiles && now.Sub(w.at) < consumersTTL && !moved(w) {
		return w.ev, w.fix
	}
	var dev uint64
	haveDev := false
	if fi, err := os.Stat(mount); err == nil {
		dev, haveDev = deviceOf(fi)
	}
	var on []place
	for _, p := range userPlaces(c) {
		if fi, err := os.Stat(p.Path); err == nil {
			if d, ok := deviceOf(fi); !haveDev || !ok || d == dev {
				on = append(on, p)
			}
		}
	}
	var ev []diag.Evidence
	fix := ""
	if len(on) > 0 {
		w := walkConsumers(on, dev, haveDev, walkBudget{Entries: c.WalkMaxEntries, Time: c.WalkMaxTime}, byFiles, time.Now)
		ev = consumerEvidence(mount, w, byFiles)
		if len(w.Consumers) > 0 && !byFiles {
			fix = map[string]string{"trash": catalog.EmptyTrash, "cache": catalog.ClearUserCaches}[w.Consumers[0].Kind]
		}
	}
	if cc.byFS == nil {
		cc.byFS = map[string]cachedWalk{}
	}
	cc.byFS[mount] = cachedWalk{at: now, used: f.Used, byFiles: byFiles, ev: ev, fix: fix}
	return ev, fix
}
