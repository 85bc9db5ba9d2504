package mailin

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"path"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html/charset"

	"github.com/tierline/tierline/shared/wire"
)

// Limits bound what one mail may bring in.
type Limits struct {
	// MaxAttachments is how many files of one mail are kept; later ones
	// are listed as dropped (default 10; negative: none are kept).
	MaxAttachments int
	// MaxAttachmentBytes is the largest file kept; a larger one is listed
	// as dropped (default 10 MiB).
	MaxAttachmentBytes int64
	// MaxHeaderBytes bounds a mail's header section (default 64 KiB): a
	// mail with a longer one is refused.
	MaxHeaderBytes int
	// MaxParts bounds the MIME parts of a mail (default 100) and
	// MaxDepth their nesting (default 8).
	MaxParts, MaxDepth int
}

func (l *Limits) setDefaults() {
	if l.MaxAttachments == 0 {
		l.MaxAttachments = 10
	}
	if l.MaxAttachmentBytes <= 0 {
		l.MaxAttachmentBytes = 10 << 20
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = 64 << 10
	}
	if l.MaxParts <= 0 {
		l.MaxParts = 100
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 8
	}
}

// Mail is an incoming mail as the collector uses it.
type Mail struct {
	// MessageID is the Message-ID without angle brackets; "" if the mail
	// has none.
	MessageID string
	// Key identifies the mail in at most 64 bytes: a hash of the sender
	// and the Message-ID (of the whole mail, without one).
	Key      string
	From     string // the sender's address, lower-cased domain
	FromName string
	Subject  string
	// InReplyTo and References are the Message-IDs the mail answers,
	// without angle brackets, oldest first.
	InReplyTo  []string
	References []string
	// Text is the plain text of the mail: its text/plain part, or its
	// text/html part turned into text.
	Text string
	// Files are the attachments kept; Dropped the ones over the limits,
	// with Reason set and no data.
	Files   []File
	Dropped []File
	// Auto says why the mail was sent by a program (an auto-reply, a
	// bounce, a list), "" when a person wrote it.
	Auto string
}

// File is one attachment.
type File struct {
	Name        string
	ContentType string
	Size        int64
	Data        []byte
	Reason      string // why it was dropped
}

// ErrBadMail: the mail cannot be read (malformed headers or MIME, no
// sender, header section over the limit). Such a mail is refused.
var ErrBadMail = errors.New("unreadable mail")

func bad(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadMail, fmt.Sprintf(format, a...))
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.NewReaderLabel}

// Parse reads a whole mail (RFC 5322 with MIME).
func Parse(raw []byte, lim Limits) (*Mail, error) {
	lim.setDefaults()
	if end := headerEnd(raw); end < 0 || end > lim.MaxHeaderBytes {
		if end < 0 && len(raw) <= lim.MaxHeaderBytes {
			// A mail of headers alone: read as such.
			raw = append(append([]byte(nil), raw...), "\r\n\r\n"...)
		} else {
			return nil, bad("header section longer than %d bytes", lim.MaxHeaderBytes)
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, bad("headers: %v", err)
	}
	h := msg.Header
	m := &Mail{}
	from, err := parseFrom(h.Get("From"))
	if err != nil {
		return nil, err
	}
	m.From, m.FromName = from.Address, from.Name
	m.Subject = oneLine(decodeWords(h.Get("Subject")))
	m.MessageID = firstID(h.Get("Message-Id"))
	m.InReplyTo = msgIDs(h.Get("In-Reply-To"))
	m.References = msgIDs(h.Get("References"))
	// The key binds the Message-ID to the sender: another sender reusing
	// someone's Message-ID (they are visible in every reply's References)
	// gets a key of their own and cannot land on that person's ticket.
	if m.MessageID != "" {
		m.Key = hashKey([]byte(strings.ToLower(m.From) + "\x00" + m.MessageID))
	} else {
		m.Key = hashKey(raw)
	}
	m.Auto = autoReason(h)

	w := &walker{lim: lim, m: m}
	if err := w.part(textproto.MIMEHeader(h), msg.Body, 0); err != nil {
		return nil, err
	}
	switch {
	case w.plain != nil:
		m.Text = *w.plain
	case w.html != nil:
		m.Text = htmlText(*w.html)
	}
	m.Text = strings.TrimSpace(strings.ReplaceAll(m.Text, "\r\n", "\n"))
	return m, nil
}

func hashKey(b []byte) string {
	sum := sha256.Sum256(b)
	return "mail:" + hex.EncodeToString(sum[:])[:56]
}

// headerEnd is the offset of the blank line ending the header section, or
// -1.
func headerEnd(raw []byte) int {
	i := bytes.Index(raw, []byte("\r\n\r\n"))
	j := bytes.Index(raw, []byte("\n\n"))
	switch {
	case i < 0:
		return j
	case j < 0 || i < j:
		return i
	}
	return j
}

func parseFrom(v string) (*mail.Address, error) {
	if strings.TrimSpace(v) == "" {
		return nil, bad("no From address")
	}
	p := mail.AddressParser{WordDecoder: wordDecoder}
	list, err := p.ParseList(v)
	if err != nil || len(list) == 0 {
		return nil, bad("From %q is not an address", wire.Clip(v, 80))
	}
	a := list[0]
	local, domain, ok := strings.Cut(a.Address, "@")
	if !ok || local == "" || domain == "" || len(a.Address) > 254 || strings.ContainsAny(a.Address, "\x00\r\n ") {
		return nil, bad("From %q is not an address", wire.Clip(v, 80))
	}
	a.Address = local + "@" + strings.ToLower(domain)
	a.Name = oneLine(a.Name)
	return a, nil
}

func decodeWords(s string) string {
	d, err := wordDecoder.DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// oneLine makes header text safe to show and store: valid UTF-8, no
// control characters, at most 255 bytes.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 255 {
		s = wire.Clip(s, 250)
	}
	return s
}

// msgIDs reads the Message-IDs of an In-Reply-To or References header.
func msgIDs(v string) []string {
	var out []string
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return out
		}
		id := strings.TrimSpace(v[i+1 : i+j])
		if id != "" && len(id) <= 998 && !strings.ContainsAny(id, "\x00\r\n") && len(out) < 100 {
			out = append(out, id)
		}
		v = v[i+j+1:]
	}
}

func firstID(v string) string {
	ids := msgIDs(v)
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// autoReason tells a mail a program sent: an auto-reply (RFC 3834
// Auto-Submitted, the X-Autoreply/X-Autorespond family), bulk or list
// mail (Precedence, List-Id), or a bounce (empty Return-Path, a delivery
// report).
func autoReason(h mail.Header) string {
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && v != "no" {
		return "Auto-Submitted: " + wire.Clip(v, 40)
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Autogenerated"} {
		if _, ok := h[textproto.CanonicalMIMEHeaderKey(k)]; ok {
			return k + " header"
		}
	}
	switch v := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); v {
	case "bulk", "junk", "list", "auto_reply":
		return "Precedence: " + v
	}
	if h.Get("List-Id") != "" {
		return "List-Id header (mailing list)"
	}
	if rp, ok := h["Return-Path"]; ok && len(rp) > 0 && strings.TrimSpace(rp[0]) == "<>" {
		return "empty Return-Path (a bounce)"
	}
	if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); mt == "multipart/report" {
		return "multipart/report (a delivery report)"
	}
	return ""
}

// walker collects a mail's body text and files as it walks the parts.
type walker struct {
	lim         Limits
	m           *Mail
	parts       int
	plain, html *string
}

func (w *walker) part(h textproto.MIMEHeader, body io.Reader, depth int) error {
	w.parts++
	if w.parts > w.lim.MaxParts {
		return bad("more than %d MIME parts", w.lim.MaxParts)
	}
	if depth > w.lim.MaxDepth {
		return bad("MIME parts nested deeper than %d", w.lim.MaxDepth)
	}
	ctype := h.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ctype)
	if ctype == "" || err != nil {
		// RFC 2045: without a (readable) type, text/plain in US-ASCII.
		mt, params = "text/plain", map[string]string{}
		if ctype != "" && strings.HasPrefix(strings.ToLower(strings.TrimSpace(ctype)), "multipart/") {
			return bad("Content-Type %q: %v", wire.Clip(ctype, 80), err)
		}
	}
	disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	if strings.HasPrefix(mt, "multipart/") {
		boundary := params["boundary"]
		if boundary == "" {
			return bad("%s without a boundary", mt)
		}
		mr := multipart.NewReader(body, boundary)
		for n := 0; ; n++ {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) && n == 0 {
				return bad("%s without a part (boundary %q not found)", mt, wire.Clip(boundary, 70))
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return bad("%s: %v", mt, err)
			}
			if err := w.part(p.Header, p, depth+1); err != nil {
				return err
			}
		}
	}
	data, err := w.decode(h.Get("Content-Transfer-Encoding"), body)
	var big sizeOnly
	if errors.As(err, &big) {
		w.file(File{Name: fileName(name, mt), ContentType: mt, Size: int64(big)})
		return nil
	}
	if err != nil {
		return err
	}
	isFile := disp == "attachment" || name != "" || !(strings.HasPrefix(mt, "text/") || mt == "message/delivery-status")
	if !isFile && mt == "text/plain" && w.plain == nil {
		s := toUTF8(data, params["charset"])
		w.plain = &s
		return nil
	}
	if !isFile && mt == "text/html" && w.html == nil {
		s := toUTF8(data, params["charset"])
		w.html = &s
		return nil
	}
	if !isFile && strings.HasPrefix(mt, "text/") {
		// A second text part (an alternative, a signature): the first
		// one is the body.
		return nil
	}
	w.file(File{Name: fileName(name, mt), ContentType: mt, Size: int64(len(data)), Data: data})
	return nil
}

func (w *walker) file(f File) {
	switch {
	case f.Size > w.lim.MaxAttachmentBytes:
		f.Reason = fmt.Sprintf("larger than %s", byteSize(w.lim.MaxAttachmentBytes))
	case w.lim.MaxAttachments < 0:
		f.Reason = "this hub keeps no attachments"
	case len(w.m.Files) >= w.lim.MaxAttachments:
		f.Reason = fmt.Sprintf("more than %d attachments", w.lim.MaxAttachments)
	}
	if f.Reason != "" {
		f.Data = nil
		w.m.Dropped = append(w.m.Dropped, f)
		return
	}
	w.m.Files = append(w.m.Files, f)
}

// decode undoes the transfer encoding. A part larger than the attachment
// limit is read to its end but only counted.
func (w *walker) decode(cte string, body io.Reader) ([]byte, error) {
	var r io.Reader
	switch enc := strings.ToLower(strings.TrimSpace(cte)); enc {
	case "", "7bit", "8bit", "binary":
		r = body
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, &spaceStripper{r: bufio.NewReader(body)})
	default:
		return nil, bad("unknown Content-Transfer-Encoding %q", wire.Clip(enc, 40))
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, w.lim.MaxAttachmentBytes+1))
	if err != nil {
		return nil, bad("part body: %v", err)
	}
	if n > w.lim.MaxAttachmentBytes {
		rest, err := io.Copy(io.Discard, r)
		if err != nil {
			return nil, bad("part body: %v", err)
		}
		return make([]byte, 0), sizeOnly(n + rest)
	}
	return buf.Bytes(), nil
}

// sizeOnly carries the size of a part too large to keep; decode's callers
// see it as an error only through w.part, which turns it into a dropped
// file.
type sizeOnly int64

func (s sizeOnly) Error() string { return fmt.Sprintf("part of %d bytes", int64(s)) }

// spaceStripper drops the line breaks and spaces of base64 text.
type spaceStripper struct{ r *bufio.Reader }

func (s *spaceStripper) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		b, err := s.r.ReadByte()
		if err != nil {
			if n > 0 && errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
		if b == '\r' || b == '\n' || b == ' ' || b == '\t' {
			continue
		}
		p[n] = b
		n++
	}
	return n, nil
}

func toUTF8(b []byte, cs string) string {
	cs = strings.ToLower(strings.TrimSpace(cs))
	if cs != "" && cs != "utf-8" && cs != "us-ascii" && cs != "utf8" {
		if r, err := charset.NewReaderLabel(cs, bytes.NewReader(b)); err == nil {
			if d, err := io.ReadAll(r); err == nil {
				b = d
			}
		}
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// fileName is a safe name to store and offer for download.
func fileName(name, mt string) string {
	name = decodeWords(name)
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = oneLine(name)
	name = strings.Trim(name, ". ")
	if name == "" || name == "/" {
		switch mt {
		case "message/rfc822":
			return "message.eml"
		case "text/plain":
			return "text.txt"
		case "text/html":
			return "page.html"
		}
		ext := ".bin"
		if exts, _ := mime.ExtensionsByType(mt); len(exts) > 0 {
			ext = exts[0]
		}
		return "attachment" + ext
	}
	if len(name) > 200 {
		name = wire.Clip(name, 200)
	}
	return name
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
