#!/usr/bin/env bash
# Agent cost with a hub policy of 50 declarative checks (docs/policy.md):
# two real agents on one hub for the same POLICYBENCH_SECONDS (120), one
# in a group whose policy has 50 declarative checks, one without; prints
# each one's RSS and CPU per 10 s interval. Everything runs on loopback.
#   POLICYBENCH_PORT (18743)  POLICYBENCH_SECONDS (120)
#   POLICYBENCH_COMPARE="BIN..." runs each of these agent binaries too, in
#   the same window and the same policy group, and prints its RSS ratio to
#   bin/tierline-agent's with the policy (a before/after on a noisy machine).
set -euo pipefail
cd "$(dirname "$0")/.."
listen=127.0.0.1:${POLICYBENCH_PORT:-18743}
secs=${POLICYBENCH_SECONDS:-120}
work=$(mktemp -d /tmp/tierline-policybench.XXXXXX)
[ -x bin/tierline-hub ] && [ -x bin/tierline-agent ] || make build >/dev/null
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
./bin/tierline-hub serve --data "$work/hub" --listen "$listen" >"$work/hub.out" 2>"$work/hub.log" &
pids+=($!)
for _ in $(seq 1 200); do curl -sf --cacert "$work/hub/ca.pem" "https://$listen/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
api=$(./bin/tierline-hub apitoken create --data "$work/hub" --user admin 2>/dev/null)
call() { curl -sf --cacert "$work/hub/ca.pem" -H "Authorization: Bearer $api" "$@"; }
echo "nameserver 127.0.0.1" >"$work/resolv.conf"
mkdir -p "$work/files"
python3 - "$work" "$listen" >"$work/policy.json" <<'PY'
import json, sys
work, listen = sys.argv[1], sys.argv[2]
host, port = listen.split(":")
checks = []
for i in range(15):
    p = f"{work}/files/f{i}.conf"
    open(p, "w").write("key = value\n" * 200 + "server = vpn.example\n")
    f = {"path": p, "max_age": "24h", "min_size": 10}
    if i < 5:
        f["match"] = "(?m)^server = "
    checks.append({"name": f"file-{i}", "title": f"File {i}", "file": f})
for i in range(10):
    checks.append({"name": f"proc-{i}", "title": f"Process {i}", "process": {"name": f"no-such-process-{i}"}})
for i, s in enumerate(["systemd-journald", "dbus", "cups", "cron", "ssh"]):
    checks.append({"name": f"svc-{i}", "title": f"Service {i}", "service": {"name": s}})
for i in range(5):
    checks.append({"name": f"dns-{i}", "title": f"Name {i}", "dns": {"name": "localhost"}})
    checks.append({"name": f"tcp-{i}", "title": f"Port {i}", "tcp": {"host": host, "port": int(port)}})
    checks.append({"name": f"http-{i}", "title": f"URL {i}", "http": {"url": f"https://{listen}/healthz"}})
    checks.append({"name": f"pkg-{i}", "title": f"Package {i}", "package": {"name": f"pkg{i}", "min_version": "1.2"}})
print(json.dumps({"checks": checks}))
PY
call -X PUT --data-binary @"$work/policy.json" "https://$listen/api/v1/policies/bench" >/dev/null
# start_agent NAME GROUP sets agent_pid and agent_id (in this shell, so
# the trap stops it).
start_agent() {
  local bin=${3:-./bin/tierline-agent}
  tok=$(./bin/tierline-hub token create --data "$work/hub" 2>/dev/null)
  "$bin" enroll --token "$tok" --state "$work/$1" >/dev/null
  agent_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["device_id"])' "$work/$1/identity.json")
  if [ -n "$2" ]; then call -X POST --data "{\"group\":\"$2\"}" "https://$listen/api/v1/devices/$agent_id/group" >/dev/null; fi
  "$bin" run --state "$work/$1" --interval 10s --resolv-conf "$work/resolv.conf" 2>"$work/$1.log" &
  agent_pid=$!
  pids+=("$agent_pid")
}
start_agent plain ""
plain_pid=$agent_pid
start_agent policy bench
pol_pid=$agent_pid pol_id=$agent_id
cmp_pids=() cmp_bins=() cmp_ids=()
n=0
for b in ${POLICYBENCH_COMPARE:-}; do
  n=$((n + 1))
  start_agent "compare$n" bench "$b"
  cmp_pids+=("$agent_pid") cmp_bins+=("$b") cmp_ids+=("$agent_id")
done
for id in "$pol_id" "${cmp_ids[@]}"; do
  for _ in $(seq 1 300); do
    call "https://$listen/api/v1/devices/$id/policy" 2>/dev/null | grep -q '"current": true' && break
    sleep 0.2
  done
  call "https://$listen/api/v1/devices/$id/policy" | grep -q '"current": true' || { echo "agent $id did not apply the policy" >&2; exit 1; }
done
sleep 10
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
rss() { awk '/VmRSS/{printf "%.1f", $2/1024}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)
p0=$(ticks "$plain_pid"); q0=$(ticks "$pol_pid")
declare -A c0
for p in "${cmp_pids[@]}"; do c0[$p]=$(ticks "$p"); done
sleep "$secs"
p1=$(ticks "$plain_pid"); q1=$(ticks "$pol_pid")
n=$((secs / 10))
echo "policybench: $secs s, telemetry every 10 s, health checks every minute"
echo "agent without a hub policy:         RSS $(rss "$plain_pid") MB, $(echo "scale=2; 1000 * ($p1 - $p0) / $hz / $n" | bc) ms CPU per 10 s"
echo "agent with 50 declarative checks:   RSS $(rss "$pol_pid") MB, $(echo "scale=2; 1000 * ($q1 - $q0) / $hz / $n" | bc) ms CPU per 10 s"
i=0
for p in "${cmp_pids[@]}"; do
  echo "${cmp_bins[$i]} with the same checks: RSS $(rss "$p") MB, $(echo "scale=2; 1000 * ($(ticks "$p") - ${c0[$p]}) / $hz / $n" | bc) ms CPU per 10 s;" \
    "bin/tierline-agent's RSS is $(echo "scale=2; $(rss "$pol_pid") / $(rss "$p")" | bc) of it"
  i=$((i + 1))
done
call "https://$listen/api/v1/devices/$pol_id" | python3 -c 'import json,sys,re; h=json.load(sys.stdin).get("health") or []; n=[c for c in h if re.match(r"(file|proc|svc|dns|tcp|http|pkg)-", c["name"])]; print("declarative check results at the hub: %d (%s)" % (len(n), ", ".join(sorted(set(c["status"] for c in n)))))'
