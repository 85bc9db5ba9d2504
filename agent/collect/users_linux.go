package collect

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

// Layout of glibc's struct utmp on Linux (all 64-bit and 32-bit ABIs use
// 32-bit times here for compatibility): 384 bytes per record.
const (
	utmpSize        = 384
	utmpUserProcess = 7
)

// ParseUtmp returns the user sessions (USER_PROCESS records) of a utmp file.
func ParseUtmp(b []byte) ([]diag.User, error) {
	if len(b)%utmpSize != 0 {
		return nil, errors.New("utmp: size is not a multiple of the record size")
	}
	var out []diag.User
	for off := 0; off+utmpSize <= len(b); off += utmpSize {
		r := b[off : off+utmpSize]
		if int16(binary.LittleEndian.Uint16(r[0:2])) != utmpUserProcess {
			continue
		}
		u := diag.User{
			Terminal: cstr(r[8:40]),
			Name:     cstr(r[44:76]),
			Host:     cstr(r[76:332]),
		}
		if sec := int64(int32(binary.LittleEndian.Uint32(r[340:344]))); sec > 0 {
			u.Since = time.Unix(sec, 0).UTC()
		}
		if u.Name != "" {
			out = append(out, u)
		}
	}
	return out, nil
}

func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// ParseLogindSession parses one /run/systemd/sessions/<id> file (KEY=VALUE
// lines written by systemd-logind).
func ParseLogindSession(b []byte) (diag.User, bool) {
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			kv[k] = v
		}
	}
	if kv["USER"] == "" || kv["STATE"] == "closing" || kv["CLASS"] == "manager" || kv["CLASS"] == "background" {
		return diag.User{}, false
	}
	u := diag.User{Name: kv["USER"], Terminal: kv["TTY"], Host: kv["REMOTE_HOST"]}
	if u.Terminal == "" {
		u.Terminal = kv["DISPLAY"]
	}
	if us, err := strconv.ParseInt(kv["REALTIME"], 10, 64); err == nil && us > 0 {
		u.Since = time.UnixMicro(us).UTC()
	}
	return u, true
}

// fillUsers reads utmp and, where systemd no longer keeps one, logind's
// session files; both are plain files, so no exec of loginctl.
func fillUsers(_ context.Context, cfg *Config, s *diag.Sample) error {
	for _, p := range []string{"/var/run/utmp", "/run/utmp"} {
		b, err := os.ReadFile(cfg.path(p))
		if err != nil {
			continue
		}
		us, err := ParseUtmp(b)
		if err != nil {
			return err
		}
		s.Users = us
		return nil
	}
	dir := cfg.path("/run/systemd/sessions")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return noData("no utmp and no logind sessions")
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".") {
			continue // .ref files and temporary files
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if u, ok := ParseLogindSession(b); ok {
			s.Users = append(s.Users, u)
		}
	}
	sort.Slice(s.Users, func(i, j int) bool { return s.Users[i].Since.Before(s.Users[j].Since) })
	return nil
}
