package cli

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseTierLimits(t *testing.T) {
	got, err := ParseTierLimits("1=15m, 2=4h,3=2d,4=90s")
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]time.Duration{1: 15 * time.Minute, 2: 4 * time.Hour, 3: 48 * time.Hour, 4: 90 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{"1", "x=15m", "5=1h", "1=0s", "1=-1m", "1=soon", "1=xd"} {
		if _, err := ParseTierLimits(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
