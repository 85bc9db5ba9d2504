package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Problem states.
const (
	ProblemOpen       = "open"        // being investigated
	ProblemKnownError = "known_error" // root cause known, workaround available
	ProblemResolved   = "resolved"    // fixed for good
)

// ProblemStates lists every problem state.
var ProblemStates = []string{ProblemOpen, ProblemKnownError, ProblemResolved}

// Problem is a known error: the cause several tickets share.
type Problem struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	State      string `json:"state"`
	RootCause  string `json:"root_cause,omitempty"`
	Workaround string `json:"workaround,omitempty"`
	// Signature is the failing-check signature of the tickets it explains.
	Signature string    `json:"signature,omitempty"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Tickets counts the tickets linked to it (ListProblems, GetProblem).
	Tickets int `json:"tickets"`
	// Site keeps the problem to one site; "" shares it with every site.
	Site string `json:"site,omitempty"`
}

// problemCols are a problem's columns with its count of tickets, of ctx's
// sites only (a shared problem's tickets of other sites are not counted),
// and the count's arguments, which come first.
func problemCols(ctx context.Context) (string, []any) {
	inSite, args := siteSuffix(ctx, "t.site")
	return `p.id, p.title, p.state, p.root_cause, p.workaround, p.signature, p.created_by, p.created_at, p.updated_at,
	(SELECT COUNT(*) FROM tickets t WHERE t.problem_id = p.id` + inSite + `), p.site`, args
}

func scanProblem(sc rowScanner) (Problem, error) {
	var p Problem
	var created, updated int64
	var site sql.NullString
	err := sc.Scan(&p.ID, &p.Title, &p.State, &p.RootCause, &p.Workaround, &p.Signature, &p.CreatedBy, &created, &updated, &p.Tickets, &site)
	p.Site = site.String
	p.CreatedAt, p.UpdatedAt = fromNS(created), fromNS(updated)
	return p, err
}

// CreateProblem stores a new problem.
func (s *Store) CreateProblem(ctx context.Context, p Problem) error {
	if p.ID == "" || p.Title == "" {
		return errors.New("create problem: id and title are required")
	}
	if p.State == "" {
		p.State = ProblemOpen
	}
	if err := checkRecordSite(ctx, p.Site); err != nil {
		return fmt.Errorf("create problem: %w", err)
	}
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO problems (id, title, state, root_cause, workaround, signature, created_by, created_at, updated_at, site)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), p.ID, p.Title, p.State, p.RootCause, p.Workaround, p.Signature, p.CreatedBy,
		p.CreatedAt.UnixNano(), p.CreatedAt.UnixNano(), nullSite(p.Site))
	if isUniqueViolation(err) {
		return fmt.Errorf("create problem %s: %w", p.ID, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create problem: %w", err)
	}
	return nil
}

// UpdateProblem stores a problem's title, state, root cause and workaround.
func (s *Store) UpdateProblem(ctx context.Context, p Problem, at time.Time) error {
	inSite, siteArgs := siteSuffix(ctx, "site")
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE problems SET title = ?, state = ?, root_cause = ?, workaround = ?, updated_at = ? WHERE id = ?`+inSite),
		append([]any{p.Title, p.State, p.RootCause, p.Workaround, at.UnixNano(), p.ID}, siteArgs...)...)
	if err != nil {
		return fmt.Errorf("update problem %s: %w", p.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("problem %s: %w", p.ID, ErrNotFound)
	}
	return nil
}

// GetProblem returns a problem.
func (s *Store) GetProblem(ctx context.Context, id string) (Problem, error) {
	inSite, siteArgs := sharedSuffix(ctx, "p.site")
	cols, args := problemCols(ctx)
	args = append(append(args, id), siteArgs...)
	p, err := scanProblem(s.r.QueryRowContext(ctx, s.q(`SELECT `+cols+` FROM problems p WHERE p.id = ?`+inSite), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("problem %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("get problem %s: %w", id, err)
	}
	return p, nil
}

// ListProblems returns problems, most recently updated first; state ""
// means all.
func (s *Store) ListProblems(ctx context.Context, state string, limit int) ([]Problem, error) {
	if limit <= 0 {
		limit = 100
	}
	cols, args := problemCols(ctx)
	query := `SELECT ` + cols + ` FROM problems p WHERE 1 = 1`
	if state != "" {
		query += ` AND p.state = ?`
		args = append(args, state)
	}
	inSite, siteArgs := sharedSuffix(ctx, "p.site")
	query += inSite
	args = append(args, siteArgs...)
	query += ` ORDER BY p.updated_at DESC, p.id LIMIT ?`
	rows, err := s.r.QueryContext(ctx, s.q(query), append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list problems: %w", err)
	}
	defer rows.Close()
	var out []Problem
	for rows.Next() {
		p, err := scanProblem(rows)
		if err != nil {
			return nil, fmt.Errorf("list problems: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ProblemProposal is a group of open tickets, from at least two devices,
// that share the same failing health checks and no problem yet.
type ProblemProposal struct {
	Signature string   `json:"signature"`
	Checks    []string `json:"checks"`
	Devices   int      `json:"devices"`
	Tickets   []string `json:"tickets"`
}

// ProblemProposals groups unlinked open tickets by their failing-check
// signature across the fleet; groups spanning minDevices devices or more
// are proposed, largest first.
func (s *Store) ProblemProposals(ctx context.Context, minDevices int) ([]ProblemProposal, error) {
	inSite, siteArgs := siteSuffix(ctx, "site")
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT signature, id, device_id FROM tickets
		WHERE signature <> '' AND problem_id = '' AND state NOT IN (?, ?)`+inSite+` ORDER BY signature, created_at`), append([]any{TicketResolved, TicketClosed}, siteArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("problem proposals: %w", err)
	}
	defer rows.Close()
	bySig := map[string]*ProblemProposal{}
	devices := map[string]map[string]bool{}
	var order []string
	for rows.Next() {
		var sig, id, dev string
		if err := rows.Scan(&sig, &id, &dev); err != nil {
			return nil, fmt.Errorf("problem proposals: %w", err)
		}
		p := bySig[sig]
		if p == nil {
			p = &ProblemProposal{Signature: sig, Checks: strings.Split(sig, ",")}
			bySig[sig], devices[sig] = p, map[string]bool{}
			order = append(order, sig)
		}
		p.Tickets = append(p.Tickets, id)
		devices[sig][dev] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []ProblemProposal
	for _, sig := range order {
		p := bySig[sig]
		p.Devices = len(devices[sig])
		if p.Devices >= minDevices {
			out = append(out, *p)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j].Tickets) > len(out[j-1].Tickets); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}
