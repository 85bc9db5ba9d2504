package mailin

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The IMAP response parser: what a server sends (RFC 9051 / RFC 3501
// syntax), read one response at a time with every size bounded, so a
// broken or hostile server can neither crash the collector nor make it
// hold more than the limits in memory.

// Limits on what one response may hold.
const (
	maxLineBytes = 1 << 20 // a response's bytes outside literals
	maxDepth     = 16      // nested parenthesized lists
)

// valueKind is the type of one IMAP value.
type valueKind int

const (
	kindAtom   valueKind = iota // an atom or number: Str holds it
	kindString                  // quoted string or literal: Str holds its bytes
	kindNil                     // NIL
	kindList                    // parenthesized list: List holds the items
)

// value is one item of a response.
type value struct {
	Kind valueKind
	Str  string
	List []value
}

// response is one server response: untagged ("*"), a continuation request
// ("+") or the tagged completion of a command. For status responses (OK,
// NO, BAD, BYE, PREAUTH) Status is that word and Text the rest of the
// line; otherwise Fields holds the values after the tag.
type response struct {
	Tag    string
	Status string
	Text   string
	Fields []value
}

var errProtocol = errors.New("imap: malformed response")

func protoErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errProtocol, fmt.Sprintf(format, a...))
}

// respReader reads responses from a server.
type respReader struct {
	r *bufio.Reader
	// maxLiteral bounds one literal's size (a whole mail, when fetched).
	maxLiteral int64
	n          int // bytes of the current response outside literals
	// err is sticky: once the reader failed, every later read fails too,
	// so no loop can spin on a byte it was refused.
	err error
}

func newRespReader(r io.Reader, maxLiteral int64) *respReader {
	return &respReader{r: bufio.NewReaderSize(r, 64<<10), maxLiteral: maxLiteral}
}

func (p *respReader) readByte() (byte, error) {
	if p.err != nil {
		return 0, p.err
	}
	p.n++
	if p.n > maxLineBytes {
		p.err = protoErr("response longer than %d bytes", maxLineBytes)
		return 0, p.err
	}
	b, err := p.r.ReadByte()
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		p.err = err
	}
	return b, err
}

func (p *respReader) peek() (byte, error) {
	if p.err != nil {
		return 0, p.err
	}
	b, err := p.r.Peek(1)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, io.ErrUnexpectedEOF
		}
		return 0, err
	}
	return b[0], nil
}

func (p *respReader) expect(c byte) error {
	b, err := p.readByte()
	if err != nil {
		return err
	}
	if b != c {
		return protoErr("expected %q, got %q", c, b)
	}
	return nil
}

// readCRLF reads the end of a line (a lone LF is accepted too).
func (p *respReader) readCRLF() error {
	b, err := p.readByte()
	if err != nil {
		return err
	}
	if b == '\r' {
		b, err = p.readByte()
		if err != nil {
			return err
		}
	}
	if b != '\n' {
		return protoErr("expected end of line, got %q", b)
	}
	return nil
}

// readText reads the rest of the line.
func (p *respReader) readText() (string, error) {
	var sb strings.Builder
	for {
		b, err := p.readByte()
		if err != nil {
			return "", err
		}
		if b == '\n' {
			return strings.TrimSuffix(sb.String(), "\r"), nil
		}
		sb.WriteByte(b)
	}
}

var statusWords = map[string]bool{"OK": true, "NO": true, "BAD": true, "BYE": true, "PREAUTH": true}

// next reads one response.
func (p *respReader) next() (*response, error) {
	p.n = 0
	tag, err := p.atom()
	if err != nil {
		return nil, err
	}
	if tag == "" {
		return nil, protoErr("response without a tag")
	}
	r := &response{Tag: tag}
	if tag == "+" {
		if b, err := p.peek(); err == nil && b == ' ' {
			_, _ = p.readByte()
		}
		r.Text, err = p.readText()
		return r, err
	}
	if err := p.expect(' '); err != nil {
		return nil, err
	}
	// A status response: the rest is text (with an optional [code]).
	first, err := p.atom()
	if err != nil {
		return nil, err
	}
	if statusWords[strings.ToUpper(first)] {
		r.Status = strings.ToUpper(first)
		b, err := p.peek()
		if err != nil {
			return nil, err
		}
		if b == ' ' {
			_, _ = p.readByte()
		}
		r.Text, err = p.readText()
		return r, err
	}
	if tag != "*" {
		return nil, protoErr("tagged response %q without a status", first)
	}
	r.Fields = append(r.Fields, value{Kind: kindAtom, Str: first})
	for {
		b, err := p.peek()
		if err != nil {
			return nil, err
		}
		switch b {
		case '\r', '\n':
			return r, p.readCRLF()
		case ' ':
			_, _ = p.readByte()
			continue
		}
		v, err := p.value(0)
		if err != nil {
			return nil, err
		}
		r.Fields = append(r.Fields, v)
	}
}

// isAtomChar reports whether b can be part of an atom (atoms here also
// take the flag backslash and the section brackets of BODY[...]).
func isAtomChar(b byte) bool {
	switch b {
	case '(', ')', '{', ' ', '"', '\r', '\n', '%':
		return false
	}
	return b > 0x1f && b < 0x7f
}

func (p *respReader) atom() (string, error) {
	var sb strings.Builder
	for {
		b, err := p.peek()
		if err != nil {
			return "", err
		}
		if b == '[' && sb.Len() > 0 {
			// A section: BODY[...] may hold spaces and parentheses.
			for {
				c, err := p.readByte()
				if err != nil {
					return "", err
				}
				if c == '\r' || c == '\n' {
					return "", protoErr("unterminated section in %q", sb.String())
				}
				sb.WriteByte(c)
				if c == ']' {
					break
				}
			}
			continue
		}
		if !isAtomChar(b) {
			return sb.String(), nil
		}
		_, _ = p.readByte()
		sb.WriteByte(b)
	}
}

func (p *respReader) value(depth int) (value, error) {
	if depth > maxDepth {
		return value{}, protoErr("lists nested deeper than %d", maxDepth)
	}
	b, err := p.peek()
	if err != nil {
		return value{}, err
	}
	switch b {
	case '(':
		_, _ = p.readByte()
		v := value{Kind: kindList}
		for {
			b, err := p.peek()
			if err != nil {
				return value{}, err
			}
			switch b {
			case ')':
				_, _ = p.readByte()
				return v, nil
			case ' ':
				_, _ = p.readByte()
				continue
			case '\r', '\n':
				return value{}, protoErr("unterminated list")
			}
			item, err := p.value(depth + 1)
			if err != nil {
				return value{}, err
			}
			v.List = append(v.List, item)
		}
	case '"':
		_, _ = p.readByte()
		var sb strings.Builder
		for {
			c, err := p.readByte()
			if err != nil {
				return value{}, err
			}
			switch c {
			case '"':
				return value{Kind: kindString, Str: sb.String()}, nil
			case '\\':
				c, err = p.readByte()
				if err != nil {
					return value{}, err
				}
			case '\r', '\n':
				return value{}, protoErr("line end inside a quoted string")
			}
			sb.WriteByte(c)
		}
	case '{':
		_, _ = p.readByte()
		var digits strings.Builder
		for {
			c, err := p.readByte()
			if err != nil {
				return value{}, err
			}
			if c == '}' {
				break
			}
			if (c < '0' || c > '9') && !(c == '+' && digits.Len() > 0) || digits.Len() > 12 {
				return value{}, protoErr("bad literal length")
			}
			if c != '+' {
				digits.WriteByte(c)
			}
		}
		n, err := strconv.ParseInt(digits.String(), 10, 64)
		if err != nil {
			return value{}, protoErr("bad literal length %q", digits.String())
		}
		if n > p.maxLiteral {
			return value{}, fmt.Errorf("%w: literal of %d bytes is over the limit of %d", errTooLarge, n, p.maxLiteral)
		}
		if err := p.readCRLF(); err != nil {
			return value{}, err
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(p.r, buf); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return value{}, err
		}
		return value{Kind: kindString, Str: string(buf)}, nil
	}
	a, err := p.atom()
	if err != nil {
		return value{}, err
	}
	if a == "" {
		return value{}, protoErr("unexpected %q", b)
	}
	if strings.EqualFold(a, "NIL") {
		return value{Kind: kindNil}, nil
	}
	return value{Kind: kindAtom, Str: a}, nil
}

// errTooLarge: the server sent more than the limits allow.
var errTooLarge = errors.New("imap: too large")

// fetchItems reads the item list of a FETCH response ("* n FETCH (...)")
// into a map of upper-cased item names to values.
func fetchItems(r *response) (map[string]value, bool) {
	if r.Tag != "*" || len(r.Fields) != 3 || r.Fields[2].Kind != kindList || !strings.EqualFold(r.Fields[1].Str, "FETCH") {
		return nil, false
	}
	l := r.Fields[2].List
	out := make(map[string]value, len(l)/2)
	for i := 0; i+1 < len(l); i += 2 {
		if l[i].Kind != kindAtom {
			return nil, false
		}
		out[strings.ToUpper(l[i].Str)] = l[i+1]
	}
	return out, true
}
