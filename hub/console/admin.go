package console

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tierline/tierline/hub/sso"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/tickets"
	"github.com/tierline/tierline/shared/diag"
	"github.com/tierline/tierline/shared/wire"
)

// adminStore is what the admin pages read from the store.
type adminStore interface {
	ListTokens(ctx context.Context) ([]store.Token, error)
	SearchDevices(ctx context.Context, f store.DeviceSearch) ([]store.Device, bool, error)
	ListUsers(ctx context.Context) ([]store.User, error)
	ListAPITokens(ctx context.Context, userID string) ([]store.APIToken, error)
	ListVendors(ctx context.Context, withDisabled bool) ([]store.Vendor, error)
	ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error)
	MailOutboxCounts(ctx context.Context) (pending, failing, sent int, err error)
}

// MailStatus is the email intake as the admin page shows it: its settings
// without secrets, and what it did since the hub started.
type MailStatus struct {
	Enabled                                 bool
	Address, IMAP, TLS, User, Mailbox, SMTP string
	Poll, MaxFileSize, SenderLimit          string
	MaxFiles                                int
	LastPoll                                time.Time
	LastError                               string
	Filed, Replies, Ignored, Refused        int
	Pending, Failing, Sent                  int
}

// Admin pages: enrollment tokens, devices, users and roles, API tokens,
// vendors, SLA and routing settings, and the audit log. The pages read
// from the store; every change goes through the JSON API from admin.js,
// whose routes need the admin role too.
func init() {
	Register(Page{Pattern: "GET /admin", Role: store.RoleAdmin, Nav: "Admin", NavOrder: 90, Handle: adminPage})
	Register(Page{Pattern: "GET /admin/audit", Role: store.RoleAdmin, Handle: auditPage})
}

type adminToken struct {
	store.Token
	State string // active, expired, used up, revoked
}

type adminAPIToken struct {
	store.APIToken
	User  string
	Role  store.Role
	State string
}

// adminVendor is a vendor as the admin page shows it: never its webhook
// secret, only whether one is set.
type adminVendor struct {
	ID, Name, Email, WebhookURL, ContractRef string
	HasSecret, Disabled                      bool
	// Target is the response target as the API takes it ("8h", "30m"),
	// "" for none.
	Target string
}

type adminData struct {
	Tokens    []adminToken
	Devices   []store.Device
	Users     []store.User
	APITokens []adminAPIToken
	Vendors   []adminVendor
	Roles     []store.Role
	Me        string
	// DeviceQ filters the device list (?dq=); MoreDevices says it is cut.
	DeviceQ     string
	MoreDevices bool
	// Weekdays and Checks fill the settings forms: business-hours days as
	// the SLA setting writes them, the checks a routing rule may name.
	Weekdays   []string
	Checks     []string
	Categories []string
	// AssignTiers are the tiers tickets may be assigned automatically in.
	AssignTiers []int
	Mail        MailStatus
	// SecondFactor: the users (by id) who log in with one; SecondFactorRoles
	// the roles that must.
	SecondFactor      map[string]bool
	SecondFactorRoles map[store.Role]bool
	SSO               ssoStatus
}

// ssoStatus is how single sign-on is set up, for the admin page's form:
// never the client secret, only whether one is saved.
type ssoStatus struct {
	Issuer, ClientID, Roles, Sites, GroupsClaim string
	CreateUsers, PasswordOff, HasSecret         bool
	BreakGlass                                  string
	// ProviderFromFlags, PasswordFromFlags and SitesFromFlags: the hub's
	// flags set these parts, and the form cannot change them.
	ProviderFromFlags, PasswordFromFlags, SitesFromFlags bool
	UpdatedBy                                            string
	UpdatedAt                                            time.Time
}

func (c *Console) ssoStatus(ctx context.Context) ssoStatus {
	st := c.ssoState(ctx)
	d := ssoStatus{ProviderFromFlags: st.ProviderFromFlags, PasswordFromFlags: st.PasswordFromFlags, SitesFromFlags: st.SitesFromFlags, Sites: sso.SiteList(st.Sites), PasswordOff: st.PasswordLoginOff,
		BreakGlass: st.BreakGlass, HasSecret: st.HasSecret, UpdatedBy: st.Saved.UpdatedBy, UpdatedAt: st.Saved.UpdatedAt, GroupsClaim: "groups"}
	if p := st.Provider; p != nil {
		d.Issuer, d.ClientID, d.Roles, d.GroupsClaim, d.CreateUsers = p.Issuer(), p.ClientID(), sso.RoleList(p.RoleMap()), p.GroupsClaim(), p.CreatesUsers()
		d.HasSecret = d.HasSecret || st.ProviderFromFlags
	}
	return d
}

func adminPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	ctx := r.Context()
	now := c.Now()
	d := adminData{Roles: store.Roles, Me: req.User.ID, Weekdays: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"},
		Checks: diag.CheckNames, Categories: wire.HelpCategories, AssignTiers: []int{1, 2, 3}}
	toks, err := c.admin.ListTokens(ctx)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	for _, t := range toks {
		st := "active"
		switch {
		case t.RevokedAt != nil:
			st = "revoked"
		case t.Uses >= t.MaxUses:
			st = "used up"
		case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
			st = "expired"
		}
		d.Tokens = append(d.Tokens, adminToken{Token: t, State: st})
	}
	d.DeviceQ = r.URL.Query().Get("dq")
	if len(d.DeviceQ) > 100 {
		d.DeviceQ = d.DeviceQ[:100]
	}
	if d.Devices, d.MoreDevices, err = c.admin.SearchDevices(ctx, store.DeviceSearch{Q: d.DeviceQ, Limit: 200}); err != nil {
		c.Fail(w, r, req, err)
		return
	}
	if d.Users, err = c.admin.ListUsers(ctx); err != nil {
		c.Fail(w, r, req, err)
		return
	}
	if d.SecondFactor, err = c.factors.SecondFactorUsers(ctx); err != nil {
		c.Fail(w, r, req, err)
		return
	}
	if d.SecondFactorRoles, err = c.factors.SecondFactorRoles(ctx); err != nil {
		c.Fail(w, r, req, err)
		return
	}
	d.SSO = c.ssoStatus(ctx)
	byID := map[string]store.User{}
	for _, u := range d.Users {
		byID[u.ID] = u
	}
	ats, err := c.admin.ListAPITokens(ctx, "")
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	for _, t := range ats {
		st := "active"
		switch {
		case t.RevokedAt != nil:
			st = "revoked"
		case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
			st = "expired"
		case byID[t.UserID].DisabledAt != nil:
			st = "user disabled"
		}
		d.APITokens = append(d.APITokens, adminAPIToken{APIToken: t, User: byID[t.UserID].Name, Role: byID[t.UserID].Role, State: st})
	}
	vs, err := c.admin.ListVendors(ctx, true)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	for _, v := range vs {
		d.Vendors = append(d.Vendors, adminVendor{ID: v.ID, Name: v.Name, Email: v.Email, WebhookURL: v.WebhookURL, ContractRef: v.ContractRef,
			HasSecret: v.HasSecret, Disabled: v.DisabledAt != nil, Target: tickets.ShortDuration(v.ResponseTarget)})
	}
	if c.cfg.Mail != nil {
		d.Mail = c.cfg.Mail()
		if d.Mail.Enabled {
			if d.Mail.Pending, d.Mail.Failing, d.Mail.Sent, err = c.admin.MailOutboxCounts(ctx); err != nil {
				c.Fail(w, r, req, err)
				return
			}
		}
	}
	c.Render(w, r, req, http.StatusOK, "admin.html", View{Title: "Admin", Scripts: []string{"admin.js", "settings.js"}, Data: d})
}

// AuditPageSize is how many audit events one page shows.
const AuditPageSize = 50

type auditData struct {
	Actor, Action, Target, From, To string
	Events                          []store.AuditEvent
	NextLink, FirstLink             string
	Error                           string
}

// auditPage lists the audit log newest first, filtered by actor, action
// prefix, target and a from/to date range, paged by event id.
func auditPage(c *Console, w http.ResponseWriter, r *http.Request, req *Request) {
	q := r.URL.Query()
	d := auditData{Actor: q.Get("actor"), Action: q.Get("action"), Target: q.Get("target"), From: q.Get("from"), To: q.Get("to")}
	f := store.AuditFilter{Actor: d.Actor, ActionPrefix: d.Action, Target: d.Target, Limit: AuditPageSize + 1}
	bad := func(msg string) {
		d.Error = msg
		c.Render(w, r, req, http.StatusBadRequest, "admin_audit.html", View{Title: "Audit log", Data: d})
	}
	if d.From != "" {
		t, err := time.Parse(time.DateOnly, d.From)
		if err != nil {
			bad("From must be a date such as 2026-11-01.")
			return
		}
		f.Since = t
	}
	if d.To != "" {
		t, err := time.Parse(time.DateOnly, d.To)
		if err != nil {
			bad("To must be a date such as 2026-11-23.")
			return
		}
		f.Until = t.Add(24*time.Hour - 1) // the whole day
	}
	if s := q.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			bad("That page link is broken; start from the first page.")
			return
		}
		f.BeforeID = n
	}
	ev, err := c.admin.ListAudit(r.Context(), f)
	if err != nil {
		c.Fail(w, r, req, err)
		return
	}
	v := url.Values{}
	for k, val := range map[string]string{"actor": d.Actor, "action": d.Action, "target": d.Target, "from": d.From, "to": d.To} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if len(ev) > AuditPageSize {
		ev = ev[:AuditPageSize]
		nv := url.Values{}
		for k := range v {
			nv.Set(k, v.Get(k))
		}
		nv.Set("before", strconv.FormatInt(ev[len(ev)-1].ID, 10))
		d.NextLink = "/admin/audit?" + nv.Encode()
	}
	if f.BeforeID > 0 {
		d.FirstLink = "/admin/audit?" + v.Encode()
	}
	d.Events = ev
	c.Render(w, r, req, http.StatusOK, "admin_audit.html", View{Title: "Audit log", Data: d})
}
