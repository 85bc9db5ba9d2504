package crashes

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// MaxReportHead is how much of a DiagnosticReports file is read: the
// header line of an .ips file and the start of its body, or the header
// block of a .crash file. Reports run to megabytes; the rest is stacks.
const MaxReportHead = 32 << 10

// ipsHeader is the first line of a macOS .ips report.
type ipsHeader struct {
	AppName    string `json:"app_name"`
	Name       string `json:"name"`
	AppVersion string `json:"app_version"`
	Timestamp  string `json:"timestamp"`
	BugType    string `json:"bug_type"`
}

// ipsBugTypes maps bug_type to a kind: 309 is a crash (109 in the older
// text format), 298 a hang report.
var ipsBugTypes = map[string]string{"309": KindCrash, "109": KindCrash, "298": KindHang}

// parseReport reads the head of a DiagnosticReports file (.ips, .crash,
// .hang, .spin), named name. ok is false for reports of other kinds
// (panics, resource use) and for what it cannot read.
func parseReport(name string, head []byte) (Event, bool) {
	if len(head) > MaxReportHead {
		head = head[:MaxReportHead]
	}
	if strings.HasSuffix(name, ".crash") {
		return parseCrashText(head)
	}
	line, body, _ := bytes.Cut(head, []byte("\n"))
	var h ipsHeader
	if err := json.Unmarshal(line, &h); err != nil {
		return parseCrashText(head) // .hang and .spin are text
	}
	kind, known := ipsBugTypes[h.BugType]
	if !known {
		return Event{}, false
	}
	app := h.AppName
	if app == "" {
		app = h.Name
	}
	at, err := time.Parse("2006-01-02 15:04:05.00 -0700", h.Timestamp)
	if err != nil {
		return Event{}, false
	}
	e := Event{App: app, Version: h.AppVersion, Time: at.UTC(), Kind: kind, Source: "diagnostic-reports"}
	e.PID, e.Reason = ipsBody(body)
	return e, app != ""
}

// ipsBody finds the pid and the exception in the start of an .ips body:
// the object may be cut off, so the two keys are looked up and decoded
// where they are.
func ipsBody(body []byte) (int, string) {
	var pid int
	if i := bytes.Index(body, []byte(`"pid"`)); i >= 0 {
		rest := bytes.TrimLeft(body[i+5:], " :\t\r\n")
		end := bytes.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if end > 0 {
			pid, _ = strconv.Atoi(string(rest[:end]))
		}
	}
	var reason string
	if i := bytes.Index(body, []byte(`"exception"`)); i >= 0 {
		rest := bytes.TrimLeft(body[i+11:], " :\t\r\n")
		var ex struct {
			Type   string `json:"type"`
			Signal string `json:"signal"`
		}
		if json.NewDecoder(bytes.NewReader(rest)).Decode(&ex) == nil && ex.Type != "" {
			reason = ex.Type
			if ex.Signal != "" {
				reason += " (" + ex.Signal + ")"
			}
		}
	}
	return pid, reason
}

// parseCrashText reads the header block of a text report:
//
//	Process:         Microsoft Outlook [1234]
//	Version:         16.80 (16.80.23121017)
//	Date/Time:       2026-12-05 10:12:33.123 +0100
//	Exception Type:  EXC_BAD_ACCESS (SIGSEGV)
//
// A hang report (.hang, .spin) says "Event: hang" and has no exception.
func parseCrashText(head []byte) (Event, bool) {
	e := Event{Kind: KindCrash, Source: "diagnostic-reports"}
	sc := bufio.NewScanner(bytes.NewReader(head))
	sc.Buffer(make([]byte, 4096), MaxReportHead)
	var when string
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "Process", "Command":
			if e.App != "" {
				continue
			}
			if i := strings.LastIndex(v, " ["); i > 0 && strings.HasSuffix(v, "]") {
				e.PID, _ = strconv.Atoi(v[i+2 : len(v)-1])
				v = v[:i]
			}
			e.App = strings.TrimSpace(v)
		case "Version":
			if e.Version == "" {
				e.Version, _, _ = strings.Cut(v, " (")
			}
		case "Date/Time":
			when = v
		case "Exception Type":
			e.Reason = v
		case "Event":
			if v == "hang" || v == "spin" {
				e.Kind = KindHang
			}
		}
	}
	for _, layout := range []string{"2006-01-02 15:04:05.000 -0700", "2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05.000000 -0700"} {
		if at, err := time.Parse(layout, when); err == nil {
			e.Time = at.UTC()
			break
		}
	}
	return e, e.App != "" && !e.Time.IsZero()
}
