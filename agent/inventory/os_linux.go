package inventory

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ParseOSRelease parses os-release(5) into key/value pairs, unquoting
// values.
func ParseOSRelease(b []byte) map[string]string {
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if u, err := strconv.Unquote(v); err == nil {
			v = u
		} else {
			v = strings.Trim(v, `'"`)
		}
		kv[k] = v
	}
	return kv
}

// platformInfo reads the distribution from /etc/os-release (or
// /usr/lib/os-release) rather than running lsb_release.
func platformInfo(_ context.Context, cfg *Config) (platform, version string, err error) {
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		b, err := os.ReadFile(cfg.path(p))
		if err != nil {
			continue
		}
		kv := ParseOSRelease(b)
		version = kv["VERSION_ID"]
		if version == "" {
			version = kv["BUILD_ID"]
		}
		return kv["ID"], version, nil
	}
	return "", "", fmt.Errorf("no os-release file")
}
