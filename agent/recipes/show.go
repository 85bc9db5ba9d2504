package recipes

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tierline/tierline/agent/cmdline"
	"github.com/tierline/tierline/shared/orgdoc"
)

// Main is `tierline-agent recipes`: it parses args (stateDir the --state
// default) and returns the exit status.
func Main(args []string, stateDir string, stdout, stderr io.Writer) int {
	fs := cmdline.NewFlags("recipes", "[--state DIR] [--json] [key [set KEY|FILE]]",
		"List the organisation's signed recipes this agent accepted (verified against the pinned key) and those\n"+
			"it refused the last time, with the reason. `key` shows the pinned signing key; `key set` pins another\n"+
			"(the base64 key or recipe keygen's .pub file): only the machine's administrator can, the hub only\n"+
			"with a key change signed by the pinned key.", stderr)
	state := fs.String("state", stateDir, "state directory")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := cmdline.Parse(fs, args, true, stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cmdline.ExitOK
		}
		fmt.Fprintf(stderr, "tierline-agent recipes: %v\n", err)
		return cmdline.ExitUsage
	}
	if err := Command(stdout, *state, fs.Args(), *asJSON); err != nil {
		fmt.Fprintf(stderr, "tierline-agent recipes: %v\n", err)
		return cmdline.ExitUsage
	}
	return cmdline.ExitOK
}

// ShowPin writes which organisation key dir pins (`tierline-agent
// recipe-key`).
func ShowPin(w io.Writer, dir string) error {
	pin, pub, ok, err := ReadPin(dir)
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintln(w, "no recipe signing key is pinned: this agent accepts no recipes")
		return nil
	}
	fmt.Fprintf(w, "recipe signing key %s (%s)\npinned by %s at %s; key changes applied: %d\n", orgdoc.KeyID(pub), pin.Key,
		pin.SetBy, pin.SetAt.Local().Format(time.DateTime), pin.Serial)
	return nil
}

// SetPin pins the key arg names, for the machine's administrator
// (`tierline-agent recipe-key set`).
func SetPin(w io.Writer, dir, arg string) error {
	pub, err := ParseKeyArg(arg)
	if err != nil {
		return err
	}
	if err := PinKey(dir, pub, "local", time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(w, "recipe signing key %s pinned; recipes signed by another key are refused from now on\n", orgdoc.KeyID(pub))
	return nil
}

// Write lists the accepted recipes and the last refusals
// (`tierline-agent recipes`).
func (s *Store) Write(w io.Writer, asJSON bool) {
	list, sw, refused := s.List(), s.SoftwareList(), s.Refused()
	if asJSON {
		b, _ := json.MarshalIndent(map[string]any{"recipes": list, "software": sw, "refused": refused}, "", "  ")
		fmt.Fprintln(w, string(b))
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RECIPE\tVERSION\tTIER\tOSES\tTITLE")
	for _, r := range list {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%v\t%s\n", r.ID, r.Version, r.Tier, r.OSes, r.Title)
	}
	if len(sw) > 0 {
		fmt.Fprintln(tw, "\nSOFTWARE\tVERSION\tMANAGER\tPACKAGE\tTITLE")
		for _, e := range sw {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s (%s)\t%s\n", e.ID, e.Version, e.Manager, e.Package, e.Constraint(), e.Title)
		}
	}
	tw.Flush()
	for _, r := range refused {
		fmt.Fprintf(w, "refused %s (version %d): %s\n", r.ID, r.Version, r.Reason)
	}
}

// Command is `tierline-agent recipes [key [set KEY|FILE]]`.
func Command(w io.Writer, dir string, args []string, asJSON bool) error {
	switch {
	case len(args) == 0:
		s, err := Open(dir, nil)
		if err != nil {
			return err
		}
		s.Write(w, asJSON)
		return nil
	case len(args) == 1 && args[0] == "key":
		return ShowPin(w, dir)
	case len(args) == 3 && args[0] == "key" && args[1] == "set":
		return SetPin(w, dir, args[2])
	}
	return fmt.Errorf("usage: tierline-agent recipes [--state DIR] [--json] [key [set KEY|FILE]]")
}
