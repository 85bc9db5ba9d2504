package health

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

func TestGradeDisksNamesInodesAndTmpfs(t *testing.T) {
	c := defaults(t)
	tests := []struct {
		name   string
		fs     diag.Filesystem
		status diag.Status
		in     string
		ev     [2]string
	}{
		{"tmpfs /tmp full", diag.Filesystem{Mount: "/tmp", FSType: "tmpfs", UsedPct: 100, Total: 1 << 30, InodesTotal: 1000, InodesFree: 900},
			diag.StatusFailing, "holding /tmp is full", [2]string{"/tmp", "100.0% used, 0 B free of 1.0 GiB; inodes 10.0% used (tmpfs: in memory"}},
		{"inodes out, space left", diag.Filesystem{Mount: "/var", UsedPct: 20, Total: 100 << 30, InodesTotal: 1000, InodesFree: 5},
			diag.StatusFailing, "run out of inodes", [2]string{"inodes on /var", "995 of 1000 used (99.5%)"}},
		{"inodes running low", diag.Filesystem{Mount: "/srv", UsedPct: 20, Total: 100 << 30, InodesTotal: 1000, InodesFree: 50},
			diag.StatusWarning, "running out of inodes", [2]string{"inodes on /srv", "950 of 1000"}},
		{"space and inodes both out: space named", diag.Filesystem{Mount: "/data", UsedPct: 99, Total: 100 << 30, InodesTotal: 1000, InodesFree: 1},
			diag.StatusFailing, "holding /data is full", [2]string{"inodes on /data", "999 of 1000"}},
	}
	for _, tt := range tests {
		got := gradeDisks(c, []diag.Filesystem{{Mount: "/", UsedPct: 30, Total: 50 << 30}, tt.fs})
		if got.Status != tt.status || got.Fix != catalog.ClearTemp || !strings.Contains(got.Summary, tt.in) || !hasEv(got, tt.ev[0], tt.ev[1]) {
			t.Errorf("%s: %+v", tt.name, got)
		}
	}
}

func TestWalkConsumersBoundedAndClassified(t *testing.T) {
	root := t.TempDir()
	mk := func(p string, size int) {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Non-zero bytes: a file of zeros may be stored sparse by some filesystems.
	fill := func(p string, size int) {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		b := make([]byte, size)
		for i := range b {
			b[i] = 'x'
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fill("home/alice/Downloads/big.iso", 3<<20)
	fill("home/alice/.cache/thumbs/a.png", 2<<20)
	fill("home/alice/.local/share/Trash/files/old.mkv", 1<<20)
	fill("home/bob/notes.txt", 100<<10)
	fill("tmp/build-1234/obj.o", 512<<10)
	for i := 0; i < 100; i++ {
		mk(filepath.Join("tmp/sessions", "s"+string(rune('a'+i%26))+strings.Repeat("x", i/26)), 1)
	}
	c := defaults(t)
	c.TempDirs, c.HomeRoots = []string{filepath.Join(root, "tmp")}, []string{filepath.Join(root, "home")}
	places := userPlaces(c)
	if len(places) != 3 {
		t.Fatalf("places %+v", places)
	}
	w := walkConsumers(places, 0, false, walkBudget{Entries: 10000, Time: time.Minute}, false, time.Now)
	if w.Partial || len(w.Consumers) < 5 {
		t.Fatalf("walk %+v", w)
	}
	want := []struct{ path, kind string }{
		{"home/alice/Downloads", ""}, {"home/alice/.cache", "cache"}, {"home/alice/.local/share/Trash", "trash"}, {"tmp/build-1234", "temp"},
	}
	for i, wnt := range want {
		got := w.Consumers[i]
		if got.Path != filepath.Join(root, wnt.path) || got.Kind != wnt.kind {
			t.Errorf("consumer %d: %+v, want %s (%q)", i, got, wnt.path, wnt.kind)
		}
	}
	ev := consumerEvidence("/", w, false)
	if r := (diag.CheckResult{Evidence: ev}); !hasEv(r, "large on /", "Downloads: 3.0 MiB in 1 files; the user's own files") ||
		!hasEv(r, "large on /", ".cache: 2.0 MiB in 1 files; a user's cache: clear-user-caches user=") ||
		!hasEv(r, "large on /", "Trash: 1.0 MiB in 1 files; a user's trash: empty-trash user=") ||
		!hasEv(r, "large on /", "build-1234: 512.0 KiB in 1 files; temporary files: clear-temp") {
		t.Errorf("evidence %+v", ev)
	}
	// Out of inodes: the folder with the most files comes first.
	w = walkConsumers(places, 0, false, walkBudget{Entries: 10000, Time: time.Minute}, true, time.Now)
	if w.Consumers[0].Path != filepath.Join(root, "tmp/sessions") || w.Consumers[0].Files != 100 {
		t.Errorf("by files: %+v", w.Consumers[0])
	}
	// The budget stops the walk and says so.
	w = walkConsumers(places, 0, false, walkBudget{Entries: 50, Time: time.Minute}, false, time.Now)
	if !w.Partial || w.Entries != 50 {
		t.Errorf("bounded walk: %+v", w)
	}
	if r := (diag.CheckResult{Evidence: consumerEvidence("/", w, false)}); !hasEv(r, "searched /", "50 entries") || !hasEv(r, "searched /", "stopped at its budget") {
		t.Errorf("partial evidence: %+v", r.Evidence)
	}
}

// TestConsumersRewalkedWhenUseMoves: a filesystem's last walk is reused
// while its use stays put, and walked again once its use has moved by
// more than 1% of its size (a fix freed space, or something filled it),
// so the checks after a disk fix do not show what the fix deleted.
func TestConsumersRewalkedWhenUseMoves(t *testing.T) {
	root := t.TempDir()
	home := filepath.Join(root, "home", "bob")
	write := func(rel string, size int) {
		p := filepath.Join(home, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(strings.Repeat("x", size)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".local/share/Trash/files/movie.mkv", 64<<10)
	c := defaults(t)
	c.TempDirs, c.HomeRoots = []string{}, []string{filepath.Join(root, "home")}
	var cc consumerCache
	fs := diag.Filesystem{Mount: root, Total: 100 << 20, Used: 99 << 20}
	now := time.Now()
	trash := func(ev []diag.Evidence) bool {
		return hasEv(diag.CheckResult{Evidence: ev}, "large on "+root, "Trash: 64.0 KiB in 1 files; a user's trash: empty-trash user=")
	}
	if ev, fix := cc.consumers(c, fs, false, now); !trash(ev) || fix != catalog.EmptyTrash {
		t.Fatalf("first walk: %+v, fix %q", ev, fix)
	}
	// The trash is emptied; the use has not moved yet (another filler):
	// the last walk stands.
	os.RemoveAll(filepath.Join(home, ".local"))
	if ev, _ := cc.consumers(c, fs, false, now.Add(time.Minute)); !trash(ev) {
		t.Fatalf("use unchanged: the walk was not reused: %+v", ev)
	}
	// The use fell by 2% of the disk: walked again, the trash is gone.
	fs.Used -= 2 << 20
	if ev, _ := cc.consumers(c, fs, false, now.Add(2*time.Minute)); trash(ev) {
		t.Fatalf("use moved: the old walk was reused: %+v", ev)
	}
}
