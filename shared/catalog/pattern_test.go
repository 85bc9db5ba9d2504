package catalog

import (
	"strings"
	"sync"
	"testing"
)

// TestPatternsCompile: a parameter's pattern is compiled at its first use,
// not when the program starts, so a pattern that does not compile must fail
// here rather than at a fix request; each matches whole values only.
func TestPatternsCompile(t *testing.T) {
	n := 0
	for _, f := range All() {
		for _, p := range f.Params {
			if p.Pattern == "" {
				continue
			}
			n++
			if p.re == nil {
				t.Fatalf("%s.%s has a pattern and no matcher", f.ID, p.Name)
			}
			re := p.re.compiled()
			if re != p.re.compiled() {
				t.Errorf("%s.%s: compiled again at its second use", f.ID, p.Name)
			}
			// Bounded by the pattern or by the parameter's max_len, below
			// the MaxParamLen every parameter has.
			if re.MatchString("a;b") || re.MatchString("a\nb") || p.check(strings.Repeat("a", MaxParamLen-1)) == nil {
				t.Errorf("%s.%s (%s, max_len %d) takes more than whole, bounded values", f.ID, p.Name, p.Pattern, p.MaxLen)
			}
		}
	}
	if n == 0 {
		t.Fatal("no fix has a pattern")
	}
}

// TestValidateAtFirstUseConcurrently: fix requests that arrive together
// before any pattern was compiled each get the same, right answer.
func TestValidateAtFirstUseConcurrently(t *testing.T) {
	svc, _ := Get(RestartService)
	fresh := svc
	fresh.Params = append([]Param(nil), svc.Params...)
	for i := range fresh.Params {
		if fresh.Params[i].Pattern != "" {
			fresh.Params[i].re = newPattern(fresh.Params[i].Pattern) // not compiled yet
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() {
			v := "cups"
			if i%2 == 1 {
				v = "cups;reboot"
			}
			_, errs[i] = fresh.Validate(map[string]string{"service": v})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if bad := i%2 == 1; bad != (err != nil) || (bad && !strings.Contains(err.Error(), "does not match")) {
			t.Errorf("request %d: %v", i, err)
		}
	}
}
