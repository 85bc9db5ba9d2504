package console

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/tierline/tierline/hub/store"
)

// deviceSoftwareShown is how many packages the device page lists; a search
// narrows the rest.
const deviceSoftwareShown = 300

// deviceSoftware is the device page's software part: installed packages
// (filtered by ?software=), recent changes and the OS update status.
type deviceSoftware struct {
	Query     string
	Software  []store.InstalledSoftware
	Total     int // packages matching Query, of which Software shows the first
	Changes   []store.SoftwareChange
	Updates   store.OSUpdates
	HasStatus bool
	// SecurityWaiting is how long the oldest pending security update has
	// waited, when known.
	SecurityWaiting time.Duration
}

// loadDeviceSoftware reads the device page's software part: the packages
// whose name contains q, the changes of the last 30 days and the update
// status. A bad q is the caller's to refuse.
func loadDeviceSoftware(ctx context.Context, st deviceStore, id, q string, now time.Time) (deviceSoftware, error) {
	d := deviceSoftware{Query: q}
	sw, err := st.DeviceSoftware(ctx, id, q)
	if err != nil {
		return d, err
	}
	d.Total = len(sw)
	d.Software = sw[:min(len(sw), deviceSoftwareShown)]
	if d.Changes, err = st.SoftwareChanges(ctx, id, now.AddDate(0, 0, -30), time.Time{}, 100); err != nil {
		return d, err
	}
	switch d.Updates, err = st.DeviceOSUpdates(ctx, id); {
	case err == nil:
		d.HasStatus = true
		if !d.Updates.OldestSecurity.IsZero() && d.Updates.Security > 0 {
			d.SecurityWaiting = now.Sub(d.Updates.OldestSecurity)
		}
	case !errors.Is(err, store.ErrNotFound):
		return d, err
	}
	return d, nil
}

// softwareQuery reads the device page's ?software= filter, or says why it
// is refused.
func softwareQuery(r *http.Request) (string, string) {
	q := r.URL.Query().Get("software")
	if len(q) > store.MaxSoftwareName {
		return "", "The software search may be at most 200 characters."
	}
	return q, ""
}
