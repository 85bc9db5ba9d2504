//go:build linux

package e2e

import (
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tierline/tierline/hub/mailin/mailtest"
	"github.com/tierline/tierline/hub/vendors/vendortest"
)

// startDovecot runs a private Dovecot (Debian's dovecot-imapd) for the
// test: a passwd-file user, a maildir in the test's directory, TLS with a
// test certificate, on 127.0.0.1.
func startDovecot(t *testing.T) *mailtest.Dovecot {
	t.Helper()
	d := mailtest.New(t)
	cmd := exec.Command(mailtest.Bin, d.Args()...)
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
			t.Fatalf("dovecot exited:\n%s", d.LogText())
		default:
		}
		return d.Ready()
	})
	return d
}

// TestEmailIntake: a user writes to the support address; the hub reads
// the mailbox over IMAPS and files a ticket with the mail's subject, text
// and attachment; the technician's answer reaches the user by SMTP, as a
// reply in the same thread, also when the mail server was down and the
// hub was killed meanwhile; the user's answer to it lands on the same
// ticket.
func TestEmailIntake(t *testing.T) {
	t.Parallel()
	dc := startDovecot(t)
	smtpAddr := freePort(t) // the mail server is down until later
	h := startHub(t, "--mail-imap-addr", dc.Addr, "--mail-imap-user", dc.User, "--mail-imap-password-file", dc.PasswordFile,
		"--mail-imap-ca-file", dc.CAFile, "--mail-address", "helpdesk@support.test", "--mail-poll", "1s",
		"--smtp-addr", smtpAddr, "--smtp-from", "hub@support.test", "--vendor-retry", "1s")
	if out := h.proc.output(); strings.Contains(out, dc.Password) {
		t.Fatalf("the hub logged the IMAP password:\n%s", out)
	}

	report := strings.Repeat("event 4625 logon failure\r\n", 20)
	raw := "From: Nora Lund <nora@example.test>\r\nTo: helpdesk@support.test\r\nSubject: =?utf-8?q?Kein_Zugriff_auf_das_Laufwerk_P=3A?=\r\n" +
		"Message-ID: <first.1@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"sep\"\r\n\r\n" +
		"--sep\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDrive P: says access denied since the password change.\r\n" +
		"--sep\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"events.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString([]byte(report)) + "\r\n--sep--\r\n"
	first := dc.Deliver(t, []byte(raw))

	var tk ticketJSON
	eventually(t, "the mail filed as an email ticket", 60*time.Second, func() bool {
		var list struct {
			Tickets []ticketJSON `json:"tickets"`
		}
		h.get("/api/v1/tickets?channel=email", &list)
		if len(list.Tickets) == 1 {
			tk = list.Tickets[0]
		}
		return len(list.Tickets) == 1
	})
	if tk.Title != "Kein Zugriff auf das Laufwerk P:" {
		t.Fatalf("ticket title %q, want the mail's subject", tk.Title)
	}
	eventually(t, "the mail flagged \\Seen", 10*time.Second, func() bool { return dc.Seen(first) })
	var detail ticketDetail
	h.get("/api/v1/tickets/"+tk.ID, &detail)
	if detail.Timeline[0].Data["channel"] != "email" || detail.Timeline[0].Data["user"] != "nora@example.test" {
		t.Fatalf("filed event: %v", detail.Timeline[0].Data)
	}

	// The attachment is listed and downloads as it came; without a token
	// it does not.
	var atts struct {
		Attachments []struct {
			ID, Name, Download string
			Size               int64
		} `json:"attachments"`
	}
	if code := h.get("/api/v1/tickets/"+tk.ID+"/attachments", &atts); code != http.StatusOK || len(atts.Attachments) != 1 {
		t.Fatalf("attachments: %d %+v", code, atts)
	}
	a := atts.Attachments[0]
	body, ctype := h.raw(a.Download)
	if a.Name != "events.txt" || string(body) != report || ctype != "application/octet-stream" {
		t.Fatalf("attachment %q (%s): %d bytes", a.Name, ctype, len(body))
	}
	if code := h.do("GET", a.Download, "", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("download without a token: %d, want 401", code)
	}

	// The technician answers while the mail server is down; the hub is
	// killed before it could send; after a restart, with the mail server
	// up, the answer goes out.
	if code := h.do("POST", "/api/v1/tickets/"+tk.ID+"/messages", h.token, strings.NewReader(`{"text":"Please sign out and in again, then try P: once more."}`), nil); code != http.StatusOK {
		t.Fatalf("technician message: %d", code)
	}
	eventually(t, "the hub logging a failed attempt", 30*time.Second, func() bool {
		return strings.Contains(h.proc.output(), "reply mail not sent; will retry")
	})
	h.proc.signal(syscall.SIGKILL)
	h.proc.wait(10 * time.Second)
	box := vendortest.StartSMTP(t, vendortest.MailOptions{Addr: smtpAddr})
	h.start()
	eventually(t, "the answer delivered by SMTP after the restart", 60*time.Second, func() bool { return len(box.Messages()) > 0 })
	m := box.Messages()[0]
	msg, err := mail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	token := "[#" + strconv.FormatInt(tk.Number, 10) + "]"
	if want := "Re: Kein Zugriff auf das Laufwerk P: " + token; subject != want {
		t.Fatalf("reply subject %q, want %q", subject, want)
	}
	if m.To[0] != "nora@example.test" || msg.Header.Get("In-Reply-To") != "<first.1@example.test>" ||
		!strings.Contains(msg.Header.Get("References"), "<first.1@example.test>") || !strings.Contains(msg.Header.Get("From"), "helpdesk@support.test") {
		t.Fatalf("reply headers: to %v, From %q, In-Reply-To %q, References %q", m.To, msg.Header.Get("From"), msg.Header.Get("In-Reply-To"), msg.Header.Get("References"))
	}
	if !strings.Contains(m.Data, "Please sign out and in again") {
		t.Fatalf("reply body:\n%s", m.Data)
	}

	// Nora answers the reply; her answer lands on the same ticket.
	dc.Deliver(t, []byte(fmt.Sprintf("From: nora@example.test\r\nTo: helpdesk@support.test\r\nSubject: Re: Kein Zugriff %s\r\n"+
		"Message-ID: <second.2@example.test>\r\nIn-Reply-To: %s\r\n\r\nThat worked, thank you.\r\n", token, msg.Header.Get("Message-Id"))))
	eventually(t, "the user's answer on the ticket", 60*time.Second, func() bool {
		var d ticketDetail
		h.get("/api/v1/tickets/"+tk.ID, &d)
		for _, e := range d.Timeline {
			if e.Kind == "message" && e.Data["from"] == "user" && e.Data["text"] == "That worked, thank you." {
				return true
			}
		}
		return false
	})
	var list struct {
		Tickets []ticketJSON `json:"tickets"`
	}
	h.get("/api/v1/tickets?channel=email", &list)
	if len(list.Tickets) != 1 {
		t.Fatalf("%d email tickets, want the one", len(list.Tickets))
	}
	if len(box.Messages()) != 1 {
		t.Fatalf("%d mails sent, want the one answer", len(box.Messages()))
	}

	// The admin page shows the setup and what the collector did, and no
	// password.
	const adminPW = "mail admin console pw"
	must(t, adminPW+"\n", "tierline-hub", "user", "add", "--data", h.data, "--name", "boss", "--role", "admin")
	b := newConsoleBrowser(t)
	b.login(h, "boss", adminPW)
	b.open(h, "/admin", "#email")
	b.waitText("#mail-config", "1 added to tickets")
	card := b.text("#email")
	for _, want := range []string{"helpdesk@support.test", dc.Addr + " (imaps)", dc.User, "INBOX", "1s", smtpAddr, "0 waiting, 1 sent"} {
		if !strings.Contains(card, want) {
			t.Errorf("the admin page's email card lacks %q:\n%s", want, card)
		}
	}
	if strings.Contains(b.eval(`document.documentElement.outerHTML`), dc.Password) {
		t.Fatal("the admin page holds the IMAP password")
	}
	b.shot("admin-email-intake")
	// At phone width the card fits without scrolling sideways.
	b.do("phone width", chromedp.EmulateViewport(phoneWidth, 844, chromedp.EmulateMobile))
	b.open(h, "/admin#email", "#email")
	b.fitsWidth("/admin with email intake")
}

// TestEmailIntakeConfigErrors: a hub with a half email setup refuses to
// start and says what is missing; the password never shows.
func TestEmailIntakeConfigErrors(t *testing.T) {
	t.Parallel()
	pw := t.TempDir() + "/pw"
	if err := os.WriteFile(pw, []byte("s3cret-imap-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--mail-imap-addr", "127.0.0.1:993", "--mail-imap-user", "u", "--mail-imap-password-file", pw, "--mail-address", "help@x.test"}, "needs --smtp-addr"},
		{[]string{"--mail-imap-addr", "127.0.0.1:993", "--mail-imap-user", "u", "--mail-address", "help@x.test", "--smtp-addr", "127.0.0.1:25", "--smtp-from", "h@x.test"}, "--mail-imap-password-file"},
		{[]string{"--mail-imap-addr", "127.0.0.1:993", "--mail-imap-user", "u", "--mail-imap-password-file", pw, "--mail-address", "nobody", "--smtp-addr", "127.0.0.1:25", "--smtp-from", "h@x.test"}, "--mail-address"},
		{[]string{"--mail-imap-addr", "127.0.0.1:143", "--mail-imap-tls", "none", "--mail-imap-user", "u", "--mail-imap-password-file", pw, "--mail-address", "help@x.test", "--smtp-addr", "127.0.0.1:25", "--smtp-from", "h@x.test"}, "never logs in without TLS"},
	} {
		_, stderr, code := run(t, "", "tierline-hub", append([]string{"serve", "--data", t.TempDir(), "--listen", freePort(t)}, tc.args...)...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("serve %v: exit %d, stderr %q; want an error naming %q", tc.args, code, stderr, tc.want)
		}
		if strings.Contains(stderr, "s3cret-imap-pw") {
			t.Errorf("serve %v printed the password", tc.args)
		}
	}
}
