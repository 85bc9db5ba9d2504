#!/usr/bin/env bash
# Hub memory per agent connection: live heap and goroutine stacks after a
# collection, idle and with N simulated agents connected, through
# --pprof-listen; the heap profile's top entries with them. Loopback only.
#   CONNMEM_AGENTS (10000)  CONNMEM_HUB (./bin/tierline-hub)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${CONNMEM_AGENTS:-10000}
HUB=${CONNMEM_HUB:-./bin/tierline-hub}
work=$(mktemp -d /tmp/tierline-connmem.XXXXXX)
ulimit -n "$(ulimit -Hn)"
go build -o "$work/fleetsim" ./scripts/fleetsim
read -r port pport < <(python3 -c 'import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')
"$HUB" serve --data "$work/hub" --listen "127.0.0.1:$port" --pprof-listen "127.0.0.1:$pport" >"$work/hub.out" 2>"$work/hub.log" &
hub=$!
trap 'kill $hub ${fleet:-} 2>/dev/null || true' EXIT
until curl -sf --cacert "$work/hub/ca.pem" "https://127.0.0.1:$port/healthz" >/dev/null 2>&1; do sleep 0.2; done
metric() { curl -s --cacert "$work/hub/ca.pem" "https://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m {print $2}' | sed 's/e+/*10^/g' | bc; }
live() { # heap profile with gc=1 (a collection first), then heap in use + stacks
  curl -s -o "$work/$1.pb.gz" "http://127.0.0.1:$pport/debug/pprof/heap?gc=1"
  echo "$(metric go_memstats_heap_alloc_bytes) + $(metric go_memstats_stack_inuse_bytes)" | bc
}
idle=$(live idle)
tok=$("$HUB" token create --data "$work/hub" --uses "$N" --expires 2h 2>/dev/null)
"$work/fleetsim" --token "$tok" --agents "$N" --interval 60s --duration 1h --source-ips 127.0.0.2-127.0.0.9 \
  --progress 30s >"$work/fleet.json" 2>"$work/fleet.log" &
fleet=$!
until [ "$(metric tierline_agents_connected)" = "$N" ]; do sleep 1; done
sleep 20 # past the connections' first messages
busy=$(live busy)
gor=$(metric go_goroutines)
echo "connmem: $N agents: live heap+stacks $idle B idle, $busy B connected, $(metric go_memstats_stack_inuse_bytes) B of stacks, $gor goroutines"
echo "connmem: per connection $(echo "scale=1; ($busy - $idle) / $N / 1024" | bc) KB"
go tool pprof -top -nodecount 20 -sample_index inuse_space "$HUB" "$work/busy.pb.gz" 2>/dev/null | sed -n '4,30p'
