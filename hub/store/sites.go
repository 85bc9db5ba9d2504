package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrSitesExceedUser refuses an API token with a site its user does not
// work.
var ErrSitesExceedUser = errors.New("an API token may only narrow its user's sites")

// joinSitesOrAll names a site list for messages.
func joinSitesOrAll(sites []string) string {
	if sites == nil {
		return "every site"
	}
	return strings.Join(normSites(sites), ",")
}

// DefaultSite is the site of devices, tickets and enrollment tokens made
// without one: a hub that never names a site has only this one.
const DefaultSite = "default"

// ValidateSite checks a site name: 1 to 64 letters, digits, '.', '_' or '-'.
func ValidateSite(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("site %q: give a name of 1 to 64 letters, digits, '.', '_' or '-'", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("site %q: give a name of 1 to 64 letters, digits, '.', '_' or '-'", name)
		}
	}
	return nil
}

// ParseSites reads "A,B" into sorted, de-duplicated site names; "" (or
// only spaces and commas) is nil: every site.
func ParseSites(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if err := ValidateSite(p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return normSites(out), nil
}

// CheckSites validates a list of site names and returns it sorted and
// de-duplicated; empty is nil: every site.
func CheckSites(sites []string) ([]string, error) {
	for _, s := range sites {
		if err := ValidateSite(s); err != nil {
			return nil, err
		}
	}
	return normSites(sites), nil
}

func normSites(sites []string) []string {
	if len(sites) == 0 {
		return nil
	}
	out := slices.Clone(sites)
	slices.Sort(out)
	return slices.Compact(out)
}

// joinSites is how a site list is stored: "" for every site.
func joinSites(sites []string) string { return strings.Join(normSites(sites), ",") }

func splitSites(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// SeesSite reports whether a caller limited to sites (nil: every site)
// may see site.
func SeesSite(sites []string, site string) bool {
	return sites == nil || slices.Contains(sites, site)
}

// NarrowSites is what a caller limited to user's sites and then to
// token's may see: token's sites within user's (nil: every site). A token
// never sees more than its user, also when the user's sites shrink after
// the token was made.
func NarrowSites(user, token []string) []string {
	switch {
	case token == nil:
		return user
	case user == nil:
		return token
	}
	out := []string{}
	for _, s := range token {
		if slices.Contains(user, s) {
			out = append(out, s)
		}
	}
	return out
}

// WithinSites reports whether every site of want is one of have's (have
// nil: every site; want nil: every site, so only have nil holds it).
func WithinSites(have, want []string) bool {
	if have == nil {
		return true
	}
	if want == nil {
		return false
	}
	for _, s := range want {
		if !slices.Contains(have, s) {
			return false
		}
	}
	return true
}

type siteScopeKey struct{}

// WithSites limits what the store reads and changes for ctx to devices,
// tickets, runs and site-kept records of sites: the API and console put
// their caller's sites here, so a query for another site's record finds
// nothing (ErrNotFound), and lists, searches, counts and metrics leave it
// out. nil sites (every site) leaves ctx as it is.
func WithSites(ctx context.Context, sites []string) context.Context {
	if sites == nil {
		return ctx
	}
	return context.WithValue(ctx, siteScopeKey{}, slices.Clone(sites))
}

// SitesOf is the site limit WithSites put on ctx; nil for every site.
func SitesOf(ctx context.Context) []string {
	s, _ := ctx.Value(siteScopeKey{}).([]string)
	return s
}

// siteCond is a WHERE condition keeping rows whose column col is one of
// ctx's sites, with its arguments; "" when ctx sees every site.
func siteCond(ctx context.Context, col string) (string, []any) {
	sites, ok := ctx.Value(siteScopeKey{}).([]string)
	if !ok {
		return "", nil
	}
	if len(sites) == 0 {
		return "1 = 0", nil
	}
	args := make([]any, len(sites))
	for i, s := range sites {
		args[i] = s
	}
	return col + " IN (?" + strings.Repeat(", ?", len(sites)-1) + ")", args
}

// sharedCond is siteCond for records that are shared (site NULL) or kept
// to one site.
func sharedCond(ctx context.Context, col string) (string, []any) {
	c, args := siteCond(ctx, col)
	if c == "" {
		return "", nil
	}
	return "(" + col + " IS NULL OR " + c + ")", args
}

// andSite appends ctx's site condition on col to a WHERE list.
func andSite(ctx context.Context, where []string, args []any, col string) ([]string, []any) {
	if c, a := siteCond(ctx, col); c != "" {
		return append(where, c), append(args, a...)
	}
	return where, args
}

// siteSuffix is " AND <cond>" for a query that already has a WHERE.
func siteSuffix(ctx context.Context, col string) (string, []any) {
	if c, a := siteCond(ctx, col); c != "" {
		return " AND " + c, a
	}
	return "", nil
}

// deviceSiteCond keeps rows whose device column col names a device of
// ctx's sites; "" when ctx sees every site.
func deviceSiteCond(ctx context.Context, col string) (string, []any) {
	c, a := siteCond(ctx, "site")
	if c == "" {
		return "", nil
	}
	return col + " IN (SELECT id FROM devices WHERE " + c + ")", a
}

// deviceSiteSuffix is " AND <deviceSiteCond>" for a query with a WHERE.
func deviceSiteSuffix(ctx context.Context, col string) (string, []any) {
	if c, a := deviceSiteCond(ctx, col); c != "" {
		return " AND " + c, a
	}
	return "", nil
}

// DeviceSite is a device's site. ErrNotFound for an unknown device or one
// outside ctx's sites.
func (s *Store) DeviceSite(ctx context.Context, id string) (string, error) {
	return s.siteOf(ctx, "device", `SELECT site FROM devices WHERE id = ?`, id)
}

// TicketSite is a ticket's site. ErrNotFound for an unknown ticket or one
// outside ctx's sites.
func (s *Store) TicketSite(ctx context.Context, id string) (string, error) {
	return s.siteOf(ctx, "ticket", `SELECT site FROM tickets WHERE id = ?`, id)
}

// RunSite is the site of a fix run's device. ErrNotFound for an unknown
// run or one outside ctx's sites.
func (s *Store) RunSite(ctx context.Context, id string) (string, error) {
	return s.siteOf(ctx, "run", `SELECT d.site FROM runs r JOIN devices d ON d.id = r.device_id WHERE r.id = ?`, id)
}

func (s *Store) siteOf(ctx context.Context, what, query, id string) (string, error) {
	var site string
	err := s.r.QueryRowContext(ctx, s.q(query), id).Scan(&site)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !SeesSite(SitesOf(ctx), site) {
		return "", fmt.Errorf("%s %s: %w", what, id, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("site of %s %s: %w", what, id, err)
	}
	return site, nil
}

// SetDeviceSite moves a device, and its tickets that are not closed, to
// site and returns the site it was in. ErrNotFound for an unknown device
// (or one outside ctx's sites).
func (s *Store) SetDeviceSite(ctx context.Context, id, site string) (string, error) {
	if err := ValidateSite(site); err != nil {
		return "", err
	}
	var from string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`SELECT site FROM devices WHERE id = ?`), id).Scan(&from)
		if errors.Is(err, sql.ErrNoRows) || err == nil && !SeesSite(SitesOf(ctx), from) {
			return fmt.Errorf("device %s: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE devices SET site = ? WHERE id = ?`), site, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE tickets SET site = ? WHERE device_id = ? AND state <> 'closed'`), site, id)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("move device %s to site %s: %w", id, site, err)
	}
	return from, nil
}

// SetUserSites sets the sites a user works (nil: every site). ErrNotFound
// for an unknown user.
func (s *Store) SetUserSites(ctx context.Context, id string, sites []string) error {
	sites, err := CheckSites(sites)
	if err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE users SET sites = ? WHERE id = ?`), joinSites(sites), id)
	if err != nil {
		return fmt.Errorf("set sites of user %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("user %s: %w", id, ErrNotFound)
	}
	return nil
}

// ListSites lists the sites in use (by devices, tickets, users, tokens)
// and the default site, by name, within ctx's sites.
func (s *Store) ListSites(ctx context.Context) ([]string, error) {
	names, err := s.strings(ctx, `SELECT site FROM devices UNION SELECT site FROM tickets UNION SELECT site FROM enroll_tokens`)
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	lists, err := s.strings(ctx, `SELECT sites FROM users WHERE sites <> '' UNION SELECT sites FROM api_tokens WHERE sites <> ''`)
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	names = append(names, DefaultSite)
	for _, l := range lists {
		names = append(names, splitSites(l)...)
	}
	scope := SitesOf(ctx)
	names = slices.DeleteFunc(normSites(names), func(n string) bool { return !SeesSite(scope, n) })
	return names, nil
}

// sharedSuffix is " AND <sharedCond>" for a query with a WHERE.
func sharedSuffix(ctx context.Context, col string) (string, []any) {
	if c, a := sharedCond(ctx, col); c != "" {
		return " AND " + c, a
	}
	return "", nil
}

// nullSite stores "" (shared with every site) as NULL.
func nullSite(site string) any {
	if site == "" {
		return nil
	}
	return site
}

// checkRecordSite checks the site of a new vendor, article or problem: ""
// (shared) or a valid site name, and one of ctx's sites; a caller limited
// to some sites cannot share with every site.
func checkRecordSite(ctx context.Context, site string) error {
	if site != "" {
		if err := ValidateSite(site); err != nil {
			return err
		}
	}
	return writableSite(ctx, "site "+site, site)
}

// writableSite refuses a change to a record of site ("" shared) by a
// caller whose ctx is limited to other sites; a caller limited to some
// sites may read shared records but not change them.
func writableSite(ctx context.Context, what, site string) error {
	scope, ok := ctx.Value(siteScopeKey{}).([]string)
	if !ok || site != "" && slices.Contains(scope, site) {
		return nil
	}
	if site == "" {
		return fmt.Errorf("%s is shared by every site; only a user of every site may change it: %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, ErrNotFound)
}
