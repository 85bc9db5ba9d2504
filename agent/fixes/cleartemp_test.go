//go:build unix

package fixes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestClearTempDirectorySwapRace: while clear-temp runs, a user keeps
// swapping its own directory of old files for a symlink to a sibling
// directory (another user's) holding fresh files of the same names.
// However the two interleave, the other user's files survive. It calls
// clearRoot directly (without ClearTemp's scan of /proc for open files)
// so that many runs meet many swaps; the os.Root walk clear-temp used
// before loses the victim's files within a few thousand runs.
func TestClearTempDirectorySwapRace(t *testing.T) {
	root := t.TempDir()
	mine := filepath.Join(root, "mine")
	hidden := filepath.Join(root, "mine.real")
	victim := filepath.Join(root, "ssh-victim")
	old := time.Now().Add(-48 * time.Hour)
	const n = 50
	if err := os.Mkdir(victim, 0o700); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := os.WriteFile(filepath.Join(victim, fmt.Sprintf("f%d", i)), []byte("keep"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	refill := func() {
		os.Mkdir(mine, 0o755)
		for i := range n {
			p := filepath.Join(mine, fmt.Sprintf("f%d", i))
			if _, err := os.Lstat(p); err != nil {
				os.WriteFile(p, []byte("old"), 0o644)
				os.Chtimes(p, old, old)
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
			// The directory becomes a symlink to the victim's, and back.
			if os.Rename(mine, hidden) == nil {
				os.Symlink("ssh-victim", mine)
				os.Remove(mine)
				os.Rename(hidden, mine)
			}
			refill()
		}
	}()
	var st TempStats
	for i := 0; i < 5000; i++ {
		if err := clearRoot(context.Background(), root, time.Now().Add(-24*time.Hour), nil, -1, &st); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(victim, "f0")); err != nil {
			break
		}
	}
	close(stop)
	wg.Wait()
	for i := range n {
		if _, err := os.Stat(filepath.Join(victim, fmt.Sprintf("f%d", i))); err != nil {
			t.Fatalf("the other user's f%d was deleted through the swapped directory (%d files removed in all): %v", i, st.Removed, err)
		}
	}
	if st.Removed == 0 {
		t.Fatal("no old file of the swapping user was removed at all")
	}
	if fi, err := os.Lstat(mine); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		t.Fatal("the swapper left a symlink behind")
	}
}

// TestClearTempLocalUserOwnFilesOnly: a local user who is not the
// administrator, asking through the local socket, cleans only its own
// old files; the hub or the administrator cleans everyone's.
func TestClearTempLocalUserOwnFilesOnly(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files to another user")
	}
	root := t.TempDir()
	old := time.Now().Add(-48 * time.Hour)
	mk := func(name string, uid int) string {
		p := filepath.Join(root, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, old, old)
		return p
	}
	mineF, theirs := mk("mine.tmp", 65534), mk("theirs.tmp", 0)
	l := &Local{TempRoots: []string{root}}
	ctx := WithRequester(context.Background(), 65534)
	res := l.Do(ctx, Action{Name: ActClearTemp, Args: map[string]string{"min_age_hours": "24"}})
	if res.Err != nil || !strings.Contains(res.Output, "removed 1 files") || !strings.Contains(res.Output, "uid 65534") {
		t.Fatalf("%+v", res)
	}
	if _, err := os.Stat(mineF); !os.IsNotExist(err) {
		t.Error("the user's own old file was not removed")
	}
	if _, err := os.Stat(theirs); err != nil {
		t.Error("another user's old file was removed for a local user")
	}
	ctx = context.Background() // the administrator: no requester
	res = l.Do(ctx, Action{Name: ActClearTemp, Args: map[string]string{"min_age_hours": "24"}})
	if res.Err != nil || !strings.Contains(res.Output, "removed 1 files") {
		t.Fatalf("administrator: %+v", res)
	}
}
