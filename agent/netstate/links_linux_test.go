package netstate

import (
	"reflect"
	"testing"
)

// TestLiveLinksMatchSysfs: the netlink dump says of every interface of
// this machine what /sys/class/net says (switched on, carrier,
// operstate, wireless, a device), twice (the second from remembered
// kinds).
func TestLiveLinksMatchSysfs(t *testing.T) {
	want, err := readSysLinks("/")
	if err != nil {
		t.Skipf("no /sys/class/net here: %v", err)
	}
	for range 2 {
		got, err := liveLinks()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("netlink:\n%+v\nsysfs:\n%+v", got, want)
		}
	}
	if len(want) == 0 {
		t.Log("no interface but loopback here: only the empty lists compared")
	}
}
