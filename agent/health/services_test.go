package health

import (
	"strings"
	"testing"

	"github.com/tierline/tierline/agent/svcmgr"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/diag"
)

func TestGradeServices(t *testing.T) {
	// The states svcmgr reads from its systemctl-show fixture.
	states := []svcmgr.Status{
		{Name: "ssh", State: "active", Running: true},
		{Name: "cups.service", State: "failed"},
		{Name: "nosuch", State: "not installed"},
		{Name: "extra", State: "unknown: not in systemctl's answer"},
	}
	if got := gradeServices(states); got.Status != diag.StatusFailing || got.Fix != catalog.RestartService ||
		!strings.Contains(got.Summary, "cups.service, nosuch, extra") {
		t.Errorf("grade: %+v", got)
	}
}
