package console

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tierline/tierline/hub/store"
)

// A burst of wrong passwords for one name, sent all at once, gets no more
// guesses than the lockout allows: attempts on a name take turns, so each
// sees the failures before it.
func TestLoginBurstCannotPassLockout(t *testing.T) {
	tc := newTestConsole(t)
	const burst = 20
	codes := make([]int, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := tc.postForm(t, tc.client(t), "/login", url.Values{"name": {"tier1-user"}, "password": {"guess"}}, nil)
			readBody(t, res)
			codes[i] = res.StatusCode
		}()
	}
	wg.Wait()
	checked := 0
	for _, c := range codes {
		switch c {
		case http.StatusUnauthorized:
			checked++
		case http.StatusTooManyRequests:
		default:
			t.Errorf("login in a burst: %d, want 401 or 429", c)
		}
	}
	// Four plain refusals, then the fifth failure locks the name (429) and
	// every later attempt is refused without a password check.
	if checked != LockoutAfter-1 {
		t.Fatalf("%d of %d burst logins were checked and refused as wrong (codes %v); want %d, the rest locked out",
			checked, burst, codes, LockoutAfter-1)
	}
	if n, _, _ := tc.st.LoginFailures(context.Background(), "tier1-user"); n != LockoutAfter {
		t.Fatalf("failures recorded: %d, want %d", n, LockoutAfter)
	}
}

// When every password-check slot is busy, a login waits and then gets a
// clear 503 instead of adding another 64 MiB hash.
func TestLoginBusy(t *testing.T) {
	tc := newTestConsole(t)
	for range cap(tc.logins.slots) {
		tc.logins.slots <- struct{}{}
	}
	res := tc.postForm(t, tc.client(t), "/login", url.Values{"name": {"tier1-user"}, "password": {testPassword}}, nil)
	body := readBody(t, res)
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" || !strings.Contains(body, "busy checking other logins") {
		t.Fatalf("login with no free slot: %d %q", res.StatusCode, body)
	}
	for range cap(tc.logins.slots) {
		<-tc.logins.slots
	}
	if res := tc.postForm(t, tc.client(t), "/login", url.Values{"name": {"tier1-user"}, "password": {testPassword}}, nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login with free slots: %d", res.StatusCode)
	}
}

// Redirects after login stay on the hub, whatever a link smuggles in.
func TestSafeNextRefusesHiddenHosts(t *testing.T) {
	for _, in := range []string{"/\t/evil.example", "/\n/evil.example", "/\r//evil.example", "/\\/evil.example", "/a\\b", "/\x7f/x"} {
		if got := safeNext(in); got != "/queue" {
			t.Errorf("safeNext(%q) = %q, want /queue", in, got)
		}
	}
	// Logged in, /login?next=/%09/evil.example goes to the queue, not away.
	tc := newTestConsole(t)
	cl := tc.login(t, store.RoleTier1)
	res, _ := tc.get(t, cl, "/login?next=/%09/evil.example")
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/queue" {
		t.Fatalf("logged-in login with a smuggled next: %d Location %q, want 303 /queue", res.StatusCode, loc)
	}
}

// A live stream ends with its session, and does not keep it alive: pings
// check the session without counting as activity, so a page left open
// past the idle limit is logged out; a session ended meanwhile (a password
// reset ends them all) ends the stream at the next ping.
func TestEventsEndWithSession(t *testing.T) {
	tc := newTestConsole(t)
	tc.pingEvery = 20 * time.Millisecond
	stream := func(cl *http.Client) (*bufio.Scanner, func()) {
		// A stream that never ends fails the test instead of hanging it.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", tc.srv.URL+"/events", nil)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		res, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusOK {
			t.Fatalf("/events: %d", res.StatusCode)
		}
		return bufio.NewScanner(res.Body), func() { res.Body.Close(); cancel() }
	}
	readUntil := func(sc *bufio.Scanner, want string) {
		t.Helper()
		for sc.Scan() {
			if strings.Contains(sc.Text(), want) {
				return
			}
		}
		t.Fatalf("the stream ended without %q: %v", want, sc.Err())
	}
	ended := func(sc *bufio.Scanner) {
		t.Helper()
		readUntil(sc, "event: session")
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), ": ping") {
				t.Fatal("the stream went on after its session ended")
			}
		}
	}

	idle := tc.cfg.SessionIdle
	sc, done := stream(tc.login(t, store.RoleTier1))
	defer done()
	readUntil(sc, ": ping")
	tc.clock.Add(idle / 2)
	readUntil(sc, ": ping")
	readUntil(sc, ": ping")
	tc.clock.Add(idle/2 + time.Second)
	ended(sc)

	sc2, done2 := stream(tc.login(t, store.RoleTier1))
	defer done2()
	readUntil(sc2, ": ping")
	if _, err := tc.st.DeleteUserSessions(context.Background(), tc.users[store.RoleTier1].ID); err != nil {
		t.Fatal(err)
	}
	ended(sc2)
}
