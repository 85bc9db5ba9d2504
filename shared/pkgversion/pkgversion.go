// Package pkgversion compares software version strings the way Debian's
// dpkg does, which also orders the dotted versions of other package
// managers (rpm's version-release, Windows' 10.0.19045.1, macOS' 14.2.1)
// the way people expect.
//
// A version is [epoch:]upstream[-revision]. The epoch is a number (missing:
// 0) and counts first. Upstream and revision are compared in turn, each as
// alternating runs of non-digits and digits: digit runs by numeric value
// (so 1.10 is above 1.9 and 1.01 equals 1.1), non-digit runs character by
// character where letters sort before other characters and '~' sorts before
// everything, even the end of the string (so 1.0~rc1 is below 1.0). A
// missing revision is below any revision ("1.0" < "1.0-1").
package pkgversion

import "strings"

// Compare returns -1 when a is older than b, 0 when they are equal and +1
// when a is newer.
func Compare(a, b string) int {
	ea, ua, ra := split(a)
	eb, ub, rb := split(b)
	if c := compareDigits(ea, eb); c != 0 {
		return c
	}
	if c := compareFragment(ua, ub); c != 0 {
		return c
	}
	return compareFragment(ra, rb)
}

// Less reports whether a is older than b.
func Less(a, b string) bool { return Compare(a, b) < 0 }

// split cuts a version into epoch, upstream version and revision. An epoch
// that is not all digits is taken as part of the upstream version.
func split(v string) (epoch, upstream, revision string) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, ':'); i > 0 && allDigits(v[:i]) {
		epoch, v = v[:i], v[i+1:]
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		return epoch, v[:i], v[i+1:]
	}
	return epoch, v, ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// order is the weight of one character in a non-digit run, with 0 for the
// end of the run: '~' below the end, the end below letters, letters below
// everything else.
func order(c byte) int {
	switch {
	case c == '~':
		return -1
	case isDigit(c):
		return 0
	case isLetter(c):
		return int(c)
	default:
		return int(c) + 256
	}
}

func compareFragment(a, b string) int {
	for a != "" || b != "" {
		// Non-digit run.
		i, j := 0, 0
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ca, cb := 0, 0
			if i < len(a) && !isDigit(a[i]) {
				ca = order(a[i])
			}
			if j < len(b) && !isDigit(b[j]) {
				cb = order(b[j])
			}
			if ca != cb {
				if ca < cb {
					return -1
				}
				return 1
			}
			i++
			j++
		}
		a, b = a[min(i, len(a)):], b[min(j, len(b)):]
		// Digit run.
		i, j = 0, 0
		for i < len(a) && isDigit(a[i]) {
			i++
		}
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		if c := compareDigits(a[:i], b[:j]); c != 0 {
			return c
		}
		a, b = a[i:], b[j:]
	}
	return 0
}

// compareDigits compares two runs of digits by numeric value, of any
// length (an empty run is 0).
func compareDigits(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}
