package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tierline/tierline/hub/api"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// deviceStore is what the device pages read from the store.
type deviceStore interface {
	SearchDevices(ctx context.Context, f store.DeviceSearch) ([]store.Device, bool, error)
	GetDevice(ctx context.Context, id string) (store.Device, error)
	TelemetrySeries(ctx context.Context, deviceID string, since, until time.Time, step time.Duration) ([]store.TelemetryPoint, error)
	CheckHistory(ctx context.Context, deviceID string, since time.Time, limit int) ([]store.CheckTransition, error)
	ListTickets(ctx context.Context, f store.TicketFilter) ([]store.Ticket, error)
	ListRuns(ctx context.Context, f store.RunFilter) ([]store.Run, error)
	DeviceSoftware(ctx context.Context, deviceID, q string) ([]store.InstalledSoftware, error)
	SoftwareChanges(ctx context.Context, deviceID string, since, until time.Time, limit int) ([]store.SoftwareChange, error)
	DeviceOSUpdates(ctx context.Context, deviceID string) (store.OSUpdates, error)
}

func init() {
	Register(Page{Pattern: "GET /devices", Role: store.RoleTier1, Nav: "Devices", NavOrder: 20, Handle: devicesPage})
	Register(Page{Pattern: "GET /devices/{id}", Role: store.RoleTier1, Handle: devicePage})
}

type devicesData struct {
	Q, Check, Status, Online, Updates string
	Devices                           []store.Device
	Offset                            int
	PrevLink, NextLink                string
	Error                             string
}

// devicesPage lists devices with search (?q=), online, pending OS updates
// (?updates=security|pending) and health check filters (the fleet page's
// drill-down links here with ?check=&status=).
func devicesPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	q := r.URL.Query()
	d := devicesData{Q: q.Get("q"), Check: q.Get("check"), Status: q.Get("status"), Online: q.Get("online"), Updates: q.Get("updates")}
	f, msg := api.ParseDeviceSearch(r)
	if msg != "" {
		d.Error = msg
		c.Render(w, r, req, http.StatusBadRequest, "devices.html", View{Title: "Devices", Data: d})
		return
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	ds, more, err := c.devices.SearchDevices(r.Context(), f)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	d.Devices, d.Offset = ds, f.Offset
	link := func(off int) string {
		v := url.Values{}
		for _, k := range []string{"q", "check", "status", "online", "updates"} {
			if q.Get(k) != "" {
				v.Set(k, q.Get(k))
			}
		}
		if off > 0 {
			v.Set("offset", strconv.Itoa(off))
		}
		return "/devices?" + v.Encode()
	}
	if f.Offset > 0 {
		d.PrevLink = link(max(0, f.Offset-f.Limit))
	}
	if more {
		d.NextLink = link(f.Offset + f.Limit)
	}
	c.Render(w, r, req, http.StatusOK, "devices.html", View{Title: "Devices", Data: d})
}

type rangeLink struct {
	Name, Link string
	Active     bool
}

type deviceData struct {
	Device  store.Device
	Health  []diag.CheckResult
	Failing int
	History []store.CheckTransition
	Range   string
	Ranges  []rangeLink
	Usage   LineChart
	Network LineChart
	Tickets []store.Ticket
	Runs    []store.Run
	// Software is the installed software, its changes and the OS update
	// status (device_software.go).
	Software deviceSoftware
	// Policy is the policy the device applies against its group's
	// (policies.go).
	Policy devicePolicyView
	// Recipes are the signed recipes the device accepted and refused
	// (recipes.go).
	Recipes deviceRecipes
	// EverySite: the caller works every site (an admin of every site
	// moves the device on /admin/sites).
	EverySite bool
}

// devicePage shows one device: online state, health checks (failing
// first), telemetry charts over a chosen range, inventory, installed
// software (searched with ?software=) and its changes, OS updates, tickets
// and fix history.
func devicePage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	id := r.PathValue("id")
	if err := wire.ValidateDeviceID(id); err != nil {
		c.Error(w, r, req, http.StatusNotFound, "No such device: device ids are 32 hex digits. Find the device on the Devices page.")
		return
	}
	ctx := r.Context()
	dev, err := c.devices.GetDevice(ctx, id)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	d := deviceData{Device: dev, Health: slices.Clone(dev.Health), Range: r.URL.Query().Get("range"), EverySite: req.User.Sites == nil}
	rank := map[diag.Status]int{diag.StatusFailing: 0, diag.StatusWarning: 1, diag.StatusUnknown: 2, diag.StatusOK: 3}
	slices.SortStableFunc(d.Health, func(a, b diag.CheckResult) int { return rank[a.Status] - rank[b.Status] })
	for _, h := range d.Health {
		if h.Status == diag.StatusFailing || h.Status == diag.StatusWarning {
			d.Failing++
		}
	}
	if d.Range == "" {
		d.Range = api.SeriesRanges[0].Name
	}
	var span, step time.Duration
	var names []string
	for _, sr := range api.SeriesRanges {
		names = append(names, sr.Name)
		if sr.Name == d.Range {
			span, step = sr.Range, sr.Step
		}
	}
	if span == 0 {
		c.Error(w, r, req, http.StatusBadRequest, "The chart range must be one of "+strings.Join(names, ", ")+".")
		return
	}
	for _, sr := range api.SeriesRanges {
		d.Ranges = append(d.Ranges, rangeLink{Name: sr.Name, Link: "/devices/" + id + "?range=" + sr.Name, Active: sr.Name == d.Range})
	}
	until := c.Now()
	since := until.Add(-span)
	pts, err := c.devices.TelemetrySeries(ctx, id, since, until, step)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	var cpu, mem, disk, rx, tx []SeriesPoint
	for _, p := range pts {
		cpu = append(cpu, SeriesPoint{p.Time, p.Summary.CPUPct})
		mem = append(mem, SeriesPoint{p.Time, p.Summary.MemPct})
		disk = append(disk, SeriesPoint{p.Time, p.Summary.DiskPct})
		rx = append(rx, SeriesPoint{p.Time, p.Summary.RxBps})
		tx = append(tx, SeriesPoint{p.Time, p.Summary.TxBps})
	}
	d.Usage = newLineChart("CPU, memory and disk use", since, until, 100, fmtPct,
		[]string{"CPU", "Memory", "Disk"}, []string{"s-cpu", "s-mem", "s-disk"}, [][]SeriesPoint{cpu, mem, disk})
	d.Network = newLineChart("Network", since, until, 0, fmtRate,
		[]string{"Received", "Sent"}, []string{"s-rx", "s-tx"}, [][]SeriesPoint{rx, tx})

	if d.History, err = c.devices.CheckHistory(ctx, id, until.Add(-7*24*time.Hour), 30); err != nil {
		c.Fail(w, r, req, err)
		return
	}
	if d.Tickets, err = c.devices.ListTickets(ctx, store.TicketFilter{DeviceID: id, Limit: 20, NewestFirst: true}); err != nil {
		c.Fail(w, r, req, err)
		return
	}
	if d.Runs, err = c.devices.ListRuns(ctx, store.RunFilter{DeviceID: id, Limit: 20}); err != nil {
		c.Fail(w, r, req, err)
		return
	}
	swq, msg := softwareQuery(r)
	if msg != "" {
		c.Error(w, r, req, http.StatusBadRequest, msg)
		return
	}
	if d.Software, err = loadDeviceSoftware(ctx, c.devices, id, swq, until); err != nil {
		c.Fail(w, r, req, err)
		return
	}
	if d.Policy, err = loadDevicePolicy(ctx, c, id, dev.Group); err != nil {
		c.Fail(w, r, req, err)
		return
	}
	if d.Recipes, err = loadDeviceRecipes(ctx, c, id); err != nil {
		c.Fail(w, r, req, err)
		return
	}
	title := dev.Hostname
	if title == "" {
		title = "Device " + id[:8]
	}
	c.Render(w, r, req, http.StatusOK, "device.html", View{Title: title, Scripts: []string{"charts.js"}, Data: d})
}
