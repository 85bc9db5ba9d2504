package netstate

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseResolvConf(t *testing.T) {
	tests := []struct {
		file string
		want ResolvConf
	}{
		{"resolv/systemd-resolved.conf", ResolvConf{Nameservers: []string{"127.0.0.53"}, Search: []string{"corp.example.com"}}},
		{"resolv/dhcp.conf", ResolvConf{Nameservers: []string{"192.168.1.1", "fe80::1%wlp2s0", "2001:db8::53"}, Search: []string{"home.arpa"}}},
		{"resolv/empty.conf", ResolvConf{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ParseResolvConf(read(t, tt.file))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
