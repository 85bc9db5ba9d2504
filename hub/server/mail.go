package server

import (
	"fmt"
	"log/slog"
	"strconv"

	"github.com/tierline/tierline/hub/console"
	"github.com/tierline/tierline/hub/mailin"
	"github.com/tierline/tierline/hub/mailout"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/hub/vendors"
)

// mailParts are the email intake's running parts; both nil when it is off.
type mailParts struct {
	collector *mailin.Collector
	outbox    *mailout.Outbox
	cfg       mailin.Config
	smtp      string
}

// startMail builds the mail collector and the reply outbox from the
// hub's configuration; a bad configuration is an error at start.
func startMail(cfg Config, st *store.Store, svc *tickets.Service, smtp *vendors.Sender, log *slog.Logger) (*mailParts, error) {
	m := &mailParts{}
	if cfg.Mail.Addr == "" {
		return m, nil
	}
	if !smtp.EmailEnabled() {
		return nil, fmt.Errorf("--mail-imap-addr needs --smtp-addr host:port: technicians' replies to email tickets go out through it")
	}
	mc := cfg.Mail
	mc.Tickets, mc.Store, mc.Logger = svc, st, log
	col, err := mailin.New(mc)
	if err != nil {
		return nil, err
	}
	out, err := mailout.New(mailout.Config{Store: st, SMTP: smtp, From: mc.Address, Logger: log, RetryBase: cfg.VendorRetry})
	if err != nil {
		return nil, err
	}
	// What the admin page shows: the collector's settings as checked.
	m.collector, m.outbox, m.cfg, m.smtp = col, out, col.Config(), cfg.SMTP.Addr
	log.Info("email intake on", "imap", mc.Addr, "tls", m.cfg.TLSMode, "user", mc.User, "mailbox", m.cfg.Mailbox, "address", m.cfg.Address,
		"poll", m.cfg.Every.String(), "smtp", cfg.SMTP.Addr)
	return m, nil
}

// status is the email intake as the admin page shows it, without secrets.
func (m *mailParts) status() console.MailStatus {
	if m == nil || m.collector == nil {
		return console.MailStatus{}
	}
	s := m.collector.Status()
	return console.MailStatus{Enabled: true, Address: m.cfg.Address, IMAP: m.cfg.Addr, TLS: m.cfg.TLSMode, User: m.cfg.User,
		Mailbox: m.cfg.Mailbox, SMTP: m.smtp, Poll: tickets.ShortDuration(m.cfg.Every),
		MaxFileSize: byteSize(m.cfg.Limits.MaxAttachmentBytes), MaxFiles: max(m.cfg.Limits.MaxAttachments, 0),
		SenderLimit: strconv.Itoa(m.cfg.SenderLimit) + " mails per " + tickets.ShortDuration(m.cfg.SenderWindow),
		LastPoll:    s.LastPoll, LastError: s.LastError,
		Filed: s.Totals.Filed, Replies: s.Totals.Replies, Ignored: s.Totals.Ignored, Refused: s.Totals.Refused}
}

func byteSize(n int64) string {
	if n >= 1<<20 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n>>10, 10) + " KiB"
}
