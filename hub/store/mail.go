package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Attachment is a file that came with a mail to an email ticket. A
// dropped one (over the size or count limit) keeps its name, type and size
// with the reason in Dropped, and no data.
type Attachment struct {
	ID          string    `json:"id"`
	TicketID    string    `json:"ticket_id"`
	MailID      string    `json:"mail_id"`  // the mail's key (hub/mailin)
	Position    int       `json:"position"` // its place among the mail's files
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	Dropped     string    `json:"dropped,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	Data        []byte    `json:"-"` // TicketAttachment only
}

const attachmentCols = `id, ticket_id, mail_id, position, name, content_type, size, dropped, created_at`

func scanAttachment(sc rowScanner, data *[]byte) (Attachment, error) {
	var a Attachment
	var created int64
	dest := []any{&a.ID, &a.TicketID, &a.MailID, &a.Position, &a.Name, &a.ContentType, &a.Size, &a.Dropped, &created}
	if data != nil {
		dest = append(dest, data)
	}
	if err := sc.Scan(dest...); err != nil {
		return a, err
	}
	a.CreatedAt = fromNS(created)
	return a, nil
}

// AddAttachments stores a ticket's attachments; one whose id is stored
// already is left as it is, so a mail read twice stores its files once.
func (s *Store) AddAttachments(ctx context.Context, ticketID string, atts []Attachment) error {
	if len(atts) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, a := range atts {
			if a.ID == "" || a.Name == "" {
				return fmt.Errorf("ticket %s: attachment needs an id and a name", ticketID)
			}
			var data any
			if a.Dropped == "" {
				data = a.Data
				if a.Data == nil {
					data = []byte{}
				}
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO ticket_attachments (id, ticket_id, mail_id, position, name, content_type, size, data, dropped, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`), a.ID, ticketID, a.MailID, a.Position, a.Name, a.ContentType, a.Size, data,
				a.Dropped, a.CreatedAt.UnixNano()); err != nil {
				if isForeignKeyViolation(err) {
					return fmt.Errorf("ticket %s: %w", ticketID, ErrNotFound)
				}
				return fmt.Errorf("ticket %s: store attachment %s: %w", ticketID, a.Name, err)
			}
		}
		return nil
	})
}

// TicketAttachments lists a ticket's attachments, without their data,
// oldest first.
func (s *Store) TicketAttachments(ctx context.Context, ticketID string) ([]Attachment, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+attachmentCols+` FROM ticket_attachments WHERE ticket_id = ? ORDER BY created_at, mail_id, position`), ticketID)
	if err != nil {
		return nil, fmt.Errorf("ticket attachments: %w", err)
	}
	defer rows.Close()
	out := []Attachment{}
	for rows.Next() {
		a, err := scanAttachment(rows, nil)
		if err != nil {
			return nil, fmt.Errorf("ticket attachments: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// TicketAttachment returns one kept attachment of a ticket with its data.
// ErrNotFound for an unknown or dropped one.
func (s *Store) TicketAttachment(ctx context.Context, ticketID, id string) (Attachment, error) {
	var data []byte
	a, err := scanAttachment(s.r.QueryRowContext(ctx, s.q(`SELECT `+attachmentCols+`, data FROM ticket_attachments WHERE ticket_id = ? AND id = ? AND dropped = ''`),
		ticketID, id), &data)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("attachment %s of ticket %s: %w", id, ticketID, ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("attachment %s: %w", id, err)
	}
	a.Data = data
	return a, nil
}

// AddMailIDs records Message-IDs of a ticket's mail thread: ids of mails
// that came in, or (outgoing) of replies the hub sent. An id recorded
// before keeps its ticket.
func (s *Store) AddMailIDs(ctx context.Context, ticketID string, ids []string, outgoing bool, at time.Time) error {
	for _, id := range ids {
		if id == "" {
			continue
		}
		if _, err := s.w.ExecContext(ctx, s.q(`INSERT INTO ticket_mail_ids (message_id, ticket_id, outgoing, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`),
			id, ticketID, outgoing, at.UnixNano()); err != nil {
			if isForeignKeyViolation(err) {
				return fmt.Errorf("ticket %s: %w", ticketID, ErrNotFound)
			}
			return fmt.Errorf("ticket %s: record mail id: %w", ticketID, err)
		}
	}
	return nil
}

// TicketOfMail returns the ticket one of the Message-IDs belongs to (the
// last of ids that is known wins: References list the thread oldest
// first). ErrNotFound when none is known.
func (s *Store) TicketOfMail(ctx context.Context, ids []string) (string, error) {
	for i := len(ids) - 1; i >= 0; i-- {
		if ids[i] == "" {
			continue
		}
		var tid string
		err := s.r.QueryRowContext(ctx, s.q(`SELECT ticket_id FROM ticket_mail_ids WHERE message_id = ?`), ids[i]).Scan(&tid)
		if err == nil {
			return tid, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("ticket of mail: %w", err)
		}
	}
	return "", fmt.Errorf("ticket of mail: %w", ErrNotFound)
}

// MailID is one Message-ID of a ticket's thread.
type MailID struct {
	MessageID string
	Outgoing  bool
	CreatedAt time.Time
}

// TicketMailIDs lists the Message-IDs of a ticket's thread, oldest first.
func (s *Store) TicketMailIDs(ctx context.Context, ticketID string) ([]MailID, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT message_id, outgoing, created_at FROM ticket_mail_ids WHERE ticket_id = ? ORDER BY created_at, message_id`), ticketID)
	if err != nil {
		return nil, fmt.Errorf("ticket mail ids: %w", err)
	}
	defer rows.Close()
	var out []MailID
	for rows.Next() {
		var m MailID
		var at int64
		if err := rows.Scan(&m.MessageID, &m.Outgoing, &at); err != nil {
			return nil, fmt.Errorf("ticket mail ids: %w", err)
		}
		m.CreatedAt = fromNS(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

// Mail outbox states: a reply is pending until the mail server takes it.
const (
	MailPending   = "pending"
	MailSent      = "sent"
	MailAbandoned = "abandoned" // refused for good (5xx), or its ticket is gone
)

// MailOut is a technician's reply to the requester of an email ticket,
// queued with the message event that holds its text.
type MailOut struct {
	ID            string     `json:"id"`
	TicketID      string     `json:"ticket_id"`
	EventID       int64      `json:"event_id"`
	To            string     `json:"to"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	DoneAt        *time.Time `json:"done_at,omitempty"`
}

const mailOutCols = `id, ticket_id, event_id, to_addr, state, attempts, last_error, created_at, next_attempt_at, done_at`

func scanMailOut(sc rowScanner) (MailOut, error) {
	var m MailOut
	var created int64
	var next, done sql.NullInt64
	if err := sc.Scan(&m.ID, &m.TicketID, &m.EventID, &m.To, &m.State, &m.Attempts, &m.LastError, &created, &next, &done); err != nil {
		return m, err
	}
	m.CreatedAt, m.NextAttemptAt, m.DoneAt = fromNS(created), nullTimePtr(next), nullTimePtr(done)
	return m, nil
}

func (s *Store) insertMails(ctx context.Context, tx *sql.Tx, e TicketEvent) error {
	for _, m := range e.Mails {
		if m.ID == "" || m.To == "" || strings.ContainsAny(m.To, "\r\n") {
			return fmt.Errorf("ticket %s: outgoing mail needs an id and one address", e.TicketID)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO mail_outbox (id, ticket_id, event_id, to_addr, state, created_at, next_attempt_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`), m.ID, e.TicketID, e.ID, m.To, MailPending, e.Time.UnixNano(), e.Time.UnixNano()); err != nil {
			return fmt.Errorf("ticket %s: queue reply mail: %w", e.TicketID, err)
		}
	}
	return nil
}

// DueMails returns pending replies whose next attempt is due by now,
// oldest first.
func (s *Store) DueMails(ctx context.Context, now time.Time, limit int) ([]MailOut, error) {
	return s.mails(ctx, `WHERE state = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`, MailPending, now.UnixNano(), limit)
}

// TicketMails lists a ticket's replies by mail, oldest first.
func (s *Store) TicketMails(ctx context.Context, ticketID string) ([]MailOut, error) {
	return s.mails(ctx, `WHERE ticket_id = ? ORDER BY created_at, id`, ticketID)
}

func (s *Store) mails(ctx context.Context, where string, args ...any) ([]MailOut, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+mailOutCols+` FROM mail_outbox `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("mail outbox: %w", err)
	}
	defer rows.Close()
	out := []MailOut{}
	for rows.Next() {
		m, err := scanMailOut(rows)
		if err != nil {
			return nil, fmt.Errorf("mail outbox: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// MailOutboxCounts counts the outbox by state, and the pending replies
// that failed at least once.
func (s *Store) MailOutboxCounts(ctx context.Context) (pending, failing, sent int, err error) {
	err = s.r.QueryRowContext(ctx, s.q(`SELECT
		COALESCE(SUM(CASE WHEN state = ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN state = ? AND attempts > 0 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN state = ? THEN 1 ELSE 0 END), 0) FROM mail_outbox`), MailPending, MailPending, MailSent).Scan(&pending, &failing, &sent)
	if err != nil {
		err = fmt.Errorf("mail outbox counts: %w", err)
	}
	return
}

// FinishMail records an attempt's outcome: state sent ends the reply;
// pending schedules the next attempt at next with the error that made
// this one fail.
func (s *Store) FinishMail(ctx context.Context, id, state, lastError string, next *time.Time, now time.Time) error {
	return s.finishAttempt(ctx, "mail_outbox", "reply mail", MailPending, id, state, lastError, next, now)
}

// finishAttempt records an outbox attempt's outcome in table (an outbox
// with state, attempts, last_error, next_attempt_at and done_at columns):
// a state other than pending ends the row; pending schedules the next
// attempt. ErrNotFound when the row is not pending.
func (s *Store) finishAttempt(ctx context.Context, table, what, pending, id, state, lastError string, next *time.Time, now time.Time) error {
	var done any
	if state != pending {
		done = now.UnixNano()
		next = nil
	}
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE `+table+` SET state = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = ?, done_at = ?
		WHERE id = ? AND state = ?`), state, lastError, nsPtr(next), done, id, pending)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("pending %s %s: %w", what, id, ErrNotFound)
	}
	return nil
}

// TicketByNumber returns the ticket numbered n (without its snapshot).
func (s *Store) TicketByNumber(ctx context.Context, n int64) (Ticket, error) {
	t, err := scanTicket(s.r.QueryRowContext(ctx, s.q(`SELECT `+ticketCols+` FROM tickets WHERE number = ?`), n))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("ticket #%d: %w", n, ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("ticket #%d: %w", n, err)
	}
	return t, nil
}
