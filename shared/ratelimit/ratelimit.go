// Package ratelimit budgets events per key (a device, a local user): at
// most N in a burst, then one every Per/N, as a token bucket. A refusal
// says when the next event will be allowed, so the one refused can be
// told when to try again.
//
// A bucket costs a few dozen bytes and is forgotten once it is full
// again, so the memory a Keyed holds follows the keys active in the last
// Per, not all keys ever seen.
package ratelimit

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limit is N events per Per. A zero N means no limit.
type Limit struct {
	N   int
	Per time.Duration
}

// Off reports whether l limits nothing.
func (l Limit) Off() bool { return l.N <= 0 || l.Per <= 0 }

// String is l as ParseLimit reads it: "5/1h0m0s", or "off".
func (l Limit) String() string {
	if l.Off() {
		return "off"
	}
	return strconv.Itoa(l.N) + "/" + l.Per.String()
}

// Describe is l in words: "5 an hour", "30 per 10m0s".
func (l Limit) Describe() string {
	switch {
	case l.Off():
		return "no limit"
	case l.Per == time.Hour:
		return fmt.Sprintf("%d an hour", l.N)
	case l.Per == 24*time.Hour:
		return fmt.Sprintf("%d a day", l.N)
	case l.Per == time.Minute:
		return fmt.Sprintf("%d a minute", l.N)
	}
	return fmt.Sprintf("%d per %s", l.N, l.Per)
}

// ParseLimit reads "N/DURATION" (for example "5/1h", "30/10m"), or "off"
// (or "0") for no limit.
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return Limit{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	if !ok {
		return Limit{}, fmt.Errorf("limit %q: want COUNT/DURATION such as 5/1h, or off", s)
	}
	count, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || count < 0 {
		return Limit{}, fmt.Errorf("limit %q: the count must be a whole number of 0 or more", s)
	}
	d, err := time.ParseDuration(strings.TrimSpace(per))
	if err != nil || d <= 0 {
		return Limit{}, fmt.Errorf("limit %q: the period must be a positive duration such as 1h or 10m", s)
	}
	return Limit{N: count, Per: d}, nil
}

// Set implements flag.Value.
func (l *Limit) Set(s string) error {
	v, err := ParseLimit(s)
	if err != nil {
		return err
	}
	*l = v
	return nil
}

type bucket struct {
	used float64 // events spent, draining at N per Per
	at   int64   // when used was last set, Unix nanoseconds
}

// Keyed holds one bucket per key. It is safe for concurrent use.
type Keyed struct {
	lim Limit

	mu        sync.Mutex
	b         map[string]bucket
	nextSweep int
}

// NewKeyed makes buckets of limit l.
func NewKeyed(l Limit) *Keyed {
	return &Keyed{lim: l, b: map[string]bucket{}, nextSweep: 64}
}

// Limit is the limit k applies.
func (k *Keyed) Limit() Limit { return k.lim }

// drained is b's use at now.
func (k *Keyed) drained(b bucket, now time.Time) float64 {
	if el := time.Duration(now.UnixNano() - b.at); el > 0 {
		b.used -= el.Seconds() * float64(k.lim.N) / k.lim.Per.Seconds()
	}
	return max(b.used, 0)
}

// Allow spends one event of key's budget at now. When none is left it
// returns false and when the next one will be allowed.
func (k *Keyed) Allow(key string, now time.Time) (bool, time.Time) {
	if k == nil || k.lim.Off() {
		return true, time.Time{}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	used := k.drained(k.b[key], now)
	if used+1 > float64(k.lim.N) {
		wait := time.Duration((used + 1 - float64(k.lim.N)) * float64(k.lim.Per) / float64(k.lim.N))
		at := now.Add(wait)
		if t := at.Truncate(time.Second); !t.Equal(at) {
			at = t.Add(time.Second) // a whole second, never early
		}
		return false, at
	}
	k.b[key] = bucket{used: used + 1, at: now.UnixNano()}
	if len(k.b) >= k.nextSweep {
		k.sweepLocked(now)
	}
	return true, time.Time{}
}

// Refund gives back one event of key's budget (spent on something that
// was then refused for another reason).
func (k *Keyed) Refund(key string, now time.Time) {
	if k == nil || k.lim.Off() {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if b, ok := k.b[key]; ok {
		k.b[key] = bucket{used: max(k.drained(b, now)-1, 0), at: now.UnixNano()}
	}
}

// sweepLocked forgets the buckets that are full again.
func (k *Keyed) sweepLocked(now time.Time) {
	for key, b := range k.b {
		if k.drained(b, now) == 0 {
			delete(k.b, key)
		}
	}
	k.nextSweep = max(64, 2*len(k.b))
}

// Len is how many keys k remembers.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.b)
}
