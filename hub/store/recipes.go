package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrRecipeVersion: a recipe upload older than the stored version, or the
// same version with other content.
var ErrRecipeVersion = errors.New("recipe version conflict")

// Recipe is one organisation recipe as the hub keeps it: the signed
// document exactly as uploaded (the hub cannot make or change one) and the
// device groups it is published to.
type Recipe struct {
	ID      string    `json:"id"`
	Version int64     `json:"version"`
	Signer  string    `json:"signer"`
	Title   string    `json:"title"`
	Tier    int       `json:"tier"`
	Doc     []byte    `json:"-"`
	Groups  []string  `json:"groups"`
	AddedBy string    `json:"added_by"`
	AddedAt time.Time `json:"added_at"`
}

// RecipeKeyChange is a signed key change kept for devices still pinning an
// older key.
type RecipeKeyChange struct {
	Serial  int64
	Doc     []byte
	AddedBy string
	AddedAt time.Time
}

// RecipeStatus is what a device's agent reported about the recipes it was
// sent (wire.RecipeStatus as JSON).
type RecipeStatus struct {
	DeviceID  string
	Signer    string
	Status    []byte
	UpdatedAt time.Time
}

// PutRecipe publishes a recipe: a new id, a newer version, or the same
// document again with other groups. An older version, or the same version
// with another document, is ErrRecipeVersion.
func (s *Store) PutRecipe(ctx context.Context, r Recipe) error {
	groups, err := json.Marshal(r.Groups)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var ver int64
		var doc string
		err := tx.QueryRowContext(ctx, s.q(`SELECT version, doc FROM recipes WHERE id = ?`), r.ID).Scan(&ver, &doc)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO recipes (id, version, signer, title, tier, doc, groups_json, added_by, added_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), r.ID, r.Version, r.Signer, r.Title, r.Tier, string(r.Doc), string(groups), r.AddedBy, ns(r.AddedAt))
			return err
		case err != nil:
			return err
		case r.Version < ver:
			return fmt.Errorf("%w: recipe %s version %d is older than the published version %d", ErrRecipeVersion, r.ID, r.Version, ver)
		case r.Version == ver && doc != string(r.Doc):
			return fmt.Errorf("%w: recipe %s version %d is already published with other content; raise the version and sign it again",
				ErrRecipeVersion, r.ID, r.Version)
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE recipes SET version = ?, signer = ?, title = ?, tier = ?, doc = ?, groups_json = ?,
			added_by = ?, added_at = ? WHERE id = ?`), r.Version, r.Signer, r.Title, r.Tier, string(r.Doc), string(groups), r.AddedBy, ns(r.AddedAt), r.ID)
		return err
	})
}

// DeleteRecipe withdraws a recipe from every group; ErrNotFound.
func (s *Store) DeleteRecipe(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM recipes WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("delete recipe %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("recipe %s: %w", id, ErrNotFound)
	}
	return nil
}

// ListRecipes lists the published recipes by id.
func (s *Store) ListRecipes(ctx context.Context) ([]Recipe, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, version, signer, title, tier, doc, groups_json, added_by, added_at FROM recipes ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list recipes: %w", err)
	}
	defer rows.Close()
	var out []Recipe
	for rows.Next() {
		var r Recipe
		var doc, groups string
		var at int64
		if err := rows.Scan(&r.ID, &r.Version, &r.Signer, &r.Title, &r.Tier, &doc, &groups, &r.AddedBy, &at); err != nil {
			return nil, fmt.Errorf("list recipes: %w", err)
		}
		r.Doc, r.AddedAt = []byte(doc), fromNS(at)
		if err := json.Unmarshal([]byte(groups), &r.Groups); err != nil {
			return nil, fmt.Errorf("recipe %s groups: %w", r.ID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RecipesRevision changes whenever a recipe or a key change is added,
// changed or withdrawn, so each hub replica can tell its agents.
func (s *Store) RecipesRevision(ctx context.Context) (string, error) {
	var n, at, kn, kat int64
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(added_at), 0) FROM recipes`).Scan(&n, &at); err != nil {
		return "", fmt.Errorf("recipes revision: %w", err)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(added_at), 0) FROM recipe_key_changes`).Scan(&kn, &kat); err != nil {
		return "", fmt.Errorf("recipes revision: %w", err)
	}
	var sum int64
	if err := s.r.QueryRowContext(ctx, `SELECT COALESCE(SUM(version), 0) FROM recipes`).Scan(&sum); err != nil {
		return "", fmt.Errorf("recipes revision: %w", err)
	}
	return fmt.Sprintf("%d.%d.%d.%d.%d", n, at, sum, kn, kat), nil
}

// AddRecipeKeyChange stores a signed key change; ErrExists for a serial
// already stored.
func (s *Store) AddRecipeKeyChange(ctx context.Context, k RecipeKeyChange) error {
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO recipe_key_changes (serial, doc, added_by, added_at) VALUES (?, ?, ?, ?)`),
		k.Serial, string(k.Doc), k.AddedBy, ns(k.AddedAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("key change %d: %w", k.Serial, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("add key change %d: %w", k.Serial, err)
	}
	return nil
}

// ListRecipeKeyChanges lists the key changes, oldest serial first.
func (s *Store) ListRecipeKeyChanges(ctx context.Context) ([]RecipeKeyChange, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT serial, doc, added_by, added_at FROM recipe_key_changes ORDER BY serial`)
	if err != nil {
		return nil, fmt.Errorf("list key changes: %w", err)
	}
	defer rows.Close()
	var out []RecipeKeyChange
	for rows.Next() {
		var k RecipeKeyChange
		var doc string
		var at int64
		if err := rows.Scan(&k.Serial, &doc, &k.AddedBy, &at); err != nil {
			return nil, fmt.Errorf("list key changes: %w", err)
		}
		k.Doc, k.AddedAt = []byte(doc), fromNS(at)
		out = append(out, k)
	}
	return out, rows.Err()
}

// SetRecipeStatus records a device's latest recipe report.
func (s *Store) SetRecipeStatus(ctx context.Context, st RecipeStatus) error {
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO device_recipe_status (device_id, signer, status_json, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (device_id) DO UPDATE SET signer = excluded.signer, status_json = excluded.status_json, updated_at = excluded.updated_at`),
		st.DeviceID, st.Signer, string(st.Status), ns(st.UpdatedAt))
	if err != nil {
		return fmt.Errorf("recipe status of %s: %w", st.DeviceID, err)
	}
	return nil
}

// RecipeStatuses returns the recipe reports of the given devices, or of
// every device when ids is empty, by device id.
func (s *Store) RecipeStatuses(ctx context.Context, ids ...string) (map[string]RecipeStatus, error) {
	query, args := `SELECT device_id, signer, status_json, updated_at FROM device_recipe_status`, []any{}
	if len(ids) == 1 {
		query, args = s.q(query+` WHERE device_id = ?`), []any{ids[0]}
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("recipe statuses: %w", err)
	}
	defer rows.Close()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	out := map[string]RecipeStatus{}
	for rows.Next() {
		var st RecipeStatus
		var raw string
		var at int64
		if err := rows.Scan(&st.DeviceID, &st.Signer, &raw, &at); err != nil {
			return nil, fmt.Errorf("recipe statuses: %w", err)
		}
		if len(want) > 0 && !want[st.DeviceID] {
			continue
		}
		st.Status, st.UpdatedAt = []byte(raw), fromNS(at)
		out[st.DeviceID] = st
	}
	return out, rows.Err()
}

// DeviceGroupsByID maps every device to its group ("" when it has none),
// for passing published recipes on to connected devices in one read.
func (s *Store) DeviceGroupsByID(ctx context.Context) (map[string]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, grp FROM devices`)
	if err != nil {
		return nil, fmt.Errorf("device groups: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id string
		var grp sql.NullString
		if err := rows.Scan(&id, &grp); err != nil {
			return nil, fmt.Errorf("device groups: %w", err)
		}
		out[id] = grp.String
	}
	return out, rows.Err()
}
