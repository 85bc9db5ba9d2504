package health

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tierline/tierline/agent/execx/nstest"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// TestTmpfsTmpReallyFull mounts a small tmpfs on /tmp and another with
// few inodes on /var/tmp, in a private mount namespace of its own (the
// test runs itself again under unshare, so the machine's /tmp is never
// touched), fills them, and sees disk-almost-full judge both with the
// machine's default filesystem list: /tmp full with its largest consumer
// and clear-temp, /var/tmp out of inodes named as inodes. The check ran
// once before the mounts: it sees the new filesystems all the same (it
// lists them again when the mount table changes).
func TestTmpfsTmpReallyFull(t *testing.T) {
	// A new pid namespace too, with its own /proc: the test is its pid 1,
	// whose mount table the agent reads, as on a real machine.
	if !nstest.Reexec(t, "--mount", "--propagation", "private", "--pid", "--fork", "--mount-proc") {
		return
	}
	mount := func(dir, opts string) {
		if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, opts); err != nil {
			t.Skipf("cannot mount a tmpfs on %s (%v); run as root", dir, err)
		}
	}
	r, err := NewRunner(Config{HomeRoots: []string{}}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Run(context.Background(), "disk-almost-full")[0]; hasEv(got, "/tmp", "tmpfs") {
		t.Fatalf("a tmpfs on /tmp before it was mounted: %+v", got)
	}
	mount("/tmp", "size=1m,nr_inodes=1000")
	mount("/var/tmp", "size=8m,nr_inodes=64")
	os.Mkdir("/tmp/junk", 0o755)
	f, err := os.Create("/tmp/junk/fill")
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for i := range chunk {
		chunk[i] = 'x'
	}
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			break
		}
	}
	f.Close()
	os.Mkdir("/var/tmp/many", 0o755)
	for i := 0; ; i++ {
		f, err := os.Create(filepath.Join("/var/tmp/many", fmt.Sprint(i)))
		if err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("inodes: %v", err)
			}
			break
		}
		f.Close()
	}
	got := r.Run(context.Background(), "disk-almost-full")[0]
	if got.Status != diag.StatusFailing || got.Fix != catalog.ClearTemp || !strings.Contains(got.Summary, "holding /tmp is full") {
		t.Fatalf("full tmpfs /tmp: %+v", got)
	}
	if !hasEv(got, "/tmp", "100.0% used") || !hasEv(got, "/tmp", "tmpfs") ||
		!hasEv(got, "large on /tmp", "/tmp/junk: 1.0 MiB in 1 files; temporary files: clear-temp") {
		t.Errorf("/tmp evidence: %+v", got.Evidence)
	}
	if !hasEv(got, "inodes on /var/tmp", "64 of 64 used (100.0%)") || !hasEv(got, "large on /var/tmp", "/var/tmp/many: 62 files") {
		t.Errorf("/var/tmp evidence: %+v", got.Evidence)
	}
}
