package link

import (
	"crypto/tls"
	"sync"
)

// SessionKeepDrops is how many failed handshakes in a row a cached TLS
// session survives (see Sessions).
const SessionKeepDrops = 3

// Sessions is a TLS client session cache that keeps a hub's session
// through up to SessionKeepDrops failed handshakes in a row. crypto/tls
// drops the session after any failed handshake, and a busy hub closes
// new connections before their TLS handshake (hub/admission): without
// this, each agent refused in a reconnect storm would lose its session
// and come back with a full handshake, twice the work of a resumed one.
// A session that keeps failing (a corrupted ticket) still goes.
type Sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

type session struct {
	cs    *tls.ClientSessionState
	drops int
}

// NewSessions returns an empty Sessions.
func NewSessions() *Sessions { return &Sessions{m: map[string]*session{}} }

// Get implements tls.ClientSessionCache.
func (s *Sessions) Get(key string) (*tls.ClientSessionState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.m[key]; e != nil {
		return e.cs, true
	}
	return nil, false
}

// Put implements tls.ClientSessionCache; a nil cs (crypto/tls dropping
// the session after a failed handshake) counts a drop.
func (s *Sessions) Put(key string, cs *tls.ClientSessionState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cs != nil {
		s.m[key] = &session{cs: cs}
		return
	}
	if e := s.m[key]; e != nil {
		if e.drops++; e.drops > SessionKeepDrops {
			delete(s.m, key)
		}
	}
}

var _ tls.ClientSessionCache = (*Sessions)(nil)
