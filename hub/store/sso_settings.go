package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// SSOSettings is single sign-on as an admin set it on the admin page. An
// empty Issuer is sign-on off. Version grows with every change.
type SSOSettings struct {
	Issuer, ClientID, ClientSecret string
	Roles                          map[string]Role // provider group -> role
	// Sites gives provider groups sites: group -> site, several joined
	// by "|", "*" every site; empty: sites are kept as an admin set them.
	Sites         map[string]string
	GroupsClaim   string
	CreateUsers   bool
	PasswordLogin bool
	BreakGlass    string
	Version       int64
	UpdatedAt     time.Time
	UpdatedBy     string
}

// GetSSOSettings returns the admin's sign-on settings; ErrNotFound when
// none were ever saved.
func (s *Store) GetSSOSettings(ctx context.Context) (SSOSettings, error) {
	var st SSOSettings
	var roles, sites string
	var updated int64
	err := s.r.QueryRowContext(ctx, `SELECT issuer, client_id, client_secret, roles, sites, groups_claim, create_users, password_login, break_glass, version, updated_at, updated_by
		FROM sso_settings WHERE id = 1`).Scan(&st.Issuer, &st.ClientID, &st.ClientSecret, &roles, &sites, &st.GroupsClaim, &st.CreateUsers, &st.PasswordLogin,
		&st.BreakGlass, &st.Version, &updated, &st.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return SSOSettings{}, fmt.Errorf("sign-on settings: %w", ErrNotFound)
	}
	if err != nil {
		return SSOSettings{}, fmt.Errorf("sign-on settings: %w", err)
	}
	if err := json.Unmarshal([]byte(roles), &st.Roles); err != nil {
		return SSOSettings{}, fmt.Errorf("sign-on settings: roles: %w", err)
	}
	if err := json.Unmarshal([]byte(sites), &st.Sites); err != nil {
		return SSOSettings{}, fmt.Errorf("sign-on settings: sites: %w", err)
	}
	st.UpdatedAt = fromNS(updated)
	return st, nil
}

// PutSSOSettings saves the admin's sign-on settings and returns them with
// their new version.
func (s *Store) PutSSOSettings(ctx context.Context, st SSOSettings) (SSOSettings, error) {
	roles, err := json.Marshal(st.Roles)
	if err != nil {
		return SSOSettings{}, fmt.Errorf("sign-on settings: %w", err)
	}
	if st.Roles == nil {
		roles = []byte("{}")
	}
	sites, err := json.Marshal(st.Sites)
	if err != nil {
		return SSOSettings{}, fmt.Errorf("sign-on settings: %w", err)
	}
	if st.Sites == nil {
		sites = []byte("{}")
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var v int64
		err := tx.QueryRowContext(ctx, `SELECT version FROM sso_settings WHERE id = 1`).Scan(&v)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		st.Version = v + 1
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO sso_settings (id, issuer, client_id, client_secret, roles, sites, groups_claim, create_users, password_login, break_glass, version, updated_at, updated_by)
			VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id, client_secret = excluded.client_secret,
			roles = excluded.roles, sites = excluded.sites, groups_claim = excluded.groups_claim, create_users = excluded.create_users, password_login = excluded.password_login,
			break_glass = excluded.break_glass, version = excluded.version, updated_at = excluded.updated_at, updated_by = excluded.updated_by`),
			st.Issuer, st.ClientID, st.ClientSecret, string(roles), string(sites), st.GroupsClaim, st.CreateUsers, st.PasswordLogin, st.BreakGlass, st.Version, ns(st.UpdatedAt), st.UpdatedBy)
		return err
	})
	if err != nil {
		return SSOSettings{}, fmt.Errorf("save sign-on settings: %w", err)
	}
	return st, nil
}

// SSOSettingsVersion is the settings' version, 0 when none were saved: a
// cheap look for whether they changed.
func (s *Store) SSOSettingsVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.r.QueryRowContext(ctx, `SELECT version FROM sso_settings WHERE id = 1`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sign-on settings: %w", err)
	}
	return v, nil
}
