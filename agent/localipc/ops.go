package localipc

import (
	"time"

	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// Operations of the agent's local socket, with the Go types of their
// request and answer bodies. The tray, the local Get help page and the
// agent's own subcommands are clients; the running agent
// (agent/daemon) serves them with the handlers of agent/localapi.
//
// Who may call what: the agent's own user (root, or SYSTEM and
// Administrators on Windows) may call every operation. Any other local
// user may call the operations marked "user" below, and only for itself:
// it sees and answers only the tickets it filed, runs only Tier 0 fixes,
// and cannot change the device's policy. Everything else answers with code
// "forbidden". Client has a method for each.
const (
	// OpStatus (user): no body → Status.
	OpStatus Op = "status"
	// OpDiagnose (user): no body → Diagnosis. Runs the health checks now.
	OpDiagnose Op = "diagnose"
	// OpFixes (user): no body → FixList. A user caller sees Tier 0 fixes only.
	OpFixes Op = "fixes"
	// OpRun (user): RunCall → wire.RunResult. Synchronous: waits for the
	// fix to finish (at most its catalog timeout, plus any run of the hub's
	// in progress). Above Tier 0 a user caller gets "forbidden".
	OpRun Op = "run"
	// OpKB (user): KBCall → KBAnswer. Asks the hub (about 3 s); offline
	// it answers from STATE/kb-cache.json with Cached set.
	OpKB Op = "kb"
	// OpSession (user): SessionCall → SessionAnswer. Records a Get help
	// session for the hub's deflection figures.
	OpSession Op = "session"
	// OpConsentPending (user): no body → []ConsentItem.
	OpConsentPending Op = "consent_pending"
	// OpConsentAnswer (user): ConsentAnswerCall → OK.
	OpConsentAnswer Op = "consent_answer"
	// OpHelp (user): HelpCall → HelpAnswer. A user caller's ticket is
	// filed in its own name, whatever HelpCall.User says.
	OpHelp Op = "help"
	// OpTickets (user): no body or TicketsCall → []MyTicket (a user
	// caller: its own). Listing marks technicians' messages as seen
	// unless Peek is set.
	OpTickets Op = "tickets"
	// OpReply (user): wire.UserReply → Queued (a user caller: on its own
	// tickets only).
	OpReply Op = "reply"
	// OpSurvey (user): wire.SurveyAnswer → Queued (same rule).
	OpSurvey Op = "survey"
	// OpTemplates (user): no body → TemplatesAnswer. The hub's service
	// request templates; asks the hub (about 3 s), offline it answers
	// from STATE/request-templates.json with Cached set.
	OpTemplates Op = "templates"
	// OpSoftware (user): no body → SoftwareList: the organisation's
	// signed software catalog on this device, with what is installed.
	// Installing one is OpRun with fix install-software and its entry.
	OpSoftware Op = "software"
	// OpProgress (user): no body → RunProgress: the latest progress step
	// of the caller's own fix run (an install) while OpRun waits for it;
	// Running is false when the caller has none running.
	OpProgress Op = "progress"
)

// RunProgress answers OpProgress.
type RunProgress struct {
	Running bool   `json:"running"`
	Fix     string `json:"fix,omitempty"`
	// Percent is 0 to 100, or -1 when the step does not say.
	Percent int       `json:"percent"`
	Text    string    `json:"text,omitempty"`
	At      time.Time `json:"at,omitzero"`
}

// SoftwareList answers OpSoftware.
type SoftwareList struct {
	Entries []SoftwareItem `json:"entries"`
}

// SoftwareItem is one entry of the signed software catalog.
type SoftwareItem struct {
	ID          string `json:"id"`
	Version     int64  `json:"version"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Manager     string `json:"manager"`
	Package     string `json:"package"`
	// Constraint is the entry's version rule in words.
	Constraint string `json:"constraint"`
	// Installed is the version the package database holds ("": none, or
	// unknown on this OS).
	Installed string `json:"installed,omitempty"`
	// Satisfied: installed at a version the entry accepts.
	Satisfied bool `json:"satisfied"`
	// Applicable: it can be installed here; Reason says why not.
	Applicable bool   `json:"applicable"`
	Reason     string `json:"reason,omitempty"`
}

// Icon states of the tray, most important first when several apply.
const (
	IconMessage   = "message"   // a technician message or a consent request is waiting
	IconProblem   = "problem"   // a health check is failing on this machine
	IconOffline   = "offline"   // the hub cannot be reached; requests are queued
	IconConnected = "connected" // all is well
)

// Status is the agent's state as the tray shows it.
type Status struct {
	Connected bool `json:"connected"`
	// LastSync is when the hub last acknowledged a message (zero: never).
	LastSync time.Time `json:"last_sync"`
	// Hub is the hub's address (host:port).
	Hub string `json:"hub"`
	// Queued is the number of messages waiting in the spool.
	Queued int `json:"queued"`
	// Failing are the health checks failing or warning now.
	Failing []Check `json:"failing"`
	// MessagesWaiting counts technicians' messages on the caller's
	// tickets that arrived after the caller last listed its tickets, plus
	// resolved tickets waiting for the survey.
	MessagesWaiting int `json:"messages_waiting"`
	// PendingConsent counts fixes waiting for the user's consent.
	PendingConsent int    `json:"pending_consent"`
	Icon           string `json:"icon"`
	// Hostname and User are this machine and the caller as the agent
	// sees them.
	Hostname  string `json:"hostname,omitempty"`
	User      string `json:"user,omitempty"`
	LastError string `json:"last_error,omitempty"`
	Version   string `json:"version,omitempty"`
}

// Diagnosis answers OpDiagnose.
type Diagnosis struct {
	Checks []Check `json:"checks"`
	// Crashes are the applications that crashed or hung in the last 24
	// hours, most events first (agents before 2026-12-06 send none).
	Crashes []Crash `json:"crashes"`
}

// MaxDiagnosisCrashes bounds Diagnosis.Crashes.
const MaxDiagnosisCrashes = 10

// Crash is an application that crashed or hung recently, as the Get help
// page tells the user about it.
type Crash struct {
	App     string    `json:"app"`
	Crashes int       `json:"crashes"`
	Hangs   int       `json:"hangs,omitempty"`
	Today   int       `json:"today"`
	Last    time.Time `json:"last"`
	// Says is the plain sentence: "Outlook crashed 4 times today".
	Says string `json:"says"`
}

// NewCrash is a as the socket carries it.
func NewCrash(a diag.AppCrashes) Crash {
	return Crash{App: a.DisplayName(), Crashes: a.Crashes, Hangs: a.Hangs, Today: a.Today, Last: a.Last, Says: a.Sentence()}
}

// Check is one health check's result as the socket carries it: the one
// shape the tray and the Get help page read, made by NewCheck.
type Check struct {
	Name     string          `json:"name"`
	Status   string          `json:"status"` // ok, warning, failing, unknown
	Summary  string          `json:"summary"`
	Evidence []diag.Evidence `json:"evidence,omitempty"`
	// Fixes are catalog fix ids that address it, as the caller may run
	// them here.
	Fixes []string `json:"fixes"`
}

// NewCheck is r as the socket carries it, with the fixes that address it.
func NewCheck(r diag.CheckResult, fixes []string) Check {
	if fixes == nil {
		fixes = []string{}
	}
	return Check{Name: r.Name, Status: string(r.Status), Summary: r.Summary, Evidence: r.Evidence, Fixes: fixes}
}

// FixList answers OpFixes.
type FixList struct {
	Fixes []Fix `json:"fixes"`
}

// Fix is a catalog fix as the caller may use it.
type Fix struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Description is the catalog's end-user text.
	Description string `json:"description"`
	Tier        int    `json:"tier"`
	// Consent: a technician running it must first ask the user. The user
	// running it from the tray has given it by asking.
	Consent    bool `json:"consent"`
	Disruptive bool `json:"disruptive,omitempty"`
	// Applicable: it can run here now (OS, device policy, and what the
	// machine has: no printing fixes without CUPS). Reason says why not.
	Applicable bool   `json:"applicable"`
	Reason     string `json:"reason,omitempty"`
	// Params the fix takes; all have defaults for Tier 0 fixes.
	Params []FixParam `json:"params,omitempty"`
	// Addresses names the failing checks it addresses now.
	Addresses []string `json:"addresses,omitempty"`
	// Worst is the worst status of those checks: "failing" or "warning"
	// ("" when it addresses none).
	Worst string `json:"worst,omitempty"`
	// Suggested: one of those checks names it as its fix (the others
	// only verify it).
	Suggested bool `json:"suggested,omitempty"`
}

// FixParam is one parameter of a fix.
type FixParam struct {
	Name    string `json:"name"`
	Title   string `json:"title"`
	Default string `json:"default,omitempty"`
	Help    string `json:"help,omitempty"`
}

// RunCall asks the agent to run a fix now.
type RunCall struct {
	Fix    string            `json:"fix"`
	Params map[string]string `json:"params,omitempty"`
}

// KBCall searches the hub's published knowledge-base articles.
type KBCall struct {
	Text string `json:"text"`
	// Checks are failing checks to rank by; empty means the machine's
	// failing checks now.
	Checks []string `json:"checks,omitempty"`
}

// KBAnswer answers OpKB.
type KBAnswer struct {
	Articles []wire.KBArticle `json:"articles"`
	// Cached: the hub could not be asked; these come from the articles
	// the agent saw before.
	Cached bool `json:"cached"`
}

// TemplatesAnswer answers OpTemplates.
type TemplatesAnswer struct {
	Templates []wire.RequestTemplate `json:"templates"`
	// Cached: the hub could not be asked; this is the list it gave last.
	Cached bool `json:"cached"`
}

// SessionCall records a Get help session.
type SessionCall struct {
	SessionID string    `json:"session_id"`
	Started   time.Time `json:"started"`
	Category  string    `json:"category,omitempty"`
	Ticket    bool      `json:"ticket"`
	FixesRun  []string  `json:"fixes_run,omitempty"`
	Articles  []string  `json:"articles,omitempty"`
	// Failing are the checks failing when the session started.
	Failing []string `json:"failing,omitempty"`
}

// SessionAnswer says which of the session's failing checks are ok now.
type SessionAnswer struct {
	Recovered []string `json:"recovered"`
	Queued    bool     `json:"queued"`
}

// ConsentItem is a fix waiting for the user's consent.
type ConsentItem struct {
	RunID string `json:"run_id"`
	Fix   string `json:"fix"`
	Title string `json:"title"`
	// Technician is who asked for it.
	Technician string `json:"technician"`
	// Reason is what the fix does, in the catalog's end-user words;
	// Target what exactly it acts on ("the program firefox (process
	// 4242, run by alice)"), "" where Reason says it all.
	Reason     string    `json:"reason"`
	Target     string    `json:"target,omitempty"`
	Ticket     string    `json:"ticket,omitempty"`
	Disruptive bool      `json:"disruptive,omitempty"`
	Expires    time.Time `json:"expires"`
}

// ConsentAnswerCall answers a consent request.
type ConsentAnswerCall struct {
	RunID string `json:"run_id"`
	Allow bool   `json:"allow"`
}

// TicketsCall is the optional body of OpTickets.
type TicketsCall struct {
	// Peek: list without marking messages as seen (the tray, which
	// notifies about them; the page marks them seen).
	Peek bool `json:"peek,omitempty"`
}

// OK is the answer of operations that only succeed or fail.
type OK struct {
	OK bool `json:"ok"`
}

// Queued answers reply and survey: the message is in the spool.
type Queued struct {
	Queued bool `json:"queued"`
}

// HelpCall is the body of a "help" request.
type HelpCall struct {
	RequestID string        `json:"request_id"`
	Text      string        `json:"text"`
	Category  string        `json:"category,omitempty"`
	User      string        `json:"user,omitempty"`
	Tried     wire.SelfHelp `json:"tried"`
	// Screenshot is a PNG the user chose to attach.
	Screenshot []byte `json:"screenshot,omitempty"`
	// Wait is how long to wait for the hub's ticket number (nanoseconds
	// in JSON; at most 30 s).
	Wait time.Duration `json:"wait,omitempty"`
	// Template files a service request from that request template (an id
	// from OpTemplates), with Answers to its fields by key; Text may then
	// be empty.
	Template string            `json:"template,omitempty"`
	Answers  map[string]string `json:"answers,omitempty"`
}

// HelpAnswer is what the caller of "help" is told.
type HelpAnswer struct {
	RequestID string `json:"request_id"`
	// Queued: the request is in the agent's spool and will reach the hub.
	Queued    bool   `json:"queued"`
	Connected bool   `json:"connected"`
	TicketID  string `json:"ticket_id,omitempty"`
	Number    int64  `json:"number,omitempty"`
	Tier      int    `json:"tier,omitempty"`
	Next      string `json:"next,omitempty"`
	// Joined: the request repeated the same words of one this user
	// filed moments ago; the hub added it to that ticket (Number).
	Joined bool `json:"joined,omitempty"`
}

// MyTicket is one of the device's tickets as the user sees it.
type MyTicket struct {
	ID        string    `json:"id"`
	Number    int64     `json:"number"`
	Title     string    `json:"title,omitempty"`
	State     string    `json:"state"`
	Tier      int       `json:"tier"`
	Updated   time.Time `json:"updated"`
	AskSurvey bool      `json:"ask_survey,omitempty"`
	// Surveyed: the user answered the survey for this resolution.
	Surveyed bool         `json:"surveyed,omitempty"`
	Messages []TicketNote `json:"messages,omitempty"`
	// User is the local user who filed it ("" for tickets filed before
	// the agent recorded it: only the administrator sees those).
	User string `json:"user,omitempty"`
}

// TicketNote is a message on a ticket, from a technician or the user.
type TicketNote struct {
	From string    `json:"from"`
	Text string    `json:"text"`
	Time time.Time `json:"time"`
}
