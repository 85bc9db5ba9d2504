package wire

import (
	"strings"
	"testing"

	"github.com/tierline/tierline/shared/orgdoc"
)

// TestEnrollTokenRecipeKey: a token carries the organisation's recipe key
// through encoding; a key that is not 32 bytes of base64 is refused.
func TestEnrollTokenRecipeKey(t *testing.T) {
	tok := EnrollToken{HubURL: "https://127.0.0.1:8443", CAFingerprint: strings.Repeat("ab", 32), Secret: "secret-secret-secret",
		RecipeKey: "cmVjaXBlLWtleS1mb3ItdGhlLXRlc3QtMzItYnl0ZXM="}
	back, err := ParseEnrollToken(tok.Encode())
	if err != nil || back.RecipeKey != tok.RecipeKey {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	tok.RecipeKey = "c2hvcnQ="
	if _, err := ParseEnrollToken(tok.Encode()); err == nil || !strings.Contains(err.Error(), "recipe key") {
		t.Fatalf("a token with a bad recipe key: %v", err)
	}
}

// TestRecipeMessagesLimits: the recipe messages refuse more than their
// limits.
func TestRecipeMessagesLimits(t *testing.T) {
	if err := (Recipes{Docs: make([]orgdoc.Signed, MaxRecipes+1)}).Validate(); err == nil {
		t.Error("more than MaxRecipes recipes accepted")
	}
	if err := (RecipeStatus{Refused: []RecipeRef{{ID: "x", Reason: strings.Repeat("r", MaxRecipeRefusal+1)}}}).Validate(); err == nil {
		t.Error("an over-long refusal reason accepted")
	}
	if err := (RecipeStatus{Key: strings.Repeat("k", 17)}).Validate(); err == nil {
		t.Error("an over-long key id accepted")
	}
}
