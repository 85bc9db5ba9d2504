package spool

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/tierline/tierline/shared/wire"
)

// On-disk layout of a Disk spool directory:
//
//	meta.json                         {"last_seq": N, "dropped": M}, replaced atomically
//	00000000000000000042.telemetry    one file per entry, named by zero-padded seq and type
//	*.tmp                             partial writes, removed on open
//
// An entry file is: magic "TLS1", CRC-32 (IEEE, big endian) of the frame,
// frame length (uint32 big endian), frame. Entry files are written to a
// temporary name, fsynced, renamed into place and the directory fsynced, so
// an entry either exists whole or not at all, even after SIGKILL or a crash.
const (
	metaFile    = "meta.json"
	entryMagic  = "TLS1"
	entryHeader = 12
	seqDigits   = 20
)

type indexEntry struct {
	seq  uint64
	typ  wire.Type
	size int64 // frame bytes
}

type meta struct {
	LastSeq uint64 `json:"last_seq"`
	Dropped uint64 `json:"dropped"`
}

// Disk is a durable Spool in a directory.
type Disk struct {
	mu       sync.Mutex
	dir      string
	maxBytes int64
	log      *slog.Logger
	index    []indexEntry
	bytes    int64
	meta     meta
	corrupt  uint64
	closed   bool
}

// Options configure a Disk spool.
type Options struct {
	// MaxBytes caps the bytes of spooled frames (0: DefaultMaxBytes).
	MaxBytes int64
	// Logger receives reports of damaged entries and cap overflows.
	Logger *slog.Logger
}

// Open opens (creating it 0700 if needed) the spool in dir. Damaged or
// partial entries are reported to the logger, counted in Stats.Corrupt and
// removed; they never make Open fail.
func Open(dir string, opts Options) (*Disk, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create spool directory: %w", err)
	}
	d := &Disk{dir: dir, maxBytes: opts.MaxBytes, log: opts.Logger}
	if err := d.load(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.enforceCapLocked(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Disk) load() error {
	if raw, err := os.ReadFile(filepath.Join(d.dir, metaFile)); err == nil {
		if err := json.Unmarshal(raw, &d.meta); err != nil {
			d.log.Error("spool meta file is damaged; recovering the sequence from entry names", "file", metaFile, "err", err)
			d.meta = meta{}
			d.corrupt++
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read spool meta: %w", err)
	}
	des, err := os.ReadDir(d.dir)
	if err != nil {
		return fmt.Errorf("read spool directory: %w", err)
	}
	for _, de := range des {
		name := de.Name()
		if name == metaFile || de.IsDir() {
			continue
		}
		path := filepath.Join(d.dir, name)
		if strings.HasSuffix(name, ".tmp") {
			_ = os.Remove(path)
			continue
		}
		seq, typ, ok := parseName(name)
		if !ok {
			d.log.Warn("ignoring unexpected file in spool directory", "file", name)
			continue
		}
		if seq > d.meta.LastSeq {
			d.meta.LastSeq = seq // entry written, meta update lost
		}
		info, err := de.Info()
		if err != nil {
			continue
		}
		size, err := checkHeader(path, info.Size())
		if err != nil {
			d.dropCorrupt(path, seq, err)
			continue
		}
		d.index = append(d.index, indexEntry{seq: seq, typ: typ, size: size})
		d.bytes += size
	}
	sort.Slice(d.index, func(i, j int) bool { return d.index[i].seq < d.index[j].seq })
	return nil
}

func (d *Disk) dropCorrupt(path string, seq uint64, err error) {
	d.corrupt++
	d.log.Error("removing damaged spool entry", "file", filepath.Base(path), "seq", seq, "err", err)
	_ = os.Remove(path)
}

func parseName(name string) (uint64, wire.Type, bool) {
	digits, typ, ok := strings.Cut(name, ".")
	if !ok || len(digits) != seqDigits || typ == "" || len(typ) > 32 {
		return 0, "", false
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || seq == 0 {
		return 0, "", false
	}
	for _, r := range typ {
		if !(r >= 'a' && r <= 'z' || r == '_') {
			return 0, "", false
		}
	}
	return seq, wire.Type(typ), true
}

func entryName(seq uint64, t wire.Type) string {
	return fmt.Sprintf("%0*d.%s", seqDigits, seq, t)
}

func checkHeader(path string, fileSize int64) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var h [entryHeader]byte
	if _, err := f.ReadAt(h[:], 0); err != nil {
		return 0, fmt.Errorf("short entry (%d bytes)", fileSize)
	}
	if string(h[:4]) != entryMagic {
		return 0, errors.New("bad magic")
	}
	n := int64(binary.BigEndian.Uint32(h[8:12]))
	if n+entryHeader != fileSize {
		return 0, fmt.Errorf("entry says %d frame bytes, file holds %d", n, fileSize-entryHeader)
	}
	return n, nil
}

func readEntry(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(raw) < entryHeader || string(raw[:4]) != entryMagic {
		return nil, errors.New("bad header")
	}
	n := binary.BigEndian.Uint32(raw[8:12])
	frame := raw[entryHeader:]
	if uint32(len(frame)) != n {
		return nil, fmt.Errorf("entry says %d frame bytes, file holds %d", n, len(frame))
	}
	if crc32.ChecksumIEEE(frame) != binary.BigEndian.Uint32(raw[4:8]) {
		return nil, errors.New("checksum mismatch")
	}
	return frame, nil
}

// writeFileSync writes data to dir/name via a temporary file, fsyncing the
// file, renaming it into place and fsyncing the directory.
func writeFileSync(dir, name string, data []byte, perm os.FileMode) error {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !isSyncUnsupported(err) {
		return err
	}
	return nil
}

func (d *Disk) writeMetaLocked() error {
	raw, _ := json.Marshal(d.meta)
	if err := writeFileSync(d.dir, metaFile, raw, 0o600); err != nil {
		return fmt.Errorf("write spool meta: %w", err)
	}
	return nil
}

// Append implements Spool. The entry is on disk (fsynced) when it returns.
func (d *Disk) Append(t wire.Type, build BuildFunc) (Entry, error) {
	if _, _, ok := parseName(entryName(1, t)); !ok {
		return Entry{}, fmt.Errorf("spool: bad message type %q", t)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return Entry{}, errClosed
	}
	seq, err := nextSeq(d.meta.LastSeq)
	if err != nil {
		return Entry{}, err
	}
	frame, err := build(seq)
	if err != nil {
		return Entry{}, err
	}
	buf := make([]byte, entryHeader+len(frame))
	copy(buf, entryMagic)
	binary.BigEndian.PutUint32(buf[4:8], crc32.ChecksumIEEE(frame))
	binary.BigEndian.PutUint32(buf[8:12], uint32(len(frame)))
	copy(buf[entryHeader:], frame)
	if err := writeFileSync(d.dir, entryName(seq, t), buf, 0o600); err != nil {
		return Entry{}, fmt.Errorf("spool entry %d: %w", seq, err)
	}
	d.meta.LastSeq = seq
	d.index = append(d.index, indexEntry{seq: seq, typ: t, size: int64(len(frame))})
	d.bytes += int64(len(frame))
	if err := d.enforceCapLocked(); err != nil {
		d.log.Error("spool cap enforcement failed", "err", err)
	}
	// The entry's name already records seq durably; meta carries it over
	// once the entry is acked and removed.
	if err := d.writeMetaLocked(); err != nil {
		return Entry{}, err
	}
	return Entry{Seq: seq, Type: t, Frame: frame}, nil
}

func (d *Disk) enforceCapLocked() error {
	if d.bytes <= d.maxBytes {
		return nil
	}
	kept := d.index[:0]
	var dropped uint64
	var firstErr error
	for i, e := range d.index {
		if d.bytes > d.maxBytes && Droppable(e.typ) && i < len(d.index)-1 {
			if err := os.Remove(filepath.Join(d.dir, entryName(e.seq, e.typ))); err != nil && !errors.Is(err, os.ErrNotExist) {
				firstErr = err
				kept = append(kept, e)
				continue
			}
			d.bytes -= e.size
			dropped++
			continue
		}
		kept = append(kept, e)
	}
	d.index = kept
	if dropped > 0 {
		d.meta.Dropped += dropped
		d.log.Warn("spool full: dropped oldest telemetry", "dropped", dropped, "dropped_total", d.meta.Dropped, "max_bytes", d.maxBytes)
		if err := syncDir(d.dir); err != nil && firstErr == nil {
			firstErr = err
		}
		if err := d.writeMetaLocked(); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if d.bytes > d.maxBytes {
		d.log.Warn("spool is over its cap with only undroppable entries left", "bytes", d.bytes, "max_bytes", d.maxBytes)
	}
	return firstErr
}

// After implements Spool. Entries that cannot be read back are reported,
// removed and skipped.
func (d *Disk) After(after uint64, max int) ([]Entry, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	i := sort.Search(len(d.index), func(i int) bool { return d.index[i].seq > after })
	var out []Entry
	var bad []uint64
	for ; i < len(d.index) && len(out) < max; i++ {
		e := d.index[i]
		path := filepath.Join(d.dir, entryName(e.seq, e.typ))
		frame, err := readEntry(path)
		if err != nil {
			d.dropCorrupt(path, e.seq, err)
			bad = append(bad, e.seq)
			continue
		}
		out = append(out, Entry{Seq: e.seq, Type: e.typ, Frame: frame})
	}
	if len(bad) > 0 {
		kept := d.index[:0]
		for _, e := range d.index {
			if len(bad) > 0 && e.seq == bad[0] {
				bad = bad[1:]
				d.bytes -= e.size
				continue
			}
			kept = append(kept, e)
		}
		d.index = kept
	}
	return out, nil
}

// Ack implements Spool.
func (d *Disk) Ack(seq uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	var firstErr error
	for n < len(d.index) && d.index[n].seq <= seq {
		e := d.index[n]
		if err := os.Remove(filepath.Join(d.dir, entryName(e.seq, e.typ))); err != nil && !errors.Is(err, os.ErrNotExist) && firstErr == nil {
			firstErr = fmt.Errorf("remove acked spool entry: %w", err)
		}
		d.bytes -= e.size
		n++
	}
	if n == 0 {
		return nil
	}
	rest := copy(d.index, d.index[n:])
	d.index = d.index[:rest]
	// No directory fsync: a lost removal only means a harmless resend of a
	// message the hub de-duplicates.
	return firstErr
}

// Advance implements Spool.
func (d *Disk) Advance(seq uint64) error {
	if err := checkAdvance(seq); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if seq <= d.meta.LastSeq {
		return nil
	}
	d.meta.LastSeq = seq
	return d.writeMetaLocked()
}

// Stats implements Spool.
func (d *Disk) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return Stats{Depth: len(d.index), Bytes: d.bytes, LastSeq: d.meta.LastSeq, Dropped: d.meta.Dropped, Corrupt: d.corrupt}
}

// Close implements Spool.
func (d *Disk) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}
