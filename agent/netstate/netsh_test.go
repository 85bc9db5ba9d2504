package netstate

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseNetshInterfaces(t *testing.T) {
	en := "\r\nAdmin State    State          Type             Interface Name\r\n" +
		"-------------------------------------------------------------------------\r\n" +
		"Enabled        Connected      Dedicated        Ethernet\r\n" +
		"Disabled       Disconnected   Dedicated        Wi-Fi\r\n" +
		"Enabled        Disconnected   Dedicated        vEthernet (Default Switch)\r\n" +
		"Enabled        Connected      Loopback         Loopback Pseudo-Interface 1\r\n\r\n"
	want := []Link{
		{Name: "Ethernet", AdminUp: true, Carrier: true, Physical: true},
		{Name: "Wi-Fi", Physical: true, Wireless: true},
		{Name: "vEthernet (Default Switch)", AdminUp: true, Physical: true},
	}
	if d := cmp.Diff(want, ParseNetshInterfaces(en)); d != "" {
		t.Errorf("English (-want +got):\n%s", d)
	}
	de := "Administratorstatus Status         Typ              Schnittstellenname\n" +
		"-------------------------------------------------------------------------\n" +
		"Deaktiviert    Getrennt       Dediziert        Ethernet 2\n" +
		"Unbekannt      Getrennt       Dediziert        Other\n"
	if d := cmp.Diff([]Link{{Name: "Ethernet 2", Physical: true}}, ParseNetshInterfaces(de)); d != "" {
		t.Errorf("German (-want +got):\n%s", d)
	}
	if got := ParseNetshInterfaces("The following command was not found: interface show interface.\r\n"); len(got) != 0 {
		t.Errorf("an error message: %+v", got)
	}
}

func FuzzParseNetshInterfaces(f *testing.F) {
	f.Add("Admin State State Type Interface Name\r\n---\r\nEnabled Connected Dedicated Ethernet 2\r\n")
	f.Add("---\nDisabled x y \t\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, l := range ParseNetshInterfaces(s) {
			if l.Name == "" || l.Carrier && !l.AdminUp {
				t.Fatalf("%+v", l)
			}
		}
	})
}
