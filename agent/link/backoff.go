package link

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Backoff is exponential backoff with full jitter: the delay before retry
// number attempt (0 for the first retry) is uniformly random in
// [0, min(Max, Base*2^attempt)).
type Backoff struct {
	Base time.Duration // default 2 s
	Max  time.Duration // default 30 s
	// Rand returns a uniform random number in [0, n) for n > 0
	// (default math/rand/v2.Int64N). Tests inject it.
	Rand func(n int64) int64
}

// Defaults of Backoff.
const (
	DefaultBackoffBase = 2 * time.Second
	DefaultBackoffMax  = 30 * time.Second
)

func (b Backoff) withDefaults() Backoff {
	if b.Base <= 0 {
		b.Base = DefaultBackoffBase
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoffMax
	}
	if b.Max < b.Base {
		b.Max = b.Base
	}
	if b.Rand == nil {
		b.Rand = rand.Int64N
	}
	return b
}

// Ceiling is min(Max, Base*2^attempt).
func (b Backoff) Ceiling(attempt int) time.Duration {
	b = b.withDefaults()
	c := b.Base
	for i := 0; i < attempt && c < b.Max; i++ {
		c *= 2
	}
	return min(c, b.Max)
}

// Delay is the randomised delay before retry number attempt.
func (b Backoff) Delay(attempt int) time.Duration {
	b = b.withDefaults()
	c := b.Ceiling(attempt)
	if c <= 0 {
		return 0
	}
	return time.Duration(b.Rand(int64(c)))
}

// parseRetryAfter reads a Retry-After header (seconds or HTTP date).
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return min(time.Duration(s)*time.Second, time.Hour)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), time.Hour)
	}
	return 0
}
