package spool

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/tierline/tierline/shared/wire"
)

// FuzzEntryFile feeds arbitrary bytes as a spool entry file: opening the
// spool and reading entries must never panic, and a damaged entry is
// removed rather than returned.
func FuzzEntryFile(f *testing.F) {
	good := []byte(`{"v":1}`)
	h := make([]byte, entryHeader)
	copy(h, entryMagic)
	binary.BigEndian.PutUint32(h[4:8], crc32.ChecksumIEEE(good))
	binary.BigEndian.PutUint32(h[8:12], uint32(len(good)))
	f.Add(append(h, good...))
	f.Add([]byte("TLS1"))
	f.Add([]byte{})
	f.Add([]byte("TLS1\x00\x00\x00\x00\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, entryName(7, wire.TypeTelemetry)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		d, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		es, err := d.After(0, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Seq != 7 || crc32.ChecksumIEEE(e.Frame) != binary.BigEndian.Uint32(data[4:8]) {
				t.Fatalf("returned a bad entry %+v", e)
			}
		}
		if e, err := d.Append(wire.TypeTelemetry, frame(1)); err != nil || e.Seq != 8 {
			t.Fatalf("append after fuzzed entry: %+v %v", e, err)
		}
	})
}

// FuzzParseName checks entry-name parsing never panics and round-trips.
func FuzzParseName(f *testing.F) {
	f.Add(entryName(42, wire.TypeTelemetry))
	f.Add("00000000000000000000.x")
	f.Add("meta.json")
	f.Add("99999999999999999999.health")
	f.Fuzz(func(t *testing.T, name string) {
		seq, typ, ok := parseName(name)
		if ok && entryName(seq, typ) != name {
			t.Fatalf("%q parsed as %d %q", name, seq, typ)
		}
	})
}
