package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// lostStore is a callerStore whose database has gone away. The other tests
// run on the real SQLite store; this one needs a store that fails on
// demand, and because authentication needs only callerStore, the fake is
// two methods.
type lostStore struct{}

func (lostStore) NoteAPITokenAddress(context.Context, string, string) (bool, error) {
	return false, errors.New("sql: database is closed")
}

func (lostStore) LookupAPIToken(context.Context, []byte, time.Time) (store.APIToken, store.User, error) {
	return store.APIToken{}, store.User{}, errors.New("sql: database is closed")
}

// A store failure while checking a token is the hub's fault: the caller
// gets a 500 that says to try again, not a 401 that says its token is bad,
// and not the store's own error text.
func TestAuthenticateStoreFailure(t *testing.T) {
	a := &API{cfg: Config{Now: time.Now}, log: slog.New(slog.DiscardHandler), callers: lostStore{}}
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/api/v1/me", nil)
	r.Header.Set("Authorization", "Bearer some-token")
	if _, ok := a.authenticate(w, r); ok {
		t.Fatal("authenticated although the store failed")
	}
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", w.Code)
	}
	var e wire.APIError
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	if e.Code != "internal" || strings.Contains(e.Error, "sql") {
		t.Fatalf("error %+v: want code internal without the store's error text", e)
	}
}
