// Package ticketevent is the vocabulary of a ticket's timeline: one Go type
// per event kind, each encoding to exactly the JSON the hub stores in
// ticket_events.data. The store decodes rows into these types and
// projects a few of them into side tables; the tickets package derives a
// ticket's state from them; the console, the device notifier and the
// metrics read them with a type switch.
//
// It is a package of its own, below both hub/store and hub/tickets, so
// that each can use the types without importing the other.
//
// JSON fields are declared in the order of their keys: the hub wrote
// these rows from maps, which encoding/json sorts by key, so declaring
// them sorted keeps every stored row byte-for-byte what a new write
// makes of the same event.
package ticketevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"

	"github.com/tierline/tierline/shared/wire"
)

// Data is the payload of one ticket event; its dynamic type says the
// kind. Unknown holds a kind this hub does not know.
type Data interface {
	// Kind is the kind stored with the event ("filed", "message", ...).
	Kind() string
}

// Event kinds as stored.
const (
	KindFiled           = "filed"
	KindSelfHelp        = "self_help"
	KindAssigned        = "assigned"
	KindCollaborator    = "collaborator"
	KindMessage         = "message"
	KindWaiting         = "waiting"
	KindResumed         = "resumed"
	KindEscalated       = "escalated"
	KindSLAWarning      = "sla_warning"
	KindSLABreach       = "sla_breach"
	KindRun             = "run"
	KindResolved        = "resolved"
	KindReopened        = "reopened"
	KindClosed          = "closed"
	KindSurvey          = "survey"
	KindPriority        = "priority"
	KindProblem         = "problem"
	KindVendorSent      = "vendor_sent"
	KindVendorRef       = "vendor_ref"
	KindVendorOverdue   = "vendor_overdue"
	KindLink            = "link"
	KindVendorDelivered = "vendor_delivered"
	KindVendorFailed    = "vendor_delivery_failed"
	KindResponseBreach  = "response_breach"
	KindKBDraft         = "kb_draft"
	KindRequestForm     = "request_form"
)

// Filed opens the timeline: the tier and priority the ticket starts with
// and, from a device, who asked and where it was routed.
type Filed struct {
	Category string `json:"category,omitempty"`
	// Channel is how the ticket came in (store.IntakeChannels); empty on
	// tickets filed before channels existed, which all came from devices.
	Channel string `json:"channel,omitempty"`
	// FiledOnDevice is when the user asked (RFC 3339), which may be
	// before the hub heard of it when the device was offline.
	FiledOnDevice string `json:"filed_on_device,omitempty"`
	Hostname      string `json:"hostname,omitempty"`
	Impact        int    `json:"impact"`
	// NoSnapshot says why a ticket filed for a device carries no
	// diagnostics: the device was offline or did not answer in time.
	NoSnapshot string `json:"no_snapshot,omitempty"`
	Queue      string `json:"queue,omitempty"`
	// Rule is the routing rule that chose the tier and queue.
	Rule string `json:"rule,omitempty"`
	Tier int    `json:"tier"`
	// Type is incident or request (store.TicketTypes); empty before types.
	Type    string `json:"type,omitempty"`
	Urgency int    `json:"urgency"`
	User    string `json:"user,omitempty"`
}

// RequestForm is a service request's form as filed: the template it was
// filed from and the answers with the labels they had then. It is the
// one record of them; the ticket's Request is read from it. Problem, when
// set, says why the answers do not fit the template as the hub has it (a
// device filed them against a copy the hub has since changed or
// deleted): the request is kept as it came, for the technician to judge.
type RequestForm struct {
	Answers  []wire.FormAnswer `json:"answers"`
	Name     string            `json:"name"`
	Problem  string            `json:"problem,omitempty"`
	Template string            `json:"template"`
	// Software is the software catalog entry the template asks to
	// install (an approval request).
	Software string `json:"software,omitempty"`
}

// SelfHelp is what the user tried on the device before filing: the
// articles shown and the Tier 0 fixes run. It is the one record of it;
// the ticket's Tried is read from it.
type SelfHelp struct {
	Articles []string      `json:"articles"`
	Runs     []SelfHelpRun `json:"runs"`
}

// SelfHelpRun is one fix the user ran. Time is absent on events written
// before it was recorded here.
type SelfHelpRun struct {
	Fix     string     `json:"fix"`
	Outcome string     `json:"outcome"`
	Reason  string     `json:"reason"`
	Time    *time.Time `json:"time,omitempty"`
}

// NewSelfHelp makes the event from what the device sent.
func NewSelfHelp(s wire.SelfHelp) SelfHelp {
	out := SelfHelp{Articles: append([]string{}, s.Articles...), Runs: make([]SelfHelpRun, 0, len(s.Runs))}
	for _, r := range s.Runs {
		run := SelfHelpRun{Fix: r.Fix, Outcome: r.Outcome, Reason: r.Reason}
		if !r.Time.IsZero() {
			at := r.Time
			run.Time = &at
		}
		out.Runs = append(out.Runs, run)
	}
	return out
}

// Tried is the event as the device sent it.
func (s SelfHelp) Tried() wire.SelfHelp {
	var out wire.SelfHelp
	out.Articles = append(out.Articles, s.Articles...)
	for _, r := range s.Runs {
		f := wire.TriedFix{Fix: r.Fix, Outcome: r.Outcome, Reason: r.Reason}
		if r.Time != nil {
			f.Time = *r.Time
		}
		out.Runs = append(out.Runs, f)
	}
	return out
}

// Assigned gives the ticket to a technician; To "" unassigns it.
type Assigned struct {
	To string `json:"to"`
}

// Collaborator: a technician joined the ticket (swarming).
type Collaborator struct {
	User string `json:"user"`
}

// Message senders.
const (
	FromTechnician = "technician"
	FromUser       = "user"
)

// Message is one message between the technicians and the user.
type Message struct {
	From string `json:"from"` // FromTechnician or FromUser
	// MsgID is the sender's id for the message, which makes it
	// idempotent.
	MsgID string `json:"msg_id,omitempty"`
	Text  string `json:"text"`
}

// Waiting pauses the clock while the ticket waits on its user or a
// vendor.
type Waiting struct {
	Reason string `json:"reason"`
	State  string `json:"state"`
}

// Resumed ends a wait.
type Resumed struct{}

// Escalated moves the ticket from one tier to another (up or down), by a
// technician (Note) or by the SLA clock (Auto, Reason).
type Escalated struct {
	Auto   bool   `json:"auto"`
	From   int    `json:"from"`
	Note   string `json:"note,omitempty"`
	Reason string `json:"reason,omitempty"`
	To     int    `json:"to"`
	// Vendor: the move to Tier 4 that forwarded it to this vendor.
	Vendor string `json:"vendor,omitempty"`
}

// SLAWarning: Pct percent of the tier's limit is used.
type SLAWarning struct {
	Limit string `json:"limit"` // a time.Duration string
	Pct   int    `json:"pct"`
	Tier  int    `json:"tier"`
}

// SLABreach: the tier's time limit passed.
type SLABreach struct {
	Limit string `json:"limit"`
	Tier  int    `json:"tier"`
}

// ResponseBreach: nobody responded within the tier's response limit. It
// is recorded and counted; it does not escalate.
type ResponseBreach struct {
	Limit string `json:"limit"`
	Tier  int    `json:"tier"`
}

// Run is a fix run on the ticket's device; Outcome is empty while it is
// only requested.
type Run struct {
	Fix     string `json:"fix"`
	Outcome string `json:"outcome,omitempty"`
	Run     string `json:"run"`
}

// Resolved resolves the ticket.
type Resolved struct {
	Resolution string `json:"resolution"`
}

// Reopened brings a resolved ticket back.
type Reopened struct {
	Reason string `json:"reason,omitempty"`
}

// Closed closes a resolved ticket for good.
type Closed struct{}

// Survey is the user's satisfaction with the help, 1 to 5.
type Survey struct {
	Comment string `json:"comment,omitempty"`
	Score   int    `json:"score"`
}

// Priority sets impact and urgency (1 high to 3 low).
type Priority struct {
	Impact  int `json:"impact"`
	Urgency int `json:"urgency"`
}

// Problem links the ticket to a problem; Problem "" unlinks it.
type Problem struct {
	Problem string `json:"problem"`
}

// Link links the ticket to another: parent, duplicate or related.
type Link struct {
	LinkKind string `json:"kind"`
	Other    string `json:"other"`
}

// VendorSent forwards the ticket to a Tier 4 vendor; it waits on the
// vendor, who owes an answer by Due.
type VendorSent struct {
	Channels []string `json:"channels"`
	Due      string   `json:"due,omitempty"` // RFC 3339
	Name     string   `json:"name"`
	Note     string   `json:"note,omitempty"`
	// Skipped says which of the vendor's channels this hub cannot use.
	Skipped string `json:"skipped,omitempty"`
	Target  string `json:"target,omitempty"` // a time.Duration string
	Vendor  string `json:"vendor"`
}

// VendorRef records the vendor's own reference for the ticket.
type VendorRef struct {
	Ref    string `json:"ref"`
	Vendor string `json:"vendor"`
}

// VendorOverdue: the vendor did not answer by Due; the next period ends
// at Next. Reminder says why no reminder was sent, when none was.
type VendorOverdue struct {
	Due      string `json:"due"`
	Next     string `json:"next,omitempty"`
	Reminder string `json:"reminder,omitempty"`
	Vendor   string `json:"vendor"`
}

// VendorDelivered: a message reached a vendor.
type VendorDelivered struct {
	Attempt      int    `json:"attempt"`
	Channel      string `json:"channel"`
	Delivery     string `json:"delivery"`
	DeliveryKind string `json:"kind"`
	Name         string `json:"name,omitempty"`
	Vendor       string `json:"vendor"`
}

// VendorFailed: an attempt to reach a vendor failed; it is tried again at
// RetryAt, unless Final.
type VendorFailed struct {
	Attempt      int    `json:"attempt"`
	Channel      string `json:"channel"`
	Delivery     string `json:"delivery"`
	Error        string `json:"error"`
	Final        bool   `json:"final,omitempty"`
	DeliveryKind string `json:"kind"`
	Name         string `json:"name,omitempty"`
	RetryAt      string `json:"retry_at,omitempty"` // RFC 3339
	Vendor       string `json:"vendor"`
}

// KBDraft: a knowledge base draft was written from the ticket.
type KBDraft struct {
	Article string `json:"article"`
	Title   string `json:"title"`
}

// Unknown is an event of a kind this hub does not know, or whose data it
// cannot read: it is kept as stored, so a timeline always loads and
// replays (it only counts).
type Unknown struct {
	Name string
	Raw  json.RawMessage
}

// MarshalJSON returns the data as it was stored.
func (u Unknown) MarshalJSON() ([]byte, error) {
	if len(u.Raw) == 0 || !json.Valid(u.Raw) {
		return []byte("{}"), nil
	}
	return u.Raw, nil
}

func (Filed) Kind() string           { return KindFiled }
func (SelfHelp) Kind() string        { return KindSelfHelp }
func (Assigned) Kind() string        { return KindAssigned }
func (Collaborator) Kind() string    { return KindCollaborator }
func (Message) Kind() string         { return KindMessage }
func (Waiting) Kind() string         { return KindWaiting }
func (Resumed) Kind() string         { return KindResumed }
func (Escalated) Kind() string       { return KindEscalated }
func (SLAWarning) Kind() string      { return KindSLAWarning }
func (SLABreach) Kind() string       { return KindSLABreach }
func (ResponseBreach) Kind() string  { return KindResponseBreach }
func (Run) Kind() string             { return KindRun }
func (Resolved) Kind() string        { return KindResolved }
func (Reopened) Kind() string        { return KindReopened }
func (Closed) Kind() string          { return KindClosed }
func (Survey) Kind() string          { return KindSurvey }
func (Priority) Kind() string        { return KindPriority }
func (Problem) Kind() string         { return KindProblem }
func (Link) Kind() string            { return KindLink }
func (VendorSent) Kind() string      { return KindVendorSent }
func (VendorRef) Kind() string       { return KindVendorRef }
func (VendorOverdue) Kind() string   { return KindVendorOverdue }
func (VendorDelivered) Kind() string { return KindVendorDelivered }
func (VendorFailed) Kind() string    { return KindVendorFailed }
func (KBDraft) Kind() string         { return KindKBDraft }
func (RequestForm) Kind() string     { return KindRequestForm }

// Kind is the stored kind.
func (u Unknown) Kind() string { return u.Name }

// decoders makes the zero value of each known kind and decodes into it.
var decoders = map[string]func([]byte) (Data, error){
	KindFiled:           decoder[Filed],
	KindSelfHelp:        decoder[SelfHelp],
	KindAssigned:        decoder[Assigned],
	KindCollaborator:    decoder[Collaborator],
	KindMessage:         decoder[Message],
	KindWaiting:         decoder[Waiting],
	KindResumed:         decoder[Resumed],
	KindEscalated:       decoder[Escalated],
	KindSLAWarning:      decoder[SLAWarning],
	KindSLABreach:       decoder[SLABreach],
	KindResponseBreach:  decoder[ResponseBreach],
	KindRun:             decoder[Run],
	KindResolved:        decoder[Resolved],
	KindReopened:        decoder[Reopened],
	KindClosed:          decoder[Closed],
	KindSurvey:          decoder[Survey],
	KindPriority:        decoder[Priority],
	KindProblem:         decoder[Problem],
	KindLink:            decoder[Link],
	KindVendorSent:      decoder[VendorSent],
	KindVendorRef:       decoder[VendorRef],
	KindVendorOverdue:   decoder[VendorOverdue],
	KindVendorDelivered: decoder[VendorDelivered],
	KindVendorFailed:    decoder[VendorFailed],
	KindKBDraft:         decoder[KBDraft],
	KindRequestForm:     decoder[RequestForm],
}

func decoder[T Data](raw []byte) (Data, error) {
	var v T
	if len(bytes.TrimSpace(raw)) == 0 {
		return v, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// Kinds lists every kind this hub knows.
func Kinds() []string {
	out := make([]string, 0, len(decoders))
	for k := range decoders {
		out = append(out, k)
	}
	return out
}

// Decode reads an event's stored data. It never fails: a kind it does not
// know, or data that is not what the kind says (a JSON null, a string
// where a number belongs), becomes Unknown with the bytes kept, and the
// error says why for whoever wants to log it.
func Decode(kind string, raw []byte) (Data, error) {
	dec, ok := decoders[kind]
	if !ok {
		return Unknown{Name: kind, Raw: clone(raw)}, nil
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return Unknown{Name: kind, Raw: clone(raw)}, &DecodeError{Kind: kind, Err: errNull}
	}
	d, err := dec(raw)
	if err != nil {
		return Unknown{Name: kind, Raw: clone(raw)}, &DecodeError{Kind: kind, Err: err}
	}
	return d, nil
}

func clone(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return append(json.RawMessage(nil), b...)
}

// Encode is the data as it is stored: "{}" for an event without fields.
func Encode(d Data) ([]byte, error) {
	if d == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(d)
}

var errNull = errors.New("data is null")

// DecodeError says which kind's data could not be read.
type DecodeError struct {
	Kind string
	Err  error
}

func (e *DecodeError) Error() string { return "ticket event " + e.Kind + ": " + e.Err.Error() }

func (e *DecodeError) Unwrap() error { return e.Err }
