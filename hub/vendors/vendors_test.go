package vendors_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/vendors"
	"github.com/tierline/tierline/hub/vendors/vendortest"
)

func payload() vendors.Payload {
	var p vendors.Payload
	p.Kind, p.DeliveryID, p.Note = vendors.KindEscalation, "dlv-1", "Firmware bug suspected"
	p.Vendor.ID, p.Vendor.Name, p.Vendor.ContractRef = "v1", "Acme Networks", "C-2291"
	p.Ticket.ID, p.Ticket.Number, p.Ticket.Title, p.Ticket.Signature = "t1", 42, "pc-7: VPN drops every hour", "dns-resolution"
	p.Evidence.Snapshot = json.RawMessage(`{"checks":[{"name":"dns-resolution","status":"failing"}]}`)
	p.Evidence.Timeline = []vendors.TimelineLine{{Kind: "filed", Actor: "device:d1", Text: "filed in tier 1"}}
	return p
}

func TestWebhookIsSignedAndCarriesTheTicket(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	var mu sync.Mutex
	var got vendors.Payload
	var verr error
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		verr = vendors.Verify(secret, r.Header.Get(vendors.HeaderTimestamp), r.Header.Get(vendors.HeaderSignature), body, time.Now(), 5*time.Minute)
		if r.Header.Get(vendors.HeaderEvent) != vendors.KindEscalation || r.Header.Get(vendors.HeaderDelivery) != "dlv-1" {
			verr = io.ErrUnexpectedEOF
		}
		_ = json.Unmarshal(body, &got)
	}))
	defer hook.Close()
	s, err := vendors.New(vendors.Config{})
	if err != nil {
		t.Fatal(err)
	}
	v := store.Vendor{ID: "v1", Name: "Acme Networks", WebhookURL: hook.URL + "/hooks/tierline", WebhookSecret: secret}
	if err := s.Send(context.Background(), v, store.ChannelWebhook, payload()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if verr != nil {
		t.Fatalf("receiver: %v", verr)
	}
	if got.Ticket.Number != 42 || got.Note != "Firmware bug suspected" || got.Vendor.ContractRef != "C-2291" || !strings.Contains(string(got.Evidence.Snapshot), "dns-resolution") {
		t.Fatalf("body: %+v", got)
	}
}

func TestVerifyRefusesTamperingAndReplays(t *testing.T) {
	now := time.Now()
	body := []byte(`{"kind":"escalation"}`)
	sig := vendors.Sign("secret-secret-secret", now, body)
	if err := vendors.Verify("secret-secret-secret", itoa(now.Unix()), sig, body, now, time.Minute); err != nil {
		t.Fatalf("genuine: %v", err)
	}
	for name, c := range map[string]struct {
		secret, ts string
		body       []byte
		at         time.Time
	}{
		"other body":     {"secret-secret-secret", itoa(now.Unix()), []byte(`{"kind":"reminder"}`), now},
		"other secret":   {"another-secret-xx", itoa(now.Unix()), body, now},
		"other time":     {"secret-secret-secret", itoa(now.Unix() + 1), body, now},
		"replayed later": {"secret-secret-secret", itoa(now.Unix()), body, now.Add(10 * time.Minute)},
		"bad timestamp":  {"secret-secret-secret", "soon", body, now},
	} {
		if err := vendors.Verify(c.secret, c.ts, sig, c.body, c.at, time.Minute); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestWebhookErrorSaysWhatTheVendorAnswered(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "maintenance window", http.StatusServiceUnavailable)
	}))
	defer hook.Close()
	s, _ := vendors.New(vendors.Config{})
	err := s.Send(context.Background(), store.Vendor{Name: "Acme", WebhookURL: hook.URL}, store.ChannelWebhook, payload())
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "maintenance window") {
		t.Fatalf("error %v: want the status and the vendor's words", err)
	}
}

func TestEmailReachesTheVendor(t *testing.T) {
	box := vendortest.StartSMTP(t, vendortest.MailOptions{})
	addr := box.Addr
	s, err := vendors.New(vendors.Config{SMTP: vendors.SMTPConfig{Addr: addr, From: "tierline@hub.example"}})
	if err != nil {
		t.Fatal(err)
	}
	v := store.Vendor{ID: "v1", Name: "Acme Networks", Email: "support@acme.example"}
	if err := s.Send(context.Background(), v, store.ChannelEmail, payload()); err != nil {
		t.Fatal(err)
	}
	msgs := box.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.From != "tierline@hub.example" || len(m.To) != 1 || m.To[0] != "support@acme.example" {
		t.Fatalf("envelope %s -> %v", m.From, m.To)
	}
	for _, want := range []string{"Subject: [Tierline #42] pc-7: VPN drops every hour", "To: <support@acme.example>",
		"under contract C-2291", "Firmware bug suspected", `"dns-resolution"`} {
		if !strings.Contains(m.Data, want) {
			t.Errorf("message lacks %q:\n%s", want, m.Data)
		}
	}
	// A reminder says so in its subject.
	p := payload()
	p.Kind = vendors.KindReminder
	if err := s.Send(context.Background(), v, store.ChannelEmail, p); err != nil {
		t.Fatal(err)
	}
	if msgs = box.Messages(); len(msgs) != 2 || !strings.Contains(msgs[1].Data, "Subject: Reminder: [Tierline #42]") {
		t.Fatalf("reminder: %+v", msgs)
	}
}

func TestEmailWithoutSMTPIsAClearError(t *testing.T) {
	s, _ := vendors.New(vendors.Config{})
	err := s.Send(context.Background(), store.Vendor{Name: "Acme", Email: "a@acme.example"}, store.ChannelEmail, payload())
	if err == nil || !strings.Contains(err.Error(), "--smtp-addr") {
		t.Fatalf("error %v: want a pointer to --smtp-addr", err)
	}
	if _, err := vendors.New(vendors.Config{SMTP: vendors.SMTPConfig{Addr: "127.0.0.1:25"}}); err == nil || !strings.Contains(err.Error(), "--smtp-from") {
		t.Fatalf("no sender address: %v", err)
	}
}

// selfSigned makes a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail.test"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestEmailUsesSTARTTLSAndLogsIn: a server offering STARTTLS gets the
// message over TLS, with the login; a certificate the hub does not trust
// stops the message.
func TestEmailUsesSTARTTLSAndLogsIn(t *testing.T) {
	cert, pool := selfSigned(t)
	box := vendortest.StartSMTP(t, vendortest.MailOptions{TLS: &tls.Config{Certificates: []tls.Certificate{cert}},
		User: "hub", Password: "mail-password"})
	s, err := vendors.New(vendors.Config{SMTP: vendors.SMTPConfig{Addr: box.Addr, From: "tierline@hub.example",
		User: "hub", Password: "mail-password", TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), store.Vendor{Name: "Acme", Email: "support@acme.example"}, store.ChannelEmail, payload()); err != nil {
		t.Fatal(err)
	}
	if msgs := box.Messages(); len(msgs) != 1 || box.Login() != "hub" {
		t.Fatalf("messages %d, logged in as %q", len(msgs), box.Login())
	}
	// A certificate the hub does not trust stops the message.
	s, _ = vendors.New(vendors.Config{SMTP: vendors.SMTPConfig{Addr: box.Addr, From: "tierline@hub.example"}})
	if err := s.Send(context.Background(), store.Vendor{Name: "Acme", Email: "support@acme.example"}, store.ChannelEmail, payload()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}
}

// Text from users and technicians with bare CRs and LFs goes out with
// every line ending in CRLF: no lone CR a relay could read as a line end.
func TestEmailLinesEndInCRLF(t *testing.T) {
	box := vendortest.StartSMTP(t, vendortest.MailOptions{})
	addr := box.Addr
	s, err := vendors.New(vendors.Config{SMTP: vendors.SMTPConfig{Addr: addr, From: "tierline@hub.example"}})
	if err != nil {
		t.Fatal(err)
	}
	p := payload()
	p.Note = "line one\rline two\nline three\r\n.\rRCPT TO:<x@evil.example>\r"
	if err := s.Send(context.Background(), store.Vendor{ID: "v1", Name: "Acme", Email: "support@acme.example"}, store.ChannelEmail, p); err != nil {
		t.Fatal(err)
	}
	msgs := box.Messages()
	if len(msgs) != 1 || len(msgs[0].To) != 1 {
		t.Fatalf("messages: %+v", msgs)
	}
	data := msgs[0].Data
	for i := range len(data) {
		if data[i] == '\r' && (i+1 == len(data) || data[i+1] != '\n') {
			t.Fatalf("a bare CR at byte %d:\n%q", i, data)
		}
		if data[i] == '\n' && (i == 0 || data[i-1] != '\r') {
			t.Fatalf("a bare LF at byte %d:\n%q", i, data)
		}
	}
	for _, want := range []string{"line one\r\nline two\r\nline three\r\n", "RCPT TO:<x@evil.example>"} {
		if !strings.Contains(data, want) {
			t.Errorf("message lacks %q:\n%q", want, data)
		}
	}
}

// A webhook is never sent to a link-local address (a cloud machine's
// metadata service): the dialer refuses before connecting.
func TestWebhookRefusesLinkLocal(t *testing.T) {
	s, _ := vendors.New(vendors.Config{})
	for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://[fe80::1]:8080/hook", "http://0.0.0.0:9/hook"} {
		err := s.Send(context.Background(), store.Vendor{Name: "Acme", WebhookURL: u}, store.ChannelWebhook, payload())
		if err == nil || !strings.Contains(err.Error(), "may not reach link-local") {
			t.Errorf("webhook to %s: %v, want refused", u, err)
		}
	}
}

// A webhook's path is often its secret (Slack's and Teams' incoming hooks
// are), and delivery errors are shown to technicians: an error names the
// host only.
func TestWebhookErrorHidesThePath(t *testing.T) {
	hook := httptest.NewServer(http.NotFoundHandler())
	addr := hook.URL
	hook.Close() // nothing listens there now
	s, _ := vendors.New(vendors.Config{})
	secretPath := "/services/T000/B000/s3cr3tT0ken"
	err := s.Send(context.Background(), store.Vendor{Name: "Acme", WebhookURL: addr + secretPath}, store.ChannelWebhook, payload())
	if err == nil {
		t.Fatal("posting to a closed port succeeded")
	}
	if strings.Contains(err.Error(), "s3cr3tT0ken") || !strings.Contains(err.Error(), strings.TrimPrefix(addr, "http://")) {
		t.Fatalf("error %q: want the host named and the path hidden", err)
	}
}
