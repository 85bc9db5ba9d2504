package wire

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tierline/tierline/shared/diag"
)

// TestInventoryFixesNotApplicableLimits: the hub refuses an inventory
// whose fixes_not_applicable is not fix ids with short reasons.
func TestInventoryFixesNotApplicableLimits(t *testing.T) {
	ok := Inventory{Inventory: diag.Inventory{FixesNotApplicable: map[string]string{"restart-print-spooler": "CUPS (cupsd) is not installed"}}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("a plain reason: %v", err)
	}
	many := map[string]string{}
	for i := range 129 {
		many[fmt.Sprintf("fix-%d", i)] = "x"
	}
	for name, m := range map[string]map[string]string{
		"not a fix id":   {"Restart Printing!": "x"},
		"a long reason":  {"flush-dns": strings.Repeat("x", MaxFixReason+1)},
		"too many fixes": many,
	} {
		if err := (Inventory{Inventory: diag.Inventory{FixesNotApplicable: m}}).Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
