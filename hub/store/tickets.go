package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// Ticket states.
const (
	TicketNew           = "new"            // filed, nobody has it yet
	TicketOpen          = "open"           // assigned or being worked
	TicketWaitingUser   = "waiting_user"   // waiting on the user (SLA clock paused)
	TicketWaitingVendor = "waiting_vendor" // waiting on a vendor (tier clock paused, vendor clock runs)
	TicketResolved      = "resolved"
	TicketClosed        = "closed"
)

// TicketStates lists every state.
var TicketStates = []string{TicketNew, TicketOpen, TicketWaitingUser, TicketWaitingVendor, TicketResolved, TicketClosed}

// TicketState is the part of a ticket derived from its event log.
type TicketState struct {
	State         string `json:"state"`
	WaitingReason string `json:"waiting_reason,omitempty"`
	Tier          int    `json:"tier"`
	Impact        int    `json:"impact"`
	Urgency       int    `json:"urgency"`
	Priority      int    `json:"priority"`
	Assignee      string `json:"assignee,omitempty"`
	// Collaborators are technicians swarming on the ticket.
	Collaborators []string   `json:"collaborators,omitempty"`
	ProblemID     string     `json:"problem_id,omitempty"`
	VendorID      string     `json:"vendor_id,omitempty"`
	VendorRef     string     `json:"vendor_ref,omitempty"`
	VendorDue     *time.Time `json:"vendor_due,omitempty"`
	// VendorTarget is the response target of the vendor the ticket waits
	// on: each period without an answer brings one reminder.
	VendorTarget    time.Duration `json:"vendor_target_ns,omitempty"`
	Resolution      string        `json:"resolution,omitempty"`
	CSAT            *int          `json:"csat,omitempty"`
	FirstResponseAt *time.Time    `json:"first_response_at,omitempty"`
	ResolvedAt      *time.Time    `json:"resolved_at,omitempty"`
	ClosedAt        *time.Time    `json:"closed_at,omitempty"`
	// The current tier's SLA clock: ClockUsed counted up to ClockSince;
	// while ClockRunning, time since ClockSince counts too.
	TierEnteredAt time.Time     `json:"tier_entered_at"`
	ClockUsed     time.Duration `json:"clock_used_ns"`
	ClockSince    *time.Time    `json:"clock_since,omitempty"`
	ClockRunning  bool          `json:"clock_running"`
	WarnedPct     int           `json:"warned_pct"`
	Escalations   int           `json:"escalations"`
	Breaches      int           `json:"breaches"`
	// TierRespondedAt is when a technician first responded (message,
	// assignment, fix run) in the current tier; until then the tier's
	// response limit runs. ResponseBreached: it passed in this tier.
	TierRespondedAt  *time.Time `json:"tier_responded_at,omitempty"`
	ResponseBreached bool       `json:"response_breached,omitempty"`
	ResponseBreaches int        `json:"response_breaches"`
	// NextCheckAt is when the SLA loop must look at the ticket again.
	NextCheckAt *time.Time `json:"next_check_at,omitempty"`
	// Events is how many events the projection has applied.
	Events int `json:"events"`
}

// Ticket is a support ticket.
type Ticket struct {
	ID        string `json:"id"`
	Number    int64  `json:"number"`
	DeviceID  string `json:"device_id,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	Requester string `json:"requester,omitempty"`
	Title     string `json:"title"`
	Body      string `json:"body,omitempty"`
	Category  string `json:"category,omitempty"`
	Queue     string `json:"queue,omitempty"`
	// Channel is how the ticket came in: agent (a device's help request),
	// phone, walk-in, chat, email or web.
	Channel string `json:"channel"`
	// Type is incident (something is broken) or request (something is
	// wanted).
	Type string `json:"type"`
	// Signature is the sorted list of checks failing at filing, comma
	// separated: tickets sharing it likely share a cause.
	Signature string         `json:"signature,omitempty"`
	Snapshot  *wire.Snapshot `json:"snapshot,omitempty"` // GetTicket only
	Tried     *wire.SelfHelp `json:"tried,omitempty"`    // GetTicket only
	// Request is a service request's form: its template and answers
	// (GetTicket only; nil for a ticket not filed from a template).
	Request       *ticketevent.RequestForm `json:"request,omitempty"`
	HasScreenshot bool                     `json:"has_screenshot,omitempty"`
	// Site is the ticket's site: its device's, or the one it was filed
	// for when it has no device (DefaultSite when none was given).
	Site      string    `json:"site"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	TicketState
}

// How tickets come in (a ticket's Channel), and their types. A device's
// help request is an incident on the agent channel; technicians file the
// others.
const (
	IntakeAgent  = "agent"
	IntakePhone  = "phone"
	IntakeWalkIn = "walk-in"
	IntakeChat   = "chat"
	IntakeEmail  = "email"
	IntakeWeb    = "web"

	TypeIncident = "incident"
	TypeRequest  = "request"
)

// IntakeChannels and TicketTypes list the values in the order forms show
// them.
var (
	IntakeChannels = []string{IntakePhone, IntakeWalkIn, IntakeChat, IntakeEmail, IntakeWeb, IntakeAgent}
	TicketTypes    = []string{TypeIncident, TypeRequest}
)

// TicketEvent is one entry of a ticket's timeline. Data is one of the
// ticketevent types; its type says the event's kind.
type TicketEvent struct {
	ID       int64
	TicketID string
	Time     time.Time
	Actor    string
	Data     ticketevent.Data
	// Deliveries are vendor messages this event asks for; they are queued
	// in the same transaction as the event (an outbox), not part of it.
	Deliveries []VendorDelivery
	// Mails are replies by email this event asks for (a technician's
	// message on an email ticket), queued in the same transaction.
	Mails []MailOut
	// MessageID, on a message event, makes it idempotent: a second event
	// with the same id on the ticket is refused with ErrDuplicate.
	MessageID string
}

// Kind is the event's stored kind ("" without data).
func (e TicketEvent) Kind() string {
	if e.Data == nil {
		return ""
	}
	return e.Data.Kind()
}

// ticketEventJSON is how an event reads in the API: its data as stored,
// left out when empty.
type ticketEventJSON struct {
	ID       int64           `json:"id"`
	TicketID string          `json:"ticket_id"`
	Time     time.Time       `json:"time"`
	Actor    string          `json:"actor"`
	Kind     string          `json:"kind"`
	Data     json.RawMessage `json:"data,omitempty"`
}

// MarshalJSON writes the event with its kind and data.
func (e TicketEvent) MarshalJSON() ([]byte, error) {
	data, err := ticketevent.Encode(e.Data)
	if err != nil {
		return nil, err
	}
	if string(data) == "{}" {
		data = nil
	}
	return json.Marshal(ticketEventJSON{ID: e.ID, TicketID: e.TicketID, Time: e.Time, Actor: e.Actor, Kind: e.Kind(), Data: data})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (e *TicketEvent) UnmarshalJSON(b []byte) error {
	var j ticketEventJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*e = TicketEvent{ID: j.ID, TicketID: j.TicketID, Time: j.Time, Actor: j.Actor}
	e.Data, _ = ticketevent.Decode(j.Kind, j.Data)
	return nil
}

// ErrDuplicate: the message was already recorded on the ticket.
var ErrDuplicate = errors.New("already recorded")

// Event kinds the store itself projects into side tables, besides the
// ticket's columns: collaborator fills ticket_collaborators, link fills
// ticket_links.
const (
	EventCollaborator = ticketevent.KindCollaborator
	EventLink         = ticketevent.KindLink
)

// TicketFilter selects tickets. Zero values mean no filter.
type TicketFilter struct {
	Tier      int // 0: any
	States    []string
	DeviceID  string
	Assignee  string
	Queue     string
	Signature string
	ProblemID string
	Channel   string
	Type      string
	// Q matches words in the title and body; a number also matches the
	// ticket number.
	Q      string
	Limit  int // default 100
	Offset int
	// NewestFirst lists the newest tickets first (default: oldest first).
	NewestFirst bool
}

const ticketCols = `id, number, device_id, request_id, requester, title, body, category, queue, channel, ticket_type, signature,
	screenshot IS NOT NULL, created_at, updated_at, state, waiting_reason, tier, impact, urgency, priority, assignee, collaborators, problem_id,
	vendor_id, vendor_ref, vendor_due, resolution, csat, first_response_at, resolved_at, closed_at, tier_entered_at,
	clock_used_ns, clock_since, clock_running, warned_pct, escalations, breaches, next_check_at, events,
	vendor_target_ns, tier_responded_at, response_breached, response_breaches, site`

func scanTicket(sc rowScanner, extra ...any) (Ticket, error) {
	var t Ticket
	var created, updated, entered, used int64
	var vendorDue, firstResp, resolved, closed, since, next, responded sql.NullInt64
	var vendorTarget int64
	var csat sql.NullInt64
	var collab string
	dest := []any{&t.ID, &t.Number, &t.DeviceID, &t.RequestID, &t.Requester, &t.Title, &t.Body, &t.Category, &t.Queue, &t.Channel, &t.Type, &t.Signature,
		&t.HasScreenshot, &created, &updated, &t.State, &t.WaitingReason, &t.Tier, &t.Impact, &t.Urgency, &t.Priority, &t.Assignee, &collab, &t.ProblemID,
		&t.VendorID, &t.VendorRef, &vendorDue, &t.Resolution, &csat, &firstResp, &resolved, &closed, &entered,
		&used, &since, &t.ClockRunning, &t.WarnedPct, &t.Escalations, &t.Breaches, &next, &t.Events,
		&vendorTarget, &responded, &t.ResponseBreached, &t.ResponseBreaches, &t.Site}
	if err := sc.Scan(append(dest, extra...)...); err != nil {
		return t, err
	}
	t.CreatedAt, t.UpdatedAt, t.TierEnteredAt = fromNS(created), fromNS(updated), fromNS(entered)
	t.ClockUsed = time.Duration(used)
	t.VendorDue, t.FirstResponseAt, t.ResolvedAt, t.ClosedAt = nullTimePtr(vendorDue), nullTimePtr(firstResp), nullTimePtr(resolved), nullTimePtr(closed)
	t.ClockSince, t.NextCheckAt = nullTimePtr(since), nullTimePtr(next)
	t.VendorTarget, t.TierRespondedAt = time.Duration(vendorTarget), nullTimePtr(responded)
	if csat.Valid {
		v := int(csat.Int64)
		t.CSAT = &v
	}
	if collab != "" && collab != "[]" {
		if err := json.Unmarshal([]byte(collab), &t.Collaborators); err != nil {
			return t, fmt.Errorf("ticket %s: collaborators: %w", t.ID, err)
		}
	}
	return t, nil
}

// CreateTicket stores a new ticket, numbered next, with its first events
// (the caller has applied them to t.TicketState). A second request with
// the same device and request id returns the existing ticket and false.
// Each request makes exactly one ticket, also when deliveries race.
func (s *Store) CreateTicket(ctx context.Context, t Ticket, events []TicketEvent, screenshot []byte) (Ticket, bool, error) {
	if t.ID == "" || t.Title == "" || len(events) == 0 {
		return t, false, errors.New("create ticket: id, title and a first event are required")
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = events[0].Time
	}
	if t.UpdatedAt.IsZero() {
		t.UpdatedAt = events[len(events)-1].Time
	}
	if t.TierEnteredAt.IsZero() {
		t.TierEnteredAt = t.CreatedAt
	}
	for attempt := 0; ; attempt++ {
		out, created, err := s.createTicket(ctx, t, events, screenshot)
		if err != nil && isUniqueViolation(err) && attempt < 5 {
			continue
		}
		return out, created, err
	}
}

// ticketNumberLock is the PostgreSQL advisory lock key for ticket numbering.
const ticketNumberLock = "7401001"

func (s *Store) createTicket(ctx context.Context, t Ticket, events []TicketEvent, screenshot []byte) (Ticket, bool, error) {
	events = append([]TicketEvent(nil), events...)
	var created bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if s.dialect == DialectPostgres {
			// Ticket creations queue behind one another (SQLite's single
			// writer does the same), so numbers are gapless and a replayed
			// request finds the ticket its first delivery made.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(`+ticketNumberLock+`)`); err != nil {
				return fmt.Errorf("create ticket: lock: %w", err)
			}
		}
		if t.RequestID != "" {
			existing, err := scanTicket(tx.QueryRowContext(ctx, s.q(`SELECT `+ticketCols+` FROM tickets WHERE device_id = ? AND request_id = ?`), t.DeviceID, t.RequestID))
			if err == nil {
				t = existing
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("create ticket: %w", err)
			}
		}
		if t.Channel == "" {
			t.Channel = IntakeAgent
		}
		if t.Type == "" {
			t.Type = TypeIncident
		}
		if t.DeviceID != "" {
			// A device's ticket is in the device's site, whatever the
			// caller said.
			err := tx.QueryRowContext(ctx, s.q(`SELECT site FROM devices WHERE id = ?`), t.DeviceID).Scan(&t.Site)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("create ticket: site of device %s: %w", t.DeviceID, err)
			}
		}
		if t.Site == "" {
			t.Site = DefaultSite
		}
		if err := ValidateSite(t.Site); err != nil {
			return fmt.Errorf("create ticket: %w", err)
		}
		if !SeesSite(SitesOf(ctx), t.Site) {
			return fmt.Errorf("create ticket: site %s: %w", t.Site, ErrNotFound)
		}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(number), 0) + 1 FROM tickets`).Scan(&t.Number); err != nil {
			return fmt.Errorf("create ticket: number: %w", err)
		}
		var snap, tried any
		if t.Snapshot != nil {
			b, err := json.Marshal(t.Snapshot)
			if err != nil {
				return fmt.Errorf("create ticket: snapshot: %w", err)
			}
			snap = string(b)
		}
		// t.Tried is not stored here: the self_help event on the
		// timeline is its one record (GetTicket reads it from there).
		// The tried column holds it only for tickets filed before.
		var shot any
		if len(screenshot) > 0 {
			shot = screenshot
			t.HasScreenshot = true
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO tickets (id, number, device_id, request_id, requester, title, body, category, queue, channel, ticket_type,
			signature, snapshot, tried, screenshot, created_at, updated_at, state, tier, impact, urgency, priority, tier_entered_at, site)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			t.ID, t.Number, t.DeviceID, t.RequestID, t.Requester, t.Title, t.Body, t.Category, t.Queue, t.Channel, t.Type, t.Signature, snap, tried, shot,
			t.CreatedAt.UnixNano(), t.UpdatedAt.UnixNano(), t.State, t.Tier, t.Impact, t.Urgency, t.Priority, t.TierEnteredAt.UnixNano(), t.Site); err != nil {
			return fmt.Errorf("create ticket %s: %w", t.ID, err)
		}
		if err := s.appendTicketEvents(ctx, tx, t.ID, events); err != nil {
			return err
		}
		created = true
		return s.saveTicketState(ctx, tx, t)
	})
	if err != nil {
		return t, false, err
	}
	return t, created, nil
}

func (s *Store) appendTicketEvents(ctx context.Context, tx *sql.Tx, id string, events []TicketEvent) error {
	for i := range events {
		e := &events[i]
		if e.Data == nil {
			return fmt.Errorf("ticket %s: append an event without data", id)
		}
		b, err := ticketevent.Encode(e.Data)
		if err != nil {
			return fmt.Errorf("ticket %s event %s: %w", id, e.Kind(), err)
		}
		if err := tx.QueryRowContext(ctx, s.q(`INSERT INTO ticket_events (ticket_id, time, actor, kind, data) VALUES (?, ?, ?, ?, ?) RETURNING id`),
			id, e.Time.UnixNano(), e.Actor, e.Kind(), string(b)).Scan(&e.ID); err != nil {
			return fmt.Errorf("ticket %s: append %s: %w", id, e.Kind(), err)
		}
		e.TicketID = id
		if e.MessageID != "" {
			res, err := tx.ExecContext(ctx, s.q(`INSERT INTO ticket_message_ids (ticket_id, msg_id) VALUES (?, ?) ON CONFLICT DO NOTHING`), id, e.MessageID)
			if err != nil {
				return fmt.Errorf("ticket %s: message id: %w", id, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("ticket %s message %s: %w", id, e.MessageID, ErrDuplicate)
			}
		}
		if err := s.insertDeliveries(ctx, tx, *e); err != nil {
			return err
		}
		if err := s.insertMails(ctx, tx, *e); err != nil {
			return err
		}
		if l, ok := e.Data.(ticketevent.Link); ok {
			other, kind := l.Other, l.LinkKind
			if other == id {
				return fmt.Errorf("link ticket %s: %w", id, ErrSelfLink)
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO ticket_links (ticket_id, other_id, kind) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`), id, other, kind); err != nil {
				if isForeignKeyViolation(err) {
					return fmt.Errorf("link ticket %s to %s: %w", id, other, ErrNotFound)
				}
				return fmt.Errorf("link ticket %s to %s: %w", id, other, err)
			}
		}
	}
	return nil
}

// ErrSelfLink: a ticket cannot be linked to itself.
var ErrSelfLink = errors.New("a ticket cannot be linked to itself")

func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503"
	}
	return strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
}

func (s *Store) saveTicketState(ctx context.Context, tx *sql.Tx, t Ticket) error {
	var csat any
	if t.CSAT != nil {
		csat = *t.CSAT
	}
	collab := "[]"
	if len(t.Collaborators) > 0 {
		b, _ := json.Marshal(t.Collaborators)
		collab = string(b)
		for _, u := range t.Collaborators {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO ticket_collaborators (ticket_id, user_name) VALUES (?, ?) ON CONFLICT DO NOTHING`), t.ID, u); err != nil {
				return fmt.Errorf("save ticket %s: collaborator: %w", t.ID, err)
			}
		}
	}
	_, err := tx.ExecContext(ctx, s.q(`UPDATE tickets SET updated_at = ?, state = ?, waiting_reason = ?, tier = ?, impact = ?, urgency = ?,
		priority = ?, assignee = ?, collaborators = ?, problem_id = ?, vendor_id = ?, vendor_ref = ?, vendor_due = ?, resolution = ?, csat = ?,
		first_response_at = ?, resolved_at = ?, closed_at = ?, tier_entered_at = ?, clock_used_ns = ?, clock_since = ?, clock_running = ?,
		warned_pct = ?, escalations = ?, breaches = ?, next_check_at = ?, events = ?, vendor_target_ns = ?, tier_responded_at = ?,
		response_breached = ?, response_breaches = ? WHERE id = ?`),
		t.UpdatedAt.UnixNano(), t.State, t.WaitingReason, t.Tier, t.Impact, t.Urgency, t.Priority, t.Assignee, collab, t.ProblemID,
		t.VendorID, t.VendorRef, nsPtr(t.VendorDue), t.Resolution, csat, nsPtr(t.FirstResponseAt), nsPtr(t.ResolvedAt), nsPtr(t.ClosedAt),
		t.TierEnteredAt.UnixNano(), int64(t.ClockUsed), nsPtr(t.ClockSince), t.ClockRunning, t.WarnedPct, t.Escalations, t.Breaches,
		nsPtr(t.NextCheckAt), t.Events, int64(t.VendorTarget), nsPtr(t.TierRespondedAt), t.ResponseBreached, t.ResponseBreaches, t.ID)
	if err != nil {
		return fmt.Errorf("save ticket %s: %w", t.ID, err)
	}
	return nil
}

// UpdateTicket changes a ticket in one transaction: fn gets the stored
// ticket, changes its state and returns the events that explain the
// change; they are appended to its timeline and the state saved. An error
// from fn aborts without changes. ErrNotFound for an unknown id.
func (s *Store) UpdateTicket(ctx context.Context, id string, fn func(t *Ticket) ([]TicketEvent, error)) (Ticket, []TicketEvent, error) {
	var t Ticket
	var events []TicketEvent
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		lock := ""
		if s.dialect == DialectPostgres {
			lock = " FOR UPDATE"
		}
		var err error
		inSite, siteArgs := siteSuffix(ctx, "site")
		t, err = scanTicket(tx.QueryRowContext(ctx, s.q(`SELECT `+ticketCols+` FROM tickets WHERE id = ?`+inSite+lock), append([]any{id}, siteArgs...)...))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("ticket %s: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read ticket %s: %w", id, err)
		}
		events, err = fn(&t)
		if err != nil {
			return err
		}
		if len(events) == 0 {
			return nil
		}
		for _, e := range events {
			if e.Time.After(t.UpdatedAt) {
				t.UpdatedAt = e.Time
			}
		}
		if err := s.appendTicketEvents(ctx, tx, id, events); err != nil {
			return err
		}
		return s.saveTicketState(ctx, tx, t)
	})
	return t, events, err
}

// GetTicket returns a ticket with its snapshot and self-help record.
func (s *Store) GetTicket(ctx context.Context, id string) (Ticket, error) {
	var snap, tried sql.NullString
	inSite, siteArgs := siteSuffix(ctx, "site")
	t, err := scanTicket(s.r.QueryRowContext(ctx, s.q(`SELECT `+ticketCols+`, snapshot, tried FROM tickets WHERE id = ?`+inSite), append([]any{id}, siteArgs...)...), &snap, &tried)
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("ticket %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("get ticket %s: %w", id, err)
	}
	if snap.Valid && snap.String != "" {
		t.Snapshot = new(wire.Snapshot)
		if err := json.Unmarshal([]byte(snap.String), t.Snapshot); err != nil {
			return t, fmt.Errorf("ticket %s: decode snapshot: %w", id, err)
		}
	}
	if tried.Valid && tried.String != "" {
		t.Tried = new(wire.SelfHelp)
		if err := json.Unmarshal([]byte(tried.String), t.Tried); err != nil {
			return t, fmt.Errorf("ticket %s: decode self-help: %w", id, err)
		}
		return t, nil
	}
	if t.Tried, err = s.selfHelp(ctx, t); err != nil {
		return t, err
	}
	if t.Request, err = s.requestForm(ctx, t.ID); err != nil {
		return t, err
	}
	return t, nil
}

// requestForm reads a service request's form from the ticket's
// request_form event; nil when it has none.
func (s *Store) requestForm(ctx context.Context, id string) (*ticketevent.RequestForm, error) {
	var data string
	err := s.r.QueryRowContext(ctx, s.q(`SELECT data FROM ticket_events WHERE ticket_id = ? AND kind = ? ORDER BY id LIMIT 1`),
		id, ticketevent.KindRequestForm).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ticket %s: request form: %w", id, err)
	}
	d, err := ticketevent.Decode(ticketevent.KindRequestForm, []byte(data))
	if err != nil {
		return nil, fmt.Errorf("ticket %s: %w", id, err)
	}
	f := d.(ticketevent.RequestForm)
	return &f, nil
}

// selfHelp reads what the user tried before filing from the ticket's
// self_help event. A ticket from a device always says what was tried,
// even nothing.
func (s *Store) selfHelp(ctx context.Context, t Ticket) (*wire.SelfHelp, error) {
	var data string
	err := s.r.QueryRowContext(ctx, s.q(`SELECT data FROM ticket_events WHERE ticket_id = ? AND kind = ? ORDER BY id LIMIT 1`),
		t.ID, ticketevent.KindSelfHelp).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		if t.DeviceID == "" {
			return nil, nil
		}
		return &wire.SelfHelp{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ticket %s: self-help: %w", t.ID, err)
	}
	d, err := ticketevent.Decode(ticketevent.KindSelfHelp, []byte(data))
	if err != nil {
		return nil, fmt.Errorf("ticket %s: %w", t.ID, err)
	}
	tried := d.(ticketevent.SelfHelp).Tried()
	return &tried, nil
}

// TicketScreenshot returns the screenshot attached to a ticket.
func (s *Store) TicketScreenshot(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	inSite, siteArgs := siteSuffix(ctx, "site")
	err := s.r.QueryRowContext(ctx, s.q(`SELECT screenshot FROM tickets WHERE id = ? AND screenshot IS NOT NULL`+inSite), append([]any{id}, siteArgs...)...).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("screenshot of ticket %s: %w", id, ErrNotFound)
	}
	return b, err
}

// DeviceHasTickets reports whether any ticket names the device: a cheap
// check before a connecting device's catch-up, which most devices (never
// a ticket) can skip.
func (s *Store) DeviceHasTickets(ctx context.Context, deviceID string) (bool, error) {
	st, err := s.read(ctx, `SELECT 1 FROM tickets WHERE device_id = ? LIMIT 1`)
	if err != nil {
		return false, fmt.Errorf("tickets of device %s: %w", deviceID, err)
	}
	var one int
	switch err := st.QueryRowContext(ctx, deviceID).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("tickets of device %s: %w", deviceID, err)
	}
	return true, nil
}

// ListTickets returns tickets matching f, oldest first (queue order),
// without snapshots.
func (s *Store) ListTickets(ctx context.Context, f TicketFilter) ([]Ticket, error) {
	var where []string
	var args []any
	if f.Tier > 0 {
		where = append(where, "tier = ?")
		args = append(args, f.Tier)
	}
	if len(f.States) > 0 {
		where = append(where, "state IN (?"+strings.Repeat(", ?", len(f.States)-1)+")")
		for _, st := range f.States {
			args = append(args, st)
		}
	}
	for _, c := range []struct{ col, v string }{{"device_id", f.DeviceID}, {"assignee", f.Assignee}, {"queue", f.Queue}, {"signature", f.Signature}, {"problem_id", f.ProblemID},
		{"channel", f.Channel}, {"ticket_type", f.Type}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	for _, w := range strings.Fields(f.Q) {
		if len(where) > 16 {
			break
		}
		like := "%" + strings.NewReplacer("%", "", "_", "").Replace(strings.ToLower(w)) + "%"
		if n, err := strconv.ParseInt(strings.TrimPrefix(w, "#"), 10, 64); err == nil && n > 0 {
			// "#42" or "42" also finds ticket number 42.
			where = append(where, "(number = ? OR LOWER(title) LIKE ? OR LOWER(body) LIKE ?)")
			args = append(args, n, like, like)
			continue
		}
		where = append(where, "(LOWER(title) LIKE ? OR LOWER(body) LIKE ?)")
		args = append(args, like, like)
	}
	where, args = andSite(ctx, where, args, "site")
	query := `SELECT ` + ticketCols + ` FROM tickets`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	if f.NewestFirst {
		query += " ORDER BY created_at DESC, number DESC LIMIT ? OFFSET ?"
	} else {
		query += " ORDER BY created_at, number LIMIT ? OFFSET ?"
	}
	args = append(args, limit, f.Offset)
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("list tickets: %w", err)
	}
	defer rows.Close()
	var out []Ticket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, fmt.Errorf("list tickets: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// CountTickets counts tickets by tier and state.
func (s *Store) CountTickets(ctx context.Context) (map[int]map[string]int, error) {
	query, args := `SELECT tier, state, COUNT(*) FROM tickets GROUP BY tier, state`, []any(nil)
	if c, a := siteCond(ctx, "site"); c != "" {
		query, args = `SELECT tier, state, COUNT(*) FROM tickets WHERE `+c+` GROUP BY tier, state`, a
	}
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("count tickets: %w", err)
	}
	defer rows.Close()
	out := map[int]map[string]int{}
	for rows.Next() {
		var tier, n int
		var state string
		if err := rows.Scan(&tier, &state, &n); err != nil {
			return nil, fmt.Errorf("count tickets: %w", err)
		}
		if out[tier] == nil {
			out[tier] = map[string]int{}
		}
		out[tier][state] = n
	}
	return out, rows.Err()
}

// TicketEvents returns a ticket's timeline, oldest first.
func (s *Store) TicketEvents(ctx context.Context, id string) ([]TicketEvent, error) {
	if c, a := siteCond(ctx, "site"); c != "" {
		return s.queryTicketEvents(ctx, `SELECT id, ticket_id, time, actor, kind, data FROM ticket_events
			WHERE ticket_id = ? AND ticket_id IN (SELECT id FROM tickets WHERE `+c+`) ORDER BY id`, append([]any{id}, a...)...)
	}
	return s.queryTicketEvents(ctx, `SELECT id, ticket_id, time, actor, kind, data FROM ticket_events WHERE ticket_id = ? ORDER BY id`, id)
}

// TicketEventsOf returns the timelines of tickets created in [from, to),
// oldest event first, for metrics.
func (s *Store) TicketEventsOf(ctx context.Context, from, to time.Time) ([]TicketEvent, error) {
	inSite, siteArgs := siteSuffix(ctx, "t.site")
	return s.queryTicketEvents(ctx, `SELECT e.id, e.ticket_id, e.time, e.actor, e.kind, e.data FROM ticket_events e
		JOIN tickets t ON t.id = e.ticket_id WHERE t.created_at >= ? AND t.created_at < ?`+inSite+` ORDER BY e.ticket_id, e.id`,
		append([]any{from.UnixNano(), to.UnixNano()}, siteArgs...)...)
}

func (s *Store) queryTicketEvents(ctx context.Context, query string, args ...any) ([]TicketEvent, error) {
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("ticket events: %w", err)
	}
	defer rows.Close()
	var out []TicketEvent
	for rows.Next() {
		var e TicketEvent
		var t int64
		var kind, data string
		if err := rows.Scan(&e.ID, &e.TicketID, &t, &e.Actor, &kind, &data); err != nil {
			return nil, fmt.Errorf("ticket events: %w", err)
		}
		e.Time = fromNS(t)
		// Data a kind cannot read stays as stored (ticketevent.Unknown):
		// one odd row must not hide a ticket's whole timeline.
		e.Data, _ = ticketevent.Decode(kind, []byte(data))
		out = append(out, e)
	}
	return out, rows.Err()
}

// DueTickets returns ids of tickets whose SLA clocks need a look at now.
func (s *Store) DueTickets(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id FROM tickets WHERE next_check_at IS NOT NULL AND next_check_at <= ?
		ORDER BY next_check_at LIMIT ?`), now.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("due tickets: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("due tickets: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Collaborators lists a ticket's collaborators.
func (s *Store) Collaborators(ctx context.Context, ticketID string) ([]string, error) {
	return s.strings(ctx, `SELECT user_name FROM ticket_collaborators WHERE ticket_id = ? ORDER BY user_name`, ticketID)
}

// Ticket link kinds, as recorded from the ticket that links. Seen from
// the other ticket they read child, duplicated_by and related.
const (
	LinkParent    = "parent"    // other is the parent of ticket
	LinkDuplicate = "duplicate" // ticket duplicates other
	LinkRelated   = "related"
)

// LinkKinds lists the kinds a link may be created with.
var LinkKinds = []string{LinkParent, LinkDuplicate, LinkRelated}

// TicketLink is a link from one ticket to another.
type TicketLink struct {
	Other  string `json:"other"`
	Kind   string `json:"kind"`
	Number int64  `json:"number"`
	Title  string `json:"title"`
}

// TicketLinks lists a ticket's links in both directions.
func (s *Store) TicketLinks(ctx context.Context, ticketID string) ([]TicketLink, error) {
	// A linked ticket of a site the caller does not see is left out.
	inSite, siteArgs := siteSuffix(ctx, "t.site")
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT l.other_id, l.kind, t.number, t.title FROM ticket_links l JOIN tickets t ON t.id = l.other_id WHERE l.ticket_id = ?`+inSite+`
		UNION ALL SELECT l.ticket_id, CASE l.kind WHEN 'parent' THEN 'child' WHEN 'duplicate' THEN 'duplicated_by' ELSE l.kind END, t.number, t.title FROM ticket_links l JOIN tickets t ON t.id = l.ticket_id WHERE l.other_id = ?`+inSite),
		append(append(append([]any{ticketID}, siteArgs...), ticketID), siteArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("ticket links: %w", err)
	}
	defer rows.Close()
	var out []TicketLink
	for rows.Next() {
		var l TicketLink
		if err := rows.Scan(&l.Other, &l.Kind, &l.Number, &l.Title); err != nil {
			return nil, fmt.Errorf("ticket links: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// HelpSessionRecord is a Get help session reported by a device.
type HelpSessionRecord struct {
	DeviceID string
	wire.HelpSession
}

// RecordHelpSession stores a help session; a repeat of the same id is
// ignored.
func (s *Store) RecordHelpSession(ctx context.Context, h HelpSessionRecord) error {
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO help_sessions (id, device_id, started, ended, category, ticket, failing, recovered, fixes, user_name)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		h.SessionID, h.DeviceID, h.Started.UnixNano(), h.Ended.UnixNano(), h.Category, h.Ticket,
		strings.Join(h.Failing, ","), strings.Join(h.Recovered, ","), strings.Join(h.FixesRun, ","), h.User)
	if err != nil {
		return fmt.Errorf("record help session: %w", err)
	}
	return nil
}

// SessionCounts count the Get help sessions of a period by how they
// ended. Recovered sessions ended without a ticket and with every failing
// check recovered (Deflected says it for one session); of those, CameBack
// ones were followed within the window by another session or a ticket from
// the same device or the same user (on any computer), Pending ones are still inside their window, and the
// rest are Deflected: the user got what they needed and did not return.
type SessionCounts struct {
	Total, Ticket, Recovered, Deflected, Pending, CameBack int
}

// HelpSessionCounts counts the Get help sessions that ended in [from,
// to), judging deflection over window after each session as of now. A
// zero window takes every recovered session as deflected at once.
func (s *Store) HelpSessionCounts(ctx context.Context, from, to time.Time, window time.Duration, now time.Time) (SessionCounts, error) {
	var c SessionCounts
	w := int64(window)
	inSite, siteArgs := deviceSiteSuffix(ctx, "s.device_id")
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT s.ticket, s.failing, s.recovered, s.ended,
		EXISTS (SELECT 1 FROM help_sessions o WHERE o.device_id = s.device_id AND o.started > s.ended AND o.started <= s.ended + ?)
		OR EXISTS (SELECT 1 FROM tickets t WHERE t.device_id = s.device_id AND t.created_at > s.ended AND t.created_at <= s.ended + ?)
		OR (s.user_name <> '' AND (
			EXISTS (SELECT 1 FROM help_sessions o WHERE o.user_name = s.user_name AND o.started > s.ended AND o.started <= s.ended + ?)
			OR EXISTS (SELECT 1 FROM tickets t WHERE t.requester = s.user_name AND t.created_at > s.ended AND t.created_at <= s.ended + ?)))
		FROM help_sessions s WHERE s.ended >= ? AND s.ended < ?`+inSite), append([]any{w, w, w, w, from.UnixNano(), to.UnixNano()}, siteArgs...)...)
	if err != nil {
		return c, fmt.Errorf("help sessions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var tk, back bool
		var failing, recovered string
		var ended int64
		if err := rows.Scan(&tk, &failing, &recovered, &ended, &back); err != nil {
			return c, fmt.Errorf("help sessions: %w", err)
		}
		c.Total++
		switch {
		case tk:
			c.Ticket++
		case failing != "" && Deflected(strings.Split(failing, ","), strings.Split(recovered, ",")):
			c.Recovered++
			switch {
			case back:
				c.CameBack++
			case now.Before(fromNS(ended).Add(window)):
				c.Pending++
			default:
				c.Deflected++
			}
		}
	}
	return c, rows.Err()
}

// Deflected reports whether a Get help session that ended without a
// ticket deflected the problem: checks were failing when it started and
// every one of them recovered, as the device's health checks confirm.
// Lasting checks (diag.LastingChecks: a day of crashes, pending updates)
// are left out: a machine where an application keeps crashing can still
// have its full disk fixed in a session.
func Deflected(failing, recovered []string) bool {
	failing = slices.DeleteFunc(slices.Clone(failing), func(c string) bool { return slices.Contains(diag.LastingChecks, c) })
	return len(failing) > 0 && allIn(failing, recovered)
}

func allIn(want, have []string) bool {
	set := map[string]bool{}
	for _, h := range have {
		set[h] = true
	}
	for _, w := range want {
		if !set[w] {
			return false
		}
	}
	return true
}

func (s *Store) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// SetTicketNextCheck stores when the SLA loop must look at a ticket next.
// It is derived from the ticket's state and the SLA policy, not from an
// event, so the loop can move it on a policy change without writing to
// the timeline.
func (s *Store) SetTicketNextCheck(ctx context.Context, id string, at *time.Time) error {
	if _, err := s.w.ExecContext(ctx, s.q(`UPDATE tickets SET next_check_at = ? WHERE id = ?`), nsPtr(at), id); err != nil {
		return fmt.Errorf("ticket %s: next check: %w", id, err)
	}
	return nil
}

// QueueFilter selects the console's queue: open tickets (not resolved or
// closed) ordered by when their SLA clock runs out, paused clocks last.
type QueueFilter struct {
	Tier     int    // 0: every tier
	State    string // one open state, or "" for all open states
	Priority int    // 0: any
	Group    string // device group
	Queue    string // named queue a routing rule chose; "" for any
	Mine     string // user name: assigned to or collaborating
	Limit    int    // default 100, at most 500
	Offset   int
}

// queueKey orders open tickets by SLA due; tickets_console_queue indexes it.
const queueKey = `(CASE WHEN clock_running AND clock_since IS NOT NULL THEN clock_since - clock_used_ns ELSE 9223372036854775807 END)`

// QueueTickets lists one page of the console queue and reports whether more
// follow. It uses the partial index tickets_console_queue, so a page costs
// the same with 100 or 100,000 tickets.
func (s *Store) QueueTickets(ctx context.Context, f QueueFilter) ([]Ticket, bool, error) {
	query, args, limit := queueQuery(ctx, f)
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, false, fmt.Errorf("queue tickets: %w", err)
	}
	defer rows.Close()
	var out []Ticket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, false, fmt.Errorf("queue tickets: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("queue tickets: %w", err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

func queueQuery(ctx context.Context, f QueueFilter) (string, []any, int) {
	where := []string{`state NOT IN ('resolved', 'closed')`}
	var args []any
	if f.Tier > 0 {
		where = append(where, "tier = ?")
		args = append(args, f.Tier)
	}
	if f.State != "" {
		where = append(where, "state = ?")
		args = append(args, f.State)
	}
	if f.Priority > 0 {
		where = append(where, "priority = ?")
		args = append(args, f.Priority)
	}
	if f.Group != "" {
		where = append(where, "device_id IN (SELECT id FROM devices WHERE grp = ?)")
		args = append(args, f.Group)
	}
	if f.Queue != "" {
		where = append(where, "queue = ?")
		args = append(args, f.Queue)
	}
	if f.Mine != "" {
		where = append(where, "(assignee = ? OR id IN (SELECT ticket_id FROM ticket_collaborators WHERE user_name = ?))")
		args = append(args, f.Mine, f.Mine)
	}
	where, args = andSite(ctx, where, args, "site")
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 500)
	query := `SELECT ` + ticketCols + ` FROM tickets WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + queueKey + `, number LIMIT ? OFFSET ?`
	return query, append(args, limit+1, max(f.Offset, 0)), limit
}

// ExplainQueue returns the database's plan for the queue query of f, one
// line per step, to check that it runs on an index.
func (s *Store) ExplainQueue(ctx context.Context, f QueueFilter) ([]string, error) {
	query, args, _ := queueQuery(ctx, f)
	prefix := "EXPLAIN QUERY PLAN "
	if s.dialect == DialectPostgres {
		prefix = "EXPLAIN "
	}
	rows, err := s.r.QueryContext(ctx, s.q(prefix+query), args...)
	if err != nil {
		return nil, fmt.Errorf("explain queue: %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("explain queue: %w", err)
		}
		out = append(out, fmt.Sprint(vals[len(vals)-1]))
	}
	return out, rows.Err()
}

// QueueCounts counts open tickets per tier (1-4), for the queue's tabs. It
// reads only the open entries of the tickets_queue index (tier, state).
func (s *Store) QueueCounts(ctx context.Context) (map[int]int, error) {
	inSite, siteArgs := siteSuffix(ctx, "site")
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT tier, COUNT(*) FROM tickets
		WHERE tier IN (1, 2, 3, 4) AND state IN ('new', 'open', 'waiting_user', 'waiting_vendor')`+inSite+` GROUP BY tier`), siteArgs...)
	if err != nil {
		return nil, fmt.Errorf("queue counts: %w", err)
	}
	defer rows.Close()
	out := map[int]int{}
	for rows.Next() {
		var tier, n int
		if err := rows.Scan(&tier, &n); err != nil {
			return nil, fmt.Errorf("queue counts: %w", err)
		}
		out[tier] = n
	}
	return out, rows.Err()
}
