package console

import (
	"net/http"

	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/wire"
)

func init() {
	Register(Page{Pattern: "GET /tickets/new", Role: store.RoleTier1, Handle: newTicketPage})
}

// newTicketData is the form a technician files a ticket with for someone
// who called, walked in, chatted or wrote (POST /api/v1/tickets).
type newTicketData struct {
	Device     store.Device // the requester's computer, from ?device=
	HasDevice  bool
	Channels   []string
	Types      []string
	Categories []string
	// Templates are the service request templates a request may be filed
	// from (their fields are read by ticket_new.js from the API).
	Templates []store.RequestTemplate
	// Sites are those a ticket without a device may be filed for: the
	// user's (the sites page's store read keeps to them).
	Sites []string
}

// newTicketPage serves the intake form. Opened from a device's page it
// names that device; the ticket then carries the checks the device runs
// when the form is sent.
func newTicketPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	d := newTicketData{Types: store.TicketTypes, Categories: wire.HelpCategories}
	for _, ch := range store.IntakeChannels {
		if ch != store.IntakeAgent {
			d.Channels = append(d.Channels, ch)
		}
	}
	var err error
	if d.Templates, err = c.requests.ListRequestTemplates(r.Context()); err != nil {
		c.Fail(w, r, req, err)
		return
	}
	if id := r.URL.Query().Get("device"); id != "" {
		dev, err := c.tickets.GetDevice(r.Context(), id)
		if err != nil {
			c.Fail(w, r, req, err)
			return
		}
		d.Device, d.HasDevice = dev, true
	} else if d.Sites, err = c.sites.ListSites(r.Context()); err != nil {
		c.Fail(w, r, req, err)
		return
	}
	c.Render(w, r, req, http.StatusOK, "ticket_new.html", View{Title: "New ticket", Scripts: []string{"ticket_new.js"}, Data: d})
}
