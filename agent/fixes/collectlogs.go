package fixes

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tierline/tierline/agent/execx"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// bundleFile is one file of a log bundle.
type bundleFile struct {
	name string
	data []byte
	note string // where it came from, for the manifest
}

// logCommands returns the commands whose output goes into a log bundle
// on goos, covering the last hours. Every value in them is computed by the
// agent from a validated integer.
func logCommands(goos string, hours int, now time.Time) map[string][]string {
	switch goos {
	case "linux":
		since := now.Add(-time.Duration(hours)*time.Hour).UTC().Format("2006-01-02 15:04:05") + " UTC"
		return map[string][]string{"journal.txt": {"journalctl", "--since", since, "--no-pager", "-o", "short-iso"}}
	case "windows":
		// wevtutil takes its options glued to their switches.
		q := fmt.Sprintf("/q:*[System[TimeCreated[timediff(@SystemTime) <= %d]]]", int64(hours)*3600*1000)
		return map[string][]string{
			"system.txt":      {"wevtutil", "qe", "System", "/c:5000", "/rd:true", "/f:text", q},
			"application.txt": {"wevtutil", "qe", "Application", "/c:5000", "/rd:true", "/f:text", q},
		}
	case "darwin":
		return map[string][]string{"log-show.txt": {"log", "show", "--last", strconv.Itoa(hours) + "h", "--style", "syslog"}}
	}
	return nil
}

// defaultLogFiles are plain log files whose tails go into a bundle.
func defaultLogFiles(goos string) []string {
	switch goos {
	case "linux":
		return []string{"/var/log/syslog", "/var/log/messages"}
	case "darwin":
		return []string{"/var/log/system.log", "/var/log/install.log"}
	}
	return nil
}

func (l *Local) collectLogs(ctx context.Context, x Executor, args map[string]string) ActionResult {
	hours, err1 := strconv.Atoi(args["hours"])
	mib, err2 := strconv.Atoi(args["max_mib"])
	if err1 != nil || err2 != nil || hours < 1 || mib < 1 {
		return ActionResult{Err: fmt.Errorf("hours %q and max_mib %q must be positive numbers", args["hours"], args["max_mib"])}
	}
	limit := min(mib<<20, wire.MaxBundleSize)
	// Each source may hold several times the bundle: logs compress well,
	// and what does not fit is cut from the old end.
	perSource := 4 * limit
	now := l.now()
	var files []bundleFile
	var out strings.Builder
	cmds := logCommands(runtime.GOOS, hours, now)
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	// wevtutil lists newest first; the others oldest first.
	keepTail := runtime.GOOS != "windows"
	for _, name := range names {
		argv := cmds[name]
		res, err := x.Run(ctx, execx.Cmd{Argv: argv, MaxOutput: perSource, KeepTail: keepTail, Timeout: 2 * time.Minute})
		switch {
		case errors.Is(err, execx.ErrNotFound):
			fmt.Fprintf(&out, "%s: not installed, skipped\n", argv[0])
			continue
		case err != nil:
			fmt.Fprintf(&out, "%s: %v\n", argv[0], err)
		}
		note := fmt.Sprintf("output of %s (exit %d)", strings.Join(argv, " "), res.ExitCode)
		if res.Truncated {
			note += ", oldest part cut"
		}
		files = append(files, bundleFile{name: name, data: []byte(res.Output), note: note})
	}
	logFiles := l.LogFiles
	if logFiles == nil {
		logFiles = defaultLogFiles(runtime.GOOS)
	}
	for _, p := range logFiles {
		data, cut, err := readTail(p, perSource)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				fmt.Fprintf(&out, "%s: %v\n", p, err)
			}
			continue
		}
		note := "tail of " + p
		if cut {
			note += " (oldest part cut)"
		}
		files = append(files, bundleFile{name: "files" + strings.ReplaceAll(p, `\`, "/"), data: data, note: note})
	}
	if len(files) == 0 {
		return ActionResult{Output: out.String(), NotApplicable: "no log source was found on this machine"}
	}
	bundle, notes, err := buildBundle(files, limit, now)
	if err != nil {
		return ActionResult{Output: out.String(), Err: err}
	}
	for _, n := range notes {
		out.WriteString(n + "\n")
	}
	host := l.Hostname
	if host == "" {
		host = "device"
	}
	fmt.Fprintf(&out, "log bundle: %s compressed, %d files\n", diag.HumanBytes(uint64(len(bundle))), len(files)+1)
	return ActionResult{Output: out.String(), Bundle: bundle,
		BundleName: fmt.Sprintf("logs-%s-%s.tar.gz", safeName(host), now.UTC().Format("20060102T150405Z"))}
}

func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			b.WriteRune(r)
		}
		if b.Len() >= 64 {
			break
		}
	}
	if b.Len() == 0 {
		return "device"
	}
	return b.String()
}

// readTail reads at most max bytes from the end of a file.
func readTail(path string, max int) ([]byte, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	if !st.Mode().IsRegular() {
		return nil, false, fmt.Errorf("not a regular file")
	}
	off := int64(0)
	if st.Size() > int64(max) {
		off = st.Size() - int64(max)
	}
	data, err := io.ReadAll(io.NewSectionReader(f, off, int64(max)))
	return data, off > 0, err
}

// buildBundle packs files into a tar.gz of at most limit bytes, cutting
// the oldest (first) part of each file as needed. It first assumes logs
// compress eightfold and halves that guess until the bundle fits; at 1 it
// fits whatever the content.
func buildBundle(files []bundleFile, limit int, now time.Time) ([]byte, []string, error) {
	const slack = 64 << 10 // tar headers, manifest and gzip framing
	if limit <= 2*slack {
		return nil, nil, fmt.Errorf("bundle limit %d bytes is too small", limit)
	}
	for ratio := 8; ratio >= 1; ratio /= 2 {
		budget := (limit - slack) * ratio
		// Fair shares: small files whole, the rest split what is left.
		order := make([]int, len(files))
		for i := range order {
			order[i] = i
		}
		sort.Slice(order, func(a, b int) bool { return len(files[order[a]].data) < len(files[order[b]].data) })
		keep := make([]int, len(files))
		left := budget
		for k, i := range order {
			share := left / (len(files) - k)
			keep[i] = min(len(files[i].data), share)
			left -= keep[i]
		}
		var manifest strings.Builder
		fmt.Fprintf(&manifest, "Tierline log bundle, made %s\n\n", now.UTC().Format(time.RFC3339))
		var notes []string
		for i, f := range files {
			fmt.Fprintf(&manifest, "%s: %s, %d of %d bytes", f.name, f.note, keep[i], len(f.data))
			if keep[i] < len(f.data) {
				fmt.Fprintf(&manifest, " (oldest %d bytes left out to fit the bundle limit)", len(f.data)-keep[i])
				notes = append(notes, fmt.Sprintf("%s: kept the newest %s of %s", f.name,
					diag.HumanBytes(uint64(keep[i])), diag.HumanBytes(uint64(len(f.data)))))
			}
			manifest.WriteString("\n")
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		tw := tar.NewWriter(zw)
		add := func(name string, data []byte) error {
			if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
				return err
			}
			_, err := tw.Write(data)
			return err
		}
		err := add("MANIFEST.txt", []byte(manifest.String()))
		for i, f := range files {
			if err == nil {
				err = add(f.name, f.data[len(f.data)-keep[i]:])
			}
		}
		if err == nil {
			err = tw.Close()
		}
		if err == nil {
			err = zw.Close()
		}
		if err != nil {
			return nil, nil, fmt.Errorf("build the log bundle: %w", err)
		}
		if buf.Len() <= limit {
			return buf.Bytes(), notes, nil
		}
	}
	return nil, nil, fmt.Errorf("the log bundle does not fit in %d bytes", limit)
}
