package health

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

// The printing checks read the spooler's own view: CUPS's `lpstat -p -o -a`
// on Linux and macOS (run only when CUPS has printers configured), the
// Windows spooler through Get-Printer and Get-PrintJob. The reading is
// per OS (printing_unix.go, printing_windows.go); the parsing and grading
// here are pure and tested on recorded output.

// printer is one print queue.
type printer struct {
	Name    string
	Stopped bool   // CUPS: disabled (paused); Windows: paused, offline or in error
	Reason  string // what the spooler says about it
	// Printing is the job CUPS is printing on it now ("office-3"), "" when
	// it is idle or stopped.
	Printing string
	// Rejecting: CUPS refuses new documents for it (cupsreject), which
	// lpstat -p does not show; RejectReason is what it says about it.
	Rejecting    bool
	RejectReason string
}

// printJob is one job waiting in a queue.
type printJob struct {
	ID       string
	Printer  string
	User     string
	Queued   time.Time
	Problem  string // Windows: the job's error status, if any
	Printing bool
}

// printState is the spooler's view. None: no printing system or no
// printer configured.
type printState struct {
	None bool
	// Down says why the spooler did not answer when printers are set up.
	Down    string
	Source  string
	Printer []printer
	Jobs    []printJob
}

// winSpooler is the Source of the Windows reader's state.
const winSpooler = "Windows spooler"

func checkPrinters(ctx context.Context, pr *printReader) diag.CheckResult {
	st, err := pr.get(ctx)
	if err != nil {
		return unknown("Could not ask the print spooler.", ev("error", "%v", err))
	}
	return gradePrinters(st)
}

// noPrinting is what both printing checks say on a computer without
// printers.
const noPrinting = "No printers are set up."

// gradePrinters is the pure part of printer-stopped.
func gradePrinters(st printState) diag.CheckResult {
	if st.None {
		return ok(noPrinting)
	}
	if st.Down != "" {
		return result(diag.StatusFailing, catalog.RestartPrintSpooler, "The printing service is not running or not answering: nothing can print.",
			ev(st.Source, "%s", st.Down))
	}
	var evidence []diag.Evidence
	var stopped, rejecting []string
	busy := false // printing, or the spooler has a message about it
	for _, p := range st.Printer {
		busy = busy || p.Printing != "" || p.Reason != ""
		if p.Rejecting && !p.Stopped {
			rejecting = append(rejecting, p.Name)
			reason := cmp.Or(p.RejectReason, "no reason given")
			evidence = append(evidence, ev(p.Name, "not accepting documents: %s", reason))
			continue
		}
		if p.Stopped {
			stopped = append(stopped, p.Name)
			reason := p.Reason
			if reason == "" {
				reason = "no reason given"
			}
			evidence = append(evidence, ev(p.Name, "stopped: %s", reason))
			continue
		}
		switch {
		case p.Printing != "" && p.Reason != "":
			evidence = append(evidence, ev(p.Name, "printing %s; the spooler says: %s", p.Printing, p.Reason))
		case p.Printing != "":
			evidence = append(evidence, ev(p.Name, "printing %s", p.Printing))
		default:
			evidence = append(evidence, ev(p.Name, "ready"))
		}
	}
	var says []string
	if len(stopped) > 0 {
		says = append(says, fmt.Sprintf("The printer %s is paused or stopped: nothing prints on it.", strings.Join(stopped, ", ")))
	}
	if len(rejecting) > 0 {
		says = append(says, fmt.Sprintf("The printer %s refuses new documents: nothing can be sent to it.", strings.Join(rejecting, ", ")))
	}
	if len(says) > 0 {
		// Restarting CUPS leaves a disabled or rejecting queue so: it
		// takes cupsenable and cupsaccept (resume-printer). The Windows
		// spooler's offline and error states often clear with a restart.
		fix := catalog.ResumePrinter
		if st.Source == winSpooler {
			fix = catalog.RestartPrintSpooler
		}
		return result(diag.StatusFailing, fix, strings.Join(says, " "), evidence...)
	}
	if busy {
		return ok("No printer is paused or stopped.", evidence...)
	}
	return ok("Every printer is ready.", evidence...)
}

func checkPrintJobs(ctx context.Context, c *Config, pr *printReader, now time.Time) diag.CheckResult {
	st, err := pr.get(ctx)
	if err != nil {
		return unknown("Could not ask the print spooler.", ev("error", "%v", err))
	}
	after := c.PrintJobStuckAfter
	if after <= 0 {
		after = defaultPrintJobStuckAfter
	}
	return gradePrintJobs(st, now, after)
}

// defaultPrintJobStuckAfter is Config.PrintJobStuckAfter's default.
const defaultPrintJobStuckAfter = 10 * time.Minute

// gradePrintJobs is the pure part of print-jobs-stuck: per queue, how many
// jobs wait and how long the oldest has. A job waiting stuckAfter or longer
// is stuck.
func gradePrintJobs(st printState, now time.Time, stuckAfter time.Duration) diag.CheckResult {
	if st.None {
		return ok(noPrinting)
	}
	if st.Down != "" {
		// A spooler that is down is printer-stopped's to report (with the
		// fix); its jobs cannot be seen.
		return unknown("The print jobs cannot be seen: the printing service does not answer.", ev(st.Source, "%s", st.Down))
	}
	type queue struct {
		n, stuck int
		oldest   printJob
		problem  string
	}
	qs := map[string]*queue{}
	var order []string
	for _, j := range st.Jobs {
		q := qs[j.Printer]
		if q == nil {
			q = &queue{oldest: j}
			qs[j.Printer] = q
			order = append(order, j.Printer)
		}
		q.n++
		if j.Queued.Before(q.oldest.Queued) {
			q.oldest = j
		}
		if !j.Queued.IsZero() && now.Sub(j.Queued) >= stuckAfter || j.Problem != "" {
			q.stuck++
		}
		if j.Problem != "" && q.problem == "" {
			q.problem = j.Problem
		}
	}
	if len(order) == 0 {
		return ok("No print jobs are waiting.")
	}
	var evidence []diag.Evidence
	var stuck []string
	for _, name := range order {
		q := qs[name]
		v := fmt.Sprintf("%d job(s) waiting", q.n)
		if !q.oldest.Queued.IsZero() {
			v += fmt.Sprintf(", oldest %s queued %s ago", q.oldest.ID, agoText(now.Sub(q.oldest.Queued)))
			if q.oldest.User != "" {
				v += " by " + q.oldest.User
			}
		}
		if q.problem != "" {
			v += "; job status: " + q.problem
		}
		evidence = append(evidence, ev(name, "%s", v))
		if q.stuck > 0 {
			stuck = append(stuck, name)
		}
	}
	if len(stuck) > 0 {
		// Jobs behind a stopped CUPS printer print once it is resumed;
		// behind a working one they are cancelled. Windows restarts its
		// spooler with the queue emptied.
		fix := catalog.CancelPrintJobs
		for _, p := range st.Printer {
			if p.Stopped && slices.Contains(stuck, p.Name) {
				fix = catalog.ResumePrinter
			}
		}
		if st.Source == winSpooler {
			fix = catalog.RestartPrintSpooler
		}
		evidence = append(evidence, ev("threshold", "a job waiting %s or longer is stuck", agoText(stuckAfter)))
		return result(diag.StatusFailing, fix,
			fmt.Sprintf("Print jobs are stuck in %s: documents are not printing.", strings.Join(stuck, ", ")), evidence...)
	}
	return ok("Print jobs are moving.", evidence...)
}

// agoText says how long ago in the words evidence uses: seconds under a
// minute, minutes under two hours, then hours and days.
func agoText(d time.Duration) string {
	switch {
	case d < 0:
		return "0 s"
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// lpstatPrinter matches the first line of a printer in `lpstat -p`.
var lpstatPrinter = regexp.MustCompile(`^printer (\S+) (?:is idle|now printing (\S+?)\.?(?:\s|$)|disabled since [^-]*-|is (\w+))`)

// lpstatAccept matches a queue of `lpstat -a`: "office accepting requests
// since DATE", or "office not accepting requests since DATE -" with the
// reason on the next line, indented.
var lpstatAccept = regexp.MustCompile(`^(\S+) (not )?accepting requests since `)

// lpstatJob matches one job of `lpstat -o`: "queue-ID user size date".
var lpstatJob = regexp.MustCompile(`^(\S+)-(\d+)\s+(\S+)\s+(\d+)\s+(.+)$`)

// lpstatTimes are the date layouts lpstat prints ("%c" in the C locale,
// and en_US's).
var lpstatTimes = []string{"Mon Jan _2 15:04:05 2006", "Mon Jan 2 15:04:05 2006", "Mon 02 Jan 2006 03:04:05 PM MST", "Mon 02 Jan 2006 15:04:05 MST"}

// parseLpstat parses `lpstat -p -o -a` output (LANG=C). Job times are
// read in loc.
func parseLpstat(out string, loc *time.Location) printState {
	st := printState{Source: "lpstat"}
	sc := bufio.NewScanner(strings.NewReader(out))
	// The indented line that follows a printer (or a queue that is not
	// accepting) is its message; cur, or rejected, is whose.
	var cur, rejected *printer
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if m := lpstatPrinter.FindStringSubmatch(line); m != nil {
			st.Printer = append(st.Printer, printer{Name: m[1], Printing: m[2], Stopped: strings.Contains(line, " disabled since ")})
			cur, rejected = &st.Printer[len(st.Printer)-1], nil
			continue
		}
		if strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "  ") {
			switch {
			case cur != nil && cur.Reason == "":
				cur.Reason = strings.TrimSpace(line)
			case rejected != nil && rejected.RejectReason == "":
				rejected.RejectReason = strings.TrimSpace(line)
			}
			continue
		}
		cur, rejected = nil, nil
		if m := lpstatAccept.FindStringSubmatch(line); m != nil {
			if i := slices.IndexFunc(st.Printer, func(p printer) bool { return p.Name == m[1] }); i >= 0 && m[2] != "" {
				st.Printer[i].Rejecting, rejected = true, &st.Printer[i]
			}
			continue
		}
		if m := lpstatJob.FindStringSubmatch(line); m != nil {
			j := printJob{Printer: m[1], ID: m[1] + "-" + m[2], User: m[3]}
			date := strings.Join(strings.Fields(m[5]), " ")
			for _, layout := range lpstatTimes {
				if t, err := time.ParseInLocation(layout, date, loc); err == nil {
					j.Queued = t
					break
				}
				if t, err := time.ParseInLocation(layout, m[5], loc); err == nil {
					j.Queued = t
					break
				}
			}
			st.Jobs = append(st.Jobs, j)
		}
	}
	for i := range st.Printer {
		if st.Printer[i].Reason == "reason unknown" {
			st.Printer[i].Reason = ""
		}
		if st.Printer[i].RejectReason == "reason unknown" {
			st.Printer[i].RejectReason = ""
		}
	}
	return st
}

// Windows spooler: PrinterStatus values of Get-Printer (MSFT_Printer) that
// mean nothing prints.
var winPrinterProblems = map[int]string{1: "paused", 2: "error", 8: "paper jam", 16: "out of paper", 128: "offline", 512: "busy (not responding)", 4096: "out of toner", 16384: "door open", 131072: "not available"}

// psDate decodes Windows PowerShell 5's JSON date, "\/Date(1733452800000)\/".
var psDate = regexp.MustCompile(`^/Date\((-?\d+)[+-]?\d*\)/$`)

type psTime time.Time

func (t *psTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if m := psDate.FindStringSubmatch(s); m != nil {
		ms, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return err
		}
		*t = psTime(time.UnixMilli(ms).UTC())
		return nil
	}
	pt, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("date %q: %w", s, err)
	}
	*t = psTime(pt)
	return nil
}

// jsonList decodes ConvertTo-Json output, which is one object for one item
// and an array for more.
func jsonList[T any](b []byte) ([]T, error) {
	b = []byte(strings.TrimSpace(string(b)))
	if len(b) == 0 {
		return nil, nil
	}
	if b[0] == '[' {
		var out []T
		err := json.Unmarshal(b, &out)
		return out, err
	}
	var one T
	if err := json.Unmarshal(b, &one); err != nil {
		return nil, err
	}
	return []T{one}, nil
}

// Windows job status bits (JobStatus of Get-PrintJob) that mean trouble.
var winJobProblems = map[int]string{0x2: "error", 0x20: "offline", 0x40: "paper out", 0x200: "blocked by a stuck job", 0x400: "needs attention", 0x1: "paused"}

// parseWinPrinting parses `Get-Printer | Select Name,PrinterStatus |
// ConvertTo-Json` and `Get-PrintJob ... | Select PrinterName,Id,UserName,
// SubmittedTime,JobStatus | ConvertTo-Json`.
func parseWinPrinting(printers, jobs []byte) (printState, error) {
	type wp struct {
		Name          string
		PrinterStatus int
	}
	type wj struct {
		PrinterName   string
		ID            int `json:"Id"`
		UserName      string
		SubmittedTime psTime
		JobStatus     int
	}
	ps, err := jsonList[wp](printers)
	if err != nil {
		return printState{}, fmt.Errorf("printers: %w", err)
	}
	js, err := jsonList[wj](jobs)
	if err != nil {
		return printState{}, fmt.Errorf("print jobs: %w", err)
	}
	st := printState{Source: winSpooler, None: len(ps) == 0}
	for _, p := range ps {
		var why []string
		for bit, s := range winPrinterProblems {
			if p.PrinterStatus&bit != 0 {
				why = append(why, s)
			}
		}
		slices.Sort(why)
		st.Printer = append(st.Printer, printer{Name: p.Name, Stopped: len(why) > 0, Reason: strings.Join(why, ", ")})
	}
	for _, j := range js {
		var why []string
		for bit, s := range winJobProblems {
			if j.JobStatus&bit != 0 {
				why = append(why, s)
			}
		}
		slices.Sort(why)
		st.Jobs = append(st.Jobs, printJob{ID: strconv.Itoa(j.ID), Printer: j.PrinterName, User: j.UserName,
			Queued: time.Time(j.SubmittedTime), Problem: strings.Join(why, ", "), Printing: j.JobStatus&0x10 != 0})
	}
	return st, nil
}

// cutLine splits out at the first line that is exactly sep.
func cutLine(out, sep string) (before, after string, found bool) {
	lines := strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == sep {
			return strings.Join(lines[:i], "\n"), strings.Join(lines[i+1:], "\n"), true
		}
	}
	return out, "", false
}
