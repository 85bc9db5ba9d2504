// Package testwait waits in tests for a condition the test can see,
// never for a fixed time: the machines tests run on are shared and slow
// at times, so a test waits as long as it takes, up to a generous bound.
package testwait

import (
	"testing"
	"time"
)

// Bound is how long Until waits before it fails the test.
const Bound = 30 * time.Second

// Until polls cond until it is true, failing t as "timed out waiting for
// what" after Bound.
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
