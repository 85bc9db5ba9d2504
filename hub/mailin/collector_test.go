package mailin_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/mailin"
	"github.com/tierline/tierline/hub/mailin/mailtest"
	"github.com/tierline/tierline/hub/mailout"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/hub/ticketevent"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/hub/vendors"
	"github.com/tierline/tierline/hub/vendors/vendortest"
)

const support = "helpdesk@support.test"

// startDovecot starts a private Dovecot for the test and waits until it
// answers TLS.
func startDovecot(t testing.TB) *mailtest.Dovecot {
	t.Helper()
	d := mailtest.New(t)
	cmd := exec.Command(mailtest.Bin, d.Args()...)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dovecot: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	eventually(t, "dovecot answers on "+d.Addr, 30*time.Second, func() bool {
		select {
		case <-done:
			t.Fatalf("dovecot exited: %s\n%s", out.String(), d.LogText())
		default:
		}
		return d.Ready()
	})
	return d
}

func eventually(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logBuffer keeps the collector's log lines for the test to read.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type rig struct {
	dc   *mailtest.Dovecot
	st   *store.Store
	svc  *tickets.Service
	col  *mailin.Collector
	logs *logBuffer
}

func newRig(t testing.TB, st *store.Store, dc *mailtest.Dovecot, mode string, mutate func(*mailin.Config)) *rig {
	t.Helper()
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	svc, err := tickets.New(tickets.Config{Store: st, Logger: log, ReplyByMail: true})
	if err != nil {
		t.Fatal(err)
	}
	addr := dc.Addr
	if mode == mailin.TLSStartTLS {
		addr = dc.StartTLSAddr
	}
	cfg := mailin.Config{Addr: addr, TLSMode: mode, TLS: dc.TLS(), User: dc.User, Password: dc.Password, Address: support,
		Limits: mailin.Limits{MaxAttachmentBytes: 4 << 10, MaxAttachments: 3}, Timeout: 20 * time.Second,
		Tickets: svc, Store: st, Logger: log}
	if mutate != nil {
		mutate(&cfg)
	}
	col, err := mailin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{dc: dc, st: st, svc: svc, col: col, logs: logs}
}

func (r *rig) poll(t *testing.T) mailin.Result {
	t.Helper()
	res, err := r.col.Poll(context.Background())
	if err != nil {
		t.Fatalf("poll: %v\n%s", err, r.dc.LogText())
	}
	return res
}

func (r *rig) emailTickets(t *testing.T) []store.Ticket {
	t.Helper()
	list, err := r.st.ListTickets(context.Background(), store.TicketFilter{Channel: store.IntakeEmail, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func (r *rig) messages(t *testing.T, id string) []ticketevent.Message {
	t.Helper()
	evs, err := r.st.TicketEvents(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []ticketevent.Message
	for _, e := range evs {
		if m, ok := e.Data.(ticketevent.Message); ok {
			out = append(out, m)
		}
	}
	return out
}

// msg builds a mail; extra headers come before the body.
func msg(from, subject, id, body string, extra ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: %s\r\n", from, support, subject, id, time.Now().Format(time.RFC1123Z))
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	if !strings.Contains(strings.Join(extra, "\n"), "Content-Type") {
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n")
	}
	b.WriteString("\r\n" + strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	return []byte(b.String())
}

func TestMailBecomesTicketAndRepliesThread(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		dc := startDovecot(t)
		r := newRig(t, st, dc, mailin.TLSImplicit, nil)
		ctx := context.Background()

		first := dc.Deliver(t, msg("Alice Example <alice@example.test>", "Printer on floor 3 jams", "m1@example.test",
			"The printer jams on every page.\nSince this morning."))
		if got := r.poll(t); got.Filed != 1 {
			t.Fatalf("poll: %+v, want one ticket filed", got)
		}
		list := r.emailTickets(t)
		if len(list) != 1 {
			t.Fatalf("email tickets: %d, want 1", len(list))
		}
		tk := list[0]
		if tk.Title != "Printer on floor 3 jams" || tk.Requester != "alice@example.test" || tk.Channel != store.IntakeEmail {
			t.Fatalf("ticket: title %q requester %q channel %q", tk.Title, tk.Requester, tk.Channel)
		}
		full, _ := st.GetTicket(ctx, tk.ID)
		if full.Body != "The printer jams on every page.\nSince this morning." {
			t.Fatalf("ticket body %q", full.Body)
		}
		if !dc.Seen(first) {
			t.Fatal("the mail is not \\Seen after its ticket was stored")
		}

		// The answer names the ticket in its subject: a message from the
		// user on the same ticket, not a new ticket.
		dc.Deliver(t, msg("alice@example.test", "Re: Printer on floor 3 jams "+mailout.Token(tk.Number), "m2@example.test",
			"It jams again now, on page 2.", "In-Reply-To: <m1@example.test>"))
		// The same mail delivered twice (a relay retried) adds it once.
		dup := dc.Deliver(t, msg("alice@example.test", "Re: Printer on floor 3 jams "+mailout.Token(tk.Number), "m2@example.test",
			"It jams again now, on page 2.", "In-Reply-To: <m1@example.test>"))
		if got := r.poll(t); got.Replies != 2 || got.Filed != 0 {
			t.Fatalf("poll: %+v, want two replies (one a duplicate)", got)
		}
		if !dc.Seen(dup) {
			t.Fatal("the duplicate is not \\Seen")
		}
		msgs := r.messages(t, tk.ID)
		if len(msgs) != 1 || msgs[0].From != tickets.FromUser || msgs[0].Text != "It jams again now, on page 2." {
			t.Fatalf("messages on the ticket: %+v, want the user's one reply once", msgs)
		}
		if n := len(r.emailTickets(t)); n != 1 {
			t.Fatalf("email tickets: %d, want still 1", n)
		}

		// A reply found only by its References (the subject lost the
		// token) threads too.
		dc.Deliver(t, msg("alice@example.test", "Re: printer", "m3@example.test", "Still jamming.",
			"References: <m1@example.test> <m2@example.test>"))
		r.poll(t)
		if msgs := r.messages(t, tk.ID); len(msgs) != 2 {
			t.Fatalf("messages after a reply by References: %d, want 2", len(msgs))
		}

		// Someone else naming the ticket's number does not write into
		// it: their mail is a ticket of its own.
		dc.Deliver(t, msg("mallory@example.test", "About "+mailout.Token(tk.Number), "m4@example.test", "Let me in."))
		if got := r.poll(t); got.Filed != 1 {
			t.Fatalf("poll: %+v, want a new ticket for a stranger's mail", got)
		}
		if msgs := r.messages(t, tk.ID); len(msgs) != 2 {
			t.Fatalf("a stranger's mail reached the ticket: %+v", msgs)
		}

		// A reply on a resolved ticket is added and reopens it, as a
		// user's reply from the tray does; on a closed ticket it starts a
		// new ticket naming the old one.
		if _, err := r.svc.Resolve(ctx, tk.ID, "tech", "Replaced the fuser."); err != nil {
			t.Fatal(err)
		}
		dc.Deliver(t, msg("alice@example.test", "Re: x "+mailout.Token(tk.Number), "m5@example.test", "Still jams on page 2."))
		r.poll(t)
		got, _ := st.GetTicket(ctx, tk.ID)
		if got.State == store.TicketResolved || got.ResolvedAt != nil || len(r.messages(t, tk.ID)) != 3 {
			t.Fatalf("after a reply on a resolved ticket: state %s, %d messages; want it reopened", got.State, len(r.messages(t, tk.ID)))
		}
		if _, err := r.svc.Resolve(ctx, tk.ID, "tech", "Replaced the roller too."); err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.Close(ctx, tk.ID, "tech"); err != nil {
			t.Fatal(err)
		}
		dc.Deliver(t, msg("alice@example.test", "Re: x "+mailout.Token(tk.Number), "m6@example.test", "It is back."))
		if res := r.poll(t); res.Filed != 1 {
			t.Fatalf("poll: %+v, want a new ticket for a reply on a closed ticket", res)
		}
		var newest store.Ticket
		for _, x := range r.emailTickets(t) {
			if x.Number > newest.Number {
				newest = x
			}
		}
		full, _ = st.GetTicket(ctx, newest.ID)
		if !strings.Contains(full.Body, "answers closed ticket "+mailout.Token(tk.Number)) || !strings.Contains(full.Body, "It is back.") {
			t.Fatalf("ticket from a reply on a closed ticket: %q", full.Body)
		}
	})
}

func TestMailIgnoresAutoRepliesAndLoops(t *testing.T) {
	dc := startDovecot(t)
	st := storetest.Open(t)
	r := newRig(t, st, dc, mailin.TLSStartTLS, func(c *mailin.Config) { c.SenderLimit = 2 })

	auto := []string{
		dc.Deliver(t, msg("bob@example.test", "Out of office", "a1@example.test", "I am away.", "Auto-Submitted: auto-replied")),
		dc.Deliver(t, msg("news@example.test", "Newsletter", "a2@example.test", "News.", "Precedence: bulk")),
		dc.Deliver(t, msg("list@example.test", "[list] hi", "a3@example.test", "Hi.", "List-Id: <users.lists.example.test>")),
		dc.Deliver(t, msg("carol@example.test", "Away", "a4@example.test", "Away.", "X-Autoreply: yes")),
		dc.Deliver(t, msg(support, "Re: loop [#1]", "a5@example.test", "Our own reply came back.")),
	}
	// One sender over the rate limit: two tickets, the third ignored.
	flood := []string{
		dc.Deliver(t, msg("dave@example.test", "one", "f1@example.test", "1")),
		dc.Deliver(t, msg("dave@example.test", "two", "f2@example.test", "2")),
		dc.Deliver(t, msg("dave@example.test", "three", "f3@example.test", "3")),
	}
	got := r.poll(t)
	if got.Ignored != 6 || got.Filed != 2 {
		t.Fatalf("poll: %+v, want 6 ignored and 2 filed\n%s", got, r.logs)
	}
	if n := len(r.emailTickets(t)); n != 2 {
		t.Fatalf("email tickets: %d, want 2", n)
	}
	for _, name := range append(auto, flood[2]) {
		flags, kw, _ := dc.Flags(name)
		if !strings.Contains(flags, "S") || len(kw) != 1 || kw[0] != mailin.KeywordIgnored {
			t.Fatalf("ignored mail %s: flags %q keywords %v, want \\Seen and %s", name, flags, kw, mailin.KeywordIgnored)
		}
	}
	for _, want := range []string{"Auto-Submitted: auto-replied", "Precedence: bulk", "List-Id", "X-Autoreply", "hub's own address", "more than 2 mails"} {
		if !strings.Contains(r.logs.String(), want) {
			t.Errorf("log has no line saying %q:\n%s", want, r.logs)
		}
	}
	// Nothing is left unseen: the next poll finds nothing.
	if got := r.poll(t); got != (mailin.Result{}) {
		t.Fatalf("second poll: %+v, want nothing", got)
	}
}

func TestMailAttachmentsAndBadMail(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		dc := startDovecot(t)
		r := newRig(t, st, dc, mailin.TLSImplicit, nil)
		ctx := context.Background()
		small := strings.Repeat("log line\n", 100) // 900 bytes
		big := strings.Repeat("x", 6<<10)          // over the 4 KiB limit
		body := "--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>The VPN <b>drops</b> every hour.</p><p>See the log.</p>\r\n" +
			"--b1\r\nContent-Type: text/plain; name=\"vpn.log\"\r\nContent-Disposition: attachment; filename=\"vpn.log\"\r\n\r\n" + small + "\r\n" +
			"--b1\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"dump.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
			b64(big) + "\r\n--b1--\r\n"
		withFiles := dc.Deliver(t, msg("erin@example.test", "VPN drops", "att1@example.test", body,
			"MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="b1"`))
		// Bad mail: MIME that breaks off, and a header section far over
		// the limit. Each is refused with a log line and flagged so it is
		// not read again; the good mail in the same poll is taken.
		broken := dc.Deliver(t, msg("frank@example.test", "broken", "bad1@example.test", "--zz\r\nContent-Type: text/plain\r\n\r\nno end",
			"MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="b2"`))
		huge := dc.Deliver(t, msg("gina@example.test", "huge", "bad2@example.test", "hi", "X-Filler: "+strings.Repeat("a", 70<<10)))
		nofrom := dc.Deliver(t, []byte("Subject: who\r\nMessage-ID: <bad3@example.test>\r\n\r\nno sender\r\n"))
		after := dc.Deliver(t, msg("hank@example.test", "Monitor flickers", "ok2@example.test", "Flickers."))

		got := r.poll(t)
		if got.Filed != 2 || got.Refused != 3 {
			t.Fatalf("poll: %+v, want 2 filed and 3 refused\n%s", got, r.logs)
		}
		for _, name := range []string{broken, huge, nofrom} {
			flags, kw, _ := dc.Flags(name)
			if !strings.Contains(flags, "S") || len(kw) != 1 || kw[0] != mailin.KeywordRefused {
				t.Fatalf("refused mail %s: flags %q keywords %v", name, flags, kw)
			}
		}
		for _, want := range []string{"mail refused", "header section longer than", "no From address"} {
			if !strings.Contains(r.logs.String(), want) {
				t.Errorf("log has no line saying %q:\n%s", want, r.logs)
			}
		}
		if !dc.Seen(withFiles) || !dc.Seen(after) {
			t.Fatal("the good mails are not \\Seen")
		}
		var tk store.Ticket
		for _, x := range r.emailTickets(t) {
			if x.Requester == "erin@example.test" {
				tk = x
			}
		}
		full, _ := st.GetTicket(ctx, tk.ID)
		if !strings.Contains(full.Body, "The VPN drops every hour.\nSee the log.") {
			t.Fatalf("text from the HTML part: %q", full.Body)
		}
		if !strings.Contains(full.Body, "dump.bin (6 KiB) was not kept: larger than 4 KiB") {
			t.Fatalf("the ticket does not say which file was dropped: %q", full.Body)
		}
		atts, err := st.TicketAttachments(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(atts) != 2 || atts[0].Name != "vpn.log" || atts[0].Dropped != "" || atts[1].Name != "dump.bin" || atts[1].Dropped == "" {
			t.Fatalf("attachments: %+v", atts)
		}
		a, err := st.TicketAttachment(ctx, tk.ID, atts[0].ID)
		// Text travels with CRLF line ends, and is kept as it came.
		if err != nil || string(a.Data) != strings.ReplaceAll(small, "\n", "\r\n") {
			t.Fatalf("kept attachment: %v, %d bytes", err, len(a.Data))
		}
		if _, err := st.TicketAttachment(ctx, tk.ID, atts[1].ID); err == nil {
			t.Fatal("the dropped attachment has data")
		}
		// Read again (a hub that stopped before flagging the mail): the
		// files are stored once.
		if _, err := r.col.Take(ctx, msg("erin@example.test", "VPN drops", "att1@example.test", body,
			"MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="b1"`)); err != nil {
			t.Fatal(err)
		}
		if again, _ := st.TicketAttachments(ctx, tk.ID); len(again) != 2 {
			t.Fatalf("attachments after the mail was read again: %d, want 2", len(again))
		}
		if got := r.poll(t); got != (mailin.Result{}) {
			t.Fatalf("second poll: %+v, want nothing", got)
		}
	})
}

func TestTechnicianReplyGoesOutBySMTP(t *testing.T) {
	storetest.Backends(t, testReplyBySMTP)
}

func testReplyBySMTP(t *testing.T, st *store.Store) {
	dc := startDovecot(t)
	r := newRig(t, st, dc, mailin.TLSImplicit, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The mail server is down at first: the reply waits and is retried.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	smtpAddr := ln.Addr().String()
	ln.Close()
	sender, err := vendors.New(vendors.Config{SMTP: vendors.SMTPConfig{Addr: smtpAddr, From: support}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := mailout.New(mailout.Config{Store: st, SMTP: sender, From: "Help Desk <" + support + ">", Every: 100 * time.Millisecond,
		RetryBase: 200 * time.Millisecond, RetryMax: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { out.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	dc.Deliver(t, msg("ivy@example.test", "Laptop will not charge", "c1@example.test", "The charger light is off."))
	r.poll(t)
	tk := r.emailTickets(t)[0]
	if _, err := r.svc.Message(ctx, tk.ID, "tech1", tickets.FromTechnician, "Please try the other USB-C port."); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a failed attempt recorded", 10*time.Second, func() bool {
		m, _ := st.TicketMails(ctx, tk.ID)
		return len(m) == 1 && m[0].Attempts > 0 && m[0].State == store.MailPending && m[0].LastError != ""
	})
	box := vendortest.StartSMTP(t, vendortest.MailOptions{Addr: smtpAddr})
	eventually(t, "the reply delivered once the mail server is up", 20*time.Second, func() bool { return len(box.Messages()) == 1 })
	m := box.Messages()[0]
	if m.From != support || len(m.To) != 1 || m.To[0] != "ivy@example.test" {
		t.Fatalf("envelope: from %q to %v", m.From, m.To)
	}
	parsed, err := mail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	h := parsed.Header
	wantSubject := "Re: Laptop will not charge " + mailout.Token(tk.Number)
	if subj, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); subj != wantSubject {
		t.Fatalf("Subject %q, want %q", h.Get("Subject"), wantSubject)
	}
	if h.Get("In-Reply-To") != "<c1@example.test>" || !strings.Contains(h.Get("References"), "<c1@example.test>") {
		t.Fatalf("In-Reply-To %q References %q", h.Get("In-Reply-To"), h.Get("References"))
	}
	if !strings.Contains(h.Get("From"), support) || !strings.Contains(h.Get("To"), "ivy@example.test") {
		t.Fatalf("From %q To %q", h.Get("From"), h.Get("To"))
	}
	if !strings.Contains(m.Data, "Please try the other USB-C port.") {
		t.Fatalf("body: %s", m.Data)
	}
	eventually(t, "the outbox row marked sent", 5*time.Second, func() bool {
		rows, _ := st.TicketMails(ctx, tk.ID)
		return len(rows) == 1 && rows[0].State == store.MailSent
	})

	// The user answers the reply, threading by its Message-ID only.
	dc.Deliver(t, msg("ivy@example.test", "Re: Laptop", "c2@example.test", "The other port works.", "In-Reply-To: "+h.Get("Message-Id")))
	r.poll(t)
	if msgs := r.messages(t, tk.ID); len(msgs) != 2 || msgs[1].From != tickets.FromUser {
		t.Fatalf("messages: %+v", msgs)
	}
	// A user's message is not mailed back: the outbox holds only the
	// technician's reply.
	if rows, _ := st.TicketMails(ctx, tk.ID); len(rows) != 1 {
		t.Fatalf("outbox rows: %d, want 1", len(rows))
	}
}

func b64(s string) string {
	enc := base64.StdEncoding.EncodeToString([]byte(s))
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	return b.String()
}

func TestWrongPasswordIsAClearError(t *testing.T) {
	dc := startDovecot(t)
	st := storetest.Open(t)
	r := newRig(t, st, dc, mailin.TLSImplicit, func(c *mailin.Config) { c.Password = "not-the-password" })
	_, err := r.col.Poll(context.Background())
	if err == nil || !strings.Contains(err.Error(), "log in as "+dc.User) {
		t.Fatalf("poll with a wrong password: %v, want an error saying the login failed", err)
	}
	if strings.Contains(err.Error(), "not-the-password") {
		t.Fatalf("the error shows the password: %v", err)
	}
	if st := r.col.Status(); st.LastError == "" {
		t.Fatal("the status does not show the failed poll")
	}
}

func TestConfigErrors(t *testing.T) {
	base := func() mailin.Config {
		return mailin.Config{Addr: "imap.example.test:993", User: "u", Password: "p", Address: support,
			Tickets: &tickets.Service{}, Store: storetest.Open(t)}
	}
	for _, tc := range []struct {
		name string
		mut  func(*mailin.Config)
		want string
	}{
		{"no port", func(c *mailin.Config) { c.Addr = "imap.example.test" }, "--mail-imap-addr"},
		{"plain", func(c *mailin.Config) { c.TLSMode = "none" }, "never logs in without TLS"},
		{"no password", func(c *mailin.Config) { c.Password = "" }, "--mail-imap-password-file"},
		{"bad address", func(c *mailin.Config) { c.Address = "helpdesk" }, "--mail-address"},
		{"newline user", func(c *mailin.Config) { c.User = "a\r\nb" }, "--mail-imap-user"},
	} {
		c := base()
		tc.mut(&c)
		_, err := mailin.New(c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "p\"") {
			t.Errorf("%s: the error shows the password: %v", tc.name, err)
		}
	}
}
