package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/wire"
)

// Run states.
const (
	RunQueued    = "queued"    // waiting for its device to be connected
	RunSent      = "sent"      // delivered to the agent; no result yet
	RunDone      = "done"      // the agent's result is stored (see Outcome)
	RunExpired   = "expired"   // never delivered before its expiry
	RunCancelled = "cancelled" // withdrawn before it was delivered
)

// Run is one run of a catalog fix on one device.
type Run struct {
	ID              string            `json:"id"`
	DeviceID        string            `json:"device_id"`
	Fix             string            `json:"fix"`
	Params          map[string]string `json:"params"`
	Ticket          string            `json:"ticket,omitempty"`
	BatchID         string            `json:"batch_id,omitempty"`
	RequestedBy     string            `json:"requested_by"`
	RequesterRole   Role              `json:"requester_role"`
	Tier            int               `json:"tier"` // the requester's tier, sent to the agent
	ConsentObtained bool              `json:"consent_obtained,omitempty"`
	State           string            `json:"state"`
	Outcome         string            `json:"outcome,omitempty"`
	Code            string            `json:"code,omitempty"`
	Reason          string            `json:"reason,omitempty"`
	CreatedAt       time.Time         `json:"created_at"`
	ExpiresAt       time.Time         `json:"expires_at"`
	SentAt          *time.Time        `json:"sent_at,omitempty"`
	FinishedAt      *time.Time        `json:"finished_at,omitempty"`
	// Result is the agent's report without its bundle (GetRun only).
	Result     *wire.RunResult `json:"result,omitempty"`
	BundleName string          `json:"bundle_name,omitempty"`
	BundleSize int             `json:"bundle_size,omitempty"`
	// Progress is the latest step the agent reported while the run was
	// sent; nil before the first. A finished run keeps its last one: where
	// a failed or timed-out install had got to.
	Progress *RunProgress `json:"progress,omitempty"`
}

// ProgressLine is the progress of a run in progress as pages show it
// ("Installing… 40% Unpacking hello"), "" when it has none or has
// finished. The text is the agent's: pages escape it.
func (r Run) ProgressLine() string {
	p := r.Progress
	if p == nil || r.State != RunSent {
		return ""
	}
	line := "Running…"
	if r.Fix == "install-software" {
		line = "Installing…"
	}
	if p.Percent != nil {
		line += fmt.Sprintf(" %d%%", *p.Percent)
	}
	return line + " " + p.Text
}

// RunProgress is a running run's latest progress step.
type RunProgress struct {
	// Percent is 0 to 100; nil when the agent does not know.
	Percent *int      `json:"percent,omitempty"`
	Text    string    `json:"text"`
	At      time.Time `json:"at"`
}

// Request is the message that asks the agent to run r.
func (r Run) Request() wire.RunRequest {
	return wire.RunRequest{RunID: r.ID, Fix: r.Fix, Params: r.Params, Tier: r.Tier, RequestedBy: r.RequestedBy,
		Ticket: r.Ticket, ConsentObtained: r.ConsentObtained, Expires: r.ExpiresAt}
}

// RunBatch is one fix requested on many devices at once.
type RunBatch struct {
	ID          string            `json:"id"`
	Fix         string            `json:"fix"`
	Params      map[string]string `json:"params"`
	Target      string            `json:"target"` // "group:NAME", "devices" or "all"
	RequestedBy string            `json:"requested_by"`
	CreatedAt   time.Time         `json:"created_at"`
	Total       int               `json:"total"`
	// Progress counts the batch's runs by state, and done runs by outcome.
	States   map[string]int `json:"states"`
	Outcomes map[string]int `json:"outcomes"`
}

// RunFilter selects runs for ListRuns. Zero values mean no filter.
type RunFilter struct {
	DeviceID, Ticket, BatchID, State string
	Limit                            int // default 100
}

const runCols = `id, device_id, fix, params, ticket, batch_id, requested_by, requester_role, tier, consent_obtained,
	state, outcome, code, reason, created_at, expires_at, sent_at, finished_at, bundle_name, COALESCE(LENGTH(bundle), 0),
	progress_percent, progress_text, progress_at`

func scanRun(sc interface{ Scan(...any) error }, extra ...any) (Run, error) {
	var r Run
	var params string
	var created, expires int64
	var sent, finished, pct, progAt sql.NullInt64
	var progText sql.NullString
	dest := []any{&r.ID, &r.DeviceID, &r.Fix, &params, &r.Ticket, &r.BatchID, &r.RequestedBy, &r.RequesterRole, &r.Tier,
		&r.ConsentObtained, &r.State, &r.Outcome, &r.Code, &r.Reason, &created, &expires, &sent, &finished, &r.BundleName, &r.BundleSize,
		&pct, &progText, &progAt}
	if err := sc.Scan(append(dest, extra...)...); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(params), &r.Params); err != nil {
		return r, fmt.Errorf("run %s: decode params: %w", r.ID, err)
	}
	r.CreatedAt, r.ExpiresAt = fromNS(created), fromNS(expires)
	r.SentAt, r.FinishedAt = nullTimePtr(sent), nullTimePtr(finished)
	if progAt.Valid {
		r.Progress = &RunProgress{Text: progText.String, At: fromNS(progAt.Int64)}
		if pct.Valid && pct.Int64 >= 0 && pct.Int64 <= 100 {
			p := int(pct.Int64)
			r.Progress.Percent = &p
		}
	}
	return r, nil
}

// SetRunProgress records a progress step of a run of device that is sent
// and has no result yet. It reports whether it did: a step of a finished,
// unknown or other device's run is dropped.
func (s *Store) SetRunProgress(ctx context.Context, deviceID string, p wire.RunProgress, at time.Time) (bool, error) {
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE runs SET progress_percent = ?, progress_text = ?, progress_at = ?
		WHERE id = ? AND device_id = ? AND state = ?`), p.Percent, p.Text, at.UnixNano(), p.RunID, deviceID, RunSent)
	if err != nil {
		return false, fmt.Errorf("record run %s progress: %w", p.RunID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record run %s progress: %w", p.RunID, err)
	}
	return n == 1, nil
}

// CreateRuns stores new runs (queued, or sent when State says so), their batch when b is not nil, and
// the audit events, in one transaction. ErrNotFound when a device does not
// exist or is revoked; ErrExists when a run id is taken.
//
// Concurrent calls are group-committed: one caller writes every request
// waiting at that moment in one transaction, so a burst of run requests
// costs one fsync rather than one each. When that transaction fails, each
// request is written on its own so that each gets its own answer.
func (s *Store) CreateRuns(ctx context.Context, b *RunBatch, runs []Run, audit ...AuditEvent) error {
	return s.runWrites.do(ctx, s, &runWrite{batch: b, runs: runs, audit: audit})
}

// runWrite is one CreateRuns call waiting to be committed.
type runWrite struct {
	batch *RunBatch
	runs  []Run
	audit []AuditEvent
	err   error
	done  chan struct{}
}

// groupCommit lets the first of several concurrent writers commit for all.
type groupCommit struct {
	mu      sync.Mutex
	pending []*runWrite
	leading bool
}

func (g *groupCommit) do(ctx context.Context, s *Store, w *runWrite) error {
	w.done = make(chan struct{})
	g.mu.Lock()
	g.pending = append(g.pending, w)
	if g.leading {
		g.mu.Unlock()
		select {
		case <-w.done:
			return w.err
		case <-ctx.Done():
			// The write may still be committed by the leader.
			return ctx.Err()
		}
	}
	g.leading = true
	for len(g.pending) > 0 {
		group := g.pending
		g.pending = nil
		g.mu.Unlock()
		s.commitRunWrites(context.WithoutCancel(ctx), group)
		g.mu.Lock()
	}
	g.leading = false
	g.mu.Unlock()
	<-w.done
	return w.err
}

func (s *Store) commitRunWrites(ctx context.Context, group []*runWrite) {
	defer func() {
		for _, w := range group {
			close(w.done)
		}
	}()
	if w := group[0]; len(group) == 1 && s.dialect == DialectPostgres && w.batch == nil && len(w.runs) == 1 && len(w.audit) == 1 {
		w.err = s.createRunPostgres(ctx, w.runs[0], w.audit[0])
		return
	}
	if len(group) > 1 {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			for _, w := range group {
				if err := s.createRuns(ctx, tx, w.batch, w.runs, w.audit); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			return
		}
	}
	for _, w := range group {
		w.err = s.inTx(ctx, func(tx *sql.Tx) error { return s.createRuns(ctx, tx, w.batch, w.runs, w.audit) })
	}
}

// runInsert stores one run: its columns from runArgs, the device's id
// last (no row when the device does not exist or is revoked).
const runInsert = `INSERT INTO runs (id, device_id, fix, params, ticket, batch_id, requested_by,
	requester_role, tier, consent_obtained, state, created_at, expires_at, sent_at)
	SELECT ?, id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM devices WHERE id = ? AND revoked_at IS NULL`

// runArgs are runInsert's arguments for r.
func runArgs(r Run) ([]any, error) {
	if r.ID == "" || r.Fix == "" || r.CreatedAt.IsZero() || r.ExpiresAt.IsZero() {
		return nil, errors.New("create run: id, fix, created and expiry times are required")
	}
	params, err := json.Marshal(r.Params)
	if err != nil {
		return nil, fmt.Errorf("create run %s: %w", r.ID, err)
	}
	if r.Params == nil {
		params = []byte("{}")
	}
	// A run about to be handed to a connected device is stored as sent
	// straight away, saving a second commit; if the hand-over fails it is
	// sent again at the next connection like any unanswered run.
	state, sent := RunQueued, any(nil)
	if r.State == RunSent {
		state, sent = RunSent, r.CreatedAt.UnixNano()
	}
	return []any{r.ID, r.Fix, string(params), r.Ticket, r.BatchID, r.RequestedBy, string(r.RequesterRole),
		r.Tier, r.ConsentObtained, state, r.CreatedAt.UnixNano(), r.ExpiresAt.UnixNano(), sent, r.DeviceID}, nil
}

// runInserted turns runInsert's outcome into CreateRuns' errors.
func runInserted(r Run, res sql.Result, err error) error {
	if isUniqueViolation(err) {
		return fmt.Errorf("create run %s: %w", r.ID, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create run %s: %w", r.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("create run: device %s: %w", r.DeviceID, ErrNotFound)
	}
	return nil
}

func (s *Store) createRuns(ctx context.Context, tx *sql.Tx, b *RunBatch, runs []Run, audit []AuditEvent) error {
	for _, e := range audit {
		if err := s.appendAudit(ctx, tx, e); err != nil {
			return err
		}
	}
	if b != nil {
		params, _ := json.Marshal(b.Params)
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO run_batches (id, fix, params, target, requested_by, created_at, total)
			VALUES (?, ?, ?, ?, ?, ?, ?)`), b.ID, b.Fix, string(params), b.Target, b.RequestedBy, b.CreatedAt.UnixNano(), len(runs)); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("create batch %s: %w", b.ID, ErrExists)
			}
			return fmt.Errorf("create batch %s: %w", b.ID, err)
		}
	}
	insert := s.q(runInsert)
	exec := func(args ...any) (sql.Result, error) { return tx.ExecContext(ctx, insert, args...) }
	if s.dialect == DialectSQLite && len(runs) > 1 {
		// SQLite parses a statement at each Exec: a batch parses it once.
		// (PostgreSQL's driver keeps its statements prepared per
		// connection already; preparing here would cost a round trip to
		// prepare and another to let go.)
		ins, err := tx.PrepareContext(ctx, insert)
		if err != nil {
			return fmt.Errorf("create runs: %w", err)
		}
		defer ins.Close()
		exec = func(args ...any) (sql.Result, error) { return ins.ExecContext(ctx, args...) }
	}
	for _, r := range runs {
		args, err := runArgs(r)
		if err != nil {
			return err
		}
		res, err := exec(args...)
		if err := runInserted(r, res, err); err != nil {
			return err
		}
	}
	return nil
}

// createRunPostgres stores one run and its audit entry in one statement,
// hence one round trip where a transaction took four (begin, two inserts,
// commit): the audit entry is written only with the run.
func (s *Store) createRunPostgres(ctx context.Context, r Run, e AuditEvent) error {
	args, err := runArgs(r)
	if err != nil {
		return err
	}
	audit, err := auditArgs(e)
	if err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, s.q(`WITH run AS (`+runInsert+` RETURNING id)
		INSERT INTO audit (time, actor, action, target, detail, remote, outcome) SELECT ?, ?, ?, ?, ?, ?, ? FROM run`),
		append(args, audit...)...)
	return runInserted(r, res, err)
}

// GetRun returns a run with its result.
func (s *Store) GetRun(ctx context.Context, id string) (Run, error) {
	var result sql.NullString
	inSite, siteArgs := deviceSiteSuffix(ctx, "device_id")
	r, err := scanRun(s.r.QueryRowContext(ctx, s.q(`SELECT `+runCols+`, result FROM runs WHERE id = ?`+inSite), append([]any{id}, siteArgs...)...), &result)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("get run %s: %w", id, err)
	}
	if result.Valid && result.String != "" {
		var res wire.RunResult
		if err := json.Unmarshal([]byte(result.String), &res); err != nil {
			return r, fmt.Errorf("run %s: decode result: %w", id, err)
		}
		r.Result = &res
	}
	return r, nil
}

// ListRuns returns runs matching f, newest first, without their results.
func (s *Store) ListRuns(ctx context.Context, f RunFilter) ([]Run, error) {
	var where []string
	var args []any
	for col, v := range map[string]string{"device_id": f.DeviceID, "ticket": f.Ticket, "batch_id": f.BatchID, "state": f.State} {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	if c, a := deviceSiteCond(ctx, "device_id"); c != "" {
		where, args = append(where, c), append(args, a...)
	}
	query := `SELECT ` + runCols + ` FROM runs`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	query += " ORDER BY created_at DESC, id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return out, nil
}

// PendingRuns returns a device's runs that still need delivering (queued,
// or sent without a result yet) and have not expired, oldest first: the
// device's ordered queue. Sent runs are included because a connection may
// have dropped before the agent received them; the agent answers a run it
// already handled with its recorded result.
func (s *Store) PendingRuns(ctx context.Context, deviceID string, now time.Time) ([]Run, error) {
	st, err := s.read(ctx, `SELECT `+runCols+` FROM runs
		WHERE device_id = ? AND state IN (?, ?) AND expires_at > ? ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("pending runs of %s: %w", deviceID, err)
	}
	rows, err := st.QueryContext(ctx, deviceID, RunQueued, RunSent, now.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("pending runs of %s: %w", deviceID, err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("pending runs of %s: %w", deviceID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// MarkRunSent records that a queued run was delivered.
func (s *Store) MarkRunSent(ctx context.Context, id string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, s.q(`UPDATE runs SET state = ?, sent_at = ? WHERE id = ? AND state = ?`),
		RunSent, at.UnixNano(), id, RunQueued)
	if err != nil {
		return fmt.Errorf("mark run %s sent: %w", id, err)
	}
	return nil
}

// CancelRun withdraws a queued run. ErrNotFound for an unknown id;
// ErrRunNotQueued when it was already delivered or finished.
func (s *Store) CancelRun(ctx context.Context, id string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE runs SET state = ?, finished_at = ?, reason = ? WHERE id = ? AND state = ?`),
		RunCancelled, at.UnixNano(), "cancelled before it was delivered", id, RunQueued)
	if err != nil {
		return fmt.Errorf("cancel run %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := s.GetRun(ctx, id); err != nil {
		return err
	}
	return fmt.Errorf("cancel run %s: %w", id, ErrRunNotQueued)
}

// ErrRunNotQueued: the run was already delivered to the agent or finished.
var ErrRunNotQueued = errors.New("run is no longer queued: it was delivered to the device or has finished")

// sentGrace is how long after its expiry a delivered run without a result
// is given up: the agent refuses runs that arrive late, but one that
// arrived in time may still be running.
const sentGrace = 15 * time.Minute

// ExpireRuns ends runs that can no longer be delivered: queued runs past
// their expiry, and sent runs without a result sentGrace after it. It
// returns the ids it expired.
func (s *Store) ExpireRuns(ctx context.Context, now time.Time) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id FROM runs WHERE (state = ? AND expires_at <= ?) OR (state = ? AND expires_at <= ?)`),
		RunQueued, now.UnixNano(), RunSent, now.Add(-sentGrace).UnixNano())
	if err != nil {
		return nil, fmt.Errorf("expire runs: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("expire runs: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	var done []string
	for _, id := range ids {
		res, err := s.w.ExecContext(ctx, s.q(`UPDATE runs SET state = ?, finished_at = ?, reason = ?
			WHERE id = ? AND state IN (?, ?)`), RunExpired, now.UnixNano(),
			"expired: the device was not connected before the run's expiry", id, RunQueued, RunSent)
		if err != nil {
			return done, fmt.Errorf("expire run %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			done = append(done, id)
		}
	}
	return done, nil
}

// RunBundle returns the log bundle a run uploaded. ErrNotFound when the
// run has none.
func (s *Store) RunBundle(ctx context.Context, id string) (string, []byte, error) {
	var name string
	var b []byte
	err := s.r.QueryRowContext(ctx, s.q(`SELECT bundle_name, bundle FROM runs WHERE id = ? AND bundle IS NOT NULL`), id).Scan(&name, &b)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, fmt.Errorf("bundle of run %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return "", nil, fmt.Errorf("bundle of run %s: %w", id, err)
	}
	return name, b, nil
}

// GetRunBatch returns a batch with its progress.
func (s *Store) GetRunBatch(ctx context.Context, id string) (RunBatch, error) {
	var b RunBatch
	var params string
	var created int64
	err := s.r.QueryRowContext(ctx, s.q(`SELECT id, fix, params, target, requested_by, created_at, total FROM run_batches WHERE id = ?`), id).
		Scan(&b.ID, &b.Fix, &params, &b.Target, &b.RequestedBy, &created, &b.Total)
	if errors.Is(err, sql.ErrNoRows) {
		return b, fmt.Errorf("batch %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return b, fmt.Errorf("get batch %s: %w", id, err)
	}
	b.CreatedAt = fromNS(created)
	if err := json.Unmarshal([]byte(params), &b.Params); err != nil {
		return b, fmt.Errorf("batch %s: decode params: %w", id, err)
	}
	b.States, b.Outcomes = map[string]int{}, map[string]int{}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT state, outcome, COUNT(*) FROM runs WHERE batch_id = ? GROUP BY state, outcome`), id)
	if err != nil {
		return b, fmt.Errorf("batch %s progress: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var state, outcome string
		var n int
		if err := rows.Scan(&state, &outcome, &n); err != nil {
			return b, fmt.Errorf("batch %s progress: %w", id, err)
		}
		b.States[state] += n
		if state == RunDone {
			b.Outcomes[outcome] += n
		}
	}
	return b, rows.Err()
}

// applyRunResult stores an agent's result for one of its runs inside an
// ingest transaction and appends the audit event. What the agent reports
// wins over an expiry or a cancel that crossed it on the way. A result for a run that
// is not this device's, or that already has one, changes nothing: results
// are replayed after reconnects and only the first counts. It returns
// the run's id when this result finished it.
func (s *Store) applyRunResult(ctx context.Context, tx *sql.Tx, deviceID string, res *wire.RunResult, received time.Time) (Run, bool, error) {
	bundle, name := res.Bundle, res.BundleName
	stored := *res
	stored.Bundle = nil
	doc, err := json.Marshal(stored)
	if err != nil {
		return Run{}, false, fmt.Errorf("encode run result %s: %w", res.RunID, err)
	}
	var bundleArg any
	if len(bundle) > 0 {
		bundleArg = bundle
	}
	up, err := tx.ExecContext(ctx, s.q(`UPDATE runs SET state = ?, outcome = ?, code = ?, reason = ?, result = ?, bundle = ?,
		bundle_name = ?, finished_at = ? WHERE id = ? AND device_id = ? AND state IN (?, ?, ?, ?)`),
		RunDone, res.Outcome, res.Code, clipText(res.Reason, 2000), string(doc), bundleArg, name, received.UnixNano(),
		res.RunID, deviceID, RunQueued, RunSent, RunExpired, RunCancelled)
	if err != nil {
		return Run{}, false, fmt.Errorf("store run result %s: %w", res.RunID, err)
	}
	if n, _ := up.RowsAffected(); n == 0 {
		if res.Local == nil || res.Fix != catalog.InstallSoftware {
			return Run{}, false, nil
		}
		// A software install the user at the device ran: the hub never
		// queued it, and records it as done now.
		params, _ := json.Marshal(map[string]string{"entry": res.Local.Params["entry"]})
		ins, err := tx.ExecContext(ctx, s.q(`INSERT INTO runs (id, device_id, fix, params, requested_by, requester_role, tier, state,
			outcome, code, reason, result, created_at, expires_at, sent_at, finished_at)
			SELECT ?, id, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM devices WHERE id = ? ON CONFLICT (id) DO NOTHING`),
			res.RunID, res.Fix, string(params), clipText("local user "+res.Local.User+" (self-service)", 255), "device-user", RunDone,
			res.Outcome, res.Code, clipText(res.Reason, 2000), string(doc), res.Started.UnixNano(), res.Started.UnixNano(),
			res.Started.UnixNano(), received.UnixNano(), deviceID)
		if err != nil {
			return Run{}, false, fmt.Errorf("store local run %s: %w", res.RunID, err)
		}
		if n, _ := ins.RowsAffected(); n == 0 {
			return Run{}, false, nil
		}
	}
	r, err := scanRun(tx.QueryRowContext(ctx, s.q(`SELECT `+runCols+` FROM runs WHERE id = ?`), res.RunID))
	if err != nil {
		return Run{}, false, fmt.Errorf("read run %s: %w", res.RunID, err)
	}
	detail, _ := json.Marshal(map[string]any{"run": r.ID, "fix": r.Fix, "params": r.Params, "ticket": r.Ticket,
		"outcome": res.Outcome, "code": res.Code, "reason": clipText(res.Reason, 500)})
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO audit (time, actor, action, target, detail, remote, outcome)
		VALUES (?, ?, ?, ?, ?, ?, ?)`), received.UnixNano(), r.RequestedBy, "run.result", deviceID, string(detail), "agent", res.Outcome); err != nil {
		return Run{}, false, fmt.Errorf("audit run result %s: %w", res.RunID, err)
	}
	return r, true, nil
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
