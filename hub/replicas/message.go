package replicas

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// MaxPayload is the largest notification payload a replica sends or takes
// (PostgreSQL's own limit is 8000 bytes).
const MaxPayload = 7900

// ErrTooLarge: a message does not fit in a notification.
var ErrTooLarge = errors.New("too large for a notification")

// Kinds of Message.
const (
	// KindRuns (to the replica holding Device): send it Queued, a fix run
	// just stored, or without Queued its queued fix runs.
	KindRuns = "runs"
	// KindChecks (to the holder): ask Device to run the checks Names now,
	// as request Request.
	KindChecks = "checks"
	// KindTicketUpdate (to the holder): send Device Update, a ticket
	// update; KindCatchUp: send it its tickets' recent updates (an update
	// too large for a notification).
	KindTicketUpdate = "ticket_update"
	KindCatchUp      = "catch_up"
	// KindDiagnose (to the holder): run every check of Device now, as
	// request Request, and answer KindDiagnosed (to the asking replica)
	// once the results are stored, with Error when they could not be had.
	KindDiagnose  = "diagnose"
	KindDiagnosed = "diagnosed"
	// KindBell (to all): ring User's bell on the console pages with the
	// notification ID (Event, Title, Link) and Unread notifications;
	// KindUnread: set User's bell to Unread (read on another page).
	KindBell   = "bell"
	KindUnread = "unread"
	// KindGroup (to the holder): Device moved to Group.
	KindGroup = "group"
	// KindPolicy (to all): the policy of Group changed.
	KindPolicy = "policy"
	// KindRevoked (to all): Device was revoked; cut its connection.
	KindRevoked = "revoked"
	// KindRun (to all): the result (or expiry) of Run is stored, of
	// Device and Ticket, now in State with Outcome (older replicas send
	// only Run: the receiver reads the rest from the store).
	KindRun = "run"
	// KindRunProgress (to all): a progress step of the running Run is
	// stored; the pages showing it update.
	KindRunProgress = "run_progress"
	// KindTicket (to all): Ticket changed with the events Events.
	KindTicket = "ticket"
)

var kinds = []string{KindRuns, KindChecks, KindDiagnose, KindDiagnosed, KindBell, KindUnread, KindTicketUpdate, KindCatchUp, KindGroup, KindPolicy, KindRevoked, KindRun, KindRunProgress, KindTicket}

// Message is what one replica tells another (or all) over a notification
// channel: which record in the store to act on, and where the record is
// small and ready to act on (a ticket update, a fix run to send, a
// finished run's state), the record, so the receiver need not read it.
type Message struct {
	Kind    string          `json:"kind"`
	From    string          `json:"from"` // the sending replica
	Device  string          `json:"device,omitempty"`
	Group   string          `json:"group,omitempty"`
	Run     string          `json:"run,omitempty"`
	Ticket  string          `json:"ticket,omitempty"`
	Events  []int64         `json:"events,omitempty"`
	Request string          `json:"request,omitempty"`
	Names   []string        `json:"names,omitempty"`
	Update  json.RawMessage `json:"update,omitempty"`
	Error   string          `json:"error,omitempty"`
	User    string          `json:"user,omitempty"`
	ID      string          `json:"id,omitempty"`
	Event   string          `json:"event,omitempty"`
	Title   string          `json:"title,omitempty"`
	Link    string          `json:"link,omitempty"`
	Unread  int             `json:"unread,omitempty"`
	Queued  *store.Run      `json:"queued,omitempty"`
	State   string          `json:"state,omitempty"`
	Outcome string          `json:"outcome,omitempty"`
}

// needs lists the fields each kind must carry.
func (m Message) check() error {
	if !slices.Contains(kinds, m.Kind) {
		return fmt.Errorf("unknown kind %q", wire.Clip(m.Kind, 40))
	}
	if m.From == "" {
		return errors.New("no sending replica")
	}
	missing := func(field string) error { return fmt.Errorf("%s message without %s", m.Kind, field) }
	switch m.Kind {
	case KindRuns, KindCatchUp, KindRevoked:
		if m.Device == "" {
			return missing("device")
		}
		if q := m.Queued; q != nil && (q.ID == "" || q.DeviceID != m.Device) {
			return fmt.Errorf("%s message with a run not of its device", m.Kind)
		}
	case KindChecks, KindDiagnose, KindDiagnosed:
		if m.Device == "" || m.Request == "" {
			return missing("device and request")
		}
	case KindTicketUpdate:
		if m.Device == "" || len(m.Update) == 0 {
			return missing("device and update")
		}
	case KindBell, KindUnread:
		if m.User == "" {
			return missing("user")
		}
	case KindGroup:
		if m.Device == "" || m.Group == "" {
			return missing("device and group")
		}
	case KindPolicy:
		if m.Group == "" {
			return missing("group")
		}
	case KindRun, KindRunProgress:
		if m.Run == "" {
			return missing("run")
		}
	case KindTicket:
		if m.Ticket == "" {
			return missing("ticket")
		}
	}
	return nil
}

// Encode makes a notification payload of m; an error when it is not
// valid or does not fit.
func (m Message) Encode() (string, error) {
	if err := m.check(); err != nil {
		return "", err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	if len(b) > MaxPayload {
		return "", fmt.Errorf("%s message of %d bytes is over the %d a notification carries: %w", m.Kind, len(b), MaxPayload, ErrTooLarge)
	}
	return string(b), nil
}

// Decode reads a notification payload; anything but a valid Message is an
// error (another program may notify on the channel).
func Decode(payload string) (Message, error) {
	var m Message
	if len(payload) > MaxPayload {
		return m, fmt.Errorf("notification of %d bytes is over %d", len(payload), MaxPayload)
	}
	if err := json.Unmarshal([]byte(payload), &m); err != nil {
		return Message{}, fmt.Errorf("notification is not a replica message: %w", err)
	}
	if err := m.check(); err != nil {
		return Message{}, fmt.Errorf("notification: %w", err)
	}
	return m, nil
}
