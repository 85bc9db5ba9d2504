package fixes

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tierline/tierline/agent/execx"
)

// stoppedPrinter matches a printer CUPS has disabled in `lpstat -p`, and
// one that refuses new documents in `lpstat -a`.
var (
	stoppedPrinter   = regexp.MustCompile(`(?m)^printer ([A-Za-z0-9][A-Za-z0-9._@-]{0,127}) disabled since `)
	rejectingPrinter = regexp.MustCompile(`(?m)^([A-Za-z0-9][A-Za-z0-9._@-]{0,127}) not accepting requests since `)
)

// maxPrinters bounds the printers one resume-printer run touches.
const maxPrinters = 32

// resumePrinters enables, and opens for jobs again, every printer
// `lpstat -p -a` lists as disabled or not accepting requests.
func resumePrinters(ctx context.Context, ex Executor) ActionResult {
	res, err := ex.Run(ctx, execx.Cmd{Argv: []string{"lpstat", "-p", "-a"}, Timeout: 10 * time.Second, MaxOutput: 256 << 10})
	if err != nil && strings.TrimSpace(res.Output) == "" {
		return ActionResult{Err: fmt.Errorf("list the printers: %w", err)}
	}
	var names []string
	for _, re := range []*regexp.Regexp{stoppedPrinter, rejectingPrinter} {
		for _, m := range re.FindAllStringSubmatch(res.Output, maxPrinters) {
			if !slices.Contains(names, m[1]) && len(names) < maxPrinters {
				names = append(names, m[1])
			}
		}
	}
	if len(names) == 0 {
		return ActionResult{NotApplicable: "no printer is paused or refusing documents"}
	}
	var out []string
	for _, n := range names {
		for _, tool := range []string{"cupsenable", "cupsaccept"} {
			r, err := ex.Run(ctx, execx.Cmd{Argv: []string{tool, n}, Timeout: 10 * time.Second, MaxOutput: 16 << 10})
			if err != nil {
				return ActionResult{Output: strings.Join(out, "\n"), Err: fmt.Errorf("%s %s: %w (%s)", tool, n, err, strings.TrimSpace(r.Output))}
			}
		}
		out = append(out, "resumed "+n)
	}
	return ActionResult{Output: strings.Join(out, "\n")}
}
