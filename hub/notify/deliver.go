package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/vendors"
)

// HeaderEvent value of a generic notification webhook.
const webhookEvent = "notification"

// Run sends due deliveries and scans for offline devices until ctx ends:
// when woken, and every Config.Every. With several hubs on one database
// one of them does it at a time.
func (n *Notifier) Run(ctx context.Context) {
	t := time.NewTicker(min(n.cfg.Every, n.cfg.RetryBase))
	defer t.Stop()
	for {
		if _, err := n.cfg.Store.WithJobLock(ctx, "notify-outbox", func(ctx context.Context) error {
			if err := n.ScanOffline(ctx); err != nil {
				n.cfg.Logger.Error("scan for offline devices", "err", err)
			}
			_, err := n.Pass(ctx)
			return err
		}); err != nil && ctx.Err() == nil {
			n.cfg.Logger.Error("notification outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.wake:
		}
	}
}

// Pass makes one attempt at every delivery due now and returns how many
// were sent.
func (n *Notifier) Pass(ctx context.Context) (int, error) {
	sent := 0
	// Each attempt moves its delivery out of the due set; the bound only
	// stops a store that cannot record outcomes from looping here.
	for range 100 {
		due, err := n.cfg.Store.DueNotifyDeliveries(ctx, n.cfg.Now(), 50)
		if err != nil {
			return sent, err
		}
		for _, d := range due {
			if n.sendOne(ctx, d) {
				sent++
			}
		}
		if len(due) < 50 || ctx.Err() != nil {
			return sent, ctx.Err()
		}
	}
	return sent, nil
}

func (n *Notifier) backoff(attempts int) time.Duration {
	return min(n.cfg.RetryBase<<min(attempts, 20), n.cfg.RetryMax)
}

// sendOne makes one attempt at d and records its outcome; it reports
// whether d was sent.
func (n *Notifier) sendOne(ctx context.Context, d store.NotifyDelivery) bool {
	log := n.cfg.Logger.With("delivery", d.ID, "channel", d.Channel)
	now := n.cfg.Now()
	finish := func(state, lastErr string, next *time.Time) {
		if err := n.cfg.Store.FinishNotifyDelivery(ctx, d.ID, state, lastErr, next, n.cfg.Now()); err != nil && ctx.Err() == nil {
			log.Error("record notification delivery outcome", "err", err)
		}
	}
	retry := func(err error) {
		next := now.Add(n.backoff(d.Attempts))
		n.stats.failed.Add(1)
		log.Warn("notification not delivered; will retry", "attempt", d.Attempts+1, "next", next.Format(time.RFC3339), "err", err)
		finish(store.NotifyPending, err.Error(), &next)
	}
	nt, err := n.cfg.Store.GetNotification(ctx, d.NotificationID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			finish(store.NotifyAbandoned, err.Error(), nil)
		} else {
			retry(err)
		}
		return false
	}
	user, err := n.cfg.Store.GetUser(ctx, d.UserID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			finish(store.NotifyAbandoned, err.Error(), nil)
		} else {
			retry(err)
		}
		return false
	}
	if user.DisabledAt != nil {
		finish(store.NotifyAbandoned, "the user is disabled", nil)
		return false
	}
	sp, err := n.cfg.Store.GetNotifyPrefs(ctx, d.UserID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		retry(err)
		return false
	}
	prefs, _ := decodePrefs(sp.Prefs, sp.WebhookSecret)
	// The channel as the user has it now: an address or URL changed
	// since is where it goes; one removed ends the delivery.
	switch {
	case d.Channel == store.NotifyEmail && prefs.Email == "":
		finish(store.NotifyAbandoned, "the user removed their email address", nil)
		return false
	case d.Channel == store.NotifyWebhook && prefs.WebhookURL == "":
		finish(store.NotifyAbandoned, "the user removed their webhook", nil)
		return false
	case d.Channel == store.NotifyEmail && !prefs.Rule(nt.Event).Email, d.Channel == store.NotifyWebhook && !prefs.Rule(nt.Event).Webhook:
		finish(store.NotifyAbandoned, "the user turned "+d.Channel+" off for "+nt.Event, nil)
		return false
	case d.Channel == store.NotifyEmail && n.cfg.From == "":
		retry(vendors.ErrNoSMTP)
		return false
	}
	// Quiet hours as the user has them now: a retry, or a delivery made
	// before the user set them, waits as a new one would.
	if q := prefs.QuietHours; q != nil && !prefs.Rule(nt.Event).Always {
		if end, quiet := q.End(now); quiet {
			if err := n.cfg.Store.DeferNotifyDelivery(ctx, d.ID, end, "quiet hours "+q.Words()); err != nil && ctx.Err() == nil {
				log.Error("hold notification delivery for quiet hours", "err", err)
			}
			return false
		}
	}
	// At most Limit per user and channel in any Window: more wait.
	sentRecently, err := n.cfg.Store.NotifySentSince(ctx, d.UserID, d.Channel, now.Add(-n.cfg.Window))
	if err != nil {
		retry(err)
		return false
	}
	if sentRecently >= n.cfg.Limit {
		until := now.Add(n.cfg.Window / time.Duration(n.cfg.Limit))
		why := fmt.Sprintf("held back: at most %d per %s by %s", n.cfg.Limit, shortWindow(n.cfg.Window), d.Channel)
		if err := n.cfg.Store.DeferNotifyDelivery(ctx, d.ID, until, why); err != nil && ctx.Err() == nil {
			log.Error("hold back notification delivery", "err", err)
		}
		n.stats.held.Add(1)
		return false
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	switch d.Channel {
	case store.NotifyEmail:
		err = n.cfg.Sender.SendMail(sctx, mailAddr(n.cfg.From), prefs.Email, n.email(d, nt, user, prefs.Email))
		var se *smtp.SMTPError
		if errors.As(err, &se) && se.Code >= 500 {
			log.Warn("notification email refused for good", "to", prefs.Email, "err", err)
			finish(store.NotifyAbandoned, err.Error(), nil)
			return false
		}
	case store.NotifyWebhook:
		var body []byte
		body, err = webhookBody(prefs.WebhookFormat, d, nt, user, n.cfg.HubURL, now)
		if err == nil {
			secret := ""
			if prefs.WebhookFormat == FormatGeneric {
				secret = prefs.WebhookSecret
			}
			err = n.cfg.Sender.PostJSON(sctx, prefs.WebhookURL, secret, webhookEvent, d.ID, body)
		}
		// A Slack or Teams webhook's URL is its credential: errors (kept
		// on the delivery, logged) name the host only.
		var ue *url.Error
		if errors.As(err, &ue) {
			host := ""
			if u, perr := url.Parse(prefs.WebhookURL); perr == nil {
				host = u.Host
			}
			err = fmt.Errorf("webhook %s %s: %w", strings.ToUpper(ue.Op), host, ue.Err)
		}
		var st *vendors.StatusError
		if errors.As(err, &st) && st.Code >= 400 && st.Code < 500 && st.Code != 408 && st.Code != 429 {
			log.Warn("notification webhook refused for good", "err", err)
			finish(store.NotifyAbandoned, err.Error(), nil)
			return false
		}
	default:
		finish(store.NotifyAbandoned, "unknown channel "+d.Channel, nil)
		return false
	}
	if err != nil {
		retry(err)
		return false
	}
	finish(store.NotifySent, "", nil)
	n.stats.sent.Add(1)
	return true
}

func shortWindow(d time.Duration) string {
	if d == time.Hour {
		return "hour"
	}
	return d.String()
}

func mailAddr(s string) string {
	if a, err := mail.ParseAddress(s); err == nil {
		return a.Address
	}
	return s
}

// email renders a notification as a plain-text mail.
func (n *Notifier) email(d store.NotifyDelivery, nt store.Notification, user store.User, to string) []byte {
	var b bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	from := n.cfg.From
	if a, err := mail.ParseAddress(from); err == nil {
		from = a.String()
	}
	hdr("From", from)
	hdr("To", (&mail.Address{Address: to}).String())
	hdr("Subject", mime.QEncoding.Encode("utf-8", "[Tierline] "+oneLine(nt.Title)))
	hdr("Date", n.cfg.Now().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+d.ID+"@tierline>")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "8bit")
	hdr("Auto-Submitted", "auto-generated")
	hdr("X-Tierline-Notification", nt.Event)
	b.WriteString("\r\n")
	var text strings.Builder
	fmt.Fprintf(&text, "Hello %s,\n\n%s\n", user.Name, nt.Title)
	if nt.Body != "" {
		fmt.Fprintf(&text, "\n%s\n", nt.Body)
	}
	if nt.Link != "" {
		fmt.Fprintf(&text, "\nOpen it: %s%s\n", n.cfg.HubURL, nt.Link)
	}
	fmt.Fprintf(&text, "\n-- \nTierline notifications. Choose what you are sent at %s/notifications/settings\n", n.cfg.HubURL)
	// CRLF line ends only: no lone CR or LF from a user's words reaches
	// the relay (SMTP smuggling).
	body := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(text.String())
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	return b.Bytes()
}

func oneLine(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }

// Payload is the body of a generic notification webhook, signed with the
// user's secret like a vendor webhook (X-Tierline-Signature over
// "<timestamp>.<body>", X-Tierline-Event "notification").
type Payload struct {
	Kind         string    `json:"kind"` // "notification"
	DeliveryID   string    `json:"delivery_id"`
	Sent         time.Time `json:"sent"`
	Hub          string    `json:"hub,omitempty"`
	User         string    `json:"user"`
	Notification struct {
		ID        string    `json:"id"`
		Event     string    `json:"event"`
		Title     string    `json:"title"`
		Body      string    `json:"body,omitempty"`
		URL       string    `json:"url,omitempty"`
		TicketID  string    `json:"ticket_id,omitempty"`
		DeviceID  string    `json:"device_id,omitempty"`
		CreatedAt time.Time `json:"created_at"`
	} `json:"notification"`
}

// webhookBody renders a notification in the user's webhook format.
func webhookBody(format string, d store.NotifyDelivery, nt store.Notification, user store.User, hubURL string, now time.Time) ([]byte, error) {
	link := ""
	if nt.Link != "" {
		link = hubURL + nt.Link
	}
	switch format {
	case FormatSlack:
		// Slack's mrkdwn: &, < and > are escaped; <url|label> is a link.
		esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
		text := "*" + esc.Replace(nt.Title) + "*"
		if nt.Body != "" {
			text += "\n" + esc.Replace(nt.Body)
		}
		if link != "" {
			text += "\n<" + link + "|Open in Tierline>"
		}
		return json.Marshal(map[string]string{"text": text})
	case FormatTeams:
		body := []map[string]any{{"type": "TextBlock", "text": nt.Title, "weight": "Bolder", "wrap": true}}
		if nt.Body != "" {
			body = append(body, map[string]any{"type": "TextBlock", "text": nt.Body, "wrap": true})
		}
		card := map[string]any{"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4", "body": body}
		if link != "" {
			card["actions"] = []map[string]any{{"type": "Action.OpenUrl", "title": "Open in Tierline", "url": link}}
		}
		return json.Marshal(map[string]any{"type": "message", "summary": nt.Title,
			"attachments": []map[string]any{{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}}})
	}
	var p Payload
	p.Kind, p.DeliveryID, p.Sent, p.Hub, p.User = webhookEvent, d.ID, now.UTC(), hubURL, user.Name
	p.Notification.ID, p.Notification.Event, p.Notification.Title, p.Notification.Body = nt.ID, nt.Event, nt.Title, nt.Body
	p.Notification.URL, p.Notification.TicketID, p.Notification.DeviceID, p.Notification.CreatedAt = link, nt.TicketID, nt.DeviceID, nt.CreatedAt.UTC()
	return json.Marshal(p)
}

// Stats are the notifier's counts since the hub started.
type Stats struct {
	Created, Sent, Failed, Held int64
}

// Stats returns how many notifications were made, deliveries sent, failed
// attempts and deliveries held back by the rate limit since the hub
// started.
func (n *Notifier) Stats() Stats {
	return Stats{Created: n.stats.created.Load(), Sent: n.stats.sent.Load(), Failed: n.stats.failed.Load(), Held: n.stats.held.Load()}
}
