package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tierline/tierline/shared/wire"
)

// RequestTemplate is a service request template as the hub keeps it: the
// template users and technicians file with, and who made it when.
type RequestTemplate struct {
	wire.RequestTemplate
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ErrTooMany: a limit on how many of something the hub keeps is reached.
var ErrTooMany = errors.New("limit reached")

// CreateRequestTemplate stores a new template. A name already used is
// ErrExists; beyond wire.MaxTemplates templates, ErrTooMany.
func (s *Store) CreateRequestTemplate(ctx context.Context, t RequestTemplate) error {
	doc, err := json.Marshal(t.RequestTemplate)
	if err != nil {
		return fmt.Errorf("create request template: %w", err)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM request_templates`).Scan(&n); err != nil {
			return fmt.Errorf("create request template: %w", err)
		}
		if n >= wire.MaxTemplates {
			return fmt.Errorf("create request template: %d templates: %w", n, ErrTooMany)
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO request_templates (id, name, doc, created_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`), t.ID, t.Name, string(doc), t.CreatedBy, t.CreatedAt.UnixNano(), t.CreatedAt.UnixNano())
		if isUniqueViolation(err) {
			return fmt.Errorf("request template %q: %w", t.Name, ErrExists)
		}
		if err != nil {
			return fmt.Errorf("create request template: %w", err)
		}
		return nil
	})
}

// UpdateRequestTemplate replaces a template's definition (its id stays).
func (s *Store) UpdateRequestTemplate(ctx context.Context, t wire.RequestTemplate, at time.Time) error {
	doc, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("update request template: %w", err)
	}
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE request_templates SET name = ?, doc = ?, updated_at = ? WHERE id = ?`),
		t.Name, string(doc), at.UnixNano(), t.ID)
	if isUniqueViolation(err) {
		return fmt.Errorf("request template %q: %w", t.Name, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("update request template %s: %w", t.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("request template %s: %w", t.ID, ErrNotFound)
	}
	return nil
}

// DeleteRequestTemplate removes a template. Tickets filed from it keep
// their answers.
func (s *Store) DeleteRequestTemplate(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM request_templates WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("delete request template %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("request template %s: %w", id, ErrNotFound)
	}
	return nil
}

const templateCols = `doc, created_by, created_at, updated_at`

func scanTemplate(sc rowScanner) (RequestTemplate, error) {
	var t RequestTemplate
	var doc string
	var created, updated int64
	if err := sc.Scan(&doc, &t.CreatedBy, &created, &updated); err != nil {
		return t, err
	}
	if err := json.Unmarshal([]byte(doc), &t.RequestTemplate); err != nil {
		return t, fmt.Errorf("decode request template: %w", err)
	}
	if t.Fields == nil {
		t.Fields = []wire.TemplateField{}
	}
	t.CreatedAt, t.UpdatedAt = fromNS(created), fromNS(updated)
	return t, nil
}

// GetRequestTemplate returns one template.
func (s *Store) GetRequestTemplate(ctx context.Context, id string) (RequestTemplate, error) {
	t, err := scanTemplate(s.r.QueryRowContext(ctx, s.q(`SELECT `+templateCols+` FROM request_templates WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("request template %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("get request template %s: %w", id, err)
	}
	return t, nil
}

// ListRequestTemplates returns every template, by name.
func (s *Store) ListRequestTemplates(ctx context.Context) ([]RequestTemplate, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+templateCols+` FROM request_templates ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("list request templates: %w", err)
	}
	defer rows.Close()
	out := []RequestTemplate{}
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, fmt.Errorf("list request templates: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
