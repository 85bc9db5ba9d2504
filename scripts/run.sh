#!/usr/bin/env bash
# make run: a hub on the embedded store plus one local agent enrolled to it.
# Everything lives in the directory given as $1 (default .run); Ctrl-C stops both.
set -euo pipefail
dir=${1:-.run}
listen=${TIERLINE_LISTEN:-127.0.0.1:8443}
mkdir -p "$dir"
data="$dir/hub" state="$dir/agent"

# A make run already going on this directory keeps it, and its logs: the
# hub's lock file names it (docs/operations.md).
if [ -f "$data/hub.lock" ]; then
  pid=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$data/hub.lock")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    started=$(sed -n 's/.*"started":"\([^"]*\)".*/\1/p' "$data/hub.lock")
    echo "make run is already running on $dir: tierline-hub pid $pid, started $started." >&2
    echo "Its logs: $dir/hub.log, $dir/agent.log. Stop it (Ctrl-C where it runs) first, or use another RUN_DIR." >&2
    exit 1
  fi
fi

cleanup() {
  trap - INT TERM EXIT
  [ -n "${agent_pid:-}" ] && kill "$agent_pid" 2>/dev/null || true
  [ -n "${hub_pid:-}" ] && kill "$hub_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  echo "stopped; state kept in $dir (make clean removes it)"
}
trap cleanup EXIT
trap 'cleanup; exit 0' INT TERM  # Ctrl-C is how make run ends

./bin/tierline-hub serve --data "$data" --listen "$listen" >"$dir/hub.out" 2>"$dir/hub.log" &
hub_pid=$!
for _ in $(seq 1 100); do
  grep -q "listening" "$dir/hub.out" 2>/dev/null && break
  kill -0 "$hub_pid" 2>/dev/null || { cat "$dir/hub.log" >&2; echo "the hub did not start (see above)" >&2; exit 1; }
  sleep 0.1
done

# The URL the hub serves now; the agent enrolled with the one it served then.
hub_url=$(sed -n 's|^ *console/API URL: *\(https://[^ ]*\)/$|\1|p' "$dir/hub.out")
if [ -f "$state/identity.json" ]; then
  agent_url=$(sed -n 's/.*"hub_url": *"\([^"]*\)".*/\1/p' "$state/identity.json")
  if [ -n "$hub_url" ] && [ "$agent_url" != "$hub_url" ]; then
    # TIERLINE_LISTEN (or TIERLINE_URL) moved the hub: the agent would dial
    # the old address and stay offline. Enroll it again and retire the
    # device it was.
    old_id=$(sed -n 's/.*"device_id": *"\([^"]*\)".*/\1/p' "$state/identity.json")
    echo "The local agent was enrolled with $agent_url but the hub now serves $hub_url:" >&2
    echo "  enrolling it again (device $old_id is revoked; the new one replaces it)." >&2
    [ -n "$old_id" ] && ./bin/tierline-hub device revoke --data "$data" "$old_id" >/dev/null 2>&1 || true
    reenroll=1
  fi
fi
if [ ! -f "$state/identity.json" ] || [ -n "${reenroll:-}" ]; then
  token=$(./bin/tierline-hub token create --data "$data" --note "make run local agent" 2>/dev/null)
  ./bin/tierline-agent enroll --force --token "$token" --state "$state" >/dev/null
fi
# The DNS check asks only a resolver on this machine (127.0.0.1), so make run
# sends nothing past loopback; a real install asks the configured resolvers.
echo "nameserver 127.0.0.1" >"$dir/resolv.conf"
./bin/tierline-agent run --state "$state" --resolv-conf "$dir/resolv.conf" 2>"$dir/agent.log" &
agent_pid=$!

if [ ! -f "$dir/api-token" ]; then
  ./bin/tierline-hub apitoken create --data "$data" --user admin --note "make run" 2>/dev/null >"$dir/api-token"
  chmod 600 "$dir/api-token"
fi

echo
cat "$dir/hub.out"
cat <<MSG

  Console:  open https://$listen/ in a browser (accept the hub's own certificate, or trust $data/ca.pem)
        and log in as admin with the password above: queues, tickets, devices, fleet health, knowledge base, admin.
  API token (admin):  $(cat "$dir/api-token")   (saved in $dir/api-token)
  Try:  curl --cacert $data/ca.pem -H "Authorization: Bearer \$(cat $dir/api-token)" https://$listen/api/v1/devices
  Enroll another machine:  ./bin/tierline-hub token create --data $data   then on it:
        tierline-agent enroll --token <token> --state /var/lib/tierline && tierline-agent run --state /var/lib/tierline
  Ask for help as a user:  ./bin/tierline-agent help --state $state "the printer jams"   (then GET /api/v1/tickets)
  Get help page (what the tray opens):  ./bin/tierline-agent gethelp --state $state
  Fixes this machine offers:  ./bin/tierline-agent fixes --state $state
  Logs: $dir/hub.log, $dir/agent.log.   Ctrl-C stops the hub and the agent.
MSG
wait "$hub_pid"
