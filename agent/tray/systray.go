//go:build !darwin || cgo

package tray

import (
	"context"
	"runtime"
	"sync"

	"fyne.io/systray"

	"github.com/tierline/tierline/agent/localipc"
)

// Run shows the tray icon and serves its menu until ctx ends or the user
// quits the tray. Call it from the program's main goroutine: on Windows
// and macOS the tray's event loop must own the main thread.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return err
	}
	note := cfg.Notifier
	if note == nil {
		note = platformNotifier(cfg.Logger)
	}
	v := &trayView{}
	a := newApp(cfg, v, note)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	onReady := func() {
		v.build(a)
		go a.loop(ctx)
		go func() {
			<-ctx.Done()
			systray.Quit()
		}()
	}
	// Set before Run: the library reads it while it starts, apart from
	// onReady's goroutine.
	systray.SetOnTapped(func() { go a.openPage("") })
	systray.Run(onReady, func() { cancel() })
	if c, ok := note.(interface{ Close() error }); ok {
		_ = c.Close()
	}
	return nil
}

// trayView draws with fyne.io/systray.
type trayView struct {
	status *systray.MenuItem
	fixes  *systray.MenuItem

	mu       sync.Mutex
	fixSlots []*fixSlot
	none     *systray.MenuItem
	noneShow bool
	runner   func(localipc.Fix)
}

// fixSlot is one position in the Fix it myself submenu. Items cannot be
// reordered once added, so positions are kept and relabelled: the fix a
// position shows may change when the suggestions do.
type fixSlot struct {
	item  *systray.MenuItem
	fix   localipc.Fix
	label string
	shown bool
}

func (v *trayView) build(a *app) {
	v.runner = a.runFix
	v.setIcon(localipc.IconOffline)
	systray.SetTitle("Tierline")
	systray.SetTooltip("Tierline")
	help := systray.AddMenuItem(LabelGetHelp, "Find and fix the problem, or ask the help desk")
	tickets := systray.AddMenuItem(LabelTickets, "Your tickets and the technicians' messages")
	v.fixes = systray.AddMenuItem(LabelFixes, "Fixes you can run yourself, safely")
	v.none = v.fixes.AddSubMenuItem(labelNoFixes, "")
	v.none.Disable()
	v.noneShow = true
	software := systray.AddMenuItem(LabelSoftware, "Programs your organisation offers you to install yourself")
	systray.AddSeparator()
	v.status = systray.AddMenuItem(LabelStatus, "Connection to the help desk")
	about := systray.AddMenuItem(LabelAbout, "")
	systray.AddSeparator()
	quit := systray.AddMenuItem(LabelQuit, "Hide the icon until you next sign in")
	on := func(item *systray.MenuItem, f func()) {
		go func() {
			for range item.ClickedCh {
				go f()
			}
		}()
	}
	on(help, func() { a.openPage("") })
	on(tickets, func() { a.openPage("#tickets") })
	on(software, func() { a.openPage("#software") })
	on(v.status, a.showStatus)
	on(about, a.about)
	on(quit, systray.Quit)
}

func (v *trayView) setIcon(state string) {
	b := icons[state]
	if runtime.GOOS == "windows" {
		b = toICO(b)
	}
	systray.SetIcon(b)
}

func (v *trayView) setTooltip(text string) { systray.SetTooltip(text) }

func (v *trayView) setStatus(text string) {
	if v.status != nil {
		v.status.SetTitle(text)
	}
}

// setFixes shows items in the Fix it myself submenu, in order. Positions
// beyond them are hidden rather than removed and reused later; nothing is
// sent to the desktop when an entry is unchanged.
func (v *trayView) setFixes(items []fixItem) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for i, it := range items {
		if i == len(v.fixSlots) {
			slot := &fixSlot{item: v.fixes.AddSubMenuItem(it.Label, it.Fix.Description), fix: it.Fix,
				label: it.Label, shown: true}
			v.fixSlots = append(v.fixSlots, slot)
			go func() {
				for range slot.item.ClickedCh {
					v.mu.Lock()
					fix := slot.fix
					v.mu.Unlock()
					go v.run(fix)
				}
			}()
			continue
		}
		slot := v.fixSlots[i]
		if slot.label != it.Label {
			slot.item.SetTitle(it.Label)
			slot.label = it.Label
		}
		if slot.fix.Description != it.Fix.Description {
			slot.item.SetTooltip(it.Fix.Description)
		}
		slot.fix = it.Fix
		if !slot.shown {
			slot.item.Show()
			slot.shown = true
		}
	}
	for _, slot := range v.fixSlots[len(items):] {
		if slot.shown {
			slot.item.Hide()
			slot.shown = false
		}
	}
	if none := len(items) == 0; none != v.noneShow {
		if none {
			v.none.Show()
		} else {
			v.none.Hide()
		}
		v.noneShow = none
	}
}

// run runs a fix chosen in the submenu.
func (v *trayView) run(f localipc.Fix) {
	if v.runner != nil {
		v.runner(f)
	}
}
