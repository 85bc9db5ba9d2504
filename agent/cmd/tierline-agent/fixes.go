package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/tierline/tierline/agent/daemon"
	"github.com/tierline/tierline/agent/fixes"
	"github.com/tierline/tierline/shared/catalog"
)

func init() {
	register("fixes", "list the fixes this machine offers under its local policy (--json for JSON)", runFixes)
}

// fixListing is one fix as `fixes --json` prints it.
type fixListing struct {
	catalog.Fix
	// Available: the agent runs it here when asked by a tier of at least Tier.
	Available bool `json:"available"`
	// Why says which policy rule, OS limit or missing tool keeps it from
	// running here.
	Why string `json:"why,omitempty"`
}

type fixesReport struct {
	OS                string       `json:"os"`
	Policy            string       `json:"policy"`
	MaxTier           int          `json:"max_tier"`
	TechnicianConsent bool         `json:"technician_consent"`
	AllowServices     []string     `json:"allow_services"`
	Fixes             []fixListing `json:"fixes"`
}

func runFixes(_ context.Context, args []string) int {
	fs := newFlags("fixes", "[--state DIR] [--policy FILE] [--json]",
		"List the fix catalog compiled into this agent as it applies to this machine: which fixes\n"+
			"run here, at which tier, which need the user's consent, and which the device policy\n"+
			"refuses and by which rule. Also checks the policy file: exit status 1 when it is invalid.")
	state := fs.String("state", defaultStateDir(), "state directory (for the default policy file)")
	policyFile := fs.String("policy", "", "device fix policy file (default STATE/policy.json)")
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *policyFile == "" {
		*policyFile = filepath.Join(*state, fixes.PolicyFile)
	}
	pol, err := fixes.LoadPolicy(*policyFile)
	if err != nil {
		fmt.Fprintf(stderr, "tierline-agent fixes: %v\n", err)
		return exitError
	}
	rep := fixesReport{OS: runtime.GOOS, Policy: daemon.PolicySource(pol), MaxTier: pol.MaxTier, TechnicianConsent: pol.TechnicianConsent,
		AllowServices: append(fixes.BuiltinServices(runtime.GOOS), pol.AllowServices...)}
	m := fixes.LocalMachine()
	for _, f := range catalog.All() {
		l := fixListing{Fix: f, Available: true}
		switch {
		case !f.Supports(runtime.GOOS):
			l.Available, l.Why = false, "not available on "+runtime.GOOS
		case !pol.Allows(f):
			l.Available, l.Why = false, fixes.PolicyRefusal(pol, f)
		default:
			// Would it apply here? Plan it with sample parameters.
			params, _ := f.Validate(sampleParams[f.ID])
			if _, err := fixes.MakePlan(f, params, m); err != nil {
				var na *fixes.NotApplicableError
				if errors.As(err, &na) {
					l.Available, l.Why = false, "not applicable here: "+na.Reason
				}
			}
		}
		rep.Fixes = append(rep.Fixes, l)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "tierline-agent fixes: %v\n", err)
			return exitError
		}
		return exitOK
	}
	fmt.Fprintf(stdout, "Fixes on this %s machine (policy: %s; technician consent %s)\n\n", rep.OS, rep.Policy,
		map[bool]string{true: "accepted", false: "not accepted"}[rep.TechnicianConsent])
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FIX\tTIER\tCONSENT\tDISRUPTIVE\tAVAILABLE\tTITLE")
	var notes []string
	for _, l := range rep.Fixes {
		status := "available"
		if !l.Available {
			status = "no (see below)"
			notes = append(notes, fmt.Sprintf("  %s: %s", l.ID, l.Why))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", l.ID, l.Tier, yesNo(l.Consent), yesNo(l.Disruptive), status, l.Title)
	}
	tw.Flush()
	if len(notes) > 0 {
		fmt.Fprintf(stdout, "\nNot available here:\n%s\n", strings.Join(notes, "\n"))
	}
	fmt.Fprintf(stdout, "\nrestart-service allow-list: %s\n", strings.Join(rep.AllowServices, ", "))
	return exitOK
}

// sampleParams make a plan for the listing; only their presence matters.
var sampleParams = map[string]map[string]string{
	catalog.ClearCredentials: {"target": "example"},
	catalog.RestartService:   {"service": "example"},
	catalog.EndProcess:       {"name": "example"},
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "-"
}
