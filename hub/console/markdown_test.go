package console

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestRenderMarkdown(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"# Title\n\nSome *em* and **strong** text.", "<h2>Title</h2><p>Some <em>em</em> and <strong>strong</strong> text.</p>"},
		{"## Steps\n- one\n- two `code`\n\n1. first\n2. second", "<h3>Steps</h3><ul><li>one</li><li>two <code>code</code></li></ul><ol><li>first</li><li>second</li></ol>"},
		{"```\n<b>x</b> & y\n```", "<pre><code>&lt;b&gt;x&lt;/b&gt; &amp; y</code></pre>"},
		{"<script>window.__xss=1</script>", "<p>&lt;script&gt;window.__xss=1&lt;/script&gt;</p>"},
		{"[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>"},
		{"[docs](https://example.org/a?b=1&c=2)", `<p><a href="https://example.org/a?b=1&amp;c=2" rel="nofollow noopener noreferrer">docs</a></p>`},
		{`[x](https://e.org/"onmouseover=alert(1))`, `<p>[x](https://e.org/&#34;onmouseover=alert(1))</p>`},
		{"[x](data:text/html,<script>)", "<p>[x](data:text/html,&lt;script&gt;)</p>"},
		{"<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>"},
		{"line one\nline two", "<p>line one line two</p>"},
		{"snake_case_name stays", "<p>snake_case_name stays</p>"},
		{"\\*not em\\*", "<p>*not em*</p>"},
		{"- item\n  continued", "<ul><li>item continued</li></ul>"},
		{"#nospace", "<p>#nospace</p>"},
		{"##### deep", "<h5>deep</h5>"},
	} {
		if got := string(RenderMarkdown(c.in)); got != c.want {
			t.Errorf("%q:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

var (
	allowedTag = regexp.MustCompile(`</?(h2|h3|h4|h5|p|ul|ol|li|pre|code|em|strong)>|<a href="https?://[^"<>\s]*" rel="nofollow noopener noreferrer">|</a>`)
	entity     = regexp.MustCompile(`&(amp|lt|gt|#34|#39);`)
)

// checkRendered fails when out holds markup the renderer does not emit
// itself: after removing its own tags and entities, no '<', '>', '"', '\”
// or '&' may remain.
func checkRendered(t *testing.T, in, out string) {
	t.Helper()
	rest := entity.ReplaceAllString(allowedTag.ReplaceAllString(out, ""), "")
	if i := strings.IndexAny(rest, "<>\"'&"); i >= 0 {
		t.Fatalf("input %q rendered %q: raw %q left outside the renderer's tags", in, out, rest[max(0, i-20):min(len(rest), i+20)])
	}
	for _, m := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(out, -1) {
		if l := strings.ToLower(m[1]); !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") {
			t.Fatalf("input %q: link to %q", in, m[1])
		}
	}
}

func FuzzRenderMarkdown(f *testing.F) {
	for _, s := range []string{
		"# T\n\n*a* **b** `c` [d](https://e.org)", "<script>alert(1)</script>", "[x](javascript:alert(1))",
		"```\n<b>\n```", "- <i>\n1. <svg onload=x>", "[<img>](https://a.org/<x>)", "**[a](http://b)**", "`<`*>*_&_",
		"\"'&<>", "[a](https://x.org/\"><script>)", "\\<b\\>", "#### <h1>x</h1>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := string(RenderMarkdown(in))
		checkRendered(t, in, out)
		// The JSON tree for the preview carries the same tags and links.
		var walk func(ns []MDNode)
		walk = func(ns []MDNode) {
			for _, n := range ns {
				if n.Tag != "" && !mdTags[n.Tag] {
					t.Fatalf("input %q: tag %q", in, n.Tag)
				}
				if n.Href != "" && (n.Tag != "a" || !SafeURL(n.Href)) {
					t.Fatalf("input %q: href %q on %q", in, n.Href, n.Tag)
				}
				walk(n.Children)
			}
		}
		nodes := ParseMarkdown(in)
		walk(nodes)
		if _, err := json.Marshal(nodes); err != nil {
			t.Fatal(err)
		}
	})
}

// BenchmarkMarkdown renders a 256 KiB article of ordinary Markdown and
// 256 KiB of text made to make a naive parser search to the end of the
// input at every character; the hostile inputs should cost about what
// the ordinary one does (docs/benchmarks.md).
func BenchmarkMarkdown(b *testing.B) {
	const size = 256 << 10
	fill := func(unit string) string { return strings.Repeat(unit, size/len(unit)) }
	for _, c := range []struct{ name, src string }{
		{"article", fill("## Step\n\nOpen **Settings**, then _Network_; see [the guide](https://example.com/guide) and `ipconfig`.\n\n- one\n- two\n\n")},
		{"brackets", fill("[a]")},
		{"open-links", fill("[a](")},
		{"backticks", "`" + fill("a`b")},
		{"stars", fill("*a **b ")},
		{"underscores", fill("_a __b ")},
		{"nested", fill("**[*_`[")},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.src)))
			for b.Loop() {
				RenderMarkdown(c.src)
			}
		})
	}
}
