package console

import (
	"html"
	"html/template"
	"strings"
)

// A small Markdown renderer for knowledge-base articles. Article bodies are
// written by technicians and may quote what users and agents sent, so the
// renderer trusts none of it: it parses the text into a tree of a fixed
// set of elements (MDNode) and every character of the input reaches the
// output only as escaped text or as an http(s) link target. Raw HTML in
// the input is shown as text. The same tree, sent as JSON, is what the
// editor's preview builds with DOM APIs (static/kb.js), so the preview and
// the page agree.
//
// Supported: ATX headings (# to ####, shown one level down so the page
// keeps its own h1), paragraphs, "-", "*", "+" and "1." lists, fenced code
// blocks (```), `code`, **strong**, *em* / _em_ and [text](http(s) URL).
// Anything else is text.

// MDNode is one node of rendered Markdown: text (Tag empty) or one of the
// tags in mdTags with children. Href is set only on "a" and always starts
// with http:// or https://.
type MDNode struct {
	Tag      string   `json:"t,omitempty"`
	Text     string   `json:"x,omitempty"`
	Href     string   `json:"h,omitempty"`
	Children []MDNode `json:"c,omitempty"`
}

// mdTags are the only elements the renderer produces.
var mdTags = map[string]bool{"h2": true, "h3": true, "h4": true, "h5": true, "p": true, "ul": true, "ol": true, "li": true,
	"pre": true, "code": true, "em": true, "strong": true, "a": true}

// MaxMarkdown bounds the input the renderer reads (the article store's own
// limit is lower); the rest is cut.
const MaxMarkdown = 256 << 10

// ParseMarkdown parses src into block nodes.
func ParseMarkdown(src string) []MDNode {
	if len(src) > MaxMarkdown {
		src = src[:MaxMarkdown]
	}
	src = strings.ToValidUTF8(src, "\uFFFD")
	src = strings.ReplaceAll(src, "\r\n", "\n")
	src = strings.ReplaceAll(src, "\r", "\n")
	src = strings.ReplaceAll(src, "\x00", "\uFFFD")
	lines := strings.Split(src, "\n")
	var out []MDNode
	var para []string
	var list *MDNode
	flushPara := func() {
		if len(para) > 0 {
			out = append(out, MDNode{Tag: "p", Children: parseInline(strings.Join(para, " "), 0)})
			para = nil
		}
	}
	flushList := func() {
		if list != nil {
			out = append(out, *list)
			list = nil
		}
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "```"):
			flushPara()
			flushList()
			var code []string
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
				code = append(code, lines[i])
			}
			out = append(out, MDNode{Tag: "pre", Children: []MDNode{{Tag: "code", Children: []MDNode{{Text: strings.Join(code, "\n")}}}}})
		case trimmed == "":
			flushPara()
			flushList()
		case heading(trimmed) > 0:
			flushPara()
			flushList()
			n := heading(trimmed)
			text := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(trimmed[n:]), "#"))
			out = append(out, MDNode{Tag: "h" + string(rune('1'+min(n, 4))), Children: parseInline(text, 0)})
		case listItem(trimmed) != "":
			flushPara()
			kind, text := listItem(trimmed), listText(trimmed)
			if list != nil && list.Tag != kind {
				flushList()
			}
			if list == nil {
				list = &MDNode{Tag: kind}
			}
			list.Children = append(list.Children, MDNode{Tag: "li", Children: parseInline(text, 0)})
		case list != nil && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")):
			// An indented line continues the last list item.
			li := &list.Children[len(list.Children)-1]
			li.Children = append(li.Children, MDNode{Text: " "})
			li.Children = append(li.Children, parseInline(trimmed, 0)...)
		default:
			flushList()
			para = append(para, trimmed)
		}
	}
	flushPara()
	flushList()
	return out
}

// heading returns the level of an ATX heading line, 0 if it is not one.
func heading(s string) int {
	n := 0
	for n < len(s) && s[n] == '#' {
		n++
	}
	if n == 0 || n > 6 || (n < len(s) && s[n] != ' ' && s[n] != '\t') {
		return 0
	}
	return n
}

// listItem returns "ul" or "ol" for a list item line, "" otherwise.
func listItem(s string) string {
	if len(s) >= 2 && (s[0] == '-' || s[0] == '*' || s[0] == '+') && (s[1] == ' ' || s[1] == '\t') {
		return "ul"
	}
	i := 0
	for i < len(s) && i < 9 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > 0 && i+1 < len(s) && (s[i] == '.' || s[i] == ')') && (s[i+1] == ' ' || s[i+1] == '\t') {
		return "ol"
	}
	return ""
}

func listText(s string) string {
	if listItem(s) == "ul" {
		return strings.TrimSpace(s[2:])
	}
	i := strings.IndexAny(s, ".)")
	return strings.TrimSpace(s[i+1:])
}

// parseInline parses code spans, emphasis and links; depth bounds nesting.
func parseInline(s string, depth int) []MDNode {
	var out []MDNode
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			out = append(out, MDNode{Text: text.String()})
			text.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && strings.IndexByte("\\`*_[]()#+-.!", s[i+1]) >= 0:
			text.WriteByte(s[i+1])
			i += 2
			continue
		case c == '`':
			if j := strings.IndexByte(s[i+1:], '`'); j >= 0 {
				flush()
				out = append(out, MDNode{Tag: "code", Children: []MDNode{{Text: s[i+1 : i+1+j]}}})
				i += j + 2
				continue
			}
		case depth < 4 && (strings.HasPrefix(s[i:], "**") || strings.HasPrefix(s[i:], "__")):
			delim := s[i : i+2]
			if j := strings.Index(s[i+2:], delim); j > 0 {
				flush()
				out = append(out, MDNode{Tag: "strong", Children: parseInline(s[i+2:i+2+j], depth+1)})
				i += j + 4
				continue
			}
		case depth < 4 && (c == '*' || c == '_') && i+1 < len(s) && s[i+1] != ' ':
			// _ inside a word (snake_case) is text.
			if c == '_' && i > 0 && isWordByte(s[i-1]) {
				break
			}
			if j := strings.IndexByte(s[i+1:], c); j > 0 && s[i+j] != ' ' {
				flush()
				out = append(out, MDNode{Tag: "em", Children: parseInline(s[i+1:i+1+j], depth+1)})
				i += j + 2
				continue
			}
		case c == '[' && depth < 4:
			if label, href, n, ok := link(s[i:]); ok {
				flush()
				out = append(out, MDNode{Tag: "a", Href: href, Children: parseInline(label, depth+1)})
				i += n
				continue
			}
		}
		text.WriteByte(c)
		i++
	}
	flush()
	return out
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// Link parts are searched for only this far, so that text full of
// brackets costs time in proportion to its length, not its square.
const (
	maxLinkLabel = 512
	maxLinkURL   = 2000 // as SafeURL
)

// link reads [label](url) at the start of s. Only http and https URLs make
// a link; anything else (javascript:, data:, relative paths) stays text.
func link(s string) (label, href string, n int, ok bool) {
	end := strings.Index(s[:min(len(s), maxLinkLabel+2)], "](")
	if end < 0 || strings.IndexByte(s[1:end], '[') >= 0 {
		return "", "", 0, false
	}
	rest := s[end+2:]
	close := strings.IndexByte(rest[:min(len(rest), maxLinkURL+2)], ')')
	if close < 0 {
		return "", "", 0, false
	}
	label, href = s[1:end], strings.TrimSpace(s[end+2:end+2+close])
	if !SafeURL(href) || label == "" {
		return "", "", 0, false
	}
	return label, href, end + 3 + close, true
}

// SafeURL reports whether u may be a link target: http or https, no
// whitespace, quotes or angle brackets.
func SafeURL(u string) bool {
	lower := strings.ToLower(u)
	if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") {
		return false
	}
	if len(u) > 2000 {
		return false
	}
	for _, r := range u {
		if r <= ' ' || r == '"' || r == '\'' || r == '<' || r == '>' || r == '`' || r == '\\' || r == 0x7f {
			return false
		}
	}
	return true
}

// RenderMarkdown renders src as HTML made only of the tags in mdTags, with
// all text escaped. It is the one place the console turns text into
// template.HTML.
func RenderMarkdown(src string) template.HTML {
	var b strings.Builder
	writeNodes(&b, ParseMarkdown(src))
	return template.HTML(b.String()) // #nosec: built only from mdTags and escaped text
}

func writeNodes(b *strings.Builder, ns []MDNode) {
	for _, n := range ns {
		switch {
		case n.Tag == "":
			b.WriteString(html.EscapeString(n.Text))
		case !mdTags[n.Tag]:
			// Unreachable: the parser makes only mdTags. Text is safe.
			writeNodes(b, n.Children)
		case n.Tag == "a":
			if !SafeURL(n.Href) {
				writeNodes(b, n.Children)
				continue
			}
			b.WriteString(`<a href="` + html.EscapeString(n.Href) + `" rel="nofollow noopener noreferrer">`)
			writeNodes(b, n.Children)
			b.WriteString(`</a>`)
		default:
			b.WriteString("<" + n.Tag + ">")
			writeNodes(b, n.Children)
			b.WriteString("</" + n.Tag + ">")
		}
	}
}
