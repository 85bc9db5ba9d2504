package pkgversion

import "testing"

func TestCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.9", "1.10", -1},
		{"1.01", "1.1", 0},
		{"1.0", "1.0.1", -1},
		{"1.0~rc1", "1.0", -1},
		{"1.0~rc1", "1.0~rc2", -1},
		{"1.0~~", "1.0~", -1},
		{"1.0", "1.0-1", -1},
		{"1.0-1", "1.0-2", -1},
		{"1.0-10", "1.0-9", 1},
		{"1:1.0", "2.0", 1},
		{"0:2.0", "2.0", 0},
		{"2.36-9+deb12u4", "2.36-9+deb12u10", -1},
		{"115.5.0esr-1~deb12u1", "115.6.0esr-1~deb12u1", -1},
		{"1.0a", "1.0", 1},
		{"1.0a", "1.0+", -1},
		{"10.0.19045.3803", "10.0.19045.4046", -1},
		{"14.2.1", "14.10", -1},
		{"120.0.6099.109", "120.0.6099.71", 1},
		{"", "0", 0},
		{"", "1", -1},
		{"1.2.3-1.el9", "1.2.3-1.el9_2", -1},
		{"3.0.11-1~deb12u2", "3.0.11-1", -1},
		{"99999999999999999999999", "99999999999999999999998", 1},
	}
	for _, tt := range tests {
		if got := Compare(tt.a, tt.b); got != tt.want {
			t.Errorf("Compare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Compare(tt.b, tt.a); got != -tt.want {
			t.Errorf("Compare(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}

func FuzzCompare(f *testing.F) {
	for _, s := range []string{"1.0", "1:2.3-4", "1.0~rc1", "10.0.19045", "a.b-c"} {
		f.Add(s, "1.0-1")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if Compare(a, a) != 0 {
			t.Fatalf("Compare(%q, itself) != 0", a)
		}
		if Compare(a, b) != -Compare(b, a) {
			t.Fatalf("Compare(%q, %q) not antisymmetric", a, b)
		}
	})
}
