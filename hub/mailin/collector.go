// Package mailin turns mail into tickets: a collector polls an IMAP
// mailbox (IMAPS or STARTTLS, as GLPI, Zammad and osTicket do), files each
// new mail as an email ticket, and adds an answer that names a ticket
// ("[#42]" in its subject, or a Message-ID of the ticket's thread in
// In-Reply-To/References) to that ticket as a message from its requester.
//
// A mail is flagged \Seen only after what it brought is stored, so a hub
// that stops mid-way reads it again and, filing being idempotent on the
// mail's Message-ID, adds it once. Auto-replies, bulk and list mail,
// bounces, mail from the hub's own address and senders over the rate
// limit are ignored; unreadable mail is refused. Both are flagged \Seen
// with a keyword ($TierlineIgnored, $TierlineRefused) and logged, so they
// stay in the mailbox for a person to look at and are not read again.
package mailin

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tierline/tierline/hub/mailout"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/wire"
)

// Keywords the collector sets besides \Seen.
const (
	KeywordIgnored = "$TierlineIgnored"
	KeywordRefused = "$TierlineRefused"
)

// Tickets is what the collector needs from the tickets service.
type Tickets interface {
	Open(ctx context.Context, actor string, in tickets.Intake, diagnose tickets.Diagnoser) (store.Ticket, bool, error)
	MessageOnce(ctx context.Context, id, actor, from, text, msgID string) (store.Ticket, error)
}

// Store is what the collector needs from the hub's store.
type Store interface {
	GetTicket(ctx context.Context, id string) (store.Ticket, error)
	TicketByNumber(ctx context.Context, n int64) (store.Ticket, error)
	TicketOfMail(ctx context.Context, ids []string) (string, error)
	AddMailIDs(ctx context.Context, ticketID string, ids []string, outgoing bool, at time.Time) error
	AddAttachments(ctx context.Context, ticketID string, atts []store.Attachment) error
	WithJobLock(ctx context.Context, job string, fn func(ctx context.Context) error) (bool, error)
}

// Config configures a Collector.
type Config struct {
	Addr     string      // IMAP server host:port
	TLSMode  string      // TLSImplicit (default) or TLSStartTLS
	TLS      *tls.Config // nil: system roots, server name from Addr
	User     string
	Password string
	Mailbox  string        // default INBOX
	Every    time.Duration // poll interval (default 1m)
	// Address is the hub's own support address: mail from it is a loop
	// and ignored.
	Address string
	Limits  Limits
	// MaxMailBytes is the largest mail read (default 32 MiB); a larger
	// one is refused unread.
	MaxMailBytes int64
	// SenderLimit is how many mails one sender may bring in per
	// SenderWindow (default 20 per hour); more are ignored as a loop or a
	// flood.
	SenderLimit  int
	SenderWindow time.Duration
	// Batch is how many mails one poll reads at most (default 50).
	Batch   int
	Timeout time.Duration // per IMAP command (default 60s)

	Tickets Tickets
	Store   Store
	Logger  *slog.Logger
	Now     func() time.Time
}

// CheckAndSetDefaults validates c (naming the hub's flags in its errors)
// and fills defaults.
func (c *Config) CheckAndSetDefaults() error {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil || host == "" {
		return fmt.Errorf("--mail-imap-addr %q is not host:port (such as imap.example.com:993)", c.Addr)
	}
	if c.TLSMode == "" {
		c.TLSMode = TLSImplicit
	}
	if c.TLSMode != TLSImplicit && c.TLSMode != TLSStartTLS {
		return fmt.Errorf("--mail-imap-tls %q: use %s (port 993) or %s (port 143); the hub never logs in without TLS", c.TLSMode, TLSImplicit, TLSStartTLS)
	}
	if c.User == "" || c.Password == "" {
		return errors.New("--mail-imap-user and --mail-imap-password-file are required with --mail-imap-addr")
	}
	for what, v := range map[string]string{"--mail-imap-user": c.User, "the IMAP password": c.Password, "--mail-imap-mailbox": c.Mailbox} {
		if strings.ContainsAny(v, "\x00\r\n") || !utf8.ValidString(v) || len(v) > 1024 {
			return fmt.Errorf("%s must be one line of UTF-8 text", what)
		}
	}
	if c.Mailbox == "" {
		c.Mailbox = "INBOX"
	}
	a, err := mail.ParseAddress(c.Address)
	if err != nil {
		return fmt.Errorf("--mail-address %q is not an email address (the support address users write to): %v", c.Address, err)
	}
	c.Address = a.Address
	if c.Every <= 0 {
		c.Every = time.Minute
	}
	if c.Every < time.Second {
		return fmt.Errorf("--mail-poll %s is too short; poll at most once a second", c.Every)
	}
	c.Limits.setDefaults()
	if c.MaxMailBytes <= 0 {
		c.MaxMailBytes = 32 << 20
	}
	if c.SenderLimit <= 0 {
		c.SenderLimit = 20
	}
	if c.SenderWindow <= 0 {
		c.SenderWindow = time.Hour
	}
	if c.Batch <= 0 {
		c.Batch = 50
	}
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	if c.TLS == nil {
		c.TLS = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	if c.Tickets == nil || c.Store == nil {
		return errors.New("mailin: no tickets service or store")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Logger = c.Logger.With("component", "mailin")
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Collector polls the mailbox.
type Collector struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	recent map[string][]seen // sender -> mails taken within the window
	status Status
}

// Status is what the admin page shows of the collector.
type Status struct {
	LastPoll  time.Time
	LastError string
	Totals    Result
}

// Result counts what polls did.
type Result struct {
	Filed, Replies, Ignored, Refused int
}

func (r *Result) add(o Result) {
	r.Filed += o.Filed
	r.Replies += o.Replies
	r.Ignored += o.Ignored
	r.Refused += o.Refused
}

// New builds a Collector.
func New(cfg Config) (*Collector, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	return &Collector{cfg: cfg, log: cfg.Logger, recent: map[string][]seen{}}, nil
}

// Status returns the collector's last poll and its totals.
func (c *Collector) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Run polls every Config.Every until ctx ends. With several hubs on one
// database one of them polls at a time.
func (c *Collector) Run(ctx context.Context) {
	t := time.NewTicker(c.cfg.Every)
	defer t.Stop()
	for {
		_, err := c.cfg.Store.WithJobLock(ctx, "mail-collector", func(ctx context.Context) error {
			_, err := c.Poll(ctx)
			return err
		})
		if err != nil && ctx.Err() == nil {
			c.log.Error("mail poll failed; will try again", "imap", c.cfg.Addr, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll reads the unseen mails once and returns what it did with them. An
// error that stops the poll (the server, the store) leaves the mails not
// yet taken unseen for the next poll.
func (c *Collector) Poll(ctx context.Context) (Result, error) {
	res, err := c.poll(ctx)
	c.mu.Lock()
	c.status.LastPoll = c.cfg.Now()
	c.status.LastError = ""
	if err != nil {
		c.status.LastError = err.Error()
	}
	c.status.Totals.add(res)
	c.mu.Unlock()
	return res, err
}

func (c *Collector) poll(ctx context.Context) (Result, error) {
	var res Result
	conn, err := dialIMAP(ctx, c.cfg.Addr, c.cfg.TLSMode, c.cfg.TLS, c.cfg.User, c.cfg.Password, c.cfg.MaxMailBytes+64<<10, c.cfg.Timeout)
	if err != nil {
		return res, err
	}
	defer conn.logout()
	if err := conn.selectMailbox(c.cfg.Mailbox); err != nil {
		return res, fmt.Errorf("open mailbox %q: %w", c.cfg.Mailbox, err)
	}
	uids, err := conn.searchUnseen()
	if err != nil {
		return res, err
	}
	if len(uids) > c.cfg.Batch {
		uids = uids[:c.cfg.Batch]
	}
	if len(uids) == 0 {
		return res, nil
	}
	sizes, err := conn.sizes(uids)
	if err != nil {
		return res, err
	}
	for _, uid := range uids {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		log := c.log.With("uid", uid)
		if size, ok := sizes[uid]; ok && size > c.cfg.MaxMailBytes {
			log.Warn("mail refused: too large", "bytes", size, "limit", c.cfg.MaxMailBytes)
			res.Refused++
			if err := c.flag(conn, uid, KeywordRefused); err != nil {
				return res, err
			}
			continue
		}
		raw, err := conn.fetch(uid)
		if errors.Is(err, errGone) {
			continue
		}
		if err != nil {
			return res, err
		}
		out, err := c.Take(ctx, raw)
		if err != nil {
			// The store failed: the mail stays unseen and is read again.
			return res, fmt.Errorf("mail uid %d: %w", uid, err)
		}
		res.add(out.count())
		switch {
		case out.Refused != "":
			log.Warn("mail refused", "from", out.From, "message_id", out.MessageID, "reason", out.Refused)
			err = c.flag(conn, uid, KeywordRefused)
		case out.Ignored != "":
			log.Info("mail ignored", "from", out.From, "message_id", out.MessageID, "reason", out.Ignored)
			err = c.flag(conn, uid, KeywordIgnored)
		default:
			log.Info("mail taken", "from", out.From, "ticket", out.Ticket.Number, "new_ticket", out.Created, "reply", out.Reply,
				"files", out.Files, "dropped", out.Dropped)
			err = c.flag(conn, uid)
		}
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// flag marks a mail \Seen, with a keyword if given; a server that keeps no
// keywords still gets \Seen.
func (c *Collector) flag(conn *imapConn, uid uint32, keyword ...string) error {
	err := conn.addFlags(uid, append([]string{`\Seen`}, keyword...)...)
	var ie *IMAPError
	if len(keyword) > 0 && errors.As(err, &ie) {
		err = conn.addFlags(uid, `\Seen`)
	}
	return err
}

// Outcome is what became of one mail.
type Outcome struct {
	From, MessageID string
	Ticket          store.Ticket
	Created         bool // a new ticket
	Reply           bool // added to an existing ticket
	Files, Dropped  int
	Ignored         string // why the mail was ignored
	Refused         string // why the mail could not be read
}

func (o Outcome) count() Result {
	switch {
	case o.Refused != "":
		return Result{Refused: 1}
	case o.Ignored != "":
		return Result{Ignored: 1}
	case o.Reply:
		return Result{Replies: 1}
	}
	return Result{Filed: 1}
}

// Take files one mail: a new ticket, or a message on the ticket it
// answers. It is idempotent on the mail's Message-ID. The error is only
// for failures worth trying again (the store); a mail that cannot be read
// is an Outcome with Refused set.
func (c *Collector) Take(ctx context.Context, raw []byte) (Outcome, error) {
	m, err := Parse(raw, c.cfg.Limits)
	if err != nil {
		return Outcome{Refused: err.Error()}, nil
	}
	out := Outcome{From: m.From, MessageID: m.MessageID}
	switch {
	case m.Auto != "":
		out.Ignored = "sent by a program: " + m.Auto
		return out, nil
	case strings.EqualFold(m.From, c.cfg.Address):
		out.Ignored = "sent from the hub's own address " + c.cfg.Address + " (a loop)"
		return out, nil
	}
	if !c.allow(m.From, m.Key) {
		out.Ignored = fmt.Sprintf("%s sent more than %d mails in %s", m.From, c.cfg.SenderLimit, c.cfg.SenderWindow)
		return out, nil
	}
	now := c.cfg.Now()
	text, files := c.body(m)
	t, ok, err := c.thread(ctx, m)
	if err != nil {
		return out, err
	}
	if ok {
		got, err := c.cfg.Tickets.MessageOnce(ctx, t.ID, m.From, tickets.FromUser, text, m.Key)
		switch {
		case err == nil:
			out.Ticket, out.Reply = got, true
		case errors.Is(err, tickets.ErrState):
			// A closed ticket takes no more messages: the answer starts
			// a new ticket that says which one it answers.
			text = fmt.Sprintf("(This mail answers closed ticket %s.)\n\n%s", mailout.Token(t.Number), text)
			ok = false
		case errors.Is(err, tickets.ErrInvalid):
			out.Refused = err.Error()
			return out, nil
		default:
			return out, err
		}
	}
	if !ok {
		title := m.Subject
		if title == "" {
			title = "(no subject)"
		}
		got, created, err := c.cfg.Tickets.Open(ctx, "email", tickets.Intake{Requester: m.From, Text: text, Title: title,
			Channel: store.IntakeEmail, Type: store.TypeIncident, RequestID: m.Key}, nil)
		if errors.Is(err, tickets.ErrInvalid) {
			out.Refused = err.Error()
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out.Ticket, out.Created = got, created
	}
	ids := append([]string(nil), m.MessageID)
	if m.MessageID == "" {
		ids = nil
	}
	if err := c.cfg.Store.AddMailIDs(ctx, out.Ticket.ID, ids, false, now); err != nil {
		return out, err
	}
	atts := make([]store.Attachment, 0, len(files)+len(m.Dropped))
	for i, f := range files {
		atts = append(atts, store.Attachment{ID: attachmentID(m.Key, i), MailID: m.Key, Position: i, Name: f.Name, ContentType: f.ContentType,
			Size: f.Size, Data: f.Data, CreatedAt: now})
	}
	for i, f := range m.Dropped {
		atts = append(atts, store.Attachment{ID: attachmentID(m.Key, len(files)+i), MailID: m.Key, Position: len(files) + i, Name: f.Name, ContentType: f.ContentType,
			Size: f.Size, Dropped: f.Reason, CreatedAt: now})
	}
	if err := c.cfg.Store.AddAttachments(ctx, out.Ticket.ID, atts); err != nil {
		return out, err
	}
	out.Files, out.Dropped = len(files), len(m.Dropped)
	return out, nil
}

// thread finds the ticket a mail answers: the one its subject names, or
// the one a Message-ID it refers to belongs to, if that ticket came by
// email from the same sender. Anyone else's mail starts a new ticket: a
// stranger cannot write into someone's ticket by guessing its number.
func (c *Collector) thread(ctx context.Context, m *Mail) (store.Ticket, bool, error) {
	mine := func(t store.Ticket) bool {
		return t.Channel == store.IntakeEmail && strings.EqualFold(t.Requester, m.From)
	}
	if n := mailout.TicketNumber(m.Subject); n > 0 {
		t, err := c.cfg.Store.TicketByNumber(ctx, n)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return t, false, err
		}
		if err == nil && mine(t) {
			return t, true, nil
		}
	}
	refs := append(append([]string(nil), m.References...), m.InReplyTo...)
	if len(refs) == 0 {
		return store.Ticket{}, false, nil
	}
	id, err := c.cfg.Store.TicketOfMail(ctx, refs)
	if errors.Is(err, store.ErrNotFound) {
		return store.Ticket{}, false, nil
	}
	if err != nil {
		return store.Ticket{}, false, err
	}
	t, err := c.cfg.Store.GetTicket(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return t, false, nil
	}
	if err != nil {
		return t, false, err
	}
	return t, mine(t), nil
}

// maxTicketText is how much text a ticket or message takes (the tickets
// service's limit is 16 KiB); a mail's notes on dropped files come first.
const maxTicketText = 16<<10 - 64

// body is the ticket text of a mail and the files to keep: a text longer
// than the ticket takes is cut, and kept whole as mail.txt; dropped files
// are listed at the end of the text so the technician sees them.
func (c *Collector) body(m *Mail) (string, []File) {
	text := m.Text
	files := m.Files
	if strings.TrimSpace(text) == "" {
		text = "(The mail has no text.)"
		if m.Subject != "" {
			text = m.Subject + "\n\n" + text
		}
	}
	var notes []string
	for i, f := range m.Dropped {
		if i == 10 {
			notes = append(notes, fmt.Sprintf("%d more attachments were not kept.", len(m.Dropped)-i))
			break
		}
		notes = append(notes, fmt.Sprintf("Attachment %s (%s) was not kept: %s.", wire.Clip(f.Name, 80), byteSize(f.Size), f.Reason))
	}
	room := maxTicketText - 200 // the note on a cut text
	for _, n := range notes {
		room -= len(n) + 2
	}
	if len(text) > room {
		cut := room
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		files = append(append([]File(nil), files...), File{Name: "mail.txt", ContentType: "text/plain; charset=utf-8", Size: int64(len(m.Text)), Data: []byte(m.Text)})
		text = text[:cut]
		notes = append([]string{"The mail is longer; its whole text is attached as mail.txt."}, notes...)
	}
	if len(notes) > 0 {
		text += "\n\n[" + strings.Join(notes, "\n ") + "]"
	}
	return text, files
}

// allow counts a mail against its sender's rate limit. A mail seen before
// (the same key, read again after a crash) is not counted twice.
func (c *Collector) allow(sender, key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	sender = strings.ToLower(sender)
	kept := c.recent[sender][:0]
	for _, t := range c.recent[sender] {
		if now.Sub(t.at) < c.cfg.SenderWindow {
			kept = append(kept, t)
		}
	}
	if len(c.recent) > 10000 {
		// Bound the map: forget senders with nothing in the window.
		for k, v := range c.recent {
			if len(v) == 0 || now.Sub(v[len(v)-1].at) >= c.cfg.SenderWindow {
				delete(c.recent, k)
			}
		}
	}
	c.recent[sender] = kept
	for _, t := range kept {
		if t.key == key {
			return true
		}
	}
	if len(kept) >= c.cfg.SenderLimit {
		return false
	}
	c.recent[sender] = append(kept, seen{key: key, at: now})
	return true
}

type seen struct {
	key string
	at  time.Time
}

func attachmentID(key string, i int) string {
	sum := sha256.Sum256([]byte(key + "/" + strconv.Itoa(i)))
	return hex.EncodeToString(sum[:16])
}

// Config returns the collector's configuration as checked, with defaults
// filled and without the password.
func (c *Collector) Config() Config {
	cfg := c.cfg
	cfg.Password = ""
	cfg.TLS = nil
	return cfg
}
