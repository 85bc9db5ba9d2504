package mailin

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func readAll(t testing.TB, in string, maxLiteral int64) ([]*response, error) {
	rd := newRespReader(strings.NewReader(in), maxLiteral)
	var out []*response
	for {
		r, err := rd.next()
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
}

func TestIMAPResponses(t *testing.T) {
	in := "* OK [CAPABILITY IMAP4rev1 LITERAL+] Dovecot ready.\r\n" +
		"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $TierlineIgnored)\r\n" +
		"* 3 EXISTS\r\n" +
		"* SEARCH 4 9 12\r\n" +
		"* SEARCH\r\n" +
		"* 2 FETCH (UID 9 RFC822.SIZE 1234 FLAGS (\\Seen))\r\n" +
		"* 2 FETCH (UID 9 BODY[] {11}\r\nhello\r\nworl)\r\n" +
		"* 5 FETCH (UID 12 BODY[HEADER.FIELDS (FROM)] \"a \\\"q\\\"\" X NIL)\r\n" +
		"+ go ahead\r\n" +
		"t1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
	rs, err := readAll(t, in, 1<<20)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("end: %v", err)
	}
	if len(rs) != 10 {
		t.Fatalf("%d responses, want 10", len(rs))
	}
	if rs[0].Status != "OK" || !strings.Contains(rs[0].Text, "Dovecot ready") {
		t.Fatalf("greeting %+v", rs[0])
	}
	if l := rs[1].Fields[1].List; len(l) != 6 || l[3].Str != `\Seen` {
		t.Fatalf("flags %+v", rs[1].Fields)
	}
	if len(rs[3].Fields) != 4 || rs[3].Fields[3].Str != "12" || len(rs[4].Fields) != 1 {
		t.Fatalf("search %+v %+v", rs[3].Fields, rs[4].Fields)
	}
	items, ok := fetchItems(rs[5])
	if !ok || items["UID"].Str != "9" || items["RFC822.SIZE"].Str != "1234" {
		t.Fatalf("fetch sizes %+v", items)
	}
	items, ok = fetchItems(rs[6])
	if !ok || items["BODY[]"].Kind != kindString || items["BODY[]"].Str != "hello\r\nworl" {
		t.Fatalf("fetch body %+v", items)
	}
	items, ok = fetchItems(rs[7])
	if !ok || items["BODY[HEADER.FIELDS (FROM)]"].Str != `a "q"` || items["X"].Kind != kindNil {
		t.Fatalf("fetch section %+v", rs[7].Fields)
	}
	if rs[8].Tag != "+" || rs[9].Tag != "t1" || rs[9].Status != "NO" {
		t.Fatalf("continuation/tagged %+v %+v", rs[8], rs[9])
	}
}

func TestIMAPLimits(t *testing.T) {
	for name, in := range map[string]string{
		"literal over the limit": "* 1 FETCH (BODY[] {99999}\r\n",
		"deep lists":             "* X " + strings.Repeat("(", 40) + "\r\n",
		"endless line":           "* " + strings.Repeat("a", maxLineBytes+10),
		"bad literal":            "* 1 FETCH (BODY[] {12a}\r\n",
		"line end in quote":      "* X \"abc\r\n\"\r\n",
		"tagged without status":  "t1 FETCH\r\n",
	} {
		_, err := readAll(t, in, 1000)
		if !errors.Is(err, errProtocol) && !errors.Is(err, errTooLarge) {
			t.Errorf("%s: error %v, want a protocol or size error", name, err)
		}
	}
}

func FuzzIMAPResponse(f *testing.F) {
	f.Add([]byte("* OK ready\r\n* SEARCH 1 2\r\n* 1 FETCH (UID 1 BODY[] {3}\r\nabc)\r\nt1 OK done\r\n"))
	f.Add([]byte("* 1 FETCH (UID 9 BODY[HEADER.FIELDS (FROM)] \"x\\\"\" FLAGS (\\Seen $k) NIL)\r\n"))
	f.Add([]byte("+ \r\n* BYE\r\n{5}\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		rd := newRespReader(bytes.NewReader(in), 4096)
		for i := 0; i < 1000; i++ {
			r, err := rd.next()
			if err != nil {
				return
			}
			if r.Tag == "" {
				t.Fatal("response without a tag")
			}
			fetchItems(r)
		}
	})
}

const sampleMail = "From: =?utf-8?q?J=C3=BCrgen?= <Juergen@Example.TEST>\r\n" +
	"Subject: =?iso-8859-1?q?Dr=FCcker?= kaputt\r\n" +
	"Message-ID: <abc@example.test>\r\n" +
	"References: <r1@x> <r2@x>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n" +
	"--alt\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nDer Dr=FCcker druckt nicht.\r\n" +
	"--alt\r\nContent-Type: text/html\r\n\r\n<p>HTML</p>\r\n--alt--\r\n"

func TestParse(t *testing.T) {
	m, err := Parse([]byte(sampleMail), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if m.From != "Juergen@example.test" || m.FromName != "Jürgen" || m.Subject != "Drücker kaputt" || m.Text != "Der Drücker druckt nicht." {
		t.Fatalf("%+v", m)
	}
	if !strings.HasPrefix(m.Key, "mail:") || len(m.Key) > 64 || len(m.References) != 2 || m.References[1] != "r2@x" || m.Auto != "" {
		t.Fatalf("%+v", m)
	}
	// The same Message-ID from another sender is another mail.
	other := strings.Replace(sampleMail, "Juergen@Example.TEST", "mallory@example.test", 1)
	if m2, _ := Parse([]byte(other), Limits{}); m2.Key == m.Key {
		t.Fatalf("two senders' mails with one Message-ID share the key %q", m.Key)
	}
	// A resent copy (other Received lines, same sender and id) is the same mail.
	again := "Received: from relay2\r\n" + sampleMail
	if m3, _ := Parse([]byte(again), Limits{}); m3.Key != m.Key {
		t.Fatalf("a resent copy has key %q, want %q", m3.Key, m.Key)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sampleMail))
	f.Add([]byte("From: a@b.c\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@d\r\n\r\nhi\r\n--x--\r\n"))
	f.Add([]byte("From: a@b.c\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n"))
	f.Add([]byte("From: a@b.c\nContent-Type: text/html\n\n<p>a<b>b</b><script>x</script><a href=\"http://x\">l</a>"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(raw, Limits{MaxAttachmentBytes: 1024, MaxAttachments: 2})
		if err != nil {
			if !errors.Is(err, ErrBadMail) {
				t.Fatalf("error not marked as a bad mail: %v", err)
			}
			return
		}
		if m.From == "" || m.Key == "" || len(m.Key) > 64 {
			t.Fatalf("parsed without sender or key: %+v", m)
		}
		if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Subject) || strings.ContainsAny(m.Subject, "\r\n") {
			t.Fatalf("text or subject not clean: %q %q", m.Text, m.Subject)
		}
		if len(m.Files) > 2 {
			t.Fatalf("%d files kept over the limit of 2", len(m.Files))
		}
		for _, f := range m.Files {
			if int64(len(f.Data)) > 1024 || f.Name == "" || strings.ContainsAny(f.Name, "/\r\n") {
				t.Fatalf("file over the limits or badly named: %q %d", f.Name, len(f.Data))
			}
		}
		for _, f := range m.Dropped {
			if f.Data != nil || f.Reason == "" {
				t.Fatalf("dropped file %q keeps data or has no reason", f.Name)
			}
		}
	})
}

func TestBodyFitsATicket(t *testing.T) {
	c := &Collector{}
	m := &Mail{Text: strings.Repeat("ä", 20<<10)}
	for i := range 50 {
		m.Dropped = append(m.Dropped, File{Name: strings.Repeat("n", 200) + strconv.Itoa(i), Size: 1 << 30, Reason: "larger than 10 MiB"})
	}
	text, files := c.body(m)
	if len(text) > 16<<10 || !utf8.ValidString(text) {
		t.Fatalf("ticket text of %d bytes (valid UTF-8: %v), over the 16 KiB a ticket takes", len(text), utf8.ValidString(text))
	}
	if len(files) != 1 || files[0].Name != "mail.txt" || string(files[0].Data) != m.Text {
		t.Fatalf("the whole text is not kept as mail.txt: %+v", files)
	}
	if !strings.Contains(text, "40 more attachments were not kept.") || !strings.Contains(text, "whole text is attached as mail.txt") {
		t.Fatalf("the notes are missing: ...%s", text[len(text)-300:])
	}
}
