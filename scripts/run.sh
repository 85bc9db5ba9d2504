#!/usr/bin/env bash
# make run: a hub on the embedded store plus one local agent enrolled to it.
# Everything lives in the directory given as $1 (default .run); Ctrl-C stops both.
set -euo pipefail
dir=${1:-.run}
listen=${TIERLINE_LISTEN:-127.0.0.1:8443}
mkdir -p "$dir"
data="$dir/hub" state="$dir/agent"

cleanup() {
  trap - INT TERM EXIT
  [ -n "${agent_pid:-}" ] && kill "$agent_pid" 2>/dev/null || true
  [ -n "${hub_pid:-}" ] && kill "$hub_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  echo "stopped; state kept in $dir (make clean removes it)"
}
trap cleanup INT TERM EXIT

./bin/tierline-hub serve --data "$data" --listen "$listen" >"$dir/hub.out" 2>"$dir/hub.log" &
hub_pid=$!
for _ in $(seq 1 100); do
  grep -q "listening" "$dir/hub.out" 2>/dev/null && break
  kill -0 "$hub_pid" 2>/dev/null || { cat "$dir/hub.log" >&2; echo "the hub did not start (see above)" >&2; exit 1; }
  sleep 0.1
done

if [ ! -f "$state/identity.json" ]; then
  token=$(./bin/tierline-hub token create --data "$data" --note "make run local agent" 2>/dev/null)
  ./bin/tierline-agent enroll --token "$token" --state "$state" >/dev/null
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
