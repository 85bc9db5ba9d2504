// Package mailout sends technicians' replies on email tickets to their
// requesters by SMTP. A reply is queued in the store's mail outbox in the
// same transaction as the message that holds its text (hub/tickets), so
// nothing a technician wrote is lost; Outbox drains the queue off the
// request path, woken by the hub's ticket change bus and on a timer, and
// retries with backoff while the mail server is away.
package mailout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/hub/tickets"
)

// Subject is the subject of a reply on ticket n titled title:
// "Re: <title> [#n]". The token "[#n]" is what hub/mailin looks for in
// the subject of an answer, to add it to the ticket.
func Subject(title string, n int64) string {
	title = strings.TrimSpace(tokenRE.ReplaceAllString(title, ""))
	for {
		l := strings.ToLower(title)
		if !strings.HasPrefix(l, "re:") && !strings.HasPrefix(l, "aw:") && !strings.HasPrefix(l, "fwd:") {
			break
		}
		title = strings.TrimSpace(title[strings.IndexByte(title, ':')+1:])
	}
	s := "Re: " + title + " " + Token(n)
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

// Token is the ticket number as subjects carry it: "[#42]".
func Token(n int64) string { return "[#" + strconv.FormatInt(n, 10) + "]" }

var tokenRE = regexp.MustCompile(`\[#([1-9][0-9]{0,11})\]`)

// TicketNumber is the number of the last "[#n]" token in subject, or 0.
func TicketNumber(subject string) int64 {
	all := tokenRE.FindAllStringSubmatch(subject, -1)
	if len(all) == 0 {
		return 0
	}
	n, err := strconv.ParseInt(all[len(all)-1][1], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// Store is what the outbox needs from the hub's store.
type Store interface {
	DueMails(ctx context.Context, now time.Time, limit int) ([]store.MailOut, error)
	FinishMail(ctx context.Context, id, state, lastError string, next *time.Time, now time.Time) error
	GetTicket(ctx context.Context, id string) (store.Ticket, error)
	TicketEvents(ctx context.Context, id string) ([]store.TicketEvent, error)
	TicketMailIDs(ctx context.Context, ticketID string) ([]store.MailID, error)
	AddMailIDs(ctx context.Context, ticketID string, ids []string, outgoing bool, at time.Time) error
	WithJobLock(ctx context.Context, job string, fn func(ctx context.Context) error) (bool, error)
}

// SMTP hands a message to the mail server (hub/vendors.Sender).
type SMTP interface {
	SendMail(ctx context.Context, from, to string, msg []byte) error
}

// Config configures an Outbox.
type Config struct {
	Store Store
	SMTP  SMTP
	// From is the support address replies come from; answers to it reach
	// the mailbox hub/mailin reads.
	From string
	// Every is how often the outbox looks for due replies besides being
	// woken (default 30s, or RetryBase if that is shorter).
	Every time.Duration
	// RetryBase and RetryMax bound the backoff between attempts (default
	// 30s doubling up to 30m); a reply is tried until the server takes it
	// or refuses it for good (a 5xx answer).
	RetryBase, RetryMax time.Duration
	Logger              *slog.Logger
	Now                 func() time.Time
}

// CheckAndSetDefaults validates c and fills defaults.
func (c *Config) CheckAndSetDefaults() error {
	if c.Store == nil || c.SMTP == nil {
		return errors.New("mailout: no store or mail server")
	}
	a, err := mail.ParseAddress(c.From)
	if err != nil {
		return fmt.Errorf("--mail-address %q is not an email address: %w", c.From, err)
	}
	c.From = a.String()
	if c.Every <= 0 {
		c.Every = 30 * time.Second
	}
	if c.RetryBase <= 0 {
		c.RetryBase = 30 * time.Second
	}
	if c.RetryMax < c.RetryBase {
		c.RetryMax = max(c.RetryBase, 30*time.Minute)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Logger = c.Logger.With("component", "mailout")
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Outbox sends queued replies.
type Outbox struct {
	cfg     Config
	from    *mail.Address
	wake    chan struct{}
	sent    atomic.Int64
	failing atomic.Int64
}

// New builds an Outbox.
func New(cfg Config) (*Outbox, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	from, _ := mail.ParseAddress(cfg.From)
	return &Outbox{cfg: cfg, from: from, wake: make(chan struct{}, 1)}, nil
}

// Wake makes the outbox look for due replies now.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Handle is the outbox's ticket change bus subscriber: a change that
// queued a reply wakes it.
func (o *Outbox) Handle(c tickets.Change) {
	for _, e := range c.Events {
		if len(e.Mails) > 0 {
			o.Wake()
			return
		}
	}
}

// Run sends due replies until ctx ends: when woken, and every
// Config.Every. With several hubs on one database one of them sends at a
// time.
func (o *Outbox) Run(ctx context.Context) {
	// Looking at least as often as the first retry wait keeps a reply that
	// failed once from waiting a whole round more than its backoff.
	t := time.NewTicker(min(o.cfg.Every, o.cfg.RetryBase))
	defer t.Stop()
	for {
		if _, err := o.cfg.Store.WithJobLock(ctx, "mail-outbox", func(ctx context.Context) error {
			_, err := o.Pass(ctx)
			return err
		}); err != nil && ctx.Err() == nil {
			o.cfg.Logger.Error("mail outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-o.wake:
		}
	}
}

// Pass sends every reply due now and returns how many went out.
func (o *Outbox) Pass(ctx context.Context) (int, error) {
	sent := 0
	for {
		due, err := o.cfg.Store.DueMails(ctx, o.cfg.Now(), 50)
		if err != nil {
			return sent, err
		}
		for _, m := range due {
			if o.sendOne(ctx, m) {
				sent++
			}
		}
		if len(due) < 50 || ctx.Err() != nil {
			return sent, ctx.Err()
		}
	}
}

func (o *Outbox) backoff(attempts int) time.Duration {
	d := o.cfg.RetryBase
	for i := 0; i < attempts && d < o.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, o.cfg.RetryMax)
}

func (o *Outbox) sendOne(ctx context.Context, m store.MailOut) bool {
	log := o.cfg.Logger.With("mail", m.ID, "ticket", m.TicketID)
	finish := func(state, lastErr string, next *time.Time) {
		if err := o.cfg.Store.FinishMail(ctx, m.ID, state, lastErr, next, o.cfg.Now()); err != nil && ctx.Err() == nil {
			log.Error("record reply mail outcome", "err", err)
		}
	}
	msg, msgID, err := o.build(ctx, m)
	if errors.Is(err, store.ErrNotFound) {
		// The ticket or its message is gone: nothing left to send.
		log.Warn("reply mail abandoned", "err", err)
		finish(store.MailAbandoned, err.Error(), nil)
		return false
	}
	if err != nil {
		next := o.cfg.Now().Add(o.backoff(m.Attempts))
		finish(store.MailPending, err.Error(), &next)
		return false
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	err = o.cfg.SMTP.SendMail(sctx, o.from.Address, m.To, msg)
	cancel()
	if err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) && se.Code >= 500 {
			log.Warn("reply mail refused by the mail server for good", "to", m.To, "err", err)
			finish(store.MailAbandoned, err.Error(), nil)
			return false
		}
		next := o.cfg.Now().Add(o.backoff(m.Attempts))
		log.Warn("reply mail not sent; will retry", "to", m.To, "attempt", m.Attempts+1, "next", next.Format(time.RFC3339), "err", err)
		o.failing.Add(1)
		finish(store.MailPending, err.Error(), &next)
		return false
	}
	if err := o.cfg.Store.AddMailIDs(ctx, m.TicketID, []string{msgID}, true, o.cfg.Now()); err != nil {
		log.Warn("record the reply's Message-ID", "err", err)
	}
	finish(store.MailSent, "", nil)
	o.sent.Add(1)
	log.Info("reply mail sent", "to", m.To)
	return true
}

// build renders a reply: the technician's message with the ticket's
// subject token, threaded under the mails of the ticket.
func (o *Outbox) build(ctx context.Context, m store.MailOut) ([]byte, string, error) {
	t, err := o.cfg.Store.GetTicket(ctx, m.TicketID)
	if err != nil {
		return nil, "", err
	}
	events, err := o.cfg.Store.TicketEvents(ctx, m.TicketID)
	if err != nil {
		return nil, "", err
	}
	var text string
	found := false
	for _, e := range events {
		if e.ID == m.EventID {
			if msg, ok := e.Data.(ticketevent.Message); ok {
				text, found = msg.Text, true
			}
		}
	}
	if !found {
		return nil, "", fmt.Errorf("message event %d of ticket #%d: %w", m.EventID, t.Number, store.ErrNotFound)
	}
	ids, err := o.cfg.Store.TicketMailIDs(ctx, m.TicketID)
	if err != nil {
		return nil, "", err
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, "", fmt.Errorf("reply to %q: %w", m.To, store.ErrNotFound)
	}
	_, domain, _ := strings.Cut(o.from.Address, "@")
	// The same on every attempt, so a reply sent twice (the hub stopped
	// between handing it over and recording it) is one mail to a reader.
	msgID := m.ID + "@" + domain
	var inReplyTo string
	var refs []string
	for _, id := range ids {
		refs = append(refs, "<"+id.MessageID+">")
		if !id.Outgoing {
			inReplyTo = "<" + id.MessageID + ">"
		}
	}
	if inReplyTo == "" && len(refs) > 0 {
		inReplyTo = refs[len(refs)-1]
	}
	if len(refs) > 20 {
		refs = append(refs[:1], refs[len(refs)-19:]...)
	}
	var b bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", o.from.String())
	hdr("To", to.String())
	hdr("Subject", mime.QEncoding.Encode("utf-8", Subject(t.Title, t.Number)))
	hdr("Date", o.cfg.Now().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+msgID+">")
	if inReplyTo != "" {
		hdr("In-Reply-To", inReplyTo)
		hdr("References", strings.Join(refs, "\r\n "))
	}
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "8bit")
	hdr("X-Tierline-Ticket", strconv.FormatInt(t.Number, 10))
	b.WriteString("\r\n")
	body := text + "\n\n-- \nTicket " + Token(t.Number) + ": " + t.Title +
		"\nAnswer this mail to add to the ticket; keep " + Token(t.Number) + " in the subject.\n"
	// CRLF line ends only: no lone CR or LF from the technician's text
	// reaches the relay (SMTP smuggling).
	body = strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(body)
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	return b.Bytes(), msgID, nil
}

// Stats are the outbox's counts since the hub started.
type Stats struct {
	Sent, Failed int64
}

// Stats returns how many replies went out and how many attempts failed
// since the hub started.
func (o *Outbox) Stats() Stats { return Stats{Sent: o.sent.Load(), Failed: o.failing.Load()} }
