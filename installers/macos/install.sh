#!/bin/sh
# Installs the Tierline agent on macOS from the tar.gz (run with sudo):
#   sudo ./install.sh [TOKEN]        (or put the token in /etc/tierline/enroll.token)
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
state="/Library/Application Support/Tierline/agent"
install -d -m 0755 /usr/local/bin /Library/Logs/Tierline
install -m 0755 "$here/tierline-agent" /usr/local/bin/tierline-agent
install -m 0755 "$here/tierline-tray" /usr/local/bin/tierline-tray
install -d -m 0700 "$state"
token="${1:-${TIERLINE_ENROLL_TOKEN:-}}"
if [ -z "$token" ] && [ -r /etc/tierline/enroll.token ]; then token="$(tr -d ' \r\n' < /etc/tierline/enroll.token)"; fi
if [ ! -e "$state/identity.json" ]; then
	if [ -z "$token" ]; then echo "pass an enrollment token: sudo ./install.sh TOKEN" >&2; exit 2; fi
	/usr/local/bin/tierline-agent enroll --token "$token" --state "$state"
fi
install -m 0644 "$here/com.tierline.agent.plist" /Library/LaunchDaemons/com.tierline.agent.plist
# The tray icon needs a cgo build of tierline-tray, made on a Mac (see
# installers/README.md); its LaunchAgent is installed only beside one.
if [ -f "$here/com.tierline.tray.plist" ]; then
	install -m 0644 "$here/com.tierline.tray.plist" /Library/LaunchAgents/com.tierline.tray.plist
fi
launchctl bootout system/com.tierline.agent 2>/dev/null || true
launchctl bootstrap system /Library/LaunchDaemons/com.tierline.agent.plist
echo "Tierline agent installed and started; logs in /Library/Logs/Tierline/agent.log"
