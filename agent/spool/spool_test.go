package spool

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tierline/tierline/shared/wire"
)

func frame(n int) BuildFunc {
	return func(seq uint64) ([]byte, error) {
		return []byte(fmt.Sprintf("%d:%s", seq, strings.Repeat("x", n))), nil
	}
}

func openDisk(t *testing.T, dir string, max int64) *Disk {
	t.Helper()
	d, err := Open(dir, Options{MaxBytes: max})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func kinds(t *testing.T) map[string]func(dir string, max int64) Spool {
	return map[string]func(string, int64) Spool{
		"disk": func(dir string, max int64) Spool { return openDisk(t, dir, max) },
		"mem":  func(_ string, max int64) Spool { return NewMem(max, nil) },
	}
}

func seqs(es []Entry) []uint64 {
	var out []uint64
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

func TestAppendAckAfter(t *testing.T) {
	for name, mk := range kinds(t) {
		t.Run(name, func(t *testing.T) {
			s := mk(t.TempDir(), 0)
			for i := 1; i <= 5; i++ {
				e, err := s.Append(wire.TypeTelemetry, frame(10))
				if err != nil {
					t.Fatal(err)
				}
				if e.Seq != uint64(i) {
					t.Fatalf("seq %d, want %d", e.Seq, i)
				}
			}
			es, _ := s.After(0, 3)
			if got := fmt.Sprint(seqs(es)); got != "[1 2 3]" {
				t.Fatalf("After(0,3) = %s", got)
			}
			if string(es[1].Frame) != "2:"+strings.Repeat("x", 10) {
				t.Fatalf("frame %q", es[1].Frame)
			}
			if err := s.Ack(3); err != nil {
				t.Fatal(err)
			}
			es, _ = s.After(0, 100)
			if got := fmt.Sprint(seqs(es)); got != "[4 5]" {
				t.Fatalf("after ack: %s", got)
			}
			if st := s.Stats(); st.Depth != 2 || st.LastSeq != 5 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestDiskReopenKeepsEntriesAndSeq(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, 0)
	for range 4 {
		if _, err := d.Append(wire.TypeHealth, frame(5)); err != nil {
			t.Fatal(err)
		}
	}
	d.Ack(4) // everything acked: only meta remembers the seq
	d.Append(wire.TypeTelemetry, frame(5))
	// no Close: simulate SIGKILL by just reopening
	d2 := openDisk(t, dir, 0)
	es, _ := d2.After(0, 10)
	if got := fmt.Sprint(seqs(es)); got != "[5]" {
		t.Fatalf("reopened entries %s", got)
	}
	e, _ := d2.Append(wire.TypeTelemetry, frame(1))
	if e.Seq != 6 {
		t.Fatalf("seq after reopen %d, want 6", e.Seq)
	}
	// Lose meta.json entirely: the seq must still come from entry names.
	os.Remove(filepath.Join(dir, metaFile))
	d3 := openDisk(t, dir, 0)
	if e, _ := d3.Append(wire.TypeTelemetry, frame(1)); e.Seq != 7 {
		t.Fatalf("seq without meta %d, want 7", e.Seq)
	}
	// Damaged meta is reported, not fatal.
	os.WriteFile(filepath.Join(dir, metaFile), []byte("{garbage"), 0o600)
	d4 := openDisk(t, dir, 0)
	if e, _ := d4.Append(wire.TypeTelemetry, frame(1)); e.Seq != 8 {
		t.Fatalf("seq with damaged meta %d, want 8", e.Seq)
	}
}

func TestAdvance(t *testing.T) {
	for name, mk := range kinds(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := mk(dir, 0)
			s.Append(wire.TypeTelemetry, frame(1))
			s.Advance(100)
			s.Advance(50)
			if e, _ := s.Append(wire.TypeTelemetry, frame(1)); e.Seq != 101 {
				t.Fatalf("seq %d, want 101", e.Seq)
			}
			if name == "disk" {
				if e, _ := openDisk(t, dir, 0).Append(wire.TypeTelemetry, frame(1)); e.Seq != 102 {
					t.Fatalf("seq after reopen %d", e.Seq)
				}
			}
		})
	}
}

func TestCapDropsOldestTelemetryOnly(t *testing.T) {
	for name, mk := range kinds(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			// each frame is ~"N:" + 100 bytes
			s := mk(dir, 450)
			s.Append(wire.TypeInventory, frame(100)) // 1
			s.Append(wire.TypeTelemetry, frame(100)) // 2
			s.Append(wire.TypeHealth, frame(100))    // 3
			s.Append(wire.TypeTelemetry, frame(100)) // 4
			s.Append(wire.TypeTelemetry, frame(100)) // 5: over cap -> drop 2
			es, _ := s.After(0, 100)
			if got := fmt.Sprint(seqs(es)); got != "[1 3 4 5]" {
				t.Fatalf("entries %s", got)
			}
			if st := s.Stats(); st.Dropped != 1 || st.Bytes > 450 {
				t.Fatalf("stats %+v", st)
			}
			// Only undroppable entries left (plus the newest): exceed the cap.
			for range 5 {
				s.Append(wire.TypeInventory, frame(100))
			}
			es, _ = s.After(0, 100)
			if got := fmt.Sprint(seqs(es)); got != "[1 3 6 7 8 9 10]" {
				t.Fatalf("entries %s", got)
			}
			if st := s.Stats(); st.Dropped != 3 {
				t.Fatalf("dropped %d, want 3", st.Dropped)
			}
			if name == "disk" {
				if st := openDisk(t, dir, 450).Stats(); st.Dropped != 3 || st.Depth != 7 {
					t.Fatalf("reopened stats %+v", st)
				}
			}
		})
	}
}

func TestDiskCorruptEntriesSkipped(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, 0)
	for range 5 {
		d.Append(wire.TypeTelemetry, frame(20))
	}
	// truncated entry (header claims more), bad magic, checksum damage after open,
	// a stray partial tmp file and an unrelated file.
	os.Truncate(filepath.Join(dir, entryName(2, wire.TypeTelemetry)), 15)
	os.WriteFile(filepath.Join(dir, entryName(3, wire.TypeTelemetry)), []byte("nope"), 0o600)
	os.WriteFile(filepath.Join(dir, entryName(9, wire.TypeTelemetry)+".tmp"), []byte("TLS1partial"), 0o600)
	os.WriteFile(filepath.Join(dir, "README"), []byte("hi"), 0o600)
	d2 := openDisk(t, dir, 0)
	p4 := filepath.Join(dir, entryName(4, wire.TypeTelemetry))
	raw, _ := os.ReadFile(p4)
	raw[len(raw)-1] ^= 0xff
	os.WriteFile(p4, raw, 0o600)
	es, err := d2.After(0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(seqs(es)); got != "[1 5]" {
		t.Fatalf("entries %s", got)
	}
	if st := d2.Stats(); st.Corrupt != 3 || st.Depth != 2 || st.LastSeq != 5 {
		t.Fatalf("stats %+v", st)
	}
	if _, err := os.Stat(filepath.Join(dir, entryName(9, wire.TypeTelemetry)+".tmp")); !os.IsNotExist(err) {
		t.Fatal("tmp file not cleaned")
	}
	if e, _ := d2.Append(wire.TypeTelemetry, frame(1)); e.Seq != 6 {
		t.Fatalf("seq %d", e.Seq)
	}
}

func TestDiskFilePerms(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	d := openDisk(t, dir, 0)
	d.Append(wire.TypeTelemetry, frame(1))
	fi, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v", fi.Mode())
	}
	fi, _ = os.Stat(filepath.Join(dir, entryName(1, wire.TypeTelemetry)))
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("entry mode %v", fi.Mode())
	}
}

// TestDiskSurvivesSIGKILL appends in a child process, kills it with SIGKILL
// mid-stream, and checks that every append the child saw return is on disk
// and that sequence numbers continue above them.
func TestDiskSurvivesSIGKILL(t *testing.T) {
	if dir := os.Getenv("SPOOL_CRASH_CHILD"); dir != "" {
		d, err := Open(dir, Options{})
		if err != nil {
			os.Exit(1)
		}
		for {
			e, err := d.Append(wire.TypeHealth, frame(200))
			if err != nil {
				os.Exit(1)
			}
			fmt.Printf("%d\n", e.Seq)
		}
	}
	if testing.Short() {
		t.Skip("spawns a child")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDiskSurvivesSIGKILL$")
	cmd.Env = append(os.Environ(), "SPOOL_CRASH_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var last uint64
	for sc.Scan() {
		last, _ = strconv.ParseUint(sc.Text(), 10, 64)
		if last >= 50 {
			break
		}
	}
	cmd.Process.Kill() // SIGKILL on Unix
	for sc.Scan() {
		if n, err := strconv.ParseUint(sc.Text(), 10, 64); err == nil {
			last = n
		}
	}
	cmd.Wait()
	if last < 50 {
		t.Fatalf("child appended only %d", last)
	}
	d := openDisk(t, dir, 0)
	es, _ := d.After(0, 1<<20)
	for i, e := range es[:last] {
		if e.Seq != uint64(i+1) {
			t.Fatalf("entry %d has seq %d", i, e.Seq)
		}
	}
	if st := d.Stats(); st.Corrupt != 0 || uint64(st.Depth) < last {
		t.Fatalf("after SIGKILL: %+v, child reported %d appends", st, last)
	}
	if e, _ := d.Append(wire.TypeHealth, frame(1)); e.Seq <= last {
		t.Fatalf("seq %d not above %d", e.Seq, last)
	}
}
