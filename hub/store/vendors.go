package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"time"
)

// Vendor is a Tier 4 vendor: a contracted party tickets can be forwarded
// to by webhook, email or both. WebhookSecret signs webhook bodies; it is
// write-only and never leaves the hub through the API.
type Vendor struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Email         string `json:"email,omitempty"`
	WebhookURL    string `json:"webhook_url,omitempty"`
	WebhookSecret string `json:"-"`
	// HasSecret reports whether a webhook secret is set.
	HasSecret   bool   `json:"has_secret"`
	ContractRef string `json:"contract_ref,omitempty"`
	// ResponseTarget is how long the vendor has to answer before the hub
	// reminds it; 0 means no reminders.
	ResponseTarget time.Duration `json:"response_target_ns"`
	CreatedAt      time.Time     `json:"created_at"`
	UpdatedAt      time.Time     `json:"updated_at"`
	DisabledAt     *time.Time    `json:"disabled_at,omitempty"`
	// Site keeps the vendor to one site; "" shares it with every site.
	Site string `json:"site,omitempty"`
}

const vendorCols = `id, name, email, webhook_url, webhook_secret, contract_ref, response_target_ns, created_at, updated_at, disabled_at, site`

func scanVendor(sc rowScanner) (Vendor, error) {
	var v Vendor
	var target, created, updated int64
	var disabled sql.NullInt64
	var site sql.NullString
	if err := sc.Scan(&v.ID, &v.Name, &v.Email, &v.WebhookURL, &v.WebhookSecret, &v.ContractRef, &target, &created, &updated, &disabled, &site); err != nil {
		return v, err
	}
	v.Site = site.String
	v.HasSecret = v.WebhookSecret != ""
	v.ResponseTarget = time.Duration(target)
	v.CreatedAt, v.UpdatedAt, v.DisabledAt = fromNS(created), fromNS(updated), nullTimePtr(disabled)
	return v, nil
}

// CreateVendor stores a new vendor. ErrExists when the id or name is
// taken.
func (s *Store) CreateVendor(ctx context.Context, v Vendor) error {
	if v.ID == "" || v.Name == "" {
		return errors.New("create vendor: id and name are required")
	}
	if v.CreatedAt.IsZero() {
		v.CreatedAt = time.Now()
	}
	if err := checkRecordSite(ctx, v.Site); err != nil {
		return fmt.Errorf("create vendor: %w", err)
	}
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO vendors (`+vendorCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		v.ID, v.Name, v.Email, v.WebhookURL, v.WebhookSecret, v.ContractRef, int64(v.ResponseTarget),
		v.CreatedAt.UnixNano(), v.CreatedAt.UnixNano(), nsPtr(v.DisabledAt), nullSite(v.Site))
	if isUniqueViolation(err) {
		return fmt.Errorf("create vendor %s: %w", v.Name, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create vendor %s: %w", v.Name, err)
	}
	return nil
}

// UpdateVendor stores a vendor's name, contacts, contract and target. An
// empty WebhookSecret keeps the stored one unless clearSecret is set.
// ErrNotFound for an unknown id, ErrExists when the name is taken.
func (s *Store) UpdateVendor(ctx context.Context, v Vendor, clearSecret bool, at time.Time) error {
	query := `UPDATE vendors SET name = ?, email = ?, webhook_url = ?, contract_ref = ?, response_target_ns = ?, updated_at = ?`
	args := []any{v.Name, v.Email, v.WebhookURL, v.ContractRef, int64(v.ResponseTarget), at.UnixNano()}
	if v.WebhookSecret != "" || clearSecret {
		query += `, webhook_secret = ?`
		args = append(args, v.WebhookSecret)
	}
	inSite, siteArgs := siteSuffix(ctx, "site")
	res, err := s.w.ExecContext(ctx, s.q(query+` WHERE id = ?`+inSite), append(append(args, v.ID), siteArgs...)...)
	if isUniqueViolation(err) {
		return fmt.Errorf("rename vendor %s to %s: %w", v.ID, v.Name, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("update vendor %s: %w", v.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("vendor %s: %w", v.ID, ErrNotFound)
	}
	return nil
}

// SetVendorDisabled disables (at non-nil) or re-enables a vendor.
func (s *Store) SetVendorDisabled(ctx context.Context, id string, at *time.Time, now time.Time) error {
	inSite, siteArgs := siteSuffix(ctx, "site")
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE vendors SET disabled_at = ?, updated_at = ? WHERE id = ?`+inSite), append([]any{nsPtr(at), now.UnixNano(), id}, siteArgs...)...)
	if err != nil {
		return fmt.Errorf("disable vendor %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("vendor %s: %w", id, ErrNotFound)
	}
	return nil
}

// GetVendor returns a vendor by id or, failing that, by name.
func (s *Store) GetVendor(ctx context.Context, idOrName string) (Vendor, error) {
	inSite, siteArgs := sharedSuffix(ctx, "site")
	v, err := scanVendor(s.r.QueryRowContext(ctx, s.q(`SELECT `+vendorCols+` FROM vendors WHERE (id = ? OR name = ?)`+inSite+` ORDER BY id = ? DESC LIMIT 1`),
		append(append([]any{idOrName, idOrName}, siteArgs...), idOrName)...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("vendor %s: %w", idOrName, ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("get vendor %s: %w", idOrName, err)
	}
	return v, nil
}

// ListVendors lists vendors by name; disabled ones only when asked.
func (s *Store) ListVendors(ctx context.Context, withDisabled bool) ([]Vendor, error) {
	query := `SELECT ` + vendorCols + ` FROM vendors WHERE 1 = 1`
	if !withDisabled {
		query += ` AND disabled_at IS NULL`
	}
	inSite, siteArgs := sharedSuffix(ctx, "site")
	rows, err := s.r.QueryContext(ctx, s.q(query+inSite+` ORDER BY name`), siteArgs...)
	if err != nil {
		return nil, fmt.Errorf("list vendors: %w", err)
	}
	defer rows.Close()
	out := []Vendor{}
	for rows.Next() {
		v, err := scanVendor(rows)
		if err != nil {
			return nil, fmt.Errorf("list vendors: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Vendor delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryAbandoned = "abandoned" // the vendor was disabled or deleted meanwhile
)

// Vendor delivery channels.
const (
	ChannelWebhook = "webhook"
	ChannelEmail   = "email"
)

// VendorDelivery is one message to a vendor over one channel: the ticket
// forwarded (kind "escalation") or a reminder ("reminder").
type VendorDelivery struct {
	ID            string     `json:"id"`
	TicketID      string     `json:"ticket_id"`
	VendorID      string     `json:"vendor_id"`
	EventID       int64      `json:"event_id"`
	Kind          string     `json:"kind"`
	Channel       string     `json:"channel"`
	Note          string     `json:"note,omitempty"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	DoneAt        *time.Time `json:"done_at,omitempty"`
}

const deliveryCols = `id, ticket_id, vendor_id, event_id, kind, channel, note, state, attempts, last_error, created_at, next_attempt_at, done_at`

func scanDelivery(sc rowScanner) (VendorDelivery, error) {
	var d VendorDelivery
	var created int64
	var next, done sql.NullInt64
	if err := sc.Scan(&d.ID, &d.TicketID, &d.VendorID, &d.EventID, &d.Kind, &d.Channel, &d.Note, &d.State, &d.Attempts, &d.LastError,
		&created, &next, &done); err != nil {
		return d, err
	}
	d.CreatedAt, d.NextAttemptAt, d.DoneAt = fromNS(created), nullTimePtr(next), nullTimePtr(done)
	return d, nil
}

func (s *Store) insertDeliveries(ctx context.Context, tx *sql.Tx, e TicketEvent) error {
	for _, d := range e.Deliveries {
		if d.ID == "" || d.VendorID == "" || d.Channel == "" || d.Kind == "" {
			return fmt.Errorf("ticket %s: vendor delivery needs id, vendor, channel and kind", e.TicketID)
		}
		next := e.Time
		if d.NextAttemptAt != nil {
			next = *d.NextAttemptAt
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO vendor_deliveries (id, ticket_id, vendor_id, event_id, kind, channel, note, state, created_at, next_attempt_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), d.ID, e.TicketID, d.VendorID, e.ID, d.Kind, d.Channel, d.Note, DeliveryPending,
			e.Time.UnixNano(), next.UnixNano()); err != nil {
			return fmt.Errorf("ticket %s: queue vendor delivery: %w", e.TicketID, err)
		}
	}
	return nil
}

// DueDeliveries returns pending vendor deliveries whose next attempt is
// due by now, oldest first.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]VendorDelivery, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+deliveryCols+` FROM vendor_deliveries WHERE state = ? AND next_attempt_at <= ?
		ORDER BY next_attempt_at, id LIMIT ?`), DeliveryPending, now.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("due vendor deliveries: %w", err)
	}
	defer rows.Close()
	var out []VendorDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("due vendor deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// TicketDeliveries lists a ticket's vendor deliveries, oldest first.
func (s *Store) TicketDeliveries(ctx context.Context, ticketID string) ([]VendorDelivery, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+deliveryCols+` FROM vendor_deliveries WHERE ticket_id = ? ORDER BY created_at, id`), ticketID)
	if err != nil {
		return nil, fmt.Errorf("ticket deliveries: %w", err)
	}
	defer rows.Close()
	out := []VendorDelivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("ticket deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// FinishDelivery records an attempt's outcome: state delivered or
// abandoned ends the delivery; pending schedules the next attempt at next
// with the error that made this one fail.
func (s *Store) FinishDelivery(ctx context.Context, id, state, lastError string, next *time.Time, now time.Time) error {
	return s.finishAttempt(ctx, "vendor_deliveries", "vendor delivery", DeliveryPending, id, state, lastError, next, now)
}

// WithJobLock runs fn only if no other hub sharing the database is running
// the job named job: on PostgreSQL under a session advisory lock held on
// one connection for the run (several replicas, one runs the pass); on
// SQLite, whose database one hub owns, fn always runs. It reports whether
// fn ran.
func (s *Store) WithJobLock(ctx context.Context, job string, fn func(ctx context.Context) error) (bool, error) {
	if s.dialect != DialectPostgres {
		s.observeJob(job, true)
		return true, fn(ctx)
	}
	key := JobLockKey(job)
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("job %s: lock: %w", job, err)
	}
	defer conn.Close()
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil {
		return false, fmt.Errorf("job %s: lock: %w", job, err)
	}
	s.observeJob(job, got)
	if !got {
		return false, nil
	}
	defer func() {
		// The unlock must run even when ctx has ended, or the lock would
		// stay with the pooled connection.
		uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(uctx, `SELECT pg_advisory_unlock($1)`, key); err != nil {
			// A connection that could not unlock must not go back to the pool.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return true, fn(ctx)
}

// OnJob sets a function told of each WithJobLock attempt: the job's name
// and whether this hub ran it (false: another replica held it). Call it
// before the jobs start.
func (s *Store) OnJob(fn func(job string, ran bool)) { s.onJob = fn }

func (s *Store) observeJob(job string, ran bool) {
	if s.onJob != nil {
		s.onJob(job, ran)
	}
}

// JobLockKey is the PostgreSQL advisory lock key WithJobLock takes for
// job (an operator can see who holds it in pg_locks).
func JobLockKey(job string) int64 {
	h := fnv.New64a()
	h.Write([]byte("tierline.job." + job))
	return int64(h.Sum64() >> 1)
}
