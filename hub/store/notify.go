package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// NotifyPrefs is one user's stored notification choices: Prefs is the
// JSON document hub/notify reads and writes (the store does not look into
// it); WebhookSecret signs the user's webhook and never leaves the hub.
type NotifyPrefs struct {
	UserID        string
	Prefs         string
	WebhookSecret string
	UpdatedAt     time.Time
}

// GetNotifyPrefs returns a user's stored choices. ErrNotFound when the
// user never saved any.
func (s *Store) GetNotifyPrefs(ctx context.Context, userID string) (NotifyPrefs, error) {
	p := NotifyPrefs{UserID: userID}
	var at int64
	err := s.r.QueryRowContext(ctx, s.q(`SELECT prefs, webhook_secret, updated_at FROM notify_prefs WHERE user_id = ?`), userID).
		Scan(&p.Prefs, &p.WebhookSecret, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("notification settings of %s: %w", userID, ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("notification settings of %s: %w", userID, err)
	}
	p.UpdatedAt = fromNS(at)
	return p, nil
}

// PutNotifyPrefs stores a user's choices. An empty WebhookSecret keeps
// the stored one unless clearSecret is set. ErrNotFound for an unknown
// user.
func (s *Store) PutNotifyPrefs(ctx context.Context, p NotifyPrefs, clearSecret bool) error {
	setSecret := `webhook_secret = notify_prefs.webhook_secret`
	if p.WebhookSecret != "" || clearSecret {
		setSecret = `webhook_secret = excluded.webhook_secret`
	}
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO notify_prefs (user_id, prefs, webhook_secret, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET prefs = excluded.prefs, `+setSecret+`, updated_at = excluded.updated_at`),
		p.UserID, p.Prefs, p.WebhookSecret, p.UpdatedAt.UnixNano())
	if err != nil && isForeignKeyViolation(err) {
		return fmt.Errorf("notification settings of %s: %w", p.UserID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("save notification settings of %s: %w", p.UserID, err)
	}
	return nil
}

// ListNotifyPrefs returns every stored choice, by user id.
func (s *Store) ListNotifyPrefs(ctx context.Context) (map[string]NotifyPrefs, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT user_id, prefs, webhook_secret, updated_at FROM notify_prefs`)
	if err != nil {
		return nil, fmt.Errorf("list notification settings: %w", err)
	}
	defer rows.Close()
	out := map[string]NotifyPrefs{}
	for rows.Next() {
		var p NotifyPrefs
		var at int64
		if err := rows.Scan(&p.UserID, &p.Prefs, &p.WebhookSecret, &at); err != nil {
			return nil, fmt.Errorf("list notification settings: %w", err)
		}
		p.UpdatedAt = fromNS(at)
		out[p.UserID] = p
	}
	return out, rows.Err()
}

// Notification is one thing a user is told about; the console's bell
// lists them.
type Notification struct {
	ID     string `json:"id"`
	UserID string `json:"-"`
	// DedupeKey names what it is about: a user is notified of it once.
	DedupeKey string     `json:"-"`
	Event     string     `json:"event"`
	TicketID  string     `json:"ticket_id,omitempty"`
	DeviceID  string     `json:"device_id,omitempty"`
	Title     string     `json:"title"`
	Body      string     `json:"body,omitempty"`
	Link      string     `json:"link,omitempty"` // console path, e.g. /tickets/ID
	CreatedAt time.Time  `json:"created_at"`
	ReadAt    *time.Time `json:"read_at,omitempty"`
}

const notificationCols = `id, user_id, dedupe_key, event, ticket_id, device_id, title, body, link, created_at, read_at`

func scanNotification(sc rowScanner) (Notification, error) {
	var n Notification
	var created int64
	var read sql.NullInt64
	if err := sc.Scan(&n.ID, &n.UserID, &n.DedupeKey, &n.Event, &n.TicketID, &n.DeviceID, &n.Title, &n.Body, &n.Link, &created, &read); err != nil {
		return n, err
	}
	n.CreatedAt, n.ReadAt = fromNS(created), nullTimePtr(read)
	return n, nil
}

// Notification delivery states and channels.
const (
	NotifyPending   = "pending"
	NotifySent      = "sent"
	NotifyAbandoned = "abandoned" // refused for good, or the user removed the channel
	NotifyEmail     = "email"
	NotifyWebhook   = "webhook"
)

// NotifyDelivery is one notification over one channel.
type NotifyDelivery struct {
	ID             string     `json:"id"`
	NotificationID string     `json:"notification_id"`
	UserID         string     `json:"user_id"`
	Channel        string     `json:"channel"`
	State          string     `json:"state"`
	Attempts       int        `json:"attempts"`
	LastError      string     `json:"last_error,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	NextAttemptAt  *time.Time `json:"next_attempt_at,omitempty"`
	DoneAt         *time.Time `json:"done_at,omitempty"`
}

const notifyDeliveryCols = `id, notification_id, user_id, channel, state, attempts, last_error, created_at, next_attempt_at, done_at`

func scanNotifyDelivery(sc rowScanner) (NotifyDelivery, error) {
	var d NotifyDelivery
	var created int64
	var next, done sql.NullInt64
	if err := sc.Scan(&d.ID, &d.NotificationID, &d.UserID, &d.Channel, &d.State, &d.Attempts, &d.LastError, &created, &next, &done); err != nil {
		return d, err
	}
	d.CreatedAt, d.NextAttemptAt, d.DoneAt = fromNS(created), nullTimePtr(next), nullTimePtr(done)
	return d, nil
}

// NewNotification is a notification to store with its deliveries.
type NewNotification struct {
	Notification
	Deliveries []NotifyDelivery
}

// AddNotification stores a notification with its deliveries in one
// transaction. It reports false, storing nothing, when the user was
// notified of n.DedupeKey before.
func (s *Store) AddNotification(ctx context.Context, n Notification, deliveries []NotifyDelivery) (bool, error) {
	added, err := s.AddNotifications(ctx, []NewNotification{{Notification: n, Deliveries: deliveries}})
	if err != nil {
		return false, err
	}
	return added[0], nil
}

// AddNotifications stores notifications with their deliveries in one
// transaction (one thing told to many users costs one commit) and reports
// for each whether it was added: false when its user was notified of its
// DedupeKey before, or the user is gone. Nothing is stored on an error.
func (s *Store) AddNotifications(ctx context.Context, ns []NewNotification) ([]bool, error) {
	added := make([]bool, len(ns))
	if len(ns) == 0 {
		return added, nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for i, nn := range ns {
			n := nn.Notification
			if n.ID == "" || n.UserID == "" || n.DedupeKey == "" || n.Event == "" {
				return errors.New("add notification: id, user, dedupe key and event are required")
			}
			// The user's row is checked here rather than left to the
			// foreign key, whose failure would end the whole transaction
			// on PostgreSQL.
			var users int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM users WHERE id = ?`), n.UserID).Scan(&users); err != nil {
				return fmt.Errorf("notify user %s: %w", n.UserID, err)
			}
			if users == 0 {
				continue
			}
			res, err := tx.ExecContext(ctx, s.q(`INSERT INTO notifications (`+notificationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (user_id, dedupe_key) DO NOTHING`), n.ID, n.UserID, n.DedupeKey, n.Event, n.TicketID, n.DeviceID,
				n.Title, n.Body, n.Link, n.CreatedAt.UnixNano(), nsPtr(n.ReadAt))
			if err != nil {
				return fmt.Errorf("notify user %s: %w", n.UserID, err)
			}
			if k, _ := res.RowsAffected(); k == 0 {
				continue
			}
			added[i] = true
			for _, d := range nn.Deliveries {
				if d.ID == "" || (d.Channel != NotifyEmail && d.Channel != NotifyWebhook) {
					return fmt.Errorf("notify user %s: a delivery needs an id and the channel email or webhook", n.UserID)
				}
				next := n.CreatedAt
				if d.NextAttemptAt != nil {
					next = *d.NextAttemptAt
				}
				if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO notify_outbox (id, notification_id, user_id, channel, state, created_at, next_attempt_at)
					VALUES (?, ?, ?, ?, ?, ?, ?)`), d.ID, n.ID, n.UserID, d.Channel, NotifyPending, n.CreatedAt.UnixNano(), next.UnixNano()); err != nil {
					return fmt.Errorf("notify user %s: queue %s: %w", n.UserID, d.Channel, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return make([]bool, len(ns)), err
	}
	return added, nil
}

// GetNotification returns one notification. ErrNotFound if none.
func (s *Store) GetNotification(ctx context.Context, id string) (Notification, error) {
	n, err := scanNotification(s.r.QueryRowContext(ctx, s.q(`SELECT `+notificationCols+` FROM notifications WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return n, fmt.Errorf("notification %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return n, fmt.Errorf("notification %s: %w", id, err)
	}
	return n, nil
}

// Notifications lists a user's notifications, newest first, at most
// limit; only the unread ones when unreadOnly.
func (s *Store) Notifications(ctx context.Context, userID string, unreadOnly bool, limit int) ([]Notification, error) {
	query := `SELECT ` + notificationCols + ` FROM notifications WHERE user_id = ?`
	if unreadOnly {
		query += ` AND read_at IS NULL`
	}
	rows, err := s.r.QueryContext(ctx, s.q(query+` ORDER BY created_at DESC, id DESC LIMIT ?`), userID, limit)
	if err != nil {
		return nil, fmt.Errorf("notifications of %s: %w", userID, err)
	}
	defer rows.Close()
	out := []Notification{}
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, fmt.Errorf("notifications of %s: %w", userID, err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// UnreadNotifications counts a user's unread notifications.
func (s *Store) UnreadNotifications(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM notifications WHERE user_id = ? AND read_at IS NULL`), userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("unread notifications of %s: %w", userID, err)
	}
	return n, nil
}

// MarkNotificationsRead marks the user's notifications ids (all of them
// when ids is empty) read at at and returns how many were unread. Ids of
// other users' notifications are left alone.
func (s *Store) MarkNotificationsRead(ctx context.Context, userID string, ids []string, at time.Time) (int, error) {
	query := `UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL`
	args := []any{at.UnixNano(), userID}
	if len(ids) > 0 {
		query += ` AND id IN (?` + strings.Repeat(", ?", len(ids)-1) + `)`
		for _, id := range ids {
			args = append(args, id)
		}
	}
	res, err := s.w.ExecContext(ctx, s.q(query), args...)
	if err != nil {
		return 0, fmt.Errorf("mark notifications read: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DueNotifyDeliveries returns pending deliveries whose next attempt is
// due by now, oldest first.
func (s *Store) DueNotifyDeliveries(ctx context.Context, now time.Time, limit int) ([]NotifyDelivery, error) {
	return s.notifyDeliveries(ctx, `WHERE state = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`, NotifyPending, now.UnixNano(), limit)
}

// NotificationDeliveries lists a notification's deliveries.
func (s *Store) NotificationDeliveries(ctx context.Context, notificationID string) ([]NotifyDelivery, error) {
	return s.notifyDeliveries(ctx, `WHERE notification_id = ? ORDER BY channel`, notificationID)
}

func (s *Store) notifyDeliveries(ctx context.Context, where string, args ...any) ([]NotifyDelivery, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+notifyDeliveryCols+` FROM notify_outbox `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("notification outbox: %w", err)
	}
	defer rows.Close()
	out := []NotifyDelivery{}
	for rows.Next() {
		d, err := scanNotifyDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("notification outbox: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// NotifySentSince counts the deliveries sent to a user over channel after
// since (the per-user rate limit).
func (s *Store) NotifySentSince(ctx context.Context, userID, channel string, since time.Time) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM notify_outbox WHERE user_id = ? AND channel = ? AND state = ? AND done_at > ?`),
		userID, channel, NotifySent, since.UnixNano()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("notifications sent to %s: %w", userID, err)
	}
	return n, nil
}

// DeferNotifyDelivery moves a pending delivery's next attempt to until
// without counting an attempt (the rate limit holds it back), with why.
func (s *Store) DeferNotifyDelivery(ctx context.Context, id string, until time.Time, why string) error {
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE notify_outbox SET next_attempt_at = ?, last_error = ? WHERE id = ? AND state = ?`),
		until.UnixNano(), why, id, NotifyPending)
	if err != nil {
		return fmt.Errorf("defer notification delivery %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("pending notification delivery %s: %w", id, ErrNotFound)
	}
	return nil
}

// FinishNotifyDelivery records an attempt's outcome: state sent or
// abandoned ends the delivery; pending schedules the next attempt at next
// with the error that made this one fail.
func (s *Store) FinishNotifyDelivery(ctx context.Context, id, state, lastError string, next *time.Time, now time.Time) error {
	return s.finishAttempt(ctx, "notify_outbox", "notification delivery", NotifyPending, id, state, lastError, next, now)
}

// NotifyOutboxCounts counts the outbox's pending deliveries, and those of
// them that failed at least once.
func (s *Store) NotifyOutboxCounts(ctx context.Context) (pending, failing int, err error) {
	err = s.r.QueryRowContext(ctx, s.q(`SELECT COALESCE(SUM(CASE WHEN state = ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN state = ? AND attempts > 0 THEN 1 ELSE 0 END), 0) FROM notify_outbox`), NotifyPending, NotifyPending).Scan(&pending, &failing)
	if err != nil {
		err = fmt.Errorf("notification outbox counts: %w", err)
	}
	return
}

// DevicesWentOffline lists devices of groups that are offline and not
// revoked, whose connection ended (last_seen) in [from, to].
func (s *Store) DevicesWentOffline(ctx context.Context, groups []string, from, to time.Time) ([]Device, error) {
	if len(groups) == 0 {
		return nil, nil
	}
	args := []any{false, from.UnixNano(), to.UnixNano()}
	for _, g := range groups {
		args = append(args, g)
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+deviceCols+` FROM devices WHERE online = ? AND revoked_at IS NULL
		AND last_seen >= ? AND last_seen <= ? AND grp IN (?`+strings.Repeat(", ?", len(groups)-1)+`) ORDER BY last_seen, id`), args...)
	if err != nil {
		return nil, fmt.Errorf("devices gone offline: %w", err)
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("devices gone offline: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
