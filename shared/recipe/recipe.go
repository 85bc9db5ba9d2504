// Package recipe is the organisation's own fixes: documents signed with
// the organisation's key (shared/orgdoc) that describe a fix the way the
// compiled catalog does (tier, OSes, typed parameters, consent, timeout,
// verification checks) plus the commands it runs, as argv templates.
//
// A template element is either a literal or exactly one parameter, "{name}":
// a parameter is only ever a whole argv element, never spliced into a
// string, and no shell is involved. Values pass the catalog's parameter
// rules (shared/catalog) and, when expanded, refuse what could still steer
// a program: an option-looking value ("-x", "--foo") unless the template
// ends options with a literal "--" before it, a "/x" switch on Windows, and
// a ".." path element. See docs/recipes.md.
package recipe

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/orgdoc"
)

// Limits on a recipe.
const (
	MaxSteps      = 16
	MaxArgs       = 64
	MaxArgLen     = 1024
	MaxTimeoutSec = 3600
	MaxSettleSec  = 300
	MaxVersion    = 1 << 53
)

// Recipe is one organisation fix.
type Recipe struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
	Title   string `json:"title"`
	// Description is for technicians; UserText for end users (Get help,
	// consent prompts).
	Description string          `json:"description,omitempty"`
	UserText    string          `json:"user_text,omitempty"`
	Tier        int             `json:"tier"`
	OSes        []string        `json:"oses"`
	Params      []catalog.Param `json:"params,omitempty"`
	Steps       []Step          `json:"steps"`
	TimeoutSec  int             `json:"timeout_sec"`
	SettleSec   int             `json:"settle_sec,omitempty"`
	Consent     bool            `json:"consent,omitempty"`
	Disruptive  bool            `json:"disruptive,omitempty"`
	// Verify names the health checks run before and after.
	Verify []string `json:"verify,omitempty"`
}

// Step is one command of a recipe.
type Step struct {
	// OS, when set, limits the step to that OS; otherwise it runs on each
	// of the recipe's OSes.
	OS string `json:"os,omitempty"`
	// Argv is the template: argv[0] a literal program (a bare name, found
	// only in the system directories, or an absolute path), then literals
	// and "{param}" elements.
	Argv []string `json:"argv"`
	// OKExits are exit codes besides 0 that mean success.
	OKExits []int `json:"ok_exits,omitempty"`
	// Optional: a failure is recorded but does not fail the recipe.
	Optional bool `json:"optional,omitempty"`
}

// Fix is the recipe as a catalog entry, for the runner, listings and the
// console: everything but the steps.
func (r Recipe) Fix() catalog.Fix {
	return catalog.Fix{ID: r.ID, Title: r.Title, Description: r.Description, UserText: r.UserText, Tier: r.Tier,
		OSes: r.OSes, Params: r.Params, Consent: r.Consent, Disruptive: r.Disruptive, TimeoutSec: r.TimeoutSec,
		Verify: r.Verify, SettleSec: r.SettleSec}
}

func invalid(format string, args ...any) error {
	return &orgdoc.Error{Reason: fmt.Sprintf(format, args...)}
}

// Validate checks a recipe's every field. A recipe that fails it is
// refused whole, never half applied.
func (r Recipe) Validate() error {
	if !orgdoc.ValidID(r.ID) {
		return invalid("recipe id %q must be 1 to 64 of a-z, 0-9 and '-'", orgdoc.Clip(r.ID))
	}
	if _, ok := catalog.Get(r.ID); ok {
		return invalid("recipe id %s is a built-in catalog fix; choose another id", r.ID)
	}
	if r.Version < 1 || r.Version > MaxVersion {
		return invalid("recipe %s: version must be a whole number from 1", r.ID)
	}
	for name, s := range map[string]struct {
		v        string
		min, max int
	}{"title": {r.Title, 1, 200}, "description": {r.Description, 0, 2000}, "user_text": {r.UserText, 0, 500}} {
		if len(s.v) < s.min || len(s.v) > s.max || strings.ContainsFunc(s.v, unicode.IsControl) {
			return invalid("recipe %s: %s must be %d to %d bytes without control characters", r.ID, name, s.min, s.max)
		}
	}
	if r.Tier < catalog.TierSelfHelp || r.Tier > catalog.TierExpert {
		return invalid("recipe %s: tier %d is outside 0..3", r.ID, r.Tier)
	}
	if len(r.OSes) == 0 {
		return invalid("recipe %s: name its OSes (linux, windows, darwin)", r.ID)
	}
	for i, os := range r.OSes {
		if !slices.Contains([]string{catalog.Linux, catalog.Windows, catalog.Darwin}, os) || slices.Contains(r.OSes[:i], os) {
			return invalid("recipe %s: OS %q is not linux, windows or darwin, or is named twice", r.ID, orgdoc.Clip(os))
		}
	}
	if len(r.Params) > catalog.MaxParams {
		return invalid("recipe %s: %d parameters; at most %d", r.ID, len(r.Params), catalog.MaxParams)
	}
	for i, p := range r.Params {
		if err := p.CheckDecl(); err != nil {
			return invalid("recipe %s: %v", r.ID, err)
		}
		if slices.ContainsFunc(r.Params[:i], func(q catalog.Param) bool { return q.Name == p.Name }) {
			return invalid("recipe %s: parameter %s is declared twice", r.ID, p.Name)
		}
	}
	if len(r.Steps) == 0 || len(r.Steps) > MaxSteps {
		return invalid("recipe %s: 1 to %d steps", r.ID, MaxSteps)
	}
	for i, st := range r.Steps {
		if err := r.checkStep(st); err != nil {
			return invalid("recipe %s: step %d: %v", r.ID, i+1, err)
		}
	}
	for _, os := range r.OSes {
		if len(r.stepsFor(os)) == 0 {
			return invalid("recipe %s: no step runs on %s", r.ID, os)
		}
	}
	if r.TimeoutSec < 1 || r.TimeoutSec > MaxTimeoutSec {
		return invalid("recipe %s: timeout_sec must be 1 to %d", r.ID, MaxTimeoutSec)
	}
	if r.SettleSec < 0 || r.SettleSec > MaxSettleSec {
		return invalid("recipe %s: settle_sec must be 0 to %d", r.ID, MaxSettleSec)
	}
	if len(r.Verify) > 16 {
		return invalid("recipe %s: at most 16 verification checks", r.ID)
	}
	for _, c := range r.Verify {
		if !orgdoc.ValidID(c) {
			return invalid("recipe %s: verification check %q is not a check name", r.ID, orgdoc.Clip(c))
		}
	}
	return nil
}

func (r Recipe) checkStep(st Step) error {
	if st.OS != "" && !slices.Contains(r.OSes, st.OS) {
		return fmt.Errorf("os %q is not one of the recipe's OSes", orgdoc.Clip(st.OS))
	}
	if len(st.Argv) == 0 || len(st.Argv) > MaxArgs {
		return fmt.Errorf("argv must have 1 to %d elements", MaxArgs)
	}
	if len(st.OKExits) > 16 {
		return errors.New("at most 16 ok_exits")
	}
	for _, c := range st.OKExits {
		if c < 1 || c > 255 {
			return fmt.Errorf("ok_exits: %d is outside 1..255", c)
		}
	}
	for i, a := range st.Argv {
		if len(a) > MaxArgLen || strings.ContainsFunc(a, func(r rune) bool { return unicode.IsControl(r) || r == unicode.ReplacementChar }) {
			return fmt.Errorf("argv[%d] is longer than %d bytes or holds a control character", i, MaxArgLen)
		}
		name, isParam := placeholder(a)
		switch {
		case isParam && i == 0:
			return errors.New("argv[0], the program, must be a literal")
		case isParam:
			if _, ok := r.param(name); !ok {
				return fmt.Errorf("argv[%d] names %s, which is not a declared parameter", i, a)
			}
		case strings.ContainsAny(a, "{}"):
			// "--name={user}" would splice a value into a string.
			return fmt.Errorf("argv[%d] %q: a parameter must be a whole element, \"{name}\", never part of one", i, orgdoc.Clip(a))
		}
	}
	prog := st.Argv[0]
	bare := !strings.ContainsAny(prog, `/\`)
	if prog == "" || strings.HasPrefix(prog, "-") || !bare && !absolute(prog) {
		return fmt.Errorf("argv[0] %q must be a program's bare name (found only in the system directories) or an absolute path", orgdoc.Clip(prog))
	}
	return nil
}

func absolute(p string) bool {
	if strings.HasPrefix(p, "/") {
		return !slices.Contains(strings.Split(p, "/"), "..")
	}
	// C:\Windows\System32\sc.exe
	if len(p) > 3 && (p[0] >= 'A' && p[0] <= 'Z' || p[0] >= 'a' && p[0] <= 'z') && p[1] == ':' && p[2] == '\\' {
		return !slices.Contains(strings.Split(p, `\`), "..")
	}
	return false
}

// placeholder returns the parameter name of a "{name}" element.
func placeholder(a string) (string, bool) {
	if len(a) > 2 && a[0] == '{' && a[len(a)-1] == '}' && !strings.ContainsAny(a[1:len(a)-1], "{}") {
		return a[1 : len(a)-1], true
	}
	return "", false
}

func (r Recipe) param(name string) (catalog.Param, bool) {
	for _, p := range r.Params {
		if p.Name == name {
			return p, true
		}
	}
	return catalog.Param{}, false
}

func (r Recipe) stepsFor(goos string) []Step {
	var out []Step
	for _, st := range r.Steps {
		if st.OS == "" || st.OS == goos {
			out = append(out, st)
		}
	}
	return out
}

// ValueError is a parameter value the expansion refuses.
type ValueError struct{ Param, Reason string }

func (e *ValueError) Error() string { return fmt.Sprintf("parameter %q: %s", e.Param, e.Reason) }

// Expand validates params with the catalog's rules and returns the steps
// for goos with every placeholder replaced by its value. A parameter left
// empty (optional, no default) drops its element. Values that look like an
// option where the template does not end options, a Windows "/" switch,
// or a ".." path element are refused with a *ValueError.
func (r Recipe) Expand(goos string, params map[string]string) ([]Step, map[string]string, error) {
	if !slices.Contains(r.OSes, goos) {
		return nil, nil, invalid("recipe %s is not for %s", r.ID, goos)
	}
	vals, err := r.Fix().Validate(params)
	if err != nil {
		return nil, nil, err
	}
	var out []Step
	for _, st := range r.stepsFor(goos) {
		argv := make([]string, 0, len(st.Argv))
		endOpts := false
		for _, a := range st.Argv {
			name, isParam := placeholder(a)
			if !isParam {
				endOpts = endOpts || a == "--"
				argv = append(argv, a)
				continue
			}
			v := vals[name]
			if v == "" {
				continue
			}
			if err := checkValue(goos, v, endOpts); err != "" {
				return nil, nil, &ValueError{Param: name, Reason: err}
			}
			argv = append(argv, v)
		}
		out = append(out, Step{OS: goos, Argv: argv, OKExits: st.OKExits, Optional: st.Optional})
	}
	return out, vals, nil
}

// checkValue returns why a validated value may not become an argv element.
func checkValue(goos, v string, endOpts bool) string {
	if strings.HasPrefix(v, "-") && !endOpts {
		return fmt.Sprintf("%q looks like an option and the recipe's command does not end its options with \"--\" before it", orgdoc.Clip(v))
	}
	if goos == catalog.Windows && strings.HasPrefix(v, "/") {
		return fmt.Sprintf("%q looks like a Windows switch", orgdoc.Clip(v))
	}
	if slices.Contains(strings.FieldsFunc(v, func(r rune) bool { return r == '/' || r == '\\' }), "..") {
		return fmt.Sprintf("%q holds a \"..\" path element", orgdoc.Clip(v))
	}
	if strings.ContainsRune(v, 0) {
		return "holds a NUL byte"
	}
	return ""
}

// Sign signs r (after checking it) with the organisation's key.
func Sign(priv ed25519.PrivateKey, r Recipe) (orgdoc.Signed, error) {
	return orgdoc.SignDoc(priv, orgdoc.KindRecipe, r)
}

// Open verifies a signed recipe against pub and returns it checked.
func Open(s orgdoc.Signed, pub ed25519.PublicKey) (Recipe, error) {
	return orgdoc.OpenDoc[Recipe](s, orgdoc.KindRecipe, pub)
}

// Parse decodes and checks a signed recipe's body without verifying the
// signature: for the hub, which holds no key, and after Verify.
func Parse(s orgdoc.Signed) (Recipe, error) {
	return orgdoc.ParseDoc[Recipe](s, orgdoc.KindRecipe)
}
