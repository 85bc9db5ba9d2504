package collect

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tierline/tierline/shared/diag"
)

// utmpRecord builds one glibc utmp record.
func utmpRecord(typ int16, line, user, host string, sec int32) []byte {
	r := make([]byte, utmpSize)
	binary.LittleEndian.PutUint16(r[0:], uint16(typ))
	copy(r[8:40], line)
	copy(r[44:76], user)
	copy(r[76:332], host)
	binary.LittleEndian.PutUint32(r[340:], uint32(sec))
	return r
}

func TestParseUtmp(t *testing.T) {
	var b []byte
	b = append(b, utmpRecord(2, "~", "reboot", "6.1.0", 1700000000)...) // BOOT_TIME
	b = append(b, utmpRecord(7, "pts/0", "bob", "192.0.2.7", 1700000100)...)
	b = append(b, utmpRecord(8, "pts/1", "", "", 0)...) // DEAD_PROCESS
	b = append(b, utmpRecord(7, "tty1", "carol", "", 1700000200)...)
	got, err := ParseUtmp(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []diag.User{
		{Name: "bob", Terminal: "pts/0", Host: "192.0.2.7", Since: time.Unix(1700000100, 0).UTC()},
		{Name: "carol", Terminal: "tty1", Since: time.Unix(1700000200, 0).UTC()},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseUtmp (-want +got):\n%s", diff)
	}
	if _, err := ParseUtmp(b[:100]); err == nil {
		t.Error("truncated utmp accepted")
	}
}

func TestUsersFromLogind(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "run/systemd/sessions")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"session-3", "session-c1"} {
		b, err := os.ReadFile(filepath.Join("testdata/logind", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f[len("session-"):]), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Config{Root: root}
	var s diag.Sample
	if err := fillUsers(context.Background(), &cfg, &s); err != nil {
		t.Fatal(err)
	}
	want := []diag.User{{Name: "alice", Terminal: "tty2", Since: time.UnixMicro(1763880000000000).UTC()}}
	if diff := cmp.Diff(want, s.Users); diff != "" {
		t.Errorf("logind users (-want +got):\n%s", diff)
	}
	// Neither utmp nor logind: unavailable, not an empty list.
	cfg.Root = t.TempDir()
	if err := fillUsers(context.Background(), &cfg, &diag.Sample{}); err == nil {
		t.Error("no user sources: want an ErrNoData error")
	}
}
