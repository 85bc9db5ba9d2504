// Package vendors sends tickets to Tier 4 vendors: a JSON webhook signed
// with HMAC-SHA256, and email over SMTP (STARTTLS when the server offers
// it). The tickets service decides what to send and when, and retries;
// this package only delivers one message over one channel.
package vendors

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/diag"
)

// Webhook headers. The signature covers "<timestamp>.<body>", so a
// captured request cannot be replayed later with a fresh timestamp.
const (
	HeaderSignature = "X-Tierline-Signature" // sha256=<hex HMAC-SHA256>
	HeaderTimestamp = "X-Tierline-Timestamp" // unix seconds
	HeaderEvent     = "X-Tierline-Event"     // escalation | reminder
	HeaderDelivery  = "X-Tierline-Delivery"  // delivery id, the same on every retry
)

// Message kinds.
const (
	KindEscalation = "escalation"
	KindReminder   = "reminder"
)

// Payload is what a vendor receives: the ticket's summary and its
// evidence. The webhook body is this as JSON; the email renders it as
// text with the JSON attached inline.
type Payload struct {
	Kind       string    `json:"kind"`
	DeliveryID string    `json:"delivery_id"`
	Sent       time.Time `json:"sent"`
	Hub        string    `json:"hub,omitempty"`
	Vendor     struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		ContractRef string `json:"contract_ref,omitempty"`
	} `json:"vendor"`
	Ticket struct {
		ID        string    `json:"id"`
		Number    int64     `json:"number"`
		Title     string    `json:"title"`
		Body      string    `json:"body,omitempty"`
		Category  string    `json:"category,omitempty"`
		Priority  int       `json:"priority"`
		State     string    `json:"state"`
		Tier      int       `json:"tier"`
		Signature string    `json:"failing_checks,omitempty"`
		VendorRef string    `json:"vendor_ref,omitempty"`
		Due       time.Time `json:"due,omitzero"`
		CreatedAt time.Time `json:"created_at"`
	} `json:"ticket"`
	Note string `json:"note,omitempty"`
	// Evidence is the ticket's snapshot taken at filing (JSON as stored),
	// the device's facts and the timeline in short.
	Evidence struct {
		Snapshot json.RawMessage `json:"snapshot,omitempty"`
		Device   *DeviceFacts    `json:"device,omitempty"`
		Timeline []TimelineLine  `json:"timeline"`
	} `json:"evidence"`
}

// DeviceFacts are the device's identity and its latest health.
type DeviceFacts struct {
	ID       string             `json:"id"`
	Hostname string             `json:"hostname"`
	OS       string             `json:"os,omitempty"`
	Group    string             `json:"group,omitempty"`
	LastSeen *time.Time         `json:"last_seen,omitempty"`
	Checks   []diag.CheckResult `json:"checks,omitempty"`
}

// TimelineLine is one ticket event in short.
type TimelineLine struct {
	Time  time.Time `json:"time"`
	Actor string    `json:"actor"`
	Kind  string    `json:"kind"`
	Text  string    `json:"text,omitempty"`
}

// Sign returns the signature header value of body sent at ts with secret.
func Sign(secret string, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a webhook request's signature and that its timestamp is
// within tolerance of now: what a vendor's receiver does.
func Verify(secret, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%s %q is not unix seconds", HeaderTimestamp, timestamp)
	}
	ts := time.Unix(sec, 0)
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return fmt.Errorf("%s is %s away from now; refusing a possible replay", HeaderTimestamp, d.Round(time.Second))
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature)) {
		return errors.New("signature does not match the body and timestamp")
	}
	return nil
}

// SMTPConfig is the mail server the hub sends vendor email through.
type SMTPConfig struct {
	Addr     string // host:port; empty disables email
	From     string
	User     string
	Password string
	// TLS configures STARTTLS; nil verifies the server against the system
	// roots with the host of Addr.
	TLS *tls.Config
}

// Config configures a Sender.
type Config struct {
	SMTP   SMTPConfig
	Client *http.Client // default: 15 s timeout, no redirects
	Logger *slog.Logger
	Now    func() time.Time
}

// Sender delivers payloads to vendors.
type Sender struct {
	cfg Config
}

// New builds a Sender.
func New(cfg Config) (*Sender, error) {
	if cfg.SMTP.Addr != "" {
		if _, _, err := net.SplitHostPort(cfg.SMTP.Addr); err != nil {
			return nil, fmt.Errorf("--smtp-addr %q is not host:port: %w", cfg.SMTP.Addr, err)
		}
		if _, err := mail.ParseAddress(cfg.SMTP.From); err != nil {
			return nil, fmt.Errorf("--smtp-from %q is not an email address; set it with --smtp-from tierline@example.com", cfg.SMTP.From)
		}
	}
	if cfg.Client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, Control: refuseUnreachable}).DialContext
		cfg.Client = &http.Client{Timeout: 15 * time.Second, Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sender{cfg: cfg}, nil
}

// EmailEnabled reports whether an SMTP server is configured.
func (s *Sender) EmailEnabled() bool { return s != nil && s.cfg.SMTP.Addr != "" }

// ErrNoSMTP: a vendor email was asked for and the hub has no mail server.
var ErrNoSMTP = errors.New("this hub sends no email: start it with --smtp-addr host:port --smtp-from ADDRESS")

// Send delivers p to v over channel (store.ChannelWebhook or
// store.ChannelEmail).
func (s *Sender) Send(ctx context.Context, v store.Vendor, channel string, p Payload) error {
	body, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("encode vendor message: %w", err)
	}
	switch channel {
	case store.ChannelWebhook:
		return s.webhook(ctx, v, p, body)
	case store.ChannelEmail:
		return s.email(ctx, v, p, body)
	}
	return fmt.Errorf("unknown vendor channel %q", channel)
}

func (s *Sender) webhook(ctx context.Context, v store.Vendor, p Payload, body []byte) error {
	if v.WebhookURL == "" {
		return fmt.Errorf("vendor %s has no webhook URL", v.Name)
	}
	if err := s.PostJSON(ctx, v.WebhookURL, v.WebhookSecret, p.Kind, p.DeliveryID, body); err != nil {
		return fmt.Errorf("webhook %s: %w", v.Name, err)
	}
	return nil
}

// PostJSON posts body as JSON to url with the event and delivery headers,
// signed with secret when there is one, through the client that refuses
// link-local, multicast and unspecified addresses. A status other than
// 2xx is an error with the start of the answer. Vendor webhooks and the
// technicians' notification webhooks (hub/notify) go out through it.
// An error names the receiver by scheme and host only: a webhook's path
// often is its secret (Slack, Teams), and delivery errors are shown to
// technicians.
func (s *Sender) PostJSON(ctx context.Context, target, secret, event, delivery string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook address %s is not a URL", redactURL(target))
	}
	ts := s.cfg.Now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tierline-hub")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderEvent, event)
	req.Header.Set(HeaderDelivery, delivery)
	if secret != "" {
		req.Header.Set(HeaderSignature, Sign(secret, ts, body))
	}
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = redactURL(ue.URL)
		}
		return err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &StatusError{Code: resp.StatusCode, Status: resp.Status, Body: strings.TrimSpace(string(snippet))}
	}
	return nil
}

// redactURL keeps a URL's scheme and host and hides the rest.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(hidden)"
	}
	if u.Path == "" && u.RawQuery == "" {
		return u.Scheme + "://" + u.Host
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// StatusError is a webhook's answer other than 2xx.
type StatusError struct {
	Code   int
	Status string
	Body   string
}

func (e *StatusError) Error() string { return "answered " + e.Status + ": " + e.Body }

// From is the address the hub's mail comes from (--smtp-from), "" when it
// sends no email.
func (s *Sender) From() string {
	if !s.EmailEnabled() {
		return ""
	}
	return s.cfg.SMTP.From
}

// Check reports what is wrong with a vendor as an admin describes it, or
// nil: the API and `tierline-hub vendor add` both call it, so a vendor is
// held to the same rules however it is added. Fields are named as the API
// names them.
func Check(v store.Vendor) error {
	switch {
	case v.Name == "" || len(v.Name) > 100 || strings.ContainsAny(v.Name, "\x00\n\r"):
		return errors.New("name is required: one line of at most 100 bytes")
	case len(v.ContractRef) > 200 || strings.ContainsAny(v.ContractRef, "\x00\n\r"):
		return errors.New("contract_ref must be one line of at most 200 bytes")
	case v.Email == "" && v.WebhookURL == "":
		return errors.New("give the vendor an email, a webhook_url or both, so tickets can reach it")
	case v.ResponseTarget != 0 && (v.ResponseTarget < time.Second || v.ResponseTarget > 365*24*time.Hour):
		return errors.New("response_target must be a duration from 1s to 8760h, such as 30m or 8h (or none, for no reminders)")
	}
	if v.Email != "" {
		addr, err := mail.ParseAddress(v.Email)
		if err != nil || addr.Name != "" || len(v.Email) > 254 {
			return errors.New("email must be a plain address such as support@vendor.example")
		}
	}
	return CheckWebhook(v.WebhookURL, v.WebhookSecret)
}

// CheckWebhook reports what is wrong with a webhook URL and secret (either
// may be empty), or nil; vendors and technicians' notification webhooks
// (hub/notify) are held to it. Fields are named as the API names them.
func CheckWebhook(webhookURL, secret string) error {
	switch {
	case len(secret) > 512:
		return errors.New("webhook_secret must be at most 512 bytes")
	case secret != "" && len(secret) < 16:
		return errors.New("webhook_secret must be at least 16 bytes; make one with `openssl rand -hex 32`")
	}
	if webhookURL != "" {
		u, err := url.Parse(webhookURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(webhookURL) > 2048 {
			return errors.New("webhook_url must be an http(s) URL without credentials, such as https://vendor.example/hooks/tierline")
		}
		if ip := net.ParseIP(u.Hostname()); ip != nil && !Reachable(ip) {
			return errors.New("webhook_url may not name a link-local, multicast or unspecified address (such as a cloud metadata service); use the receiver's own host")
		}
	}
	return nil
}

// Reachable reports whether a vendor webhook may be sent to ip: not a
// link-local address (169.254.169.254 is where cloud machines keep their
// credentials), multicast or unspecified. Loopback and private addresses
// are allowed: a vendor's system can be on the company's own network.
func Reachable(ip net.IP) bool {
	return !ip.IsLinkLocalUnicast() && !ip.IsLinkLocalMulticast() && !ip.IsMulticast() && !ip.IsUnspecified() &&
		!ip.Equal(net.IPv4bcast)
}

// refuseUnreachable is the webhook dialer's check of the address a name
// resolved to, before anything is sent (so a name that resolves to a
// link-local address is refused too).
func refuseUnreachable(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !Reachable(ip) {
		return fmt.Errorf("refused to connect to %s: vendor webhooks may not reach link-local, multicast or unspecified addresses", host)
	}
	return nil
}

// subject is the email subject of a payload.
func subject(p Payload) string {
	s := fmt.Sprintf("[Tierline #%d] %s", p.Ticket.Number, p.Ticket.Title)
	if p.Kind == KindReminder {
		s = "Reminder: " + s
	}
	if p.Ticket.VendorRef != "" {
		s += " (your ref " + p.Ticket.VendorRef + ")"
	}
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

// text is the plain-text email body of a payload.
func text(p Payload, body []byte) string {
	var b strings.Builder
	if p.Kind == KindReminder {
		fmt.Fprintf(&b, "This is a reminder: ticket #%d is still waiting on your answer", p.Ticket.Number)
		if !p.Ticket.Due.IsZero() {
			fmt.Fprintf(&b, " (response target passed at %s)", p.Ticket.Due.UTC().Format(time.RFC3339))
		}
		b.WriteString(".\n\n")
	} else {
		fmt.Fprintf(&b, "Ticket #%d is forwarded to %s", p.Ticket.Number, p.Vendor.Name)
		if p.Vendor.ContractRef != "" {
			fmt.Fprintf(&b, " under contract %s", p.Vendor.ContractRef)
		}
		b.WriteString(".\n\n")
	}
	fmt.Fprintf(&b, "Title: %s\nPriority: %d\nFailing checks: %s\n", p.Ticket.Title, p.Ticket.Priority, orNone(p.Ticket.Signature))
	if p.Note != "" {
		fmt.Fprintf(&b, "\nNote from the technician:\n%s\n", p.Note)
	}
	if p.Ticket.Body != "" {
		fmt.Fprintf(&b, "\nThe user wrote:\n%s\n", p.Ticket.Body)
	}
	b.WriteString("\nPlease answer with your reference for this case.\n\nEvidence (JSON):\n")
	b.Write(body)
	b.WriteString("\n")
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (s *Sender) email(ctx context.Context, v store.Vendor, p Payload, body []byte) error {
	if !s.EmailEnabled() {
		return ErrNoSMTP
	}
	to, err := mail.ParseAddress(v.Email)
	if err != nil {
		return fmt.Errorf("vendor %s email %q: %w", v.Name, v.Email, err)
	}
	from, _ := mail.ParseAddress(s.cfg.SMTP.From)
	var msg bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&msg, "%s: %s\r\n", k, v) }
	hdr("From", from.String())
	hdr("To", to.String())
	hdr("Subject", mime.QEncoding.Encode("utf-8", subject(p)))
	hdr("Date", s.cfg.Now().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+p.DeliveryID+"@tierline>")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "8bit")
	hdr("X-Tierline-Ticket", strconv.FormatInt(p.Ticket.Number, 10))
	msg.WriteString("\r\n")
	// Every line ends in CRLF and no bare CR or LF is left: a lone CR from
	// the user's text could be read as a line end by some relays (SMTP
	// smuggling).
	nl := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(text(p, body))
	msg.WriteString(strings.ReplaceAll(nl, "\n", "\r\n"))

	return s.SendMail(ctx, from.Address, to.Address, msg.Bytes())
}

// SendMail hands one message, headers and body with CRLF line ends, to
// the hub's mail server for one recipient: over STARTTLS when the server
// offers it, logged in when a user is configured. The email replies of
// hub/mailout go out through it too.
func (s *Sender) SendMail(ctx context.Context, from, to string, msg []byte) error {
	if !s.EmailEnabled() {
		return ErrNoSMTP
	}
	c, err := s.dialSMTP(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if s.cfg.SMTP.User != "" {
		if _, tlsOn := c.TLSConnectionState(); !tlsOn && !loopback(s.cfg.SMTP.Addr) {
			return fmt.Errorf("smtp %s: the server offers no STARTTLS; refusing to send the password in the clear", s.cfg.SMTP.Addr)
		}
		if ok, _ := c.Extension("AUTH"); !ok {
			return fmt.Errorf("smtp %s: a user is configured but the server offers no AUTH", s.cfg.SMTP.Addr)
		}
		if err := c.Auth(sasl.NewPlainClient("", s.cfg.SMTP.User, s.cfg.SMTP.Password)); err != nil {
			return fmt.Errorf("smtp %s: log in as %s: %w", s.cfg.SMTP.Addr, s.cfg.SMTP.User, err)
		}
	}
	if err := c.SendMail(from, []string{to}, bytes.NewReader(msg)); err != nil {
		return fmt.Errorf("smtp %s: send to %s: %w", s.cfg.SMTP.Addr, to, err)
	}
	_ = c.Quit()
	return nil
}

func loopback(addr string) bool {
	host, _, _ := net.SplitHostPort(addr)
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// dialSMTP connects to the mail server and switches to TLS when it offers
// STARTTLS.
func (s *Sender) dialSMTP(ctx context.Context) (*smtp.Client, error) {
	addr := s.cfg.SMTP.Addr
	host, _, _ := net.SplitHostPort(addr)
	dial := func() (net.Conn, error) {
		d := net.Dialer{Timeout: 15 * time.Second}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("smtp %s: %w", addr, err)
		}
		if dl, ok := ctx.Deadline(); ok {
			_ = conn.SetDeadline(dl)
		} else {
			_ = conn.SetDeadline(time.Now().Add(time.Minute))
		}
		return conn, nil
	}
	conn, err := dial()
	if err != nil {
		return nil, err
	}
	c := smtp.NewClient(conn)
	if err := c.Hello("tierline-hub"); err != nil {
		c.Close()
		return nil, fmt.Errorf("smtp %s: %w", addr, err)
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		return c, nil
	}
	// The server offers TLS: start over on a connection that asks for it
	// first thing, so nothing is sent in the clear.
	c.Close()
	if conn, err = dial(); err != nil {
		return nil, err
	}
	cfg := s.cfg.SMTP.TLS
	if cfg == nil {
		cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	c, err = smtp.NewClientStartTLS(conn, cfg)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("smtp %s: STARTTLS: %w", addr, err)
	}
	if err := c.Hello("tierline-hub"); err != nil {
		c.Close()
		return nil, fmt.Errorf("smtp %s: %w", addr, err)
	}
	return c, nil
}
