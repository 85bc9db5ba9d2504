#!/usr/bin/env bash
# make bench-scale: N simulated agents across hub replicas on one fresh
# PostgreSQL database (or one hub on the embedded SQLite store, to compare),
# telemetry every 60 s. Prints the figures and writes them as markdown to
# $work/report.md (docs/benchmarks.md quotes them). Everything runs on
# loopback.
#   SCALE_AGENTS (50000)    SCALE_REPLICAS (3)   SCALE_STORE (postgres|sqlite; postgres)
#   SCALE_PER_PROC (12500)  agents per fleetsim process (each process and each hub stays under `ulimit -Hn`)
#   SCALE_INTERVAL (60s)    SCALE_STEADY (60)    seconds of steady state measured
#   SCALE_RUNS (1000)       fix runs for the round trip
#   SCALE_POSTGRES (postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) server to make the database on
#   SCALE_HUB (./bin/tierline-hub)  hub binary (to compare builds)
#   SCALE_RAMP (0s)         spread the first connections over this long (fleetsim --ramp); the storms after are not spread
#   SCALE_FLEET_NICE (0)    niceness of the fleetsim processes (10: the hubs come first on the shared cores; a
#                           starved fleetsim then drops its own connections, docs/benchmarks.md)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${SCALE_AGENTS:-50000}
R=${SCALE_REPLICAS:-3}
STORE=${SCALE_STORE:-postgres}
PER=${SCALE_PER_PROC:-12500}
INTERVAL=${SCALE_INTERVAL:-60s}
STEADY=${SCALE_STEADY:-60}
RUNS=${SCALE_RUNS:-1000}
PGSERVER=${SCALE_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
HUB=${SCALE_HUB:-./bin/tierline-hub}
RAMP=${SCALE_RAMP:-0s}
NICE=${SCALE_FLEET_NICE:-0}
[ "$STORE" = sqlite ] && R=1
HP=$R # replica i's health port is ports[HP+i] (R changes while one is killed)
work=$(mktemp -d /tmp/tierline-scale.XXXXXX)
echo "bench-scale: $N agents, $R replica(s) on $STORE, working in $work"
lim=$(ulimit -Hn)
ulimit -n "$lim"
if [ $((N / R + 512)) -gt "$lim" ] || [ $((PER + 256)) -gt "$lim" ]; then
  echo "bench-scale: open-file limit $lim: each hub holds N/R=$((N / R)) and each fleetsim process $PER connections; use more replicas or a smaller SCALE_PER_PROC" >&2
  exit 2
fi

go build -o "$work/fleetsim" ./scripts/fleetsim
go build -o "$work/runbench" ./scripts/runbench

dbargs=()
db=
if [ "$STORE" = postgres ]; then
  db_name="tierline_scale_$$"
  psql -q "$PGSERVER" -c "CREATE DATABASE $db_name" >/dev/null
  db="${PGSERVER/\/postgres\?//$db_name?}"
  dbargs=(--db "$db")
fi
declare -a pids ports
hz=$(getconf CLK_TCK)
now() { date +%s.%N; }
# The kernel's count of connections dropped because a listener's accept
# queue was full (system-wide; nothing else listens busily here).
listen_drops() { awk '/^TcpExt:/ {if (!h) {split($0, k); h=1} else {for (i in k) if (k[i] == "ListenDrops") print $i}}' /proc/net/netstat; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
# Free loopback ports, chosen once: a restarted replica comes back on its own.
# Port 0 is replica 1's profiles (--pprof-listen), HP+i replica i's health
# and metrics (--health-listen: read outside the storms' admission queue).
i=0; for p in $(python3 -c 'import socket,sys
ss=[socket.socket() for _ in range(int(sys.argv[1]))]
[s.bind(("127.0.0.1", 0)) for s in ss]
print(" ".join(str(s.getsockname()[1]) for s in ss))' $((2 * R + 1))); do ports[$i]=$p; i=$((i + 1)); done
pprof="127.0.0.1:${ports[0]}"
start_replica() { # i
  local i=$1
  local extra=()
  [ "$i" = 1 ] && extra=(--pprof-listen "$pprof")
  "$HUB" serve --data "$work/hub$i" "${dbargs[@]}" --listen "127.0.0.1:${ports[$i]}" --health-listen "127.0.0.1:${ports[$((HP + i))]}" \
    "${extra[@]}" >>"$work/hub$i.out" 2>>"$work/hub$i.log" &
  pids[$i]=$!
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:${ports[$((HP + i))]}/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "replica $i did not start; see $work/hub$i.log" >&2; exit 1
}
metric() { # i name-and-labels
  curl -s --max-time 10 "http://127.0.0.1:${ports[$((HP + $1))]}/metrics" 2>/dev/null |
    awk -v m="$2" '$1 == m {print $2; f=1} END {if (!f) print 0}'
}
sum_metric() { local s=0 v; for i in $(seq 1 "$R"); do v=$(metric "$i" "$1"); s=$(echo "$s + ${v:-0}" | bc); done; echo "$s"; }
connected() { sum_metric tierline_agents_connected; }
fleet_pids=()
cleanup() {
  kill "${fleet_pids[@]}" 2>/dev/null || true
  for i in $(seq 1 "$R"); do [ -n "${pids[$i]:-}" ] && kill "${pids[$i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "$db" ] && psql -q "$PGSERVER" -c "DROP DATABASE IF EXISTS $db_name" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# live_mem: replica 1's live heap and goroutine stacks in bytes, after a
# collection (the heap profile with gc=1 forces one; $1 keeps the profile).
live_mem() {
  curl -s -o "$1" "http://$pprof/debug/pprof/heap?gc=1"
  echo "$(metric 1 go_memstats_heap_alloc_bytes) + $(metric 1 go_memstats_stack_inuse_bytes)" | sed 's/e+/*10^/g' | bc
}
# Replicas share the CA: the first makes it, the others copy it.
start_replica 1
mem0=$(live_mem "$work/heap-idle.pb.gz")
for i in $(seq 2 "$R"); do
  mkdir -p "$work/hub$i"
  cp "$work/hub1/"ca* "$work/hub$i/"
  start_replica "$i"
done
addrs=$(for i in $(seq 1 "$R"); do printf '127.0.0.1:%s,' "${ports[$i]}"; done)
addrs=${addrs%,}

procs=$(((N + PER - 1) / PER))
echo "bench-scale: enrolling $N agents in $procs fleetsim process(es)"
tok=$("$HUB" token create --data "$work/hub1" "${dbargs[@]}" --uses "$N" --expires 6h 2>/dev/null)
left=$N
for p in $(seq 1 "$procs"); do
  n=$((left < PER ? left : PER)); left=$((left - n))
  counts[$p]=$n
  "$work/fleetsim" --token "$tok" --agents "$n" --enroll-only --identities "$work/ids$p.json" --hub-addrs "$addrs" \
    --source-ips "127.0.$p.2-127.0.$p.9" --progress 30s >"$work/enroll$p.json" 2>"$work/enroll$p.log" &
  fleet_pids+=($!)
done
wait "${fleet_pids[@]}"
fleet_pids=()

# Connect: every process at once; the run lasts until the end.
echo "bench-scale: connecting"
c_before=(); for i in $(seq 1 "$R"); do c_before[$i]=$(cpu_ticks "${pids[$i]}"); done
t0=$(now)
for p in $(seq 1 "$procs"); do
  nice -n "$NICE" "$work/fleetsim" --agents "${counts[$p]}" --identities "$work/ids$p.json" --hub-addrs "$addrs" --interval "$INTERVAL" --ramp "$RAMP" \
    --duration 6h --source-ips "127.0.$p.2-127.0.$p.9" --progress 30s --window-file "$work/window$p" \
    >"$work/fleet$p.json" 2>"$work/fleet$p.log" &
  fleet_pids+=($!)
done
wait_all() { # deadline-seconds -> seconds until sum(connected) = N, or "timeout"
  local start; start=$(now)
  while :; do
    [ "$(connected)" = "$N" ] && { echo "$(now) - $start" | bc; return; }
    [ "$(echo "$(now) - $start > $1" | bc)" = 1 ] && { echo timeout; return; }
    sleep 0.5
  done
}
connect_s=$(wait_all 900)
echo "bench-scale: all $N connected after ${connect_s}s"
connect_cpu=0; for i in $(seq 1 "$R"); do connect_cpu=$((connect_cpu + $(cpu_ticks "${pids[$i]}") - c_before[$i])); done

# Steady state: hub CPU and RSS, acknowledgement latency in the window.
sleep 15
kill -USR1 "${fleet_pids[@]}"
declare -a c0 per
s0=$(now)
for i in $(seq 1 "$R"); do c0[$i]=$(cpu_ticks "${pids[$i]}"); done
# Replica 1's metrics either side of the window (ingest commit and batch
# histograms) and its CPU profile of the window's first 30 s.
curl -s "http://127.0.0.1:${ports[$((HP + 1))]}/metrics" >"$work/metrics1-steady0.txt" 2>/dev/null || true
curl -s -o "$work/cpu-steady.pb.gz" "http://$pprof/debug/pprof/profile?seconds=$((STEADY < 30 ? STEADY : 30))" &
steady_prof=$!
sleep "$STEADY"
s1=$(now)
wait "$steady_prof" 2>/dev/null || true
curl -s "http://127.0.0.1:${ports[$((HP + 1))]}/metrics" >"$work/metrics1-steady1.txt" 2>/dev/null || true
kill -USR1 "${fleet_pids[@]}"
mem1=$(live_mem "$work/heap-steady.pb.gz")
mem_agents=$(metric 1 tierline_agents_connected)
go tool pprof -top -nodecount 25 -sample_index inuse_space "$HUB" "$work/heap-steady.pb.gz" >"$work/heap-top.txt" 2>/dev/null || true
echo "bench-scale: replica 1 live heap+stacks $mem0 B idle, $mem1 B with $mem_agents agents (profile top in $work/heap-top.txt)"
steady_rows=""
for i in $(seq 1 "$R"); do
  per[$i]=$(metric "$i" tierline_agents_connected)
  cpu=$(echo "scale=2; 100 * ($(cpu_ticks "${pids[$i]}") - ${c0[$i]}) / $hz / ($s1 - $s0)" | bc)
  rss=$(echo "scale=1; $(rss_kb "${pids[$i]}") / 1024" | bc)
  steady_rows+="$i ${per[$i]} $cpu $rss"$'\n'
done
echo "bench-scale: steady state (replica agents cpu% rss-MB):"; printf '%s' "$steady_rows"

# Fix round trip through replica 1, the whole fleet connected.
"$HUB" apitoken create --data "$work/hub1" "${dbargs[@]}" --user admin 2>/dev/null >"$work/api-token"
# One technician at a time (each run asked when the last has its result),
# then eight at once; replica 1's CPU profile of the first 5 s of the eight.
prof_pid=
for c in 1 8; do
  if [ "$c" = 8 ]; then
    curl -s -o "$work/cpu-runs.pb.gz" "http://$pprof/debug/pprof/profile?seconds=5" &
    prof_pid=$!
  fi
  "$work/runbench" --hub "https://127.0.0.1:${ports[1]}" --ca "$work/hub1/ca.pem" --token-file "$work/api-token" \
    --runs "$RUNS" --concurrency "$c" >"$work/runs$c.json" 2>"$work/runs$c.log" || echo "bench-scale: runbench failed (see $work/runs$c.log)" >&2
done
wait "$prof_pid" 2>/dev/null || true

# One replica killed: its agents move to the others.
kill_s=n/a
if [ "$R" -gt 1 ] && [ $((N / (R - 1) + 512)) -gt "$lim" ]; then
  # The survivors would hold more connections than a process may open
  # here: they would keep the rest in their accept queues for ever.
  kill_s="not measured: each of the other $((R - 1)) would hold $((N / (R - 1))) connections, over the open-file limit $lim"
  echo "bench-scale: replica kill $kill_s" >&2
elif [ "$R" -gt 1 ]; then
  kill -KILL "${pids[$R]}"; wait "${pids[$R]}" 2>/dev/null || true
  victim=$R; R=$((R - 1))
  kill_s=$(wait_all 300)
  R=$((R + 1))
  echo "bench-scale: replica $victim killed; its agents back on the others after ${kill_s}s"
  start_replica "$victim"
fi

# Every replica restarted: time until all agents are back, and what the
# storm cost (TLS handshakes per agent, hub CPU per agent).
for i in $(seq 1 "$R"); do kill -TERM "${pids[$i]}"; done
for i in $(seq 1 "$R"); do wait "${pids[$i]}" 2>/dev/null || true; done
r0=$(now)
drops0=$(listen_drops)
for i in $(seq 1 "$R"); do start_replica "$i"; done
restart_s=$(wait_all 600)
restart_s=$(echo "$restart_s" | awk -v o="$(echo "$(now) - $r0" | bc)" '{print ($1 == "timeout") ? "timeout" : o}')
echo "bench-scale: every replica restarted; all agents back after ${restart_s}s"
storm_cpu=0; for i in $(seq 1 "$R"); do storm_cpu=$((storm_cpu + $(cpu_ticks "${pids[$i]}"))); done
tls_full=$(sum_metric 'tierline_tls_handshakes_total{resumed="false"}')
tls_res=$(sum_metric 'tierline_tls_handshakes_total{resumed="true"}')
busy=$(sum_metric 'tierline_agent_handshakes_total{outcome="busy"}')
ok=$(sum_metric 'tierline_agent_handshakes_total{outcome="ok"}')
drops=$(($(listen_drops) - drops0))
echo "bench-scale: storm: TLS handshakes $tls_full full + $tls_res resumed for $ok agents admitted; 503s $busy; SYNs dropped while the hubs' accept queues were full $drops"

kill -TERM "${fleet_pids[@]}"; wait "${fleet_pids[@]}" 2>/dev/null || true; fleet_pids=()

python3 - "$work" "$N" "$R" "$STORE" "$INTERVAL" "$STEADY" "$connect_s" "$connect_cpu" "$hz" "$steady_rows" "$kill_s" "$restart_s" \
  "$storm_cpu" "$tls_full" "$tls_res" "$busy" "$ok" "$drops" "$procs" "$mem0" "$mem1" "$mem_agents" <<'PY' | tee "$work/report.md"
import glob, json, os, sys, datetime
(work, n, r, store, interval, steady, connect, connect_cpu, hz, rows, kill_s, restart, storm_cpu,
 tls_full, tls_res, busy, ok, drops, procs, mem0, mem1, mem_agents) = sys.argv[1:]
n, hz = int(n), int(hz)
def fmt(v):
    try:
        return f"{float(v):.1f}"
    except ValueError:
        return v
lat = []
for f in glob.glob(os.path.join(work, "window*.2")):  # the steady-state window
    lat += [float(x) for x in open(f).read().split()]
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")
print(f"Recorded {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores, {n} agents, {r} replica(s) on {store}, "
      f"{procs} fleetsim process(es) at niceness {os.environ.get('SCALE_FLEET_NICE', '0')}, first connections spread over "
      f"{os.environ.get('SCALE_RAMP', '0s')}, telemetry every {interval}; hubs and fleetsim share the machine.\n")
print("| measure | value | target |\n|---|---|---|")
print(f"| time until all connected (identities enrolled before) | {fmt(connect)} s | |")
print(f"| hub CPU while they connected, per agent | {float(connect_cpu) / hz / n * 1000:.2f} ms | |")
for line in rows.strip().splitlines():
    i, agents, cpu, rss = line.split()
    k = max(int(float(agents)), 1) / 1000
    print(f"| replica {i}, steady: {int(float(agents))} agents, CPU {cpu}% of a core, RSS {rss} MB | {float(cpu) / k:.2f}% and {float(rss) / k:.1f} MB per 1,000 agents | |")
try:
    print(f"| replica 1: live heap and goroutine stacks per connection ((with {int(float(mem_agents))} agents - idle) / agents, after a GC) | {(float(mem1) - float(mem0)) / float(mem_agents) / 1024:.1f} KB | <= 40 KB |")
except (ValueError, ZeroDivisionError):
    pass
print(f"| acknowledgement latency p50 / p99, {steady} s steady window ({len(lat)} acks) | {q(0.5):.1f} / {q(0.99):.1f} ms | |")
for conc, who in (("1", "one run at a time"), ("8", "8 in flight")):
    try:
        runs = json.load(open(os.path.join(work, f"runs{conc}.json")))
        c, h = runs["client_round_trip_ms"], runs["hub_request_to_result_ms"]
        print(f"| fix round trip p50 / p99 through replica 1, {who} ({runs['runs']} runs, {runs['errors']} errors; the hub's record) "
              f"| {c['p50']:.1f} / {c['p99']:.1f} ms ({h['p50']:.1f} / {h['p99']:.1f}) | p99 < 50 ms |")
    except (OSError, ValueError, KeyError):
        print(f"| fix round trip, {who} | not measured: runbench failed (see runs{conc}.log) | p99 < 50 ms |")
print(f"| one replica killed (SIGKILL): its agents back on the others | {fmt(kill_s) + ' s' if kill_s[:1].isdigit() else kill_s} | < 60 s |")
print(f"| every replica restarted: all agents back | {fmt(restart)} s | < 60 s |")
print(f"| the restart storm: TLS handshakes per agent admitted (full + resumed) | {(float(tls_full) + float(tls_res)) / max(float(ok), 1):.2f} ({tls_full} + {tls_res} for {ok}) | |")
print(f"| the restart storm: refused with 503 after TLS / SYNs dropped behind full accept queues (sent again by the client's kernel) | {busy} / {drops} | |")
print(f"| hub CPU from the restarts until all were back, per agent | {float(storm_cpu) / hz / n * 1000:.2f} ms | |")
PY
echo "bench-scale: report in $work/report.md"
