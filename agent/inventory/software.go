package inventory

import (
	"bufio"
	"io"
	"strings"

	"github.com/tierline/tierline/shared/diag"
)

// ParseDpkgStatus parses dpkg's status database (/var/lib/dpkg/status) and
// returns the installed packages. Paragraphs are separated by blank lines;
// continuation lines (starting with a space) are skipped.
func ParseDpkgStatus(r io.Reader) ([]diag.Software, error) {
	var out []diag.Software
	var cur diag.Software
	installed := false
	flush := func() {
		if cur.Name != "" && installed {
			cur.Source = "dpkg"
			out = append(out, cur)
		}
		cur, installed = diag.Software{}, false
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			flush()
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue
		}
		k, v, found := strings.Cut(line, ":")
		if !found {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Package":
			cur.Name = v
		case "Version":
			cur.Version = v
		case "Maintainer":
			cur.Publisher = v
		case "Status":
			installed = strings.HasSuffix(v, " installed") && !strings.HasPrefix(v, "deinstall")
		}
	}
	flush()
	return out, sc.Err()
}
