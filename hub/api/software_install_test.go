package api_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/recipes"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/software"
	"github.com/tierline/tierline/shared/wire"
)

// TestInstallSoftwareRuns: a technician's install-software request is
// queued only for an entry of the signed catalog that is published to
// the device's group and that the device's agent accepted; otherwise it
// is refused with the reason, and nothing is queued.
func TestInstallSoftwareRuns(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	doc, err := software.Sign(priv, software.Entry{ID: "hello", Version: 2, Title: "GNU Hello", Manager: software.Apt, Package: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := doc.Encode()
	run := func(entry string) (int, string) {
		rec := f.call(t, "POST", "/api/v1/devices/"+f.device+"/runs", f.tokens[store.RoleTier1],
			`{"fix":"`+catalog.InstallSoftware+`","params":{"entry":"`+entry+`"}}`)
		return rec.Code, rec.Body.String()
	}
	if code, body := run("hello"); code != http.StatusBadRequest || !strings.Contains(body, "not in the signed software catalog") {
		t.Fatalf("unpublished entry: %d %s", code, body)
	}
	if _, err := recipes.Publish(ctx, f.store, raw, []string{"sales"}, "admin", time.Now()); err != nil {
		t.Fatal(err)
	}
	if code, body := run("hello"); code != http.StatusUnprocessableEntity || !strings.Contains(body, `not published to the device's group`) {
		t.Fatalf("entry of another group: %d %s", code, body)
	}
	if _, err := recipes.Publish(ctx, f.store, raw, []string{"*"}, "admin", time.Now()); err != nil {
		t.Fatal(err)
	}
	if code, body := run("hello"); !strings.Contains(body, "has not reported") {
		t.Fatalf("before the agent reported: %d %s", code, body)
	}
	st, _ := json.Marshal(wire.RecipeStatus{Refused: []wire.RecipeRef{{ID: "hello", Version: 2, Reason: "software is signed by key X, not by the key pinned on this device (Y)"}}})
	f.store.SetRecipeStatus(ctx, store.RecipeStatus{DeviceID: f.device, Status: st, UpdatedAt: time.Now()})
	if code, body := run("hello"); !strings.Contains(body, "refused software hello: software is signed by key X") {
		t.Fatalf("refused by the agent: %d %s", code, body)
	}
	st, _ = json.Marshal(wire.RecipeStatus{Accepted: []wire.RecipeRef{{ID: "hello", Version: 2}}})
	f.store.SetRecipeStatus(ctx, store.RecipeStatus{DeviceID: f.device, Status: st, UpdatedAt: time.Now()})
	if code, body := run("hello"); code != http.StatusAccepted {
		t.Fatalf("accepted entry: %d %s", code, body)
	}
	for _, bad := range []string{"-o", "foo;rm", "../x"} {
		if code, body := run(bad); code != http.StatusBadRequest {
			t.Errorf("entry %q: %d %s", bad, code, body)
		}
	}
}
