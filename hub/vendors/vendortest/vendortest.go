// Package vendortest runs, for tests, what a Tier 4 vendor has on its
// side: a real SMTP server (go-smtp) that keeps every message, and a
// webhook endpoint that checks the hub's signatures and keeps every
// payload. Both listen on loopback only.
package vendortest

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/tierline/tierline/hub/vendors"
)

// Message is one email as the server received it.
type Message struct {
	From string
	To   []string
	Data string
}

// MailOptions configure the SMTP server. With TLS it offers STARTTLS;
// with User it offers AUTH PLAIN (over TLS only) and accepts only User
// and Password.
type MailOptions struct {
	TLS            *tls.Config
	User, Password string
	// Addr is where to listen (default 127.0.0.1 on a free port): a test
	// of a mail server that comes back gives the address it was down on.
	Addr string
}

// Mailbox is a running SMTP server.
type Mailbox struct {
	Addr string // host:port on 127.0.0.1

	opt   MailOptions
	mu    sync.Mutex
	msgs  []Message
	login string
}

// StartSMTP starts an SMTP server on 127.0.0.1, stopped when t ends.
func StartSMTP(t testing.TB, opt MailOptions) *Mailbox {
	t.Helper()
	b := &Mailbox{opt: opt}
	srv := smtp.NewServer(b)
	srv.Domain = "localhost"
	srv.TLSConfig = opt.TLS
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	addr := opt.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	b.Addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return b
}

// Messages returns the messages received so far, oldest first.
func (b *Mailbox) Messages() []Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.msgs)
}

// Login is the user name the last successful AUTH used, "" if none.
func (b *Mailbox) Login() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.login
}

func (b *Mailbox) NewSession(*smtp.Conn) (smtp.Session, error) {
	s := &session{box: b}
	if b.opt.User != "" {
		return &authSession{session: s}, nil
	}
	return s, nil
}

type session struct {
	box *Mailbox
	cur Message
}

func (s *session) Reset()        { s.cur = Message{} }
func (s *session) Logout() error { return nil }
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.cur.From = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = string(data)
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, s.cur)
	s.box.mu.Unlock()
	return nil
}

type authSession struct{ *session }

func (s *authSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *authSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.box.opt.User || pass != s.box.opt.Password {
			return errors.New("bad login")
		}
		s.box.mu.Lock()
		s.box.login = user
		s.box.mu.Unlock()
		return nil
	}), nil
}

// Webhook is a vendor's webhook endpoint.
type Webhook struct {
	URL string // the server's base URL; any path is served

	mu     sync.Mutex
	got    []vendors.Payload
	reqs   []Request
	errs   []error
	fail   int
	failed int
}

// Request is one request the webhook accepted, as it came.
type Request struct {
	Path   string
	Header http.Header
	Body   []byte
}

// StartWebhook serves a webhook that accepts only requests signed with
// secret whose timestamp is within skew of now(), stopped when t ends.
// A request that fails the check is answered 401 and its error kept.
// With secret "" it checks no signature (as a Slack or Teams incoming
// webhook, which is its URL's secret) and takes any JSON body.
func StartWebhook(t testing.TB, secret string, now func() time.Time, skew time.Duration) *Webhook {
	t.Helper()
	w := &Webhook{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.failed < w.fail {
			w.failed++
			http.Error(rw, "vendor portal in maintenance", http.StatusServiceUnavailable)
			return
		}
		if secret != "" {
			if err := vendors.Verify(secret, r.Header.Get(vendors.HeaderTimestamp), r.Header.Get(vendors.HeaderSignature), body, now(), skew); err != nil {
				w.errs = append(w.errs, err)
				http.Error(rw, err.Error(), http.StatusUnauthorized)
				return
			}
		}
		var p vendors.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			w.errs = append(w.errs, err)
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		w.got = append(w.got, p)
		w.reqs = append(w.reqs, Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	}))
	w.URL = srv.URL
	t.Cleanup(srv.Close)
	return w
}

// FailNext makes the next n requests get 503 "vendor portal in maintenance".
func (w *Webhook) FailNext(n int) {
	w.mu.Lock()
	w.fail, w.failed = n, 0
	w.mu.Unlock()
}

// Payloads returns the payloads accepted so far, oldest first.
func (w *Webhook) Payloads() []vendors.Payload {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.got)
}

// Requests returns the requests accepted so far, oldest first, with
// their headers and bodies as sent.
func (w *Webhook) Requests() []Request {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.reqs)
}

// Errors returns why requests were refused (bad signature, stale
// timestamp, a body that is not a payload).
func (w *Webhook) Errors() []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.errs)
}
