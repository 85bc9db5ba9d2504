package mailin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The IMAP client: the few commands the collector needs (LOGIN over TLS,
// SELECT, UID SEARCH UNSEEN, UID FETCH, UID STORE), on one connection,
// one command at a time. It is ours because the maintained Go IMAP module
// is still a beta; the parser it reads with is fuzzed (imapparse.go).

// TLS modes of the IMAP connection.
const (
	TLSImplicit = "imaps"    // TLS from the first byte (port 993)
	TLSStartTLS = "starttls" // plain connect, then STARTTLS before login (port 143)
)

// imapConn is a logged-in IMAP session.
type imapConn struct {
	conn    net.Conn
	rd      *respReader
	tag     int
	timeout time.Duration
}

// IMAPError is a NO or BAD answer of the server to a command.
type IMAPError struct {
	Command, Status, Text string
}

func (e *IMAPError) Error() string {
	return fmt.Sprintf("imap %s: server answered %s %s", e.Command, e.Status, e.Text)
}

// dialIMAP connects to addr with TLS as mode says and logs in.
func dialIMAP(ctx context.Context, addr, mode string, tlsCfg *tls.Config, user, password string, maxLiteral int64, timeout time.Duration) (*imapConn, error) {
	d := net.Dialer{Timeout: timeout}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("imap %s: %w", addr, err)
	}
	c := &imapConn{conn: raw, timeout: timeout}
	ok := false
	defer func() {
		if !ok {
			raw.Close()
		}
	}()
	if mode == TLSImplicit {
		tc := tls.Client(raw, tlsCfg)
		_ = tc.SetDeadline(time.Now().Add(timeout))
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("imap %s: TLS: %w", addr, err)
		}
		c.conn = tc
	}
	c.rd = newRespReader(c.conn, maxLiteral)
	_ = c.conn.SetDeadline(time.Now().Add(timeout))
	greet, err := c.rd.next()
	if err != nil {
		return nil, fmt.Errorf("imap %s: greeting: %w", addr, err)
	}
	if greet.Tag != "*" || greet.Status != "OK" {
		return nil, fmt.Errorf("imap %s: the server greets with %s %s", addr, greet.Status, greet.Text)
	}
	if mode == TLSStartTLS {
		if _, err := c.command("STARTTLS", nil); err != nil {
			return nil, fmt.Errorf("imap %s: %w", addr, err)
		}
		tc := tls.Client(raw, tlsCfg)
		_ = tc.SetDeadline(time.Now().Add(timeout))
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("imap %s: STARTTLS: %w", addr, err)
		}
		c.conn = tc
		// Anything the server sent before TLS is discarded with the reader.
		c.rd = newRespReader(c.conn, maxLiteral)
	}
	if _, err := c.command("LOGIN "+astring(user)+" "+astring(password), nil); err != nil {
		var ie *IMAPError
		if errors.As(err, &ie) {
			// The command holds the password: name it without.
			ie.Command = "LOGIN " + user
			return nil, fmt.Errorf("imap %s: log in as %s: server answered %s %s", addr, user, ie.Status, ie.Text)
		}
		return nil, fmt.Errorf("imap %s: log in as %s: %w", addr, user, err)
	}
	ok = true
	return c, nil
}

// astring quotes s for a command. Callers pass only text without CR, LF
// and NUL (the config checks user, password and mailbox names).
func astring(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// command sends one command and reads until its tagged answer, handing
// every untagged response to each (if set). A NO or BAD answer is an
// *IMAPError.
func (c *imapConn) command(cmd string, each func(*response) error) (*response, error) {
	c.tag++
	tag := "t" + strconv.Itoa(c.tag)
	_ = c.conn.SetDeadline(time.Now().Add(c.timeout))
	if _, err := c.conn.Write([]byte(tag + " " + cmd + "\r\n")); err != nil {
		return nil, err
	}
	name, _, _ := strings.Cut(cmd, " ")
	if name == "UID" {
		sub, _, _ := strings.Cut(strings.TrimPrefix(cmd, "UID "), " ")
		name += " " + sub
	}
	var eachErr error
	for {
		_ = c.conn.SetDeadline(time.Now().Add(c.timeout))
		r, err := c.rd.next()
		if err != nil {
			return nil, fmt.Errorf("imap %s: %w", name, err)
		}
		switch {
		case r.Tag == tag:
			if r.Status != "OK" {
				return r, &IMAPError{Command: name, Status: r.Status, Text: r.Text}
			}
			return r, eachErr
		case r.Tag == "*" && r.Status == "BYE":
			return nil, fmt.Errorf("imap %s: the server closed the session: %s", name, r.Text)
		case r.Tag == "*" && each != nil && eachErr == nil:
			eachErr = each(r)
		case r.Tag == "+":
			return nil, fmt.Errorf("imap %s: unexpected continuation request", name)
		}
	}
}

// selectMailbox opens mailbox read-write.
func (c *imapConn) selectMailbox(mailbox string) error {
	_, err := c.command("SELECT "+astring(mailbox), nil)
	return err
}

// searchUnseen returns the UIDs of mails without \Seen, ascending.
func (c *imapConn) searchUnseen() ([]uint32, error) {
	var uids []uint32
	_, err := c.command("UID SEARCH UNSEEN", func(r *response) error {
		if len(r.Fields) == 0 || !strings.EqualFold(r.Fields[0].Str, "SEARCH") {
			return nil
		}
		for _, f := range r.Fields[1:] {
			n, err := strconv.ParseUint(f.Str, 10, 32)
			if f.Kind != kindAtom || err != nil || n == 0 {
				return protoErr("SEARCH result %q is not a UID", f.Str)
			}
			uids = append(uids, uint32(n))
		}
		return nil
	})
	sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
	return uids, err
}

// sizes returns the size in bytes of each of the mails.
func (c *imapConn) sizes(uids []uint32) (map[uint32]int64, error) {
	out := map[uint32]int64{}
	_, err := c.command("UID FETCH "+uidSet(uids)+" (UID RFC822.SIZE)", func(r *response) error {
		items, ok := fetchItems(r)
		if !ok {
			return nil
		}
		uid, err1 := strconv.ParseUint(items["UID"].Str, 10, 32)
		size, err2 := strconv.ParseInt(items["RFC822.SIZE"].Str, 10, 64)
		if err1 != nil || err2 != nil {
			return nil
		}
		out[uint32(uid)] = size
		return nil
	})
	return out, err
}

// fetch returns one whole mail without setting \Seen.
func (c *imapConn) fetch(uid uint32) ([]byte, error) {
	var body []byte
	found := false
	_, err := c.command("UID FETCH "+strconv.FormatUint(uint64(uid), 10)+" (UID BODY.PEEK[])", func(r *response) error {
		items, ok := fetchItems(r)
		if !ok || items["UID"].Str != strconv.FormatUint(uint64(uid), 10) {
			return nil
		}
		v, ok := items["BODY[]"]
		if !ok {
			return nil
		}
		if v.Kind != kindString {
			return protoErr("BODY[] of UID %d is not a string", uid)
		}
		body, found = []byte(v.Str), true
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("imap: UID %d: %w", uid, errGone)
	}
	return body, nil
}

// errGone: the mail was removed from the mailbox meanwhile.
var errGone = errors.New("the mail is no longer in the mailbox")

// addFlags adds flags (such as \Seen or a keyword) to a mail.
func (c *imapConn) addFlags(uid uint32, flags ...string) error {
	_, err := c.command("UID STORE "+strconv.FormatUint(uint64(uid), 10)+" +FLAGS.SILENT ("+strings.Join(flags, " ")+")", nil)
	return err
}

func (c *imapConn) logout() {
	_, _ = c.command("LOGOUT", nil)
	c.conn.Close()
}

func uidSet(uids []uint32) string {
	parts := make([]string, len(uids))
	for i, u := range uids {
		parts[i] = strconv.FormatUint(uint64(u), 10)
	}
	return strings.Join(parts, ",")
}
