package console

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/tierline/tierline/hub/api"
	"github.com/tierline/tierline/hub/store"
)

// softwareStore is what the software and OS update pages read from the
// store.
type softwareStore interface {
	SearchSoftware(ctx context.Context, f store.SoftwareSearch) ([]store.SoftwareMatch, bool, error)
	ListOSUpdates(ctx context.Context, f store.OSUpdatesFilter) ([]store.OSUpdates, bool, error)
}

// Software across the fleet shows no more than each device's page, so Tier
// 1 sees it, as with GET /api/v1/software.
func init() {
	Register(Page{Pattern: "GET /software", Role: store.RoleTier1, Nav: "Software", NavOrder: 25, Handle: softwarePage})
	Register(Page{Pattern: "GET /os-updates", Role: store.RoleTier1, Handle: osUpdatesPage})
}

type softwareData struct {
	Name, Version string
	Searched      bool
	Matches       []store.SoftwareMatch
	Devices       int // distinct devices among Matches
	More          bool
	Error         string
}

// softwarePage answers "which devices have X (below version Y)": the
// same search as GET /api/v1/software?name=&version=, with links to the
// devices.
func softwarePage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	q := r.URL.Query()
	d := softwareData{Name: q.Get("name"), Version: q.Get("version")}
	view := func(status int) {
		c.Render(w, r, req, status, "software.html", View{Title: "Software", Data: d})
	}
	if d.Name == "" && d.Version == "" {
		view(http.StatusOK)
		return
	}
	f, msg := api.ParseSoftwareSearch(r)
	if msg != "" {
		d.Error = msg
		view(http.StatusBadRequest)
		return
	}
	if f.Limit == 0 {
		f.Limit = 500
	}
	m, more, err := c.software.SearchSoftware(r.Context(), f)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	d.Searched, d.Matches, d.More = true, m, more
	seen := map[string]bool{}
	for _, x := range m {
		if !seen[x.DeviceID] {
			seen[x.DeviceID] = true
			d.Devices++
		}
	}
	view(http.StatusOK)
}

type osUpdatesRow struct {
	store.OSUpdates
	// Waiting says how long the oldest pending (security) update has
	// waited, "" when not known.
	Waiting string
}

// waitedFor says a duration in days, or hours under two days.
func waitedFor(d time.Duration) string {
	switch h := int(d.Hours()); {
	case h >= 48:
		return fmt.Sprintf("%d days", h/24)
	case h == 1:
		return "1 hour"
	case h > 1:
		return fmt.Sprintf("%d hours", h)
	default:
		return "under an hour"
	}
}

type osUpdatesData struct {
	All  bool // any pending update, not only security ones
	Rows []osUpdatesRow
	More bool
}

// osUpdatesPage lists the devices with pending security updates (with
// ?all=1 any pending update), those waiting longest first.
func osUpdatesPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	d := osUpdatesData{All: r.URL.Query().Get("all") == "1"}
	us, more, err := c.software.ListOSUpdates(r.Context(), store.OSUpdatesFilter{Security: !d.All, Limit: 500})
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	now := c.Now()
	for _, u := range us {
		row := osUpdatesRow{OSUpdates: u}
		since := u.OldestPending
		if !d.All {
			since = u.OldestSecurity
		}
		if !since.IsZero() {
			row.Waiting = waitedFor(now.Sub(since))
		}
		d.Rows = append(d.Rows, row)
	}
	d.More = more
	title := "Devices with pending security updates"
	if d.All {
		title = "Devices with pending OS updates"
	}
	c.Render(w, r, req, http.StatusOK, "os_updates.html", View{Title: title, Data: d})
}
