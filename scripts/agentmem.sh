#!/usr/bin/env bash
# Where an agent's memory goes: runs each given tierline-agent binary side by
# side (enrolled to one local hub, telemetry every 10 s) for AGENTMEM_WAIT
# (120 s), then prints each one's RSS from /proc/PID/smaps_rollup split into
# its own binary's pages, shared libraries, heap and other anonymous memory,
# the RSS ratio to the first binary, and the CPU each used per 10 s over the
# window after its first 30 s. Running them in one window makes the
# ratios hold on a noisy machine. Everything runs on loopback.
#   ./scripts/agentmem.sh bin/tierline-agent /tmp/old-agent ...
#   AGENTMEM_HUB (bin/tierline-hub)  AGENTMEM_WAIT (120)  AGENTMEM_PORT (18644)
#   AGENTMEM_KEEP=1 keeps the working directory (hub and agent logs)
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 AGENT-BINARY..." >&2; exit 2; }
hub=${AGENTMEM_HUB:-bin/tierline-hub}
wait_s=${AGENTMEM_WAIT:-120}
listen=127.0.0.1:${AGENTMEM_PORT:-18644}
work=$(mktemp -d /tmp/tierline-agentmem.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${AGENTMEM_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
"$hub" serve --data "$work/hub" --listen "$listen" >"$work/hub.out" 2>"$work/hub.log" &
pids+=($!)
for _ in $(seq 1 200); do
  curl -sf --cacert "$work/hub/ca.pem" "https://$listen/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
token=$("$hub" token create --data "$work/hub" --uses $# 2>/dev/null)
echo "nameserver 127.0.0.1" >"$work/resolv.conf"
i=0
agents=()
for bin in "$@"; do
  i=$((i + 1))
  "$bin" enroll --token "$token" --state "$work/a$i" >/dev/null
  "$bin" run --state "$work/a$i" --interval 10s --resolv-conf "$work/resolv.conf" 2>"$work/a$i.log" &
  pids+=($!)
  agents+=($!)
done
echo "agentmem: ${#agents[@]} agents running; measuring after ${wait_s} s (in $work)" >&2
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
sleep 30
declare -A c0
for pid in "${agents[@]}"; do c0[$pid]=$(cpu_ticks "$pid"); done
sleep $((wait_s > 30 ? wait_s - 30 : 1))
hz=$(getconf CLK_TCK)
printf '| binary | file size | RSS | its own binary (text, rodata, data) | shared libraries | heap arena | other anonymous (runtime, stacks) | RSS ratio | CPU per 10 s |\n|---|---|---|---|---|---|---|---|---|\n'
first=
i=0
for bin in "$@"; do
  pid=${agents[$i]}
  i=$((i + 1))
  exe=$(readlink "/proc/$pid/exe")
  # Per mapping: the binary's own, other files (libc, ld.so), anonymous;
  # the heap arena is the largest anonymous mapping (Go's 64 MB arena).
  read -r own libs heap anon <<<"$(awk -v exe="$exe" '
    /^[0-9a-f]+-[0-9a-f]+ / { path = $6; anon = (NF < 6 || path ~ /^\[/) }
    /^Rss:/ { if (path == exe) own += $2; else if (!anon) libs += $2; else { a += $2; if ($2 > big) big = $2 } }
    END { printf "%d %d %d %d\n", own, libs, big, a - big }' "/proc/$pid/smaps")"
  rss=$(awk '/^Rss:/{print $2}' "/proc/$pid/smaps_rollup")
  [ -n "$first" ] || first=$rss
  size=$(stat -c %s "$bin")
  cpu=$(( $(cpu_ticks "$pid") - ${c0[$pid]} ))
  awk -v bin="$bin" -v size="$size" -v rss="$rss" -v own="$own" -v libs="$libs" -v heap="$heap" -v anon="$anon" -v first="$first" \
    -v cpu="$cpu" -v hz="$hz" -v window=$((wait_s > 30 ? wait_s - 30 : 1)) \
    'BEGIN { printf "| %s | %.1f MB | %.1f MB | %.1f MB | %.1f MB | %.1f MB | %.1f MB | %.2f | %.1f ms |\n", bin, size / 1048576, rss / 1024, own / 1024, libs / 1024, heap / 1024, anon / 1024, rss / first, 1000 * cpu / hz / window * 10 }' 
done
