// Package tray is the end user's tray icon: a separate process in the
// logged-in user's session (`tierline-agent tray`) that shows the agent's
// state (connected, offline, a problem on this machine, a message
// waiting), offers Get help…, My tickets, Fix it myself (the Tier 0 fixes
// that can run here, those for a problem found now first), Status and
// About, and notifies the user of technicians' messages, fixes waiting for
// consent and resolved tickets.
//
// It talks to the agent service only over the local socket
// (agent/localipc), as the user it runs as: the agent's peer-credential
// check decides what it may do. The icon is drawn by fyne.io/systray
// (StatusNotifierItem over D-Bus on Linux, no cgo; native on Windows and
// macOS); notifications use org.freedesktop.Notifications on Linux.
package tray

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tierline/tierline/agent/localipc"
	"github.com/tierline/tierline/shared/catalog"
	"github.com/tierline/tierline/shared/wire"
)

// Config configures the tray.
type Config struct {
	// Socket is the agent's local socket (or named pipe). Required.
	Socket string
	// Poll is how often the tray asks the agent for its status (default 5 s).
	Poll time.Duration
	// HelpPage returns a fresh one-time link to the local Get help page,
	// starting the page on first use. Required.
	HelpPage func(ctx context.Context) (string, error)
	// OpenURL opens a link in the user's browser. Required.
	OpenURL func(url string) error
	// Notifier shows desktop notifications; nil means the platform's
	// (org.freedesktop.Notifications on Linux, none elsewhere).
	Notifier Notifier
	// Version is shown in About.
	Version string
	Logger  *slog.Logger
}

// CheckAndSetDefaults checks c and fills in defaults.
func (c *Config) CheckAndSetDefaults() error {
	if c.Socket == "" {
		return errors.New("tray: the agent's socket is required")
	}
	if c.HelpPage == nil || c.OpenURL == nil {
		return errors.New("tray: HelpPage and OpenURL are required")
	}
	if c.Poll <= 0 {
		c.Poll = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Logger = c.Logger.With("component", "tray")
	return nil
}

// Notifier shows desktop notifications.
type Notifier interface {
	Notify(n Notification) error
}

// Notification is one desktop notification. OnAction, if set, receives
// the key of the action the user chose.
type Notification struct {
	Title    string
	Body     string
	Actions  []Action
	OnAction func(key string)
}

// Action is a button on a notification.
type Action struct{ Key, Label string }

// Menu labels; the test finds the items by them.
const (
	LabelGetHelp   = "Get help…"
	LabelTickets   = "My tickets"
	LabelFixes     = "Fix it myself"
	LabelSoftware  = "Install software"
	LabelStatus    = "Status"
	LabelAbout     = "About"
	LabelQuit      = "Quit tray"
	labelNoFixes   = "Nothing to run right now"
	callTimeout    = 15 * time.Second
	runCallTimeout = 15 * time.Minute
)

// view is what the tray shows; systray.go draws it.
type view interface {
	setIcon(state string)
	setTooltip(text string)
	setStatus(text string)
	setFixes(items []fixItem)
}

// fixItem is one entry of the Fix it myself submenu.
type fixItem struct {
	Label string
	Fix   localipc.Fix
}

// suggestedMark follows the title of a fix that addresses a problem the
// health checks found now.
const suggestedMark = " (suggested)"

// fixMenu chooses what Fix it myself lists: the Tier 0 fixes that can run
// here, those that address a failing health check first and marked
// "(suggested)", then the others in the catalog's order.
//
// The others stay listed rather than hidden: the health checks do not see
// every problem (the user knows the printer is stuck before any check
// does), every Tier 0 fix is safe to run at any time, and a menu that only
// ever said "Nothing to fix right now" would send the user to a ticket for
// something they could have fixed in one click. The mark tells them which
// one to try first without hiding the rest.
func fixMenu(fixes []localipc.Fix) []fixItem {
	var suggested, others []fixItem
	for _, f := range fixes {
		// install-software needs an entry: the Install software item
		// opens the page's list instead.
		if !f.Applicable || f.Tier != 0 || f.ID == catalog.InstallSoftware {
			continue
		}
		if len(f.Addresses) > 0 {
			suggested = append(suggested, fixItem{Label: f.Title + suggestedMark, Fix: f})
		} else {
			others = append(others, fixItem{Label: f.Title, Fix: f})
		}
	}
	return append(suggested, others...)
}

// app is the tray's behaviour, apart from drawing.
type app struct {
	cfg   Config
	agent *localipc.Client
	log   *slog.Logger
	view  view
	note  Notifier

	mu        sync.Mutex
	icon      string
	status    localipc.Status
	haveState bool
	consents  map[string]bool // run ids already notified
	seenNotes map[string]bool // ticket id + message time already notified
	surveys   map[string]bool // tickets whose survey prompt was shown
	first     bool
}

func newApp(cfg Config, v view, note Notifier) *app {
	return &app{cfg: cfg, agent: localipc.NewClient(cfg.Socket), log: cfg.Logger, view: v, note: note, consents: map[string]bool{},
		seenNotes: map[string]bool{}, surveys: map[string]bool{}, first: true}
}

func (a *app) notify(n Notification) {
	if a.note == nil {
		a.log.Info("notification (no notification service)", "title", n.Title, "body", n.Body)
		return
	}
	if err := a.note.Notify(n); err != nil {
		a.log.Info("notification not shown", "title", n.Title, "err", err)
	}
}

// loop refreshes the tray until ctx ends.
func (a *app) loop(ctx context.Context) {
	t := time.NewTicker(a.cfg.Poll)
	defer t.Stop()
	for {
		a.refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// refresh asks the agent for its state and updates the icon, the menu and
// the notifications.
func (a *app) refresh(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	st, err := a.agent.Status(cctx)
	if err != nil {
		a.setIcon(localipc.IconOffline)
		msg := "Tierline: the agent service is not running"
		if !errors.Is(err, localipc.ErrNotRunning) {
			msg = "Tierline: " + err.Error()
		}
		a.view.setTooltip(msg)
		a.view.setStatus(LabelStatus + ": agent not running")
		a.mu.Lock()
		a.haveState = false
		a.mu.Unlock()
		return
	}
	a.mu.Lock()
	a.status, a.haveState = st, true
	a.mu.Unlock()
	a.setIcon(st.Icon)
	a.view.setTooltip("Tierline: " + summary(st))
	a.view.setStatus(LabelStatus + ": " + connection(st))

	fctx, cancelFixes := context.WithTimeout(ctx, callTimeout)
	defer cancelFixes()
	if fl, err := a.agent.Fixes(fctx); err == nil {
		a.view.setFixes(fixMenu(fl.Fixes))
	}
	a.consentPrompts(ctx)
	a.ticketNews(ctx, st)
}

func (a *app) setIcon(state string) {
	if _, ok := iconColors[state]; !ok {
		state = localipc.IconConnected
	}
	a.mu.Lock()
	same := a.icon == state
	a.icon = state
	a.mu.Unlock()
	if !same {
		a.view.setIcon(state)
	}
}

func connection(st localipc.Status) string {
	s := "connected"
	if !st.Connected {
		s = "offline, requests are queued"
		if st.Queued > 0 {
			s = fmt.Sprintf("offline, %d waiting to be sent", st.Queued)
		}
	}
	if !st.LastSync.IsZero() {
		s += ", last sync " + st.LastSync.Local().Format("15:04")
	}
	return s
}

func summary(st localipc.Status) string {
	parts := []string{connection(st)}
	if n := len(st.Failing); n > 0 {
		parts = append(parts, st.Failing[0].Summary)
		if n > 1 {
			parts = append(parts, fmt.Sprintf("and %d more problems", n-1))
		}
	}
	if st.MessagesWaiting > 0 {
		parts = append(parts, fmt.Sprintf("%d from the help desk", st.MessagesWaiting))
	}
	if st.PendingConsent > 0 {
		parts = append(parts, "a fix is waiting for your answer")
	}
	return strings.Join(parts, "; ")
}

// consentPrompts notifies once per fix waiting for consent, with Allow
// and Decline.
func (a *app) consentPrompts(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	items, err := a.agent.ConsentPending(cctx)
	if err != nil {
		return
	}
	for _, it := range items {
		a.mu.Lock()
		seen := a.consents[it.RunID]
		a.consents[it.RunID] = true
		a.mu.Unlock()
		if seen {
			continue
		}
		runID := it.RunID
		a.notify(Notification{
			Title: fmt.Sprintf("%s asks to run: %s", it.Technician, it.Title),
			Body:  consentBody(it),
			Actions: []Action{
				{Key: "allow", Label: "Allow"},
				{Key: "decline", Label: "Decline"},
			},
			OnAction: func(key string) {
				if key != "allow" && key != "decline" {
					return
				}
				cctx, cancel := context.WithTimeout(context.Background(), callTimeout)
				defer cancel()
				if _, err := a.agent.ConsentAnswer(cctx, localipc.ConsentAnswerCall{RunID: runID, Allow: key == "allow"}); err != nil {
					a.notify(Notification{Title: "Your answer did not reach the agent", Body: err.Error()})
				}
			},
		})
	}
}

// ticketNews notifies new technicians' messages and resolved tickets.
func (a *app) ticketNews(ctx context.Context, st localipc.Status) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	list, err := a.agent.Tickets(cctx, localipc.TicketsCall{Peek: true})
	if err != nil {
		return
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Number < list[j].Number })
	a.mu.Lock()
	first := a.first
	a.first = false
	a.mu.Unlock()
	var fresh []string
	for _, t := range list {
		for _, m := range t.Messages {
			if m.From == "you" {
				continue
			}
			key := t.ID + "|" + m.Time.String()
			a.mu.Lock()
			seen := a.seenNotes[key]
			a.seenNotes[key] = true
			a.mu.Unlock()
			if !seen && !first {
				fresh = append(fresh, fmt.Sprintf("Ticket #%d, %s: %s", t.Number, m.From, clip(m.Text, 200)))
			}
		}
		if t.AskSurvey {
			a.mu.Lock()
			seen := a.surveys[t.ID]
			a.surveys[t.ID] = true
			a.mu.Unlock()
			if !seen {
				a.notify(Notification{
					Title:    fmt.Sprintf("Ticket #%d is resolved", t.Number),
					Body:     "How did we do? One question, one click.",
					Actions:  []Action{{Key: "open", Label: "Answer"}},
					OnAction: func(string) { a.openPage("#tickets") },
				})
			}
		}
	}
	switch {
	case len(fresh) > 0:
		a.notify(Notification{Title: "New message from the help desk", Body: strings.Join(fresh, "\n"),
			Actions: []Action{{Key: "open", Label: "Open"}}, OnAction: func(string) { a.openPage("#tickets") }})
	case first && st.MessagesWaiting > 0:
		a.notify(Notification{Title: "Messages from the help desk are waiting",
			Body:    fmt.Sprintf("%d waiting. Open My tickets to read them.", st.MessagesWaiting),
			Actions: []Action{{Key: "open", Label: "Open"}}, OnAction: func(string) { a.openPage("#tickets") }})
	}
}

// openPage opens the Get help page, at fragment ("" or "#tickets").
func (a *app) openPage(fragment string) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	url, err := a.cfg.HelpPage(ctx)
	if err != nil {
		a.notify(Notification{Title: "Get help could not open", Body: err.Error()})
		return
	}
	if err := a.cfg.OpenURL(url + fragment); err != nil {
		a.notify(Notification{Title: "Get help could not open your browser", Body: err.Error()})
	}
}

// runFix runs a Tier 0 fix for the user and tells them how it went.
func (a *app) runFix(f localipc.Fix) {
	a.notify(Notification{Title: "Running: " + f.Title, Body: f.Description})
	cctx, cancel := context.WithTimeout(context.Background(), runCallTimeout)
	res, err := a.agent.Run(cctx, localipc.RunCall{Fix: f.ID})
	cancel()
	switch {
	case err != nil:
		a.notify(Notification{Title: f.Title + " did not run", Body: err.Error()})
	default:
		title := f.Title + ": " + outcomeWords(res.Outcome)
		a.notify(Notification{Title: title, Body: res.Reason + " If the problem remains, use Get help…"})
	}
	a.refresh(context.Background())
}

func outcomeWords(o string) string {
	switch o {
	case wire.OutcomeFixed:
		return "fixed"
	case wire.OutcomeSucceeded:
		return "done"
	case wire.OutcomeNotFixed:
		return "the problem remains"
	case wire.OutcomeNotApplicable:
		return "not needed here"
	case wire.OutcomeRefused:
		return "refused"
	}
	return "failed"
}

func (a *app) showStatus() {
	a.mu.Lock()
	st, ok := a.status, a.haveState
	a.mu.Unlock()
	if !ok {
		a.notify(Notification{Title: "Tierline", Body: "The Tierline agent service is not running on this computer."})
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Help desk (%s): %s.\n", st.Hub, connection(st))
	if len(st.Failing) == 0 {
		b.WriteString("No problems found on this computer.")
	}
	for _, f := range st.Failing {
		fmt.Fprintf(&b, "%s\n", f.Summary)
	}
	a.notify(Notification{Title: "Tierline status", Body: strings.TrimSpace(b.String())})
}

func (a *app) about() {
	a.notify(Notification{Title: "Tierline " + a.cfg.Version,
		Body: "Your IT help desk on this computer: Get help finds and fixes common problems, " +
			"and files a ticket with everything the technicians need when it cannot."})
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// consentBody tells the user what a fix will do and to what, and until
// when they may allow it.
func consentBody(it localipc.ConsentItem) string {
	on := ""
	if it.Target != "" {
		on = " It acts on " + it.Target + "."
	}
	return fmt.Sprintf("%s%s Allow it before %s?", it.Reason, on, it.Expires.Local().Format("15:04"))
}
