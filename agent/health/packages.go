package health

import (
	"sort"
	"strings"

	"github.com/tierline/tierline/shared/diag"
)

// Packages is the installed software as declarative package checks read
// it: each name (lower-cased) with its version, sorted, every string packed
// into one allocation. Holding it does not hold the inventory it was read
// from (an inventory is read in a burst of small allocations; keeping any
// of them keeps the heap at its peak; docs/benchmarks.md, "where the
// memory goes").
type Packages struct {
	names, versions []string
}

// PackagesOf packs an inventory's software list.
func PackagesOf(sw []diag.Software) Packages {
	n := 0
	for _, s := range sw {
		n += len(s.Name) + len(s.Version)
	}
	var b strings.Builder
	b.Grow(n)
	pack := func(s string) string { // the builder is never reallocated: grown to n
		start := b.Len()
		b.WriteString(s)
		return b.String()[start:]
	}
	idx := make([]int, len(sw))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return strings.ToLower(sw[idx[i]].Name) < strings.ToLower(sw[idx[j]].Name) })
	p := Packages{names: make([]string, 0, len(sw)), versions: make([]string, 0, len(sw))}
	for _, i := range idx {
		p.names = append(p.names, pack(strings.ToLower(sw[i].Name)))
		p.versions = append(p.versions, pack(sw[i].Version))
	}
	return p
}

// Version is the installed version of the package named name (case
// aside), and whether it is installed.
func (p Packages) Version(name string) (string, bool) {
	name = strings.ToLower(name)
	i := sort.SearchStrings(p.names, name)
	if i < len(p.names) && p.names[i] == name {
		return p.versions[i], true
	}
	return "", false
}
