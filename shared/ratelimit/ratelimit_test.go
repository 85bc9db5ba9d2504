package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

func TestKeyedBurstThenSteady(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	k := NewKeyed(Limit{N: 3, Per: time.Hour})
	for i := range 3 {
		if ok, _ := k.Allow("alice", t0); !ok {
			t.Fatalf("event %d of the burst refused", i+1)
		}
	}
	ok, at := k.Allow("alice", t0)
	if ok || !at.Equal(t0.Add(20*time.Minute)) {
		t.Fatalf("4th: %v, retry at %s; want refused until 09:20", ok, at)
	}
	// Another key has a budget of its own.
	if ok, _ := k.Allow("bob", t0); !ok {
		t.Fatal("bob refused for alice's events")
	}
	// One comes back every 20 minutes.
	if ok, _ := k.Allow("alice", t0.Add(19*time.Minute)); ok {
		t.Fatal("allowed before the next one was due")
	}
	if ok, _ := k.Allow("alice", t0.Add(20*time.Minute)); !ok {
		t.Fatal("refused when the next one was due")
	}
	k.Refund("alice", t0.Add(20*time.Minute))
	if ok, _ := k.Allow("alice", t0.Add(20*time.Minute)); !ok {
		t.Fatal("a refunded event was not given back")
	}
}

func TestKeyedOffAndNil(t *testing.T) {
	var nilK *Keyed
	if ok, _ := nilK.Allow("x", time.Now()); !ok {
		t.Fatal("nil limiter refused")
	}
	k := NewKeyed(Limit{})
	for range 1000 {
		if ok, _ := k.Allow("x", time.Now()); !ok {
			t.Fatal("off limiter refused")
		}
	}
}

// TestKeyedForgetsFullBuckets: memory follows the keys active within Per.
func TestKeyedForgetsFullBuckets(t *testing.T) {
	t0 := time.Now()
	k := NewKeyed(Limit{N: 5, Per: time.Minute})
	for i := range 10000 {
		k.Allow(fmt.Sprint(i), t0.Add(time.Duration(i)*time.Second))
	}
	if n := k.Len(); n > 200 {
		t.Fatalf("%d buckets kept for keys idle past the period", n)
	}
}

func TestParseLimit(t *testing.T) {
	for in, want := range map[string]Limit{"5/1h": {5, time.Hour}, " 30/10m ": {30, 10 * time.Minute}, "off": {}, "0": {}} {
		got, err := ParseLimit(in)
		if err != nil || got != want {
			t.Errorf("ParseLimit(%q) = %v, %v; want %v", in, got, err, want)
		}
		if back, err := ParseLimit(got.String()); err != nil || back != got {
			t.Errorf("%v does not read back: %v %v", got, back, err)
		}
	}
	for _, bad := range []string{"", "5", "x/1h", "-1/1h", "5/0s", "5/soon", "5/-1h"} {
		if _, err := ParseLimit(bad); err == nil {
			t.Errorf("ParseLimit(%q) accepted", bad)
		}
	}
	if d := (Limit{N: 4, Per: time.Hour}).Describe(); d != "4 an hour" {
		t.Errorf("Describe %q", d)
	}
}

func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"5/1h", "off", "0", "1/1ns", "9999999999999999999/1h", "3/-5m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLimit(s)
		if err != nil {
			return
		}
		if l.N < 0 || (!l.Off() && l.Per <= 0) {
			t.Fatalf("accepted %q as %+v", s, l)
		}
		k := NewKeyed(l)
		k.Allow("a", time.Now())
	})
}
