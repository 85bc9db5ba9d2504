package server

// admissionSlots is how many new connections the hub takes through their
// TLS handshake (and an agent's challenge and hello) at once; more wait
// in the kernel, unencrypted (hub/admission). Two cores finish a few
// hundred full handshakes a second, so 256 in flight keeps both busy while
// each finishes well within the agents' 20 s handshake timeout. It is
// below the gateway's own limit (512), whose 503 is then left for
// connections that come through a balancer in one burst.
const admissionSlots = 256
