package mailin

import (
	"strings"

	"golang.org/x/net/html"
)

// htmlText turns an HTML mail body into plain text: the text of the
// document with line breaks where blocks end, no scripts or styles, and
// each link's address after its text when they differ.
func htmlText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0
	var href string
	nl := func() {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
			b.WriteByte('\n')
		}
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return tidy(b.String())
		case html.TextToken:
			if skip == 0 {
				t := html.UnescapeString(string(z.Text()))
				words := strings.Join(strings.Fields(t), " ")
				if words == "" {
					if t != "" && b.Len() > 0 && !strings.HasSuffix(b.String(), " ") && !strings.HasSuffix(b.String(), "\n") {
						b.WriteByte(' ')
					}
					continue
				}
				if isSpace(t[0]) && b.Len() > 0 && !strings.HasSuffix(b.String(), " ") && !strings.HasSuffix(b.String(), "\n") {
					b.WriteByte(' ')
				}
				b.WriteString(words)
				if isSpace(t[len(t)-1]) {
					b.WriteByte(' ')
				}
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			switch tag {
			case "script", "style", "head", "title":
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
				continue
			case "br":
				b.WriteByte('\n')
			case "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "hr":
				nl()
				if tag == "li" && tt == html.StartTagToken {
					b.WriteString("- ")
				}
			case "td", "th":
				if tt == html.EndTagToken {
					b.WriteByte('\t')
				}
			case "a":
				if tt == html.StartTagToken {
					href = ""
					for hasAttr {
						var k, v []byte
						k, v, hasAttr = z.TagAttr()
						if string(k) == "href" {
							href = string(v)
						}
					}
				} else if tt == html.EndTagToken && href != "" && !strings.HasPrefix(href, "#") && !strings.HasSuffix(strings.TrimSpace(b.String()), href) {
					b.WriteString(" <" + href + ">")
					href = ""
				}
			}
		}
	}
}

// tidy trims each line and keeps at most one blank line in a row.
func tidy(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := 0
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }
