package api

import (
	"errors"
	"fmt"
	"time"

	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

// NewToken makes an enrollment token record and its secret. expires is a Go
// duration ("" = 24h); uses 0 means 1.
func NewToken(now time.Time, expires string, uses int, note, by string) (store.Token, string, error) {
	d := 24 * time.Hour
	if expires != "" {
		var err error
		if d, err = time.ParseDuration(expires); err != nil {
			return store.Token{}, "", fmt.Errorf("expires %q is not a duration such as 24h or 30m", expires)
		}
	}
	if d <= 0 || d > 365*24*time.Hour {
		return store.Token{}, "", errors.New("expires must be between 1s and 8760h")
	}
	if uses == 0 {
		uses = 1
	}
	if uses < 0 || uses > 1_000_000 {
		return store.Token{}, "", errors.New("uses must be between 1 and 1000000")
	}
	if len(note) > 200 {
		return store.Token{}, "", errors.New("note must be at most 200 characters")
	}
	return store.Token{
		ID: wire.NewID()[:12], Note: note, CreatedBy: by, CreatedAt: now, ExpiresAt: now.Add(d), MaxUses: uses,
	}, auth.Secret(32), nil
}
