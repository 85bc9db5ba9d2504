package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// AppendAudit appends an event to the audit log. A zero Time is now.
func (s *Store) AppendAudit(ctx context.Context, e AuditEvent) error {
	return s.appendAudit(ctx, s.w, e)
}

func (s *Store) appendAudit(ctx context.Context, db execer, e AuditEvent) error {
	args, err := auditArgs(e)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, s.q(`INSERT INTO audit (time, actor, action, target, detail, remote, outcome)
		VALUES (?, ?, ?, ?, ?, ?, ?)`), args...); err != nil {
		return fmt.Errorf("append audit %s: %w", e.Action, err)
	}
	return nil
}

// auditArgs are the audit table's columns for e (time, actor, action,
// target, detail, remote, outcome). A zero Time is now.
func auditArgs(e AuditEvent) ([]any, error) {
	if e.Action == "" {
		return nil, errors.New("append audit: action is required")
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	var detail any
	if len(e.Detail) > 0 {
		b, err := json.Marshal(e.Detail)
		if err != nil {
			return nil, fmt.Errorf("append audit %s: encode detail: %w", e.Action, err)
		}
		detail = string(b)
	}
	return []any{e.Time.UnixNano(), e.Actor, e.Action, e.Target, detail, e.Remote, e.Outcome}, nil
}

// ListAudit returns audit events matching f, newest (highest id) first.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	var where []string
	var args []any
	if f.Actor != "" {
		where = append(where, "actor = ?")
		args = append(args, f.Actor)
	}
	if f.ActionPrefix != "" {
		where = append(where, "substr(action, 1, ?) = ?")
		args = append(args, len(f.ActionPrefix), f.ActionPrefix)
	}
	if f.Target != "" {
		where = append(where, "target = ?")
		args = append(args, f.Target)
	}
	if !f.Since.IsZero() {
		where = append(where, "time >= ?")
		args = append(args, f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		where = append(where, "time <= ?")
		args = append(args, f.Until.UnixNano())
	}
	if f.BeforeID > 0 {
		where = append(where, "id < ?")
		args = append(args, f.BeforeID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	query := `SELECT id, time, actor, action, target, detail, remote, outcome FROM audit`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var e AuditEvent
		var t int64
		var detail sql.NullString
		if err := rows.Scan(&e.ID, &t, &e.Actor, &e.Action, &e.Target, &detail, &e.Remote, &e.Outcome); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		e.Time = fromNS(t)
		if detail.Valid && detail.String != "" {
			if err := json.Unmarshal([]byte(detail.String), &e.Detail); err != nil {
				return nil, fmt.Errorf("list audit: decode detail of %d: %w", e.ID, err)
			}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}

// GetSetting returns the value of a setting and whether it is set.
func (s *Store) GetSetting(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.r.QueryRowContext(ctx, s.q(`SELECT value FROM settings WHERE key = ?`), key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("get setting %s: %w", key, err)
	}
	return v, true, nil
}

// PutSetting sets a setting.
func (s *Store) PutSetting(ctx context.Context, key, value string) error {
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`), key, value)
	if err != nil {
		return fmt.Errorf("put setting %s: %w", key, err)
	}
	return nil
}

// CheckWrite commits a small write (one settings row), to tell whether the
// store can take writes now: readiness asks it.
func (s *Store) CheckWrite(ctx context.Context) error {
	if err := s.PutSetting(ctx, "hub.write_check", time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("write check: %w", err)
	}
	return nil
}
