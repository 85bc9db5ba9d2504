package fixes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tierline/tierline/agent/execx/nstest"
	"github.com/tierline/tierline/agent/health"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// fillFile writes x bytes to path until size bytes are written or the
// filesystem is full (size < 0); it returns what it wrote.
func fillFile(t *testing.T, path string, size int64, uid int) int64 {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := []byte(strings.Repeat("x", 64<<10))
	var n int64
	for size < 0 || n < size {
		c := chunk
		if size >= 0 && size-n < int64(len(c)) {
			c = c[:size-n]
		}
		w, err := f.Write(c)
		n += int64(w)
		if err != nil {
			if size < 0 && errors.Is(err, syscall.ENOSPC) {
				break
			}
			t.Fatalf("fill %s: %v", path, err)
		}
	}
	os.Lchown(path, uid, uid)
	return n
}

// TestDiskFixesOnAFullHome: a user's home on a small tmpfs (in a private
// mount namespace, with the user added to the account database by a bind
// mount over /etc/passwd) fills up with trash and cache files. The real
// disk-almost-full check fails and names empty-trash and
// clear-user-caches, for that user, against the trash and the cache, and
// offers clear-user-caches, the fix for the largest.
// clear-user-caches, asked by the user through the Runner with the real
// executor, deletes the cache (not a file some process holds open, not a
// filesystem mounted inside it, not what symlinks in it point to), says
// how much it freed, and is verified fixed: disk-almost-full failing
// before, ok after. The cache fills the disk again; empty-trash, asked by
// a technician naming the user, empties the trash the same way.
func TestDiskFixesOnAFullHome(t *testing.T) {
	if !nstest.Reexec(t, "--mount", "--propagation", "private") {
		return
	}
	const uid = 4242
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(t.TempDir(), "passwd")
	os.WriteFile(fake, append(passwd, "tltest:x:4242:4242:Tierline test:/home/tltest:/bin/sh\n"...), 0o644)
	if err := syscall.Mount(fake, "/etc/passwd", "", syscall.MS_BIND, ""); err != nil {
		t.Skipf("cannot bind-mount /etc/passwd: %v", err)
	}
	if err := syscall.Mount("tmpfs", "/home", "tmpfs", 0, "size=8m,nr_inodes=4000"); err != nil {
		t.Skipf("cannot mount a tmpfs on /home: %v", err)
	}
	home := "/home/tltest"
	os.MkdirAll(home, 0o755)
	os.Chown(home, uid, uid)
	trash := filepath.Join(home, ".local/share/Trash")
	cache := filepath.Join(home, ".cache")
	fillFile(t, filepath.Join(trash, "files/holiday.mkv"), 3<<20, uid)
	os.MkdirAll(filepath.Join(trash, "info"), 0o700)
	os.WriteFile(filepath.Join(trash, "info/holiday.mkv.trashinfo"), []byte("[Trash Info]\nPath=/home/tltest/holiday.mkv\nDeletionDate=2026-11-01T10:00:00\n"), 0o644)
	// Another user's folder, and symlinks to it from inside the cache.
	victim := "/home/victim"
	os.MkdirAll(victim, 0o700)
	os.WriteFile(filepath.Join(victim, "precious.txt"), []byte("keep"), 0o600)
	os.MkdirAll(cache, 0o700)
	os.Symlink(victim, filepath.Join(cache, "escape-dir"))
	os.Symlink(filepath.Join(victim, "precious.txt"), filepath.Join(cache, "escape-file"))
	// A filesystem mounted inside the cache is left alone.
	mnt := filepath.Join(cache, "mounted")
	os.MkdirAll(mnt, 0o755)
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(mnt, "other-fs.txt"), []byte("keep"), 0o644)
	// A cache file a program holds open is kept.
	held := filepath.Join(cache, "browser/held.db")
	fillFile(t, held, 4096, uid)
	hf, err := os.Open(held)
	if err != nil {
		t.Fatal(err)
	}
	defer hf.Close()
	fillCache := func() int64 {
		return fillFile(t, filepath.Join(cache, "thumbnails/large/"+time.Now().Format("150405.000000")+".png"), -1, uid)
	}
	filled := fillCache()
	t.Logf("cache filled with %d bytes", filled)

	checks, err := health.NewRunner(health.Config{DiskPaths: []string{"/home"}}, health.Env{})
	if err != nil {
		t.Fatal(err)
	}
	disk := checks.Run(context.Background(), "disk-almost-full")[0]
	// The cache is the largest consumer, so its fix is the one offered.
	if disk.Status != diag.StatusFailing || disk.Fix != catalog.ClearUserCaches {
		t.Fatalf("disk-almost-full on the full home: %+v; want failing with clear-user-caches", disk)
	}
	if !hasEvidence(disk, "large on /home", "/home/tltest/.local/share/Trash: 3.0 MiB in 2 files; a user's trash: empty-trash user=tltest empties it") ||
		!hasEvidence(disk, "large on /home", "/home/tltest/.cache: ") ||
		!hasEvidence(disk, "large on /home", "a user's cache: clear-user-caches user=tltest deletes it") {
		t.Fatalf("disk-almost-full evidence does not name the trash and the cache with their fixes: %+v", disk.Evidence)
	}

	r, _ := newTestRunner(t, t.TempDir(), func(c *Config) {
		c.Exec, c.Machine = &Local{}, LocalMachine
		c.Verify = func(ctx context.Context, after time.Time, names ...string) []diag.CheckResult {
			return checks.RunAfter(ctx, after, names...)
		}
	})
	asUser := WithRequester(WithRequesterConsent(context.Background()), uid)
	res := r.Do(asUser, req("caches1", catalog.ClearUserCaches, 0, nil), nil)
	if res.Outcome != wire.OutcomeFixed || statusOf(res.Before, "disk-almost-full") != diag.StatusFailing ||
		statusOf(res.After, "disk-almost-full") != diag.StatusOK {
		t.Fatalf("clear-user-caches: %s %q; want fixed, disk-almost-full failing before and ok after\n%s", res.Outcome, res.Reason, res.Output)
	}
	if !strings.Contains(res.Reason, "Emptied tltest's caches:") || !strings.Contains(res.Reason, "MiB freed") ||
		!strings.Contains(res.Reason, "Kept 1 file in use by a running program.") {
		t.Errorf("clear-user-caches reason %q does not say in plain words what it freed", res.Reason)
	}
	if !strings.Contains(res.Output, "tltest (the user who asked)") || !strings.Contains(res.Output, "1 folders left alone because another filesystem is mounted there") {
		t.Errorf("clear-user-caches output:\n%s", res.Output)
	}
	t.Logf("clear-user-caches: %s", res.Reason)
	for _, keep := range []string{filepath.Join(victim, "precious.txt"), filepath.Join(mnt, "other-fs.txt"), held, cache,
		filepath.Join(trash, "files/holiday.mkv")} {
		if _, err := os.Stat(keep); err != nil {
			t.Errorf("%s was removed: %v", keep, err)
		}
	}
	for _, gone := range []string{filepath.Join(cache, "thumbnails"), filepath.Join(cache, "escape-dir"), filepath.Join(cache, "escape-file")} {
		if _, err := os.Lstat(gone); !os.IsNotExist(err) {
			t.Errorf("%s is still there", gone)
		}
	}

	// Full again; the technician empties tltest's trash.
	fillCache()
	if st := checks.Run(context.Background(), "disk-almost-full")[0].Status; st != diag.StatusFailing {
		t.Fatalf("disk-almost-full after filling again: %s", st)
	}
	tech := wire.RunRequest{RunID: "trash1", Fix: catalog.EmptyTrash, Tier: 1, Params: map[string]string{"user": "tltest"}, ConsentObtained: true}
	res = r.Do(context.Background(), tech, nil)
	if res.Outcome != wire.OutcomeFixed || statusOf(res.Before, "disk-almost-full") != diag.StatusFailing ||
		statusOf(res.After, "disk-almost-full") != diag.StatusOK {
		t.Fatalf("empty-trash: %s %q; want fixed\n%s", res.Outcome, res.Reason, res.Output)
	}
	if !strings.Contains(res.Reason, "Emptied tltest's trash: 2 files deleted, 3.0 MiB freed.") || !strings.Contains(res.Output, "named in the request") {
		t.Errorf("empty-trash: %q\n%s", res.Reason, res.Output)
	}
	if ents, err := os.ReadDir(trash); err != nil || len(ents) != 0 {
		t.Errorf("the trash after empty-trash: %v %v; want it there and empty", ents, err)
	}
	t.Logf("empty-trash: %s", res.Reason)

	// tltest asking for the victim's trash is refused; nothing runs.
	res = r.Do(asUser, req("trash2", catalog.EmptyTrash, 0, map[string]string{"user": "root"}), nil)
	if res.Outcome != wire.OutcomeRefused || res.Code != wire.RefusePolicy || !strings.Contains(res.Reason, "only your own trash") {
		t.Errorf("a user asking for root's trash: %s %s %q", res.Outcome, res.Code, res.Reason)
	}
}

func statusOf(rs []diag.CheckResult, name string) diag.Status {
	for _, r := range rs {
		if r.Name == name {
			return r.Status
		}
	}
	return ""
}

func hasEvidence(r diag.CheckResult, label, value string) bool {
	for _, e := range r.Evidence {
		if e.Label == label && strings.Contains(e.Value, value) {
			return true
		}
	}
	return false
}

// TestUserFoldersRefuseSymlinks: a user who makes the folder a fix
// empties (or one on the way to it) a symlink to somewhere else gets it
// refused, and what it points to survives; symlinks inside are removed
// themselves, never followed.
func TestUserFoldersRefuseSymlinks(t *testing.T) {
	home := t.TempDir()
	victim := t.TempDir()
	precious := filepath.Join(victim, "precious.txt")
	os.WriteFile(precious, []byte("keep"), 0o600)
	os.MkdirAll(filepath.Join(victim, "sub"), 0o700)
	os.WriteFile(filepath.Join(victim, "sub", "deep.txt"), []byte("keep"), 0o600)
	l := &Local{LookupUser: func(string, int) (homeUser, error) { return homeUser{Name: "u", Home: home, UID: 1000}, nil }}
	do := func(action string) ActionResult {
		return l.Do(WithRequester(context.Background(), 1000), Action{Name: action})
	}
	survives := func(when string) {
		t.Helper()
		for _, p := range []string{precious, filepath.Join(victim, "sub", "deep.txt")} {
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("%s: %s was removed: %v", when, p, err)
			}
		}
	}

	// ~/.cache -> the victim's folder.
	os.Symlink(victim, filepath.Join(home, ".cache"))
	res := do(ActClearUserCaches)
	survives("~/.cache a symlink")
	if !strings.Contains(res.Output, ".cache is a symbolic link or not a folder; left alone") || !strings.Contains(res.Output, "removed 0 files") ||
		!strings.Contains(res.NotApplicable, "u's caches folder ("+filepath.Join(home, ".cache")+") is a link to another place") {
		t.Errorf("~/.cache a symlink: %+v", res)
	}

	// ~/.local -> the victim's folder, which has share/Trash in it.
	os.MkdirAll(filepath.Join(victim, "share", "Trash", "files"), 0o700)
	os.WriteFile(filepath.Join(victim, "share", "Trash", "files", "x"), []byte("keep"), 0o600)
	os.Symlink(victim, filepath.Join(home, ".local"))
	res = do(ActEmptyTrash)
	if _, err := os.Stat(filepath.Join(victim, "share", "Trash", "files", "x")); err != nil {
		t.Fatalf("the trash behind a symlinked ~/.local was emptied: %+v", res)
	}
	if !strings.Contains(res.Output, ".local is a symbolic link or not a folder; left alone") || res.NotApplicable == "" {
		t.Errorf("~/.local a symlink: %+v", res)
	}

	// A folder the agent cannot open is a failure, not an empty trash.
	if os.Geteuid() != 0 {
		os.Remove(filepath.Join(home, ".local"))
		os.MkdirAll(filepath.Join(home, ".local", "share", "Trash"), 0o700)
		os.Chmod(filepath.Join(home, ".local", "share"), 0)
		res = do(ActEmptyTrash)
		os.Chmod(filepath.Join(home, ".local", "share"), 0o700)
		if res.Err == nil || !strings.Contains(res.Err.Error(), "u's trash could not be opened") || res.Summary != "" {
			t.Errorf("an unreadable trash: %+v", res)
		}
	}

	// A real ~/.cache with links inside: the links go, their targets stay.
	os.Remove(filepath.Join(home, ".cache"))
	os.MkdirAll(filepath.Join(home, ".cache", "app"), 0o700)
	os.WriteFile(filepath.Join(home, ".cache", "app", "blob"), []byte(strings.Repeat("c", 10000)), 0o600)
	os.Symlink(victim, filepath.Join(home, ".cache", "app", "to-dir"))
	os.Symlink(precious, filepath.Join(home, ".cache", "to-file"))
	os.Symlink("../../..", filepath.Join(home, ".cache", "up"))
	res = do(ActClearUserCaches)
	survives("links inside ~/.cache")
	if res.Err != nil || res.BytesFreed < 10000 || !strings.Contains(res.Output, "removed 4 files and 1 folders") {
		t.Errorf("links inside ~/.cache: %+v", res)
	}
	if ents, _ := os.ReadDir(filepath.Join(home, ".cache")); len(ents) != 0 {
		t.Errorf("~/.cache after: %v", ents)
	}
}

// TestRemoveRotatedLogs: vacuum-journals' second half, on a real folder:
// rotated logs older than the bound go; live logs, recent rotated logs,
// the journal's folder, open files and symlinks' targets stay.
func TestRemoveRotatedLogs(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	old := time.Now().Add(-30 * 24 * time.Hour)
	mk := func(rel string, mod time.Time) string {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(strings.Repeat("l", 1000)), 0o640)
		os.Chtimes(p, mod, mod)
		return p
	}
	gone := []string{mk("syslog.1", old), mk("syslog.2.gz", old), mk("apt/history.log.1.gz", old), mk("messages-20261101", old)}
	kept := []string{mk("syslog", old), mk("auth.log", old), mk("syslog.3.gz.new", old), mk("dpkg.log.1", time.Now()),
		mk("journal/abc/system@x.journal~.1", old)}
	held := mk("held.log.1", old)
	f, _ := os.Open(held)
	defer f.Close()
	kept = append(kept, held)
	secret := filepath.Join(outside, "secret.1")
	os.WriteFile(secret, []byte("keep"), 0o600)
	os.Chtimes(secret, old, old)
	os.Symlink(outside, filepath.Join(dir, "link-dir"))
	kept = append(kept, secret)

	var st TempStats
	if err := removeRotatedLogs(context.Background(), dir, []string{filepath.Join(dir, "journal")}, time.Now().Add(-7*24*time.Hour), &st); err != nil {
		t.Fatal(err)
	}
	for _, p := range gone {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still there", p)
		}
	}
	for _, p := range kept {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed", p)
		}
	}
	if st.Removed != len(gone) || st.BytesFreed != int64(1000*len(gone)) || st.SkippedInUse != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestPurgeDirectorySwapRace: while clear-user-caches empties ~/.cache,
// the user keeps swapping a folder in it for a symlink to another user's
// folder holding files of the same names. However the two interleave,
// the other user's files survive. Deleting by path below the folder
// (unlink of "mine/fN") loses the victim's files here about every other
// run of 30,000 passes; through directory descriptors it never does.
func TestPurgeDirectorySwapRace(t *testing.T) {
	home := t.TempDir()
	cache := filepath.Join(home, ".cache")
	mine := filepath.Join(cache, "mine")
	hidden := filepath.Join(cache, "mine.real")
	victim := t.TempDir()
	const n = 50
	for i := range n {
		if err := os.WriteFile(filepath.Join(victim, fmt.Sprintf("f%d", i)), []byte("keep"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	refill := func() {
		os.MkdirAll(mine, 0o755)
		for i := range n {
			p := filepath.Join(mine, fmt.Sprintf("f%d", i))
			if _, err := os.Lstat(p); err != nil {
				os.WriteFile(p, []byte("cache"), 0o644)
			}
		}
	}
	refill()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if os.Rename(mine, hidden) == nil {
				os.Symlink(victim, mine)
				os.Remove(mine)
				os.Rename(hidden, mine)
			}
			refill()
		}
	}()
	var st PurgeStats
	for i := 0; i < 50000; i++ {
		s, err := purgeFolder(context.Background(), home, []string{".cache"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		st.add(s)
		if _, err := os.Stat(filepath.Join(victim, "f0")); err != nil {
			break
		}
	}
	close(stop)
	wg.Wait()
	for i := range n {
		if _, err := os.Stat(filepath.Join(victim, fmt.Sprintf("f%d", i))); err != nil {
			t.Fatalf("the other user's f%d was deleted through the swapped folder (%d files removed in all): %v", i, st.Removed, err)
		}
	}
	if st.Removed == 0 {
		t.Fatal("nothing of the user's own cache was removed")
	}
	t.Logf("%d files and %d folders removed over the runs", st.Removed, st.Dirs)
}
