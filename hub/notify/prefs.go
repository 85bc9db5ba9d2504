package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/vendors"
	"github.com/tierline/tierline/shared/wire"
)

// Events a technician can be notified of.
const (
	EvTicketNew     = "ticket_new"     // a new ticket in a tier or queue I watch
	EvAssigned      = "assigned"       // a ticket was assigned to me
	EvUserReplied   = "user_replied"   // the user replied on my ticket
	EvCollaborator  = "collaborator"   // I was added to a ticket as collaborator
	EvSLA75         = "sla_75"         // 75% of the tier's time limit is used on my ticket
	EvSLABreach     = "sla_breach"     // my ticket's tier time limit passed
	EvEscalated     = "escalated"      // a ticket was escalated to my tier
	EvVendorOverdue = "vendor_overdue" // the vendor of my ticket did not answer in time
	EvDeviceOffline = "device_offline" // a device of a group I watch went offline
)

// EventInfo describes one event for the preferences page and the API.
type EventInfo struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	// Default is the rule of a user who never chose.
	Default Rule `json:"default"`
}

// Events lists the events in the order the preferences page shows them.
var Events = []EventInfo{
	{EvTicketNew, "A new ticket arrives in a tier or queue I watch", Rule{Bell: true}},
	{EvAssigned, "A ticket is assigned to me", Rule{Bell: true}},
	{EvUserReplied, "The user replied on a ticket of mine", Rule{Bell: true}},
	{EvCollaborator, "I am added to a ticket as collaborator", Rule{Bell: true}},
	{EvSLA75, "75% of the time limit is used on a ticket of mine", Rule{Bell: true}},
	{EvSLABreach, "The time limit of a ticket of mine passed", Rule{Bell: true}},
	{EvEscalated, "A ticket is escalated to my tier", Rule{}},
	{EvVendorOverdue, "A vendor did not answer on a ticket of mine in time", Rule{Bell: true}},
	{EvDeviceOffline, "A device of a group I watch goes offline", Rule{Bell: true}},
}

func eventInfo(name string) (EventInfo, bool) {
	i := slices.IndexFunc(Events, func(e EventInfo) bool { return e.Name == name })
	if i < 0 {
		return EventInfo{}, false
	}
	return Events[i], true
}

// Rule is how a user is told of one event: in the console's bell, and
// also by email and/or webhook. Always sends email and webhook even in
// the user's quiet hours.
type Rule struct {
	Bell    bool `json:"bell"`
	Email   bool `json:"email"`
	Webhook bool `json:"webhook"`
	Always  bool `json:"always"`
}

// Webhook body formats.
const (
	FormatGeneric = "generic" // Tierline's JSON, signed like vendor webhooks
	FormatSlack   = "slack"   // a Slack incoming webhook's {"text": ...}
	FormatTeams   = "teams"   // a Teams incoming webhook's message with an Adaptive Card
)

// Prefs are one user's notification choices, as GET and PUT
// /api/v1/me/notifications carry them.
type Prefs struct {
	// Email is where notification email goes.
	Email string `json:"email"`
	// WebhookURL receives webhook notifications in WebhookFormat.
	WebhookURL    string `json:"webhook_url"`
	WebhookFormat string `json:"webhook_format"`
	// WebhookSecret signs generic webhooks. It is write-only: a PUT
	// without it keeps the stored one (ClearWebhookSecret removes it), and
	// it is never returned; HasWebhookSecret says whether one is set.
	WebhookSecret      string `json:"webhook_secret,omitempty"`
	ClearWebhookSecret bool   `json:"clear_webhook_secret,omitempty"`
	HasWebhookSecret   bool   `json:"has_webhook_secret"`
	// Events maps each event name to its rule; events left out are off.
	Events map[string]Rule `json:"events"`
	// WatchTiers and WatchQueues choose the new tickets of EvTicketNew;
	// WatchGroups the device groups of EvDeviceOffline.
	WatchTiers  []int    `json:"watch_tiers"`
	WatchQueues []string `json:"watch_queues"`
	WatchGroups []string `json:"watch_groups"`
	// QuietHours, if set, hold email and webhooks back until they end.
	QuietHours *QuietHours `json:"quiet_hours,omitempty"`
}

// DefaultPrefs are the choices of a user who never saved any: the bell
// for what concerns their own tickets, no email or webhook.
func DefaultPrefs() Prefs {
	p := Prefs{Events: map[string]Rule{}, WebhookFormat: FormatGeneric, WatchTiers: []int{}, WatchQueues: []string{}, WatchGroups: []string{}}
	for _, e := range Events {
		if e.Default != (Rule{}) {
			p.Events[e.Name] = e.Default
		}
	}
	return p
}

// Rule returns the user's rule for event.
func (p Prefs) Rule(event string) Rule { return p.Events[event] }

// Validate reports the first thing wrong with p, naming the field, or
// nil. It fills the webhook format's default.
func (p *Prefs) Validate() error {
	if p.Email != "" {
		a, err := mail.ParseAddress(p.Email)
		if err != nil || a.Name != "" || a.Address != p.Email || len(p.Email) > 254 {
			return errors.New("email must be a plain address such as ana@example.com")
		}
	}
	if p.WebhookFormat == "" {
		p.WebhookFormat = FormatGeneric
	}
	if p.WebhookFormat != FormatGeneric && p.WebhookFormat != FormatSlack && p.WebhookFormat != FormatTeams {
		return fmt.Errorf("webhook_format %q: use generic, slack or teams", clip(p.WebhookFormat))
	}
	if err := vendors.CheckWebhook(p.WebhookURL, p.WebhookSecret); err != nil {
		return err
	}
	if p.Events == nil {
		p.Events = map[string]Rule{}
	}
	for name, r := range p.Events {
		if _, ok := eventInfo(name); !ok {
			return fmt.Errorf("events: %q is not an event; the events are %s", clip(name), strings.Join(eventNames(), ", "))
		}
		if (r.Email || r.Webhook || r.Always) && !r.Bell {
			return fmt.Errorf("events.%s: email, webhook and always need bell on: every notification is listed in the bell", name)
		}
		if r.Email && p.Email == "" {
			return fmt.Errorf("events.%s: email is on but no email address is set", name)
		}
		if r.Webhook && p.WebhookURL == "" {
			return fmt.Errorf("events.%s: webhook is on but no webhook_url is set", name)
		}
	}
	if len(p.WatchTiers) > 4 || len(p.WatchQueues) > 50 || len(p.WatchGroups) > 50 {
		return errors.New("watch at most 4 tiers, 50 queues and 50 groups")
	}
	for _, t := range p.WatchTiers {
		if t < 1 || t > 4 {
			return fmt.Errorf("watch_tiers: %d is not a tier; tiers are 1 to 4", t)
		}
	}
	for _, l := range [][]string{p.WatchQueues, p.WatchGroups} {
		for _, q := range l {
			if q == "" || len(q) > 100 || strings.ContainsAny(q, "\x00\r\n") {
				return fmt.Errorf("watch_queues and watch_groups take names of 1 to 100 bytes on one line (got %q)", clip(q))
			}
		}
	}
	if p.WatchTiers == nil {
		p.WatchTiers = []int{}
	}
	if p.WatchQueues == nil {
		p.WatchQueues = []string{}
	}
	if p.WatchGroups == nil {
		p.WatchGroups = []string{}
	}
	if p.QuietHours != nil {
		if err := p.QuietHours.Validate(); err != nil {
			return err
		}
	}
	return nil
}

func eventNames() []string {
	out := make([]string, len(Events))
	for i, e := range Events {
		out[i] = e.Name
	}
	return out
}

func clip(s string) string { return wire.Clip(s, 40) }

// QuietHours is a daily span, in the user's time zone, when email and
// webhooks wait (the bell still rings). From after To spans midnight.
type QuietHours struct {
	From     string `json:"from"` // "22:00"
	To       string `json:"to"`   // "07:00"
	TimeZone string `json:"time_zone"`
}

// Validate reports what is wrong with q, or nil.
func (q QuietHours) Validate() error {
	if _, err := clock(q.From); err != nil {
		return fmt.Errorf("quiet_hours.from: %w", err)
	}
	if _, err := clock(q.To); err != nil {
		return fmt.Errorf("quiet_hours.to: %w", err)
	}
	if q.From == q.To {
		return errors.New("quiet_hours: from and to are the same time; remove quiet_hours to have none")
	}
	if q.TimeZone == "" || strings.EqualFold(q.TimeZone, "local") {
		return errors.New("quiet_hours.time_zone is required: an IANA name such as Europe/Berlin or UTC")
	}
	if _, err := time.LoadLocation(q.TimeZone); err != nil {
		return fmt.Errorf("quiet_hours.time_zone %q is not a time zone this hub knows (an IANA name such as Europe/Berlin)", clip(q.TimeZone))
	}
	return nil
}

// clock reads "HH:MM" as minutes after midnight.
func clock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, fmt.Errorf("%q is not a time of day as HH:MM (24-hour), such as 07:00 or 22:30", clip(s))
	}
	return t.Hour()*60 + t.Minute(), nil
}

// End returns when the quiet hours that now falls in end, and true; or
// false when now is outside them. Times are the user's wall clock, so a
// change to or from daylight saving time moves the span with it.
func (q QuietHours) End(now time.Time) (time.Time, bool) {
	from, err1 := clock(q.From)
	to, err2 := clock(q.To)
	loc, err3 := time.LoadLocation(q.TimeZone)
	if err1 != nil || err2 != nil || err3 != nil || from == to {
		return time.Time{}, false
	}
	local := now.In(loc)
	m := local.Hour()*60 + local.Minute()
	var quiet bool
	if from < to {
		quiet = m >= from && m < to
	} else {
		quiet = m >= from || m < to
	}
	if !quiet {
		return time.Time{}, false
	}
	end := time.Date(local.Year(), local.Month(), local.Day(), to/60, to%60, 0, 0, loc)
	if !end.After(now) {
		end = time.Date(local.Year(), local.Month(), local.Day()+1, to/60, to%60, 0, 0, loc)
	}
	return end, true
}

// Words is the span as people say it: "from 22:00 to 07:00 (Europe/Berlin)".
func (q QuietHours) Words() string {
	return "from " + q.From + " to " + q.To + " (" + q.TimeZone + ")"
}

// DecodePrefs reads choices as a PUT sends them (unknown fields are
// refused) and checks them.
func DecodePrefs(raw []byte) (Prefs, error) {
	if len(raw) > 64<<10 {
		return Prefs{}, errors.New("notification settings are at most 64 KiB")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var p Prefs
	if err := dec.Decode(&p); err != nil {
		return Prefs{}, fmt.Errorf("notification settings: %w", err)
	}
	if dec.More() {
		return Prefs{}, errors.New("notification settings: one JSON object only")
	}
	if err := p.Validate(); err != nil {
		return Prefs{}, err
	}
	return p, nil
}

// EncodePrefs is what the store keeps: the choices without the secret.
func EncodePrefs(p Prefs) string { return encodePrefs(p) }

// PrefsReader reads users' choices.
type PrefsReader interface {
	GetNotifyPrefs(ctx context.Context, userID string) (store.NotifyPrefs, error)
}

// PrefsStore keeps users' choices.
type PrefsStore interface {
	PrefsReader
	PutNotifyPrefs(ctx context.Context, p store.NotifyPrefs, clearSecret bool) error
}

// LoadPrefs returns a user's choices (the defaults if they never saved
// any), without the webhook secret.
func LoadPrefs(ctx context.Context, st PrefsReader, userID string) (Prefs, error) {
	sp, err := st.GetNotifyPrefs(ctx, userID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Prefs{}, err
	}
	p, err := decodePrefs(sp.Prefs, sp.WebhookSecret)
	p.WebhookSecret = ""
	return p, err
}

// SavePrefs checks and stores a user's choices. A webhook secret left
// empty keeps the stored one; ClearWebhookSecret, or removing the
// webhook, removes it.
func SavePrefs(ctx context.Context, st PrefsStore, userID string, p Prefs, now time.Time) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	clear := p.ClearWebhookSecret || p.WebhookURL == ""
	secret := p.WebhookSecret
	if clear {
		secret = ""
	}
	return st.PutNotifyPrefs(ctx, store.NotifyPrefs{UserID: userID, Prefs: encodePrefs(p), WebhookSecret: secret, UpdatedAt: now}, clear)
}

// ParseLimit reads a rate limit as "30/1h": how many in how long.
func ParseLimit(s string) (int, time.Duration, error) {
	n, d, ok := strings.Cut(strings.TrimSpace(s), "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 1 || count > 100000 {
		return 0, 0, fmt.Errorf("%q: write how many in how long, such as 30/1h", clip(s))
	}
	window, err := time.ParseDuration(d)
	if err != nil || window < time.Second || window > 7*24*time.Hour {
		return 0, 0, fmt.Errorf("%q: the time after the slash must be from 1s to 168h, such as 1h or 10m", clip(s))
	}
	return count, window, nil
}

// ErrInvalid marks choices that fail Validate.
var ErrInvalid = errors.New("invalid notification settings")

// decodePrefs reads stored choices; a user without any gets the defaults.
func decodePrefs(raw, secret string) (Prefs, error) {
	if raw == "" {
		p := DefaultPrefs()
		return p, nil
	}
	var p Prefs
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return DefaultPrefs(), fmt.Errorf("stored notification settings: %w", err)
	}
	p.WebhookSecret = secret
	p.HasWebhookSecret = secret != ""
	if p.Events == nil {
		p.Events = map[string]Rule{}
	}
	return p, nil
}

// encodePrefs is what the store keeps: the choices without the secret.
func encodePrefs(p Prefs) string {
	p.WebhookSecret, p.ClearWebhookSecret, p.HasWebhookSecret = "", false, false
	b, _ := json.Marshal(p)
	return string(b)
}
