package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/auth"
	"github.com/tierline/tierline/hub/store"
	"github.com/tierline/tierline/hub/store/storetest"
	"github.com/tierline/tierline/shared/wire"
)

// siteDevice enrolls a device of site with hostname and files a help
// request from it with text.
func (tc *testConsole) siteDevice(t *testing.T, site, hostname, text string) (string, store.Ticket) {
	t.Helper()
	ctx := context.Background()
	secret := auth.Secret(16)
	if err := tc.st.CreateToken(ctx, store.Token{ID: wire.NewID(), MaxUses: 1, ExpiresAt: time.Now().Add(time.Hour), CreatedAt: time.Now(), Site: site}, auth.HashSecret(secret)); err != nil {
		t.Fatal(err)
	}
	devID := wire.NewID()
	if _, err := tc.st.EnrollDevice(ctx, auth.HashSecret(secret), store.Device{ID: devID, Hostname: hostname, OS: "linux", Arch: "amd64"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	tk, _, err := tc.svc.File(ctx, devID, hostname, wire.HelpRequest{RequestID: wire.NewID(), Text: text, Category: "other", Filed: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return devID, tk
}

// loginAs logs in as a user by name (password testPassword).
func (tc *testConsole) loginAs(t *testing.T, name string) *http.Client {
	t.Helper()
	cl := tc.client(t)
	res := tc.postForm(t, cl, "/login", url.Values{"name": {name}, "password": {testPassword}}, nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login as %s: %d %s", name, res.StatusCode, readBody(t, res))
	}
	res.Body.Close()
	return cl
}

// ownPages are the console's non-GET pages; each acts on the user's own
// account or renders only what it is sent, never on a site's records. A
// new non-GET page fails TestSitePages until it is judged and listed.
var ownPages = map[string]bool{
	"POST /kb/preview":                    true,
	"POST /account/second-factor":         true,
	"POST /account/second-factor/confirm": true,
	"POST /account/recovery-codes":        true,
	"POST /account/second-factor/remove":  true,
	"POST /account/passkeys/options":      true,
	"POST /account/passkeys":              true,
	"POST /account/passkeys/{id}/remove":  true,
}

// TestSitePages is the console's role x site matrix: every registered
// page, opened by a technician of every role limited to site A and aimed
// at site B's device, ticket, article and problem, shows nothing of site
// B; pages over every site refuse them; the live stream tells them of
// site A's tickets and not of site B's.
func TestSitePages(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, st *store.Store) {
		tc := newTestConsoleOn(t, st)
		ctx := context.Background()
		limited := map[store.Role]string{}
		for _, r := range store.Roles {
			u := store.User{ID: wire.NewID(), Name: string(r) + "-of-a", Role: r, PasswordHash: pwHash, Sites: []string{"A"}}
			if err := st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			limited[r] = u.Name
		}
		_, aTicket := tc.siteDevice(t, "A", "ahost", "aticket-visible")
		bDev, bTicket := tc.siteDevice(t, "B", "bhost-secret", "bticket-secret")
		bArticle := store.Article{ID: wire.NewID(), Title: "barticle-secret", Body: "x", State: store.ArticlePublished, Site: "B", CreatedAt: time.Now()}
		if _, err := st.CreateArticle(ctx, bArticle); err != nil {
			t.Fatal(err)
		}
		bProblem := store.Problem{ID: wire.NewID(), Title: "bproblem-secret", Site: "B", CreatedAt: time.Now()}
		if err := st.CreateProblem(ctx, bProblem); err != nil {
			t.Fatal(err)
		}
		secrets := []string{"bhost-secret", "bticket-secret", "barticle-secret", "bproblem-secret", bTicket.ID}

		// Controls: a technician of every site sees B; one of A sees A.
		every := tc.login(t, store.RoleTier1)
		if _, page := tc.get(t, every, "/devices/"+bDev); !strings.Contains(page, "bhost-secret") {
			t.Fatalf("a tier1 of every site does not see B's device page")
		}
		a1 := tc.loginAs(t, limited[store.RoleTier1])
		if _, page := tc.get(t, a1, "/queue"); !strings.Contains(page, "aticket-visible") {
			t.Fatalf("a tier1 of A does not see A's ticket in the queue:\n%s", page)
		}

		clients := map[store.Role]*http.Client{}
		for _, r := range store.Roles {
			clients[r] = tc.loginAs(t, limited[r])
		}
		for _, p := range tc.Console.pages {
			method, path, _ := strings.Cut(p.Pattern, " ")
			if method != http.MethodGet {
				if !ownPages[p.Pattern] {
					t.Errorf("%s: a non-GET page not judged for sites; check it keeps to the user's sites and list it in ownPages", p.Pattern)
				}
				continue
			}
			id := bDev
			switch {
			case strings.HasPrefix(path, "/tickets/"):
				id = bTicket.ID
			case strings.HasPrefix(path, "/kb/"):
				id = bArticle.ID
			case strings.HasPrefix(path, "/problems/"):
				id = bProblem.ID
			}
			path = strings.NewReplacer("{id}", id, "{group}", "bgroup").Replace(path)
			for _, r := range store.Roles {
				if !p.Role.Valid() || r.Rank() < p.Role.Rank() {
					continue
				}
				res, page := tc.get(t, clients[r], path)
				if res.StatusCode >= 500 {
					t.Errorf("%s as %s of A: %d", path, r, res.StatusCode)
				}
				if everySitePage(p.Pattern) && res.StatusCode != http.StatusForbidden {
					t.Errorf("%s as %s of A: %d, want 403 (the page covers every site)", path, r, res.StatusCode)
				}
				if strings.Contains(p.Pattern, "{id}") && (strings.HasPrefix(path, "/devices/") || strings.HasPrefix(path, "/tickets/")) &&
					res.StatusCode != http.StatusNotFound && path != "/tickets/new" {
					t.Errorf("%s as %s of A: %d, want 404", path, r, res.StatusCode)
				}
				for _, s := range secrets {
					if strings.Contains(page, s) && !strings.Contains(path, s) {
						t.Errorf("%s as %s of A shows site B's %q", path, r, s)
					}
				}
			}
		}
		if !strings.Contains(aTicket.Site, "A") {
			t.Errorf("A's ticket is in site %q", aTicket.Site)
		}

		// The live stream: a device of B cannot be watched; a ticket of B
		// filed before one of A is never told.
		if res, _ := tc.get(t, a1, "/events?device="+bDev); res.StatusCode != http.StatusNotFound {
			t.Errorf("/events?device=<B's> as tier1 of A: %d, want 404", res.StatusCode)
		}
		got := tc.stream(t, a1)
		_, b2 := tc.siteDevice(t, "B", "bhost2-secret", "bticket2-secret")
		_, a2 := tc.siteDevice(t, "A", "ahost2", "aticket2")
		for msg := range got {
			if strings.Contains(msg, b2.ID) {
				t.Fatalf("tier1 of A heard of B's ticket: %s", msg)
			}
			if strings.Contains(msg, a2.ID) {
				return
			}
		}
		t.Fatal("the stream ended without A's ticket")
	})
}

// stream opens /events as cl and returns its messages, after the hello.
func (tc *testConsole) stream(t *testing.T, cl *http.Client) <-chan string {
	t.Helper()
	req, _ := http.NewRequest("GET", tc.srv.URL+"/events", nil)
	req.Header.Set("Origin", tc.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	res, err := cl.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("/events: %d", res.StatusCode)
	}
	got := make(chan string, 64)
	go func() {
		defer res.Body.Close()
		buf := make([]byte, 4096)
		var acc string
		for {
			n, err := res.Body.Read(buf)
			acc += string(buf[:n])
			for {
				i := strings.Index(acc, "\n\n")
				if i < 0 {
					break
				}
				got <- acc[:i]
				acc = acc[i+2:]
			}
			if err != nil {
				close(got)
				return
			}
		}
	}()
	for msg := range got {
		if strings.Contains(msg, "hello") {
			return got
		}
	}
	t.Fatal("the stream ended before its hello")
	return nil
}
