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

// RPMQueryFormat is the --queryformat given to `rpm -qa`: name, [epoch:]
// version-release and vendor, tab-separated, one package a line.
const RPMQueryFormat = `%{NAME}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\t%|VENDOR?{%{VENDOR}}:{}|\n`

// ParseRPMQuery parses the output of `rpm -qa --queryformat
// RPMQueryFormat`. The gpg-pubkey pseudo-packages (imported signing keys)
// are skipped; lines that do not have three fields are skipped.
func ParseRPMQuery(out string) []diag.Software {
	var sw []diag.Software
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(strings.TrimRight(line, "\r"), "\t")
		if len(f) != 3 || f[0] == "" || f[0] == "gpg-pubkey" || strings.ContainsAny(f[0], " ") {
			continue
		}
		sw = append(sw, diag.Software{Name: f[0], Version: f[1], Publisher: f[2], Source: "rpm"})
	}
	return sw
}
