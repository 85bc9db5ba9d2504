package mailout

import "testing"

func TestSubjectAndToken(t *testing.T) {
	for _, tc := range []struct {
		title string
		n     int64
		want  string
	}{
		{"Printer jams", 42, "Re: Printer jams [#42]"},
		{"Re: Printer jams", 42, "Re: Printer jams [#42]"},
		{"AW: Fwd: Re: VPN [#7]", 7, "Re: VPN [#7]"},
		{"line\r\nBcc: x@y", 3, "Re: line  Bcc: x@y [#3]"},
	} {
		if got := Subject(tc.title, tc.n); got != tc.want {
			t.Errorf("Subject(%q, %d) = %q, want %q", tc.title, tc.n, got, tc.want)
		}
		if got := TicketNumber(Subject(tc.title, tc.n)); got != tc.n {
			t.Errorf("TicketNumber(Subject(%q)) = %d, want %d", tc.title, got, tc.n)
		}
	}
	for subject, want := range map[string]int64{
		"Re: [#12] and then [#13]": 13, "no token": 0, "[#0]": 0, "[#012]": 0, "[# 5]": 0, "[#99999999999999]": 0, "Re: x [#5] ": 5,
	} {
		if got := TicketNumber(subject); got != want {
			t.Errorf("TicketNumber(%q) = %d, want %d", subject, got, want)
		}
	}
}

func FuzzTicketNumber(f *testing.F) {
	f.Add("Re: Printer [#42]")
	f.Fuzz(func(t *testing.T, s string) {
		if n := TicketNumber(s); n < 0 {
			t.Fatalf("negative ticket number %d from %q", n, s)
		}
	})
}
