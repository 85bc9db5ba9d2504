package wire

import (
	"errors"
	"fmt"
	"time"

	"github.com/tierline/tierline/shared/diag"
)

func init() {
	register(func() Body { return new(HelpRequest) })
	register(func() Body { return new(HelpReceipt) })
	register(func() Body { return new(TicketUpdate) })
	register(func() Body { return new(UserReply) })
	register(func() Body { return new(SurveyAnswer) })
	register(func() Body { return new(HelpSession) })
	register(func() Body { return new(KBQuery) })
	register(func() Body { return new(KBResults) })
}

// Message types of the Get help flow.
const (
	TypeHelpRequest  Type = "help_request"  // agent → hub, sequenced: file a ticket
	TypeHelpReceipt  Type = "help_receipt"  // hub → agent: the ticket a help request became
	TypeTicketUpdate Type = "ticket_update" // hub → agent: state change or technician message
	TypeUserReply    Type = "user_reply"    // agent → hub, sequenced: the user's message on a ticket
	TypeSurveyAnswer Type = "survey_answer" // agent → hub, sequenced: satisfaction survey on resolve
	TypeHelpSession  Type = "help_session"  // agent → hub, sequenced: a Get help session that ended without a ticket
	TypeKBQuery      Type = "kb_query"      // agent → hub: search published articles
	TypeKBResults    Type = "kb_results"    // hub → agent: answer to a kb_query
)

// Help categories offered to end users.
var HelpCategories = []string{"cannot-connect", "sign-in", "slow", "printing", "application", "other"}

// Limits of the Get help flow.
const (
	MaxHelpText    = 8 << 10
	MaxReplyText   = 8 << 10
	MaxSelfHelpRun = 32
	// MaxSelfHelpArticles bounds the articles a help request or session
	// says were shown.
	MaxSelfHelpArticles = 64
	MaxScreenshot       = 2 << 20
	// MaxSnapshotCrashes bounds the applications a snapshot's Crashes
	// lists; MaxCrashText each one's name, version and reason.
	MaxSnapshotCrashes = 20
	MaxCrashText       = 255
	// KBLimit is how many articles a device's knowledge-base search
	// returns.
	KBLimit = 10
)

// SelfHelp is what the user tried before filing: articles shown and Tier 0
// fixes run, with their results.
type SelfHelp struct {
	Articles []string   `json:"articles,omitempty"` // article ids shown
	Runs     []TriedFix `json:"runs,omitempty"`
}

// TriedFix is one Tier 0 fix the user ran.
type TriedFix struct {
	Fix     string    `json:"fix"`
	Outcome string    `json:"outcome"`
	Reason  string    `json:"reason,omitempty"`
	Time    time.Time `json:"time"`
}

// Snapshot is the device's diagnostics at the moment help was requested.
type Snapshot struct {
	Taken     time.Time          `json:"taken"`
	Sample    *diag.Sample       `json:"sample,omitempty"`
	Checks    []diag.CheckResult `json:"checks,omitempty"`
	Inventory *diag.Inventory    `json:"inventory,omitempty"`
	History   diag.History       `json:"history"`
	// Crashes are the applications that crashed or hung in the 24 hours
	// before filing, most events first, at most MaxSnapshotCrashes (added
	// 2026-12-06 without a version bump: an added optional field; hubs
	// before it ignore it, agents before it send none).
	Crashes []diag.AppCrashes `json:"crashes,omitempty"`
	// Network is the machine's network when help was requested:
	// interfaces, addresses, route, DNS servers, Wi-Fi (added 2026-12-06
	// without a version bump, as Crashes).
	Network *diag.NetworkPicture `json:"network,omitempty"`
}

// HelpRequest files a ticket from the device. RequestID makes filing
// idempotent: the hub creates one ticket per (device, request id).
type HelpRequest struct {
	RequestID string   `json:"request_id"`
	Text      string   `json:"text"`
	Category  string   `json:"category,omitempty"`
	User      string   `json:"user,omitempty"` // the logged-in user who asked
	Tried     SelfHelp `json:"tried"`
	Snapshot  Snapshot `json:"snapshot"`
	// Screenshot is a PNG the user chose to attach, if any.
	Screenshot []byte    `json:"screenshot,omitempty"`
	Filed      time.Time `json:"filed"`
	// Template is the request template the user filed with, and Answers
	// the user's answers to its fields by key (added 2026-12-06 without a
	// version bump: optional fields; hubs before them file the words as
	// an incident, agents before them send none).
	Template string            `json:"template,omitempty"`
	Answers  map[string]string `json:"answers,omitempty"`
}

func (HelpRequest) Type() Type { return TypeHelpRequest }

func (h HelpRequest) Validate() error {
	if err := ValidateRunID(h.RequestID); err != nil {
		return fmt.Errorf("request_id: %w", err)
	}
	if h.Text == "" || len(h.Text) > MaxHelpText {
		return fmt.Errorf("text must be 1 to %d bytes", MaxHelpText)
	}
	if h.Category != "" && !validCategory(h.Category) {
		return fmt.Errorf("category %q is not one of %v", Clip(h.Category, 32), HelpCategories)
	}
	if len(h.Tried.Runs) > MaxSelfHelpRun || len(h.Tried.Articles) > MaxSelfHelpArticles {
		return errors.New("too many self-help entries")
	}
	if len(h.Screenshot) > MaxScreenshot {
		return fmt.Errorf("screenshot is larger than %d bytes", MaxScreenshot)
	}
	if len(h.Snapshot.Crashes) > MaxSnapshotCrashes {
		return fmt.Errorf("snapshot lists more than %d crashed applications", MaxSnapshotCrashes)
	}
	for _, c := range h.Snapshot.Crashes {
		if err := checkLens(map[string]string{"crash app": c.App, "crash version": c.Version, "crash reason": c.Reason,
			"crash kind": c.LastKind, "crash source": c.Source}, MaxCrashText); err != nil {
			return err
		}
	}
	if n := h.Snapshot.Network; n != nil {
		if err := n.Validate(); err != nil {
			return err
		}
	}
	if h.Template != "" {
		if err := ValidateRunID(h.Template); err != nil {
			return fmt.Errorf("template: %w", err)
		}
	}
	if len(h.Answers) > 0 && h.Template == "" {
		return errors.New("answers without a template")
	}
	if err := ValidateAnswers(h.Answers); err != nil {
		return err
	}
	return checkLens(map[string]string{"user": h.User}, 255)
}

func validCategory(c string) bool {
	for _, k := range HelpCategories {
		if c == k {
			return true
		}
	}
	return false
}

// HelpReceipt tells the agent which ticket a help request became.
type HelpReceipt struct {
	RequestID string `json:"request_id"`
	TicketID  string `json:"ticket_id"`
	Number    int64  `json:"number"`
	Tier      int    `json:"tier"`
	// Next says, for the user, what happens now.
	Next string `json:"next,omitempty"`
	// Updated is when the ticket last changed, by the hub's clock: the
	// time the agent's copy of the ticket starts from, so the ticket's
	// updates (stamped by the same clock) are not taken for older ones
	// when the device's clock runs ahead (added 2026-12; hubs before that
	// send none, and the agent uses its own clock corrected by the hub
	// offset it measures).
	Updated time.Time `json:"updated,omitzero"`
	// Title is the ticket's title, so My tickets names it before anyone
	// acts on it (added 2026-12; hubs before that send none).
	Title string `json:"title,omitempty"`
	// Refused, when set, says for the user why the hub filed no ticket
	// (the device is over its budget of help requests), and RetryAt when
	// it takes the next; TicketID is then empty (added 2026-12-06).
	Refused string    `json:"refused,omitempty"`
	RetryAt time.Time `json:"retry_at,omitzero"`
	// Joined: the request repeated one the same user filed moments ago
	// with the same words, and was added to that ticket as a message
	// instead of opening another (added 2026-12-06).
	Joined bool `json:"joined,omitempty"`
}

func (HelpReceipt) Type() Type { return TypeHelpReceipt }

func (h HelpReceipt) Validate() error {
	if h.RequestID == "" || h.TicketID == "" && h.Refused == "" {
		return errors.New("help receipt needs request_id and ticket_id (or refused)")
	}
	if len(h.Refused) > 1024 {
		return errors.New("help receipt's refusal is longer than 1024 bytes")
	}
	return nil
}

// TicketUpdate tells the agent about a change to one of its tickets, for
// the user: a state change, a technician's message, a survey to answer.
type TicketUpdate struct {
	TicketID string    `json:"ticket_id"`
	Number   int64     `json:"number"`
	Title    string    `json:"title,omitempty"`
	State    string    `json:"state"`
	Tier     int       `json:"tier"`
	Time     time.Time `json:"time"`
	// Message from a technician, when the update is one.
	From    string `json:"from,omitempty"`
	Message string `json:"message,omitempty"`
	// AskSurvey: the ticket was resolved; ask the one-question survey.
	AskSurvey bool `json:"ask_survey,omitempty"`
}

func (TicketUpdate) Type() Type { return TypeTicketUpdate }

func (t TicketUpdate) Validate() error {
	if t.TicketID == "" {
		return errors.New("ticket update needs ticket_id")
	}
	return nil
}

// UserReply is the user's message on one of the device's tickets.
type UserReply struct {
	TicketID string `json:"ticket_id"`
	Text     string `json:"text"`
	User     string `json:"user,omitempty"`
	// ID names the reply so the hub adds it once however often it is
	// delivered (added 2026-11; agents before that send none, and their
	// replies are added per delivery as before).
	ID string `json:"id,omitempty"`
}

func (UserReply) Type() Type { return TypeUserReply }

func (u UserReply) Validate() error {
	if u.TicketID == "" || len(u.TicketID) > 64 {
		return errors.New("ticket_id must be 1 to 64 bytes")
	}
	if u.Text == "" || len(u.Text) > MaxReplyText {
		return fmt.Errorf("text must be 1 to %d bytes", MaxReplyText)
	}
	if len(u.ID) > 64 {
		return errors.New("id must be at most 64 bytes")
	}
	return checkLens(map[string]string{"user": u.User}, 255)
}

// SurveyAnswer answers the satisfaction survey of a resolved ticket:
// Score 1 (very unhappy) to 5 (very happy).
type SurveyAnswer struct {
	TicketID string `json:"ticket_id"`
	Score    int    `json:"score"`
	Comment  string `json:"comment,omitempty"`
}

func (SurveyAnswer) Type() Type { return TypeSurveyAnswer }

func (s SurveyAnswer) Validate() error {
	if s.TicketID == "" || len(s.TicketID) > 64 {
		return errors.New("ticket_id must be 1 to 64 bytes")
	}
	if s.Score < 1 || s.Score > 5 {
		return fmt.Errorf("score %d is outside 1..5", s.Score)
	}
	if len(s.Comment) > 2000 {
		return errors.New("comment is longer than 2000 bytes")
	}
	return nil
}

// HelpSession records a Get help session, so the hub can measure
// self-help deflection. Ticket is true when it ended in a ticket; Failing
// are the checks failing when it started, Recovered those of them that
// were ok when it ended.
type HelpSession struct {
	SessionID string    `json:"session_id"`
	Started   time.Time `json:"started"`
	Ended     time.Time `json:"ended"`
	Category  string    `json:"category,omitempty"`
	Ticket    bool      `json:"ticket"`
	FixesRun  []string  `json:"fixes_run,omitempty"`
	Articles  []string  `json:"articles,omitempty"`
	Failing   []string  `json:"failing,omitempty"`
	Recovered []string  `json:"recovered,omitempty"`
	// User is the logged-in user who opened Get help: deflection counts
	// them coming back from another computer too.
	User string `json:"user,omitempty"`
}

func (HelpSession) Type() Type { return TypeHelpSession }

func (h HelpSession) Validate() error {
	if err := ValidateRunID(h.SessionID); err != nil {
		return fmt.Errorf("session_id: %w", err)
	}
	if len(h.FixesRun) > 64 || len(h.Articles) > MaxSelfHelpArticles || len(h.Failing) > 64 || len(h.Recovered) > 64 {
		return errors.New("too many entries")
	}
	return checkLens(map[string]string{"user": h.User}, 255)
}

// MaxKBText is the longest search text of a KBQuery, in bytes.
const MaxKBText = 1024

// KBQuery searches the hub's published knowledge-base articles.
type KBQuery struct {
	QueryID string   `json:"query_id"`
	Text    string   `json:"text"`
	Checks  []string `json:"checks,omitempty"` // failing checks on the device
	Limit   int      `json:"limit,omitempty"`
}

func (KBQuery) Type() Type { return TypeKBQuery }

func (q KBQuery) Validate() error {
	if err := ValidateRunID(q.QueryID); err != nil {
		return fmt.Errorf("query_id: %w", err)
	}
	if len(q.Text) > MaxKBText || len(q.Checks) > 64 || q.Limit < 0 || q.Limit > 50 {
		return errors.New("query too large")
	}
	return nil
}

// KBArticle is a published article as end users see it.
type KBArticle struct {
	ID      string   `json:"id"`
	Title   string   `json:"title"`
	Body    string   `json:"body"` // Markdown
	Checks  []string `json:"checks,omitempty"`
	Fixes   []string `json:"fixes,omitempty"`
	Snippet string   `json:"snippet,omitempty"`
}

// KBResults answers a KBQuery.
type KBResults struct {
	QueryID  string      `json:"query_id"`
	Articles []KBArticle `json:"articles"`
}

func (KBResults) Type() Type { return TypeKBResults }

func (r KBResults) Validate() error {
	if r.QueryID == "" {
		return errors.New("kb results need query_id")
	}
	return nil
}
