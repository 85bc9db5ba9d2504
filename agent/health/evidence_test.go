package health

import (
	"strings"

	"github.com/tierline/tierline/shared/diag"
)

func hasEvidence(r diag.CheckResult, label, valuePart string) bool {
	for _, e := range r.Evidence {
		if e.Label == label && strings.Contains(e.Value, valuePart) {
			return true
		}
	}
	return false
}
