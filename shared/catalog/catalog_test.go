package catalog

import (
	"strings"
	"testing"
)

func TestCatalogIsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range All() {
		if seen[f.ID] {
			t.Errorf("duplicate id %s", f.ID)
		}
		seen[f.ID] = true
		if f.Title == "" || f.Description == "" || f.UserText == "" || f.TimeoutSec <= 0 || len(f.OSes) == 0 {
			t.Errorf("%s is missing a title, texts, a timeout or its OSes", f.ID)
		}
		if f.Tier < TierSelfHelp || f.Tier > TierExpert {
			t.Errorf("%s has tier %d", f.ID, f.Tier)
		}
		for _, p := range f.Params {
			if p.Default != "" {
				if err := p.check(p.Default); err != nil {
					t.Errorf("%s.%s: default %q is itself invalid: %v", f.ID, p.Name, p.Default, err)
				}
			}
		}
	}
	if got, ok := Get(FlushDNS); !ok || got.Tier != TierSelfHelp {
		t.Errorf("flush-dns: %+v %v", got, ok)
	}
	if _, ok := Get("run-script"); ok {
		t.Error("the catalog has a run-script entry")
	}
}

func TestValidate(t *testing.T) {
	svc, _ := Get(RestartService)
	end, _ := Get(EndProcess)
	reboot, _ := Get(ScheduleReboot)
	trash, _ := Get(EmptyTrash)
	vacuum, _ := Get(VacuumJournals)
	for _, tt := range []struct {
		fix    Fix
		params map[string]string
		want   string // "" = valid
	}{
		{svc, map[string]string{"service": "cups"}, ""},
		{svc, map[string]string{"service": "NetworkManager.service"}, ""},
		{svc, map[string]string{}, "required"},
		{svc, map[string]string{"service": "cups;reboot"}, "does not match"},
		{svc, map[string]string{"service": "-rf"}, "does not match"},
		{svc, map[string]string{"service": "../../etc/passwd"}, "does not match"},
		{svc, map[string]string{"service": strings.Repeat("a", 129)}, "at most 128"},
		{svc, map[string]string{"service": "cups", "x": "y"}, "not a parameter"},
		{svc, map[string]string{"service": "a\nb"}, "control character"},
		{end, map[string]string{"pid": "1"}, "outside"},
		{end, map[string]string{"pid": "0x10"}, "whole number"},
		{end, map[string]string{}, "exactly one"},
		{end, map[string]string{"name": "chrome", "pid": "42"}, "exactly one"},
		{end, map[string]string{"name": "Google Chrome"}, ""},
		{reboot, map[string]string{"message": strings.Repeat("m", 201)}, "at most 200"},
		{reboot, map[string]string{"delay_minutes": "5"}, ""},
		{trash, map[string]string{}, ""},
		{trash, map[string]string{"user": "bob"}, ""},
		{trash, map[string]string{"user": "Jane Doe"}, ""},
		{trash, map[string]string{"user": ".."}, "does not match"},
		{trash, map[string]string{"user": "../root"}, "does not match"},
		{trash, map[string]string{"user": "bob/../../etc"}, "does not match"},
		{trash, map[string]string{"user": `CORP\bob`}, "does not match"},
		{trash, map[string]string{"user": "-rf"}, "does not match"},
		{vacuum, map[string]string{}, ""},
		{vacuum, map[string]string{"max_mib": "8"}, "outside"},
		{vacuum, map[string]string{"days": "0"}, "outside"},
	} {
		got, err := tt.fix.Validate(tt.params)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s %v: %v", tt.fix.ID, tt.params, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s %v: %v, want an error with %q", tt.fix.ID, tt.params, err, tt.want)
		case tt.want == "" && tt.fix.ID == ScheduleReboot && got["message"] == "":
			t.Errorf("schedule-reboot: default message not filled in: %v", got)
		}
	}
}

func FuzzValidate(f *testing.F) {
	f.Add("restart-service", "service", "cups")
	f.Add("end-process", "pid", "99")
	f.Add("clear-credentials", "target", "host:445")
	f.Fuzz(func(t *testing.T, id, k, v string) {
		fx, ok := Get(id)
		if !ok {
			return
		}
		out, err := fx.Validate(map[string]string{k: v})
		if err != nil {
			return
		}
		// Whatever passes holds no control characters and fits the limit.
		for name, val := range out {
			if len(val) > MaxParamLen || strings.ContainsAny(val, "\x00\n\r") {
				t.Fatalf("%s.%s accepted %q", id, name, val)
			}
		}
	})
}
